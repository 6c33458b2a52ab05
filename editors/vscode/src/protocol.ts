// Generated from the protocol's Rust types by tests/codegen: do not edit.
// `cargo test --test generated` fails when this file is out of date;
// `UPDATE_GENERATED=1 cargo test --test generated` rewrites it.

/** How an apply ended. */
export type ApplyOutcome = "applied" | "rejected" | "cancelled";

export interface ApplyParams {
  expectedGeneration?: number | null;
  mutation: Mutation;
  /**
   * A fresh id chosen by the client, so that it can follow the operation
   * before the response arrives (attached processes always set one).
   */
  operationId?: string | null;
  projectId: string;
  workDoneToken?: ProgressToken | null;
}

/** `packer/applyMutation`, and the `result` of its terminal event. */
export interface ApplyResult {
  blockers: Blocker[];
  filesystemMutations: FilesystemMutation[];
  /** The generation after the apply (unchanged unless `applied` changed something). */
  generation: Generation;
  operationId: OperationId;
  outcome: ApplyOutcome;
  registryMutations: RegistryMutation[];
  truncated?: Truncated;
  warnings: Warning[];
}

/** A registered asset: its registry entry and what the packer observed on disk. */
export interface Asset {
  diagnostics: Diagnostic[];
  hash: ContentHash;
  /** The asset's id: stable for its life, whatever its path. */
  id: AssetId;
  kind: Kind;
  metadata: Metadata;
  /** Relative to the project root, with `/` separators. */
  path: RelativePath;
  settings: Record<string, unknown>;
  size: number;
  status: Status;
  tags: string[];
}

/** Counts kept with each snapshot, computed once when it is made. */
export interface AssetCounts {
  byKind: CountsByKind;
  byStatus: CountsByStatus;
  /**
   * Sounds whose loudness is not measured yet (their metadata say
   * `loudnessPending`): the packer measures them after looking at them,
   * and publishes a snapshot as each batch is measured.
   */
  loudnessPending: number;
  total: number;
}

export interface AssetFilter {
  kind?: Kind | null;
  pathPrefix?: string | null;
  status?: Status | null;
  tag?: string | null;
  text?: string | null;
  /** `true`: only assets no other asset names; `false`: only assets some other names. */
  unused?: boolean | null;
}

/**
 * An asset's id. New ids are 128 random bits in lowercase Crockford
 *  base32 (26 characters); a hand-edited registry may hold any 1 to 64
 *  ASCII letters, digits, `-` and `_`.
 */
export type AssetId = string;

/** `packer/beginExternalChange`: a source-control operation begins. */
export interface BeginExternalChangeParams {
  projectId: string;
  /** For people: what is changing the files (`git checkout feature`). */
  reason: string;
  /** How long the change may stay open (default 300,000; at most 3,600,000). */
  timeoutMs?: number | null;
}

/** `packer/beginExternalChange`. */
export interface BeginExternalChangeResult {
  /** Pass to `packer/endExternalChange`. */
  changeId: ChangeId;
}

/**
 * A blocker of a mutation: a `Diagnostic` of severity `error` with a
 * blocker's code.
 */
export interface Blocker {
  assetId?: AssetId;
  code: BlockerCode;
  message: string;
  path?: string;
  severity: BlockerSeverity;
}

/** What stops a mutation: any blocker rejects it and it changes nothing. */
export type BlockerCode =
  | "staleGeneration"
  | "emptyMutation"
  | "outsideProject"
  | "invalidName"
  | "alreadyRegistered"
  | "notFound"
  | "notAFile"
  | "unreadable"
  | "unknownAsset"
  | "targetExists"
  | "fileMissing"
  | "invalidTag"
  | "invalidSetting"
  | "diverged"
  | "unknownDivergence"
  | "invalidResolution"
  | "registryInvalid"
  | "manifestInvalid"
  | "inConflict"
  | "caseConflict"
  | "inBuildOutput"
  | "referenced";

/** A blocker's severity: always `error`. */
export type BlockerSeverity = "error";

/** An outcome of a build or a cache prune. */
export type BuildOutcome = "succeeded" | "failed" | "cancelled";

export interface BuildParams {
  /** Ignore the processing cache: process every asset again. */
  clean?: boolean;
  operationId?: string | null;
  projectId: string;
  /**
   * Build only this target (a `name` of `[[build.targets]]`); every
   * declared target, in order, when absent.
   */
  target?: string | null;
  workDoneToken?: ProgressToken | null;
}

/** `packer/build`, and the `result` of its terminal event. */
export interface BuildResult {
  diagnostics: Diagnostic[];
  operationId: OperationId;
  outcome: BuildOutcome;
  /** Every target's packs, in target order. */
  packs: PackInfo[];
  /** The sums over the targets built. */
  stats: BuildStats;
  /**
   * Each target the build reached, in `packer.toml` order: a target whose
   * build failed or was cancelled ends the build, and the targets after it
   * are not listed.
   */
  targets: TargetBuild[];
  /**
   * The registered assets no pack holds (neither a pack's `include` nor
   * the closure of its `roots`), in path order; the first 1,000.
   */
  unpacked: UnpackedAsset[];
}

/** What a build counted. */
export interface BuildStats {
  /** Assets in the build. */
  assets: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  /** Assets processed by this build. */
  processed: number;
  remote: RemoteStats;
  /** Assets taken from a processing cache. */
  reused: number;
}

/** `packer/cacheStats`. */
export interface CacheStatsResult {
  local: LocalCacheStats;
  /** `[cache.remote]`, when set. */
  remote: RemoteCacheInfo | null;
}

export interface CancelParams {
  operationId: string;
}

/**
 * `packer/cancel`: the state before and after the request (a running
 * operation stops at its next safe point, so `state` may still be `running`).
 */
export interface CancelResult {
  operationId: OperationId;
  previousState: OpState;
  state: OpState;
}

export interface CancelledData {
  operationId: OperationId;
  outcome: CancelledOutcome;
}

/** `cancelled`, as an outcome. */
export type CancelledOutcome = "cancelled";

/** An external change's id: `xc-` and an id. */
export type ChangeId = string;

/**
 * The codes only `studio-packer check` reports: the divergence items a
 * freshly opened project would show, and the project files' syntax.
 */
export type CheckCode =
  | "modified"
  | "missing"
  | "moved"
  | "untracked"
  | "registryConflict"
  | "registryInvalid"
  | "manifestInvalid";

/**
 * One finding of `studio-packer check --json`: a `Diagnostic` that always
 * names its file.
 */
export interface CheckFinding {
  assetId?: string;
  code: FindingCode;
  /** 1-based: the manifest's errors, a broken reference's column. */
  column?: number;
  /**
   * 1-based: the registry entry's or conflict record's line, a bad
   * registry line, the manifest's error line, a broken reference's line
   * in the asset's file.
   */
  line?: number;
  message: string;
  /**
   * Project-relative: `packer.registry.jsonl`, `packer.toml`, an asset's
   * path, or the path in a state folder the packer refuses.
   */
  path: string;
  severity: Severity;
}

/**
 * What `studio-packer check` found (`check --json` prints it). Each
 * finding is a `Diagnostic` that always names its file; `CheckFinding` is
 * its schema.
 */
export interface CheckReport {
  /** Registered assets (0 when the registry cannot be read). */
  assets: number;
  /** No error findings. */
  clean: boolean;
  errors: number;
  /** Errors first, then by path and line. */
  findings: CheckFinding[];
  warnings: number;
}

/** A BLAKE3 hash of a file's bytes, in lowercase hex. */
export type ContentHash = string;

export interface ContentModifiedData {
  generation: Generation;
}

/** What a build cooked of an image for one target. */
export interface CookedTexture {
  /** The KTX2 file's size. */
  bytes: number;
  /** The GPU format: `bc1`, `bc3`, `bc4`, `bc5`, `bc7`, `astc-4x4`, `astc-6x6`, `astc-8x8` or `rgba8`. */
  format: string;
  height: number;
  levels: number;
  profile: Profile;
  /**
   * Level 0's PSNR in dB against the image that was encoded, decoded by
   * a decoder other than the encoder; absent for RGBA8 and for a source
   * passed through.
   */
  psnr?: number;
  /** Whether the format is the sRGB variant (the GPU decodes to linear light). */
  srgb: boolean;
  target: string;
  /** The KTX2 header's `vkFormat`. */
  vkFormat: number;
  /** Level 0's size in pixels. */
  width: number;
}

/** Counts per kind: every kind is present. */
export interface CountsByKind {
  audio: number;
  binary: number;
  data: number;
  font: number;
  image: number;
  model: number;
  text: number;
}

/** Counts per status: every status is present. */
export interface CountsByStatus {
  invalid: number;
  missing: number;
  modified: number;
  ok: number;
}

/**
 * Something wrong, and where: on an asset or the project, in a build, in a
 * mutation's plan (a blocker is an `error`, a warning a `warning`), or in a
 * file `studio-packer check` reads (with its line and column).
 */
export interface Diagnostic {
  assetId?: AssetId;
  code: DiagnosticCode;
  /** 1-based, on `line`. */
  column?: number;
  /** 1-based, in the file at `path`. */
  line?: number;
  message: string;
  /** Project-relative: an asset's path, or the project file concerned. */
  path?: string;
  severity: Severity;
}

/** Every code a diagnostic of an asset, of the project or of a build may have. */
export type DiagnosticCode =
  | "invalidUtf8"
  | "imageUnreadable"
  | "audioUnreadable"
  | "invalidJson"
  | "invalidToml"
  | "fontUnreadable"
  | "unreadable"
  | "unrepresentableName"
  | "symlinkIgnored"
  | "diverged"
  | "invalidSetting"
  | "cacheWrite"
  | "outputUnwritable"
  | "packWrite"
  | "unpacked"
  | "recovered"
  | "recoveryFailed"
  | "remoteCacheConfig"
  | "remoteCacheCorrupt"
  | "remoteCacheDisabled"
  | "remoteCacheRefused"
  | "remoteCacheUploads"
  | "noMaxSize"
  | "inBuildOutput"
  | "stateFolderRefused"
  | "textureInvalid"
  | "textureCooked"
  | "audioEncode"
  | "soundCooked"
  | "unknownTarget"
  | "brokenReference"
  | "tooManyReferences";

export interface DiagnosticCounts {
  errors: number;
  warnings: number;
}

export interface DiagnosticsParams {
  assetId?: string | null;
  projectId: string;
}

/** `packer/diagnostics`. */
export interface DiagnosticsResult {
  generation: Generation;
  items: Diagnostic[];
}

export interface DivergenceCount {
  /** The number of divergence items. */
  count: number;
  state: DivergenceState;
}

/**
 * A divergence item's id: `d-` and 16 hex digits, stable while the
 *  difference lasts.
 */
export type DivergenceId = string;

/** `packer/divergence`: every difference between disk and registry. */
export interface DivergenceResult {
  generation: Generation;
  items: Item[];
  state: DivergenceState;
}

/** Whether disk and registry agree. */
export type DivergenceState = "clean" | "diverged";

export interface DuplicateIdData {
  duplicateId: RequestId;
}

/** One effective setting of an asset. */
export interface EffectiveSetting {
  source: SettingSource;
  value: unknown;
}

export type Empty = Record<string, never>;

/** `packer/endExternalChange`. */
export interface EndExternalChangeParams {
  changeId: string;
}

/**
 * Why a change ended.
 *
 * - `client`: `packer/endExternalChange`.
 * - `connectionClosed`: The connection that began it closed.
 * - `timeout`: Its timeout passed.
 */
export type EndedBy = "client" | "connectionClosed" | "timeout";

export interface EntriesAndBytes {
  bytes: number;
  entries: number;
}

/** One registered asset as stored. Field order is the on-disk key order. */
export interface Entry {
  hash: ContentHash;
  /** The asset's id: stable for its life, whatever its path. */
  id: AssetId;
  kind: Kind;
  /** Relative to the project root, with `/` separators. */
  path: RelativePath;
  settings: Record<string, unknown>;
  size: number;
  tags: string[];
}

/** The `error` member of a response: its `data` is given by its `code`. */
export type ErrorObject =
  | ErrorObjectVariant1
  | ErrorObjectVariant2
  | ErrorObjectVariant3
  | ErrorObjectVariant4
  | ErrorObjectVariant5
  | ErrorObjectVariant6;

/**
 * -32700 the frame is not JSON-RPC, -32601 unknown method, -32603
 * internal error, -32002 not initialized: no `data`.
 */
export interface ErrorObjectVariant1 {
  code: -32700 | -32601 | -32603 | -32002;
  message: string;
}

/** -32600 invalid request; `data` names a request id still in flight. */
export interface ErrorObjectVariant2 {
  code: -32600;
  data?: DuplicateIdData;
  message: string;
}

/** -32602 invalid params. */
export interface ErrorObjectVariant3 {
  code: -32602;
  data: InvalidParamsData;
  message: string;
}

/** -32800 cancelled by `$/cancelRequest`. */
export interface ErrorObjectVariant4 {
  code: -32800;
  data: CancelledData;
  message: string;
}

/** -32801 content modified: the project moved on (a stale cursor). */
export interface ErrorObjectVariant5 {
  code: -32801;
  data: ContentModifiedData;
  message: string;
}

/** -32803 the request failed. */
export interface ErrorObjectVariant6 {
  code: -32803;
  data: FailedData;
  message: string;
}

/** One event of a project, as sent in a `packer/event` notification and as stored in `.packer/events.jsonl`: `projectId` and `seq` always; an operation's events also its `operationId` and `sequence`, which a snapshot or divergence event carries when an operation caused it. */
export type Event =
  | EventQueued
  | EventStarted
  | EventProgress
  | EventSucceeded
  | EventFailed
  | EventCancelled
  | EventRejected
  | EventRemoteCacheDisabled
  | EventSnapshotPublished
  | EventDivergenceDetected
  | EventDivergenceCleared
  | EventWatchDegraded
  | EventWatchRestored
  | EventOwnerChanged
  | EventExternalChangeBegan
  | EventExternalChangeEnded;

/**
 * The operation was accepted and waits in the project's lane. Always
 * its first event (sequence 1).
 */
export interface EventQueued {
  kind: "queued";
  /** The method that started the operation. */
  operation: OperationKind;
  operationId: OperationId;
  projectId: ProjectId;
  seq: Seq;
  sequence: Sequence;
}

/** The operation's turn in the lane came. */
export interface EventStarted {
  kind: "started";
  operationId: OperationId;
  projectId: ProjectId;
  seq: Seq;
  sequence: Sequence;
}

/** Progress of a running operation. May be coalesced when the client reads slowly. */
export interface EventProgress {
  /** A build's bytes read so far. */
  bytes?: number;
  bytesTotal?: number;
  done: number;
  kind: "progress";
  message: string;
  operationId: OperationId;
  projectId: ProjectId;
  seq: Seq;
  sequence: Sequence;
  total: number;
  /**
   * A build's work done so far, and in all: each texture weighs its
   * pixels times its encoder's cost, any other asset its size. The
   * `$/progress` percentage is `work` of `workTotal`.
   */
  work?: number;
  workTotal?: number;
}

/**
 * Terminal: an apply (outcome `applied`), a build or a cache prune
 * (outcome `succeeded`) succeeded.
 */
export interface EventSucceeded {
  kind: "succeeded";
  operationId: OperationId;
  outcome: SucceededOutcome;
  projectId: ProjectId;
  /**
   * Set on the terminal event of an operation whose process died: the
   * next owner ended it from the registry's state (see Crash recovery).
   */
  recovered?: true;
  /**
   * The operation's result, as its request was answered (absent only
   * when `recovered`).
   */
  result?: OperationResult;
  seq: Seq;
  sequence: Sequence;
}

/**
 * Terminal: failed, with `error` (an apply that changed nothing, a build
 * stopped by an internal error, an operation its process did not live
 * to end) or with `result` (a build or a prune whose diagnostics say why).
 */
export interface EventFailed {
  error?: OperationFailure;
  kind: "failed";
  operationId: OperationId;
  outcome: FailedOutcome;
  projectId: ProjectId;
  recovered?: true;
  result?: OperationResult;
  seq: Seq;
  sequence: Sequence;
}

/**
 * Terminal: cancelled. Cancelled by packer/cancel or by its project
 * closing (queued or running), it carries its `result`; cancelled by
 * `$/cancelRequest` it does not.
 */
export interface EventCancelled {
  kind: "cancelled";
  operationId: OperationId;
  outcome: CancelledOutcome;
  projectId: ProjectId;
  result?: OperationResult;
  seq: Seq;
  sequence: Sequence;
}

/**
 * Terminal: the mutation had blockers and changed nothing. `result`
 * equals the response's result.
 */
export interface EventRejected {
  kind: "rejected";
  operationId: OperationId;
  outcome: RejectedOutcome;
  projectId: ProjectId;
  result: ApplyResult;
  seq: Seq;
  sequence: Sequence;
}

/** A build stopped using the shared cache (or uploading to it). */
export interface EventRemoteCacheDisabled {
  kind: "remoteCacheDisabled";
  message: string;
  operationId: OperationId;
  projectId: ProjectId;
  reason: RemoteDisabledReason;
  scope: RemoteDisabledScope;
  seq: Seq;
  sequence: Sequence;
  url: string;
}

/** A new snapshot is current. */
export interface EventSnapshotPublished {
  generation: Generation;
  kind: "snapshotPublished";
  operationId?: OperationId;
  projectId: ProjectId;
  seq: Seq;
  sequence?: Sequence;
}

/** New divergence items (or changed ones). */
export interface EventDivergenceDetected {
  /** Every divergence item now. */
  count: number;
  generation: Generation;
  /** The items that are new or changed. */
  items: Item[];
  kind: "divergenceDetected";
  operationId?: OperationId;
  projectId: ProjectId;
  seq: Seq;
  sequence?: Sequence;
  state: DivergenceState;
}

/** Divergence items that are gone. */
export interface EventDivergenceCleared {
  count: number;
  generation: Generation;
  /** The ids of the items that are gone. */
  ids: DivergenceId[];
  kind: "divergenceCleared";
  operationId?: OperationId;
  projectId: ProjectId;
  seq: Seq;
  sequence?: Sequence;
  state: DivergenceState;
}

/** Watching the project's files failed: changes are seen at the next look. */
export interface EventWatchDegraded {
  kind: "watchDegraded";
  projectId: ProjectId;
  reason: string;
  seq: Seq;
}

/** Watching works again. */
export interface EventWatchRestored {
  kind: "watchRestored";
  projectId: ProjectId;
  seq: Seq;
}

/** Another process took the project over. */
export interface EventOwnerChanged {
  kind: "ownerChanged";
  ownerPid: number;
  projectId: ProjectId;
  seq: Seq;
}

/** A source-control operation began (`packer/beginExternalChange`). */
export interface EventExternalChangeBegan {
  changeId: ChangeId;
  kind: "externalChangeBegan";
  projectId: ProjectId;
  reason: string;
  seq: Seq;
  timeoutMs: number;
}

/** A source-control operation ended. */
export interface EventExternalChangeEnded {
  changeId: ChangeId;
  durationMs: number;
  endedBy: EndedBy;
  kind: "externalChangeEnded";
  projectId: ProjectId;
  reason: string;
  seq: Seq;
}

/**
 * `packer/eventsDropped`: a slow client missed these events (replay them
 * with `packer/replayEvents`).
 */
export interface EventsDropped {
  fromSeq: Seq;
  projectId: ProjectId;
  toSeq: Seq;
}

export interface ExperimentalCapabilities {
  packer: PackerCapabilities;
}

/** A source-control operation in progress (`packer/beginExternalChange`). */
export interface ExternalChangeInfo {
  ageMs: number;
  changeId: ChangeId;
  reason: string;
}

/** Why a request failed (-32803). */
export type FailedData =
  | FailedDataNoFolder
  | FailedDataNoManifest
  | FailedDataRegistryInvalid
  | FailedDataIo
  | FailedDataAttached
  | FailedDataOwnerUnreachable
  | FailedDataOwnerChanged
  | FailedDataNotCooked
  | FailedDataInvalidSetting
  | FailedDataManifestInvalid
  | FailedDataStateFolderRefused
  | FailedDataApplyFailed
  | FailedDataApplyNotUndone
  | FailedDataOwnerLost;

/** The folder does not exist (and `create` was not set). */
export interface FailedDataNoFolder {
  reason: "noFolder";
}

/** There is no packer.toml (and `create` was not set). */
export interface FailedDataNoManifest {
  reason: "noManifest";
}

/** The registry does not parse. */
export interface FailedDataRegistryInvalid {
  reason: "registryInvalid";
}

/** Reading or writing failed. */
export interface FailedDataIo {
  reason: "io";
}

/** This process attaches to the project's owner and cannot do this itself. */
export interface FailedDataAttached {
  reason: "attached";
}

/** The owner process holds the project but does not answer. */
export interface FailedDataOwnerUnreachable {
  reason: "ownerUnreachable";
}

/** The owner changed while the request was forwarded. */
export interface FailedDataOwnerChanged {
  reason: "ownerChanged";
}

/** The asset has not been cooked for the target as it is now: build it first. */
export interface FailedDataNotCooked {
  reason: "notCooked";
}

/** The asset's settings cannot be used (see `settingProblems`): no build cooks it. */
export interface FailedDataInvalidSetting {
  reason: "invalidSetting";
}

/** packer.toml does not parse or does not validate. */
export interface FailedDataManifestInvalid {
  column?: number;
  /** `packer.toml`, when the error has a place. */
  file?: string;
  /** The key at fault, or null when the error is not about one key. */
  key?: string;
  line?: number;
  reason: "manifestInvalid";
}

/** The state folder, or something in it, is not what the packer makes. */
export interface FailedDataStateFolderRefused {
  /** The offending path. */
  path: string;
  reason: "stateFolderRefused";
}

/**
 * An apply failed before its commit point; the same object is the
 * `error` of the `failed` event.
 */
export interface FailedDataApplyFailed {
  message: string;
  operationId: OperationId;
  reason: "applyFailed";
}

/**
 * An apply failed before its commit point and some of what it did
 * could not be undone (the message names each step); what it had set
 * aside is kept in `.packer/recovered/<operationId>/`. The same object
 * is the `error` of the `failed` event.
 */
export interface FailedDataApplyNotUndone {
  message: string;
  operationId: OperationId;
  reason: "applyNotUndone";
}

/**
 * The owner of an attached project went away before answering a
 * forwarded request. For a forwarded apply, `operationId` names the
 * operation to look up in packer/operations or packer/replayEvents.
 */
export interface FailedDataOwnerLost {
  operationId: string | null;
  reason: "ownerLost";
}

/** `failed`, as an outcome. */
export type FailedOutcome = "failed";

/**
 * Why an operation failed without a result.
 *
 * - `applyFailed`: An apply failed before its commit point; everything it did was undone.
 * - `applyNotUndone`: An apply failed before its commit point and some of what it did could not be undone (the message says what): the registry is as it was, the files not put back show as divergence, and what the apply had set aside is kept in `.packer/recovered/<operationId>/`.
 * - `interrupted`: Its process died; the next owner ended it.
 */
export type FailureReason = "applyFailed" | "applyNotUndone" | "interrupted";

/**
 * One filesystem step, in the order it is performed: a `write` of
 * packer.toml (a reconcile's `ignore`) is a step among the others; a
 * `write` of packer.registry.jsonl, when present, is always last.
 */
export type FilesystemMutation =
  | FilesystemMutationMove
  | FilesystemMutationDelete
  | FilesystemMutationWrite
  | FilesystemMutationRewrite;

export interface FilesystemMutationMove {
  op: "move";
  path: RelativePath;
  to: RelativePath;
}

export interface FilesystemMutationDelete {
  op: "delete";
  path: RelativePath;
}

export interface FilesystemMutationWrite {
  op: "write";
  path: ProjectFile;
}

/**
 * An asset's file written again with some of its references changed
 * (a move of what they name, or `replaceReferences`); nothing else in
 * the file changes. `path` is where the file is when it is written.
 */
export interface FilesystemMutationRewrite {
  assetId: AssetId;
  /** The references changed, in file order: the first 100. */
  changes: ReferenceChange[];
  /** How many references the write changes in all. */
  count: number;
  op: "rewrite";
  path: RelativePath;
}

/**
 * A check finding's code: one only `check` reports, or a diagnostic's (of
 * an asset, of the project, or what a build would say of an asset).
 */
export type FindingCode = CheckCode | DiagnosticCode;

/**
 * A snapshot's generation. It starts past the journal's last `seq`
 *  when a project is opened and rises by one per published snapshot.
 */
export type Generation = number;

export interface GetAssetParams {
  assetId: string;
  projectId: string;
}

/** `packer/getAsset`. */
export interface GetAssetResult {
  asset: Asset;
  /**
   * An image's texture for each target a build cooked it for as it is
   * now (source and settings), in target order; empty for other kinds.
   */
  cooked: CookedTexture[];
  /**
   * The settings a build uses for the asset, by key (a texture's `format`
   * by target: `format.<target>`), each with where it was set.
   */
  effectiveSettings: Record<string, EffectiveSetting>;
  generation: Generation;
  /**
   * How many references the asset's file holds, how many name it, and
   * how many of its own name nothing registered.
   */
  references: ReferenceCounts;
  /**
   * Each effective setting the asset's kind cannot use (`invalidSetting`
   * errors naming the key and where it was set): a build fails on them.
   */
  settingProblems: Diagnostic[];
}

/**
 * `initialize`'s params: LSP's, of which the packer reads nothing; other
 * fields are tolerated.
 */
export interface InitializeParams {
  /** The client's capabilities (the packer needs none). */
  capabilities?: Record<string, unknown>;
  /** The client's process id, or null. */
  processId?: number | null;
}

/** What the server supports, as LSP servers declare theirs. */
export interface InitializeResult {
  capabilities: ServerCapabilities;
  serverInfo: ServerInfo;
}

export interface InvalidParamsData {
  /**
   * The path of the offending field (`mutation.mutations[0].assetIds[0]`);
   * `params` when the params as a whole are wrong.
   */
  field: string;
  /** Present when a limit was exceeded: the limit, in entries or bytes. */
  limit?: number;
}

/** One difference between disk and registry. */
export interface Item {
  assetId?: AssetId;
  /** What differs, by kind (see protocol/README.md, "Divergence"). */
  detail: Record<string, unknown>;
  /** Stable while the difference lasts: derived from its kind and path. */
  id: DivergenceId;
  kind: ItemKind;
  path: RelativePath;
}

export type ItemKind =
  | "modified"
  | "missing"
  | "untracked"
  | "moved"
  | "registryChanged"
  | "manifestChanged"
  | "registryConflict";

/**
 * What an asset is, decided by its extension.
 *
 * - `model`: A glTF model (`.gltf`, `.glb`), copied as it is; a `.gltf` file's buffers and images are references.
 */
export type Kind = "image" | "audio" | "data" | "text" | "font" | "binary" | "model";

export interface LaneCounts {
  /** Operations waiting in the project's lane. */
  queued: number;
  /** 0 or 1: the lane runs one operation at a time. */
  running: number;
}

/** The last build of one target in this process, for the summary. */
export interface LastBuild {
  /** Milliseconds since the Unix epoch. */
  finishedAtMs: number;
  operationId: OperationId;
  outcome: BuildOutcome;
  /** How many packs it made or kept. */
  packs: number;
  stats: BuildStats;
  /** The target's name (`[[build.targets]]`). */
  target: string;
}

export interface ListAssetsParams {
  cursor?: string | null;
  filter?: AssetFilter;
  limit?: number | null;
  projectId: string;
}

/** `packer/listAssets`: a page of assets in path order. */
export interface ListAssetsResult {
  generation: Generation;
  items: Asset[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** `packer/listProjects`: the projects this connection's server has open, by root. */
export interface ListProjectsResult {
  projects: ProjectInfo[];
}

/** The local processing cache. */
export interface LocalCacheStats {
  bytes: number;
  /** What its files take on disk, reclaimable space included. */
  diskBytes: number;
  entries: number;
  /** `[cache] max_size`, or null. */
  maxSize: number | null;
  newestUseMs: number | null;
  /** Milliseconds since the Unix epoch; null when empty. */
  oldestUseMs: number | null;
  segments: number;
}

/**
 * The cheap metadata read from a file's header (image size, audio format,
 * text lines…): the fields that apply to its kind.
 */
export interface Metadata {
  bitsPerSample?: number;
  channels?: number;
  /** A sound's codec: `pcm`, `adpcm`, `flac`, `vorbis` or `mp3`. */
  codec?: Name;
  durationMs?: number;
  encoding?: Name;
  format?: Name;
  height?: number;
  lines?: number;
  /**
   * A sound's integrated loudness (EBU R128, ITU-R BS.1770-4) in LUFS, to
   * a hundredth; absent when the standard gives none (no 400 ms block
   * above the -70 LUFS gate: a click, silence).
   */
  loudnessLufs?: number;
  /**
   * `true` while a sound's loudness is not measured yet (it is measured
   * after the sound is looked at, off the open); absent once it is, and
   * then `loudnessLufs` and `truePeakDbtp` are the figures.
   */
  loudnessPending?: boolean;
  sampleRate?: number;
  /**
   * A sound's true peak (4x oversampled, the loudest channel) in dBTP, to
   * a hundredth; absent for pure silence.
   */
  truePeakDbtp?: number;
  valid?: boolean;
  width?: number;
}

/** A change a client asks for; `kind` says which. */
export type Mutation =
  | MutationRegister
  | MutationMove
  | MutationDelete
  | MutationUnregister
  | MutationSetMetadata
  | MutationBatch
  | MutationReconcile
  | MutationReplaceReferences;

/** Registers files that exist on disk as new assets. */
export interface MutationRegister {
  kind: "register";
  paths: string[];
}

/** Moves (or renames) an asset's file; its id is kept. */
export interface MutationMove {
  assetId: string;
  kind: "move";
  to: string;
}

/** Deletes assets' files and entries. */
export interface MutationDelete {
  assetIds: string[];
  kind: "delete";
}

/** Removes entries and leaves the files. */
export interface MutationUnregister {
  assetIds: string[];
  kind: "unregister";
}

/** Replaces tags and merges settings (`null` removes a setting). */
export interface MutationSetMetadata {
  assetId: string;
  kind: "setMetadata";
  settings?: Record<string, unknown> | null;
  tags?: string[] | null;
}

/** Several mutations, all applied or none. */
export interface MutationBatch {
  kind: "batch";
  mutations: Mutation[];
}

/**
 * Resolves divergence items: the ones chosen (with their resolution),
 * or every item with its default resolution.
 */
export interface MutationReconcile {
  items?: ReconcileChoice[] | null;
  kind: "reconcile";
}

/**
 * Rewrites every reference to the asset `from` (by id, or by path) so
 * that it names the asset `to`, written the same way; `from` may be an
 * id no asset has, which references name (a broken reference repointed).
 */
export interface MutationReplaceReferences {
  from: string;
  kind: "replaceReferences";
  to: string;
}

/** A short name in metadata (`png`, `utf-8`). */
export type Name = string;

/** How the look at the disk went: files read, files known unchanged, files gone. */
export interface ObserveStats {
  /** Files whose cached observation was used. */
  cached: number;
  /** Files read and hashed. */
  hashed: number;
  /** Files that were not there. */
  missing: number;
}

/** An operation's state: `queued`, `running`, then one terminal state. */
export type OpState = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "rejected";

export interface OpenProjectParams {
  create?: boolean;
  root: string;
}

/** `packer/openProject`. */
export interface OpenProjectResult {
  generation: Generation;
  ownership: Ownership;
  /** Stable for a root: the same folder always gets the same id. */
  projectId: ProjectId;
  /** The project's absolute root. */
  root: string;
  /** How the first look at the disk went (null when attached: the owner looked). */
  scan: ObserveStats | null;
  summary: Summary;
}

export interface OperationFailure {
  message: string;
  operationId: OperationId;
  reason: FailureReason;
}

/**
 * An operation's id: `op-` and 1 to 60 ASCII letters or digits. The
 *  packer's are `op-` and 16 characters of lowercase Crockford base32;
 *  a client may choose its own (see `packer/applyMutation`).
 */
export type OperationId = string;

/** One operation of `packer/operations`. */
export interface OperationInfo {
  finishedAtMs: number | null;
  kind: OperationKind;
  /** The `sequence` of its last event. */
  lastSequence: Sequence;
  operationId: OperationId;
  /** Milliseconds since the Unix epoch. */
  queuedAtMs: number;
  startedAtMs: number | null;
  state: OpState;
  title: string;
}

/**
 * The method that started an operation.
 *
 * - `unknown`: Recovered from a journal written by a version that did not record it.
 */
export type OperationKind = "applyMutation" | "build" | "pruneCache" | "unknown";

/** The result an operation answered. */
export type OperationResult = ApplyResult | BuildResult | PruneCacheResult;

/** `packer/operations`: active operations in arrival order, then recent ones. */
export interface OperationsResult {
  items: OperationInfo[];
}

export interface Ownership {
  mode: OwnershipMode;
  /** The owner process (this one when `mode` is `owner`); null when it is not known. */
  ownerPid: number | null;
}

/** Whether this process owns the project or attaches to the process that does. */
export type OwnershipMode = "owner" | "attached";

/** One pack a build made or kept. */
export interface PackInfo {
  assets: number;
  bytes: number;
  /** The pack's checksum (hex). */
  hash: string;
  name: string;
  /** Relative to the project root. */
  path: string;
  /** The target it was cooked for; it lies under `<build.output>/<target>/`. */
  target: string;
  /** False when the pack on disk already had these bytes and was kept. */
  written: boolean;
}

/** The packer's own capabilities, from the protocol model. */
export interface PackerCapabilities {
  /** Every `kind` of `packer/event` the server sends. */
  eventKinds: string[];
  /** Every request method besides `initialize` and `shutdown`. */
  methods: string[];
  /** Every `kind` of mutation `packer/previewMutation` and `packer/applyMutation` take. */
  mutationKinds: string[];
  /** Every notification the server sends. */
  notifications: string[];
  /** Every `profile` a `[[build.targets]]` may have. */
  profiles: Profile[];
  /** Bumped when a change would break a client written for an older one. */
  protocolVersion: number;
  /** Every texture format a target's `format` setting may name, by profile. */
  textureFormats: Record<string, string[]>;
}

export interface PreviewParams {
  mutation: Mutation;
  projectId: string;
}

/**
 * `packer/previewMutation`: what the mutation would do, against the
 * snapshot of `baseGeneration`. Apply plans again at its turn.
 */
export interface PreviewResult {
  baseGeneration: Generation;
  blockers: Blocker[];
  filesystemMutations: FilesystemMutation[];
  registryMutations: RegistryMutation[];
  /** A reconcile's items with the resolution each gets. */
  resolutions?: Resolution[];
  truncated?: Truncated;
  warnings: Warning[];
}

/**
 * What kind of GPU and audio device a target's packs are cooked for.
 *
 * - `desktop`: PCs and consoles: the BC family of block-compressed textures.
 * - `mobile`: Phones and tablets: ASTC block-compressed textures.
 * - `uncompressed`: RGBA8 textures, for tools and debugging.
 */
export type Profile = "desktop" | "mobile" | "uncompressed";

/**
 * `$/progress`: LSP work-done progress for an operation whose request
 * carried a `workDoneToken`. Each value also carries the operation's id and
 * the `sequence` of the `packer/event` it accompanies.
 */
export interface ProgressParams {
  /** The request's `workDoneToken`. */
  token: ProgressToken;
  value: WorkDoneProgress;
}

/** LSP's progress token: an integer or a string (at most 256 bytes). */
export type ProgressToken = number | string;

/** The project's own files an apply may write. */
export type ProjectFile = "packer.toml" | "packer.registry.jsonl";

/**
 * A project's id: `p-` and 16 hex digits of the BLAKE3 hash of its
 *  canonical root; the same root always gives the same id.
 */
export type ProjectId = string;

/** One entry of `packer/listProjects`. */
export interface ProjectInfo {
  /** Null when the owner could not be asked. */
  generation: Generation | null;
  /** `name` of packer.toml; null when the owner could not be asked. */
  name: string | null;
  ownership: Ownership;
  projectId: ProjectId;
  root: string;
}

export interface ProjectParams {
  projectId: string;
}

/**
 * `packer/pruneCache`: evict the least recently used entries of the
 * project's processing cache until it takes at most `maxSize` bytes
 * (default: `[cache] max_size`).
 */
export interface PruneCacheParams {
  maxSize?: number | null;
  operationId?: string | null;
  projectId: string;
  workDoneToken?: ProgressToken | null;
}

/** `packer/pruneCache`, and the `result` of its terminal event. */
export interface PruneCacheResult {
  after?: EntriesAndBytes;
  before?: EntriesAndBytes;
  diagnostics: Diagnostic[];
  evicted?: EntriesAndBytes;
  /** The size pruned to; null when there was none to use. */
  maxSize: number | null;
  operationId: OperationId;
  outcome: BuildOutcome;
}

/** How to resolve one divergence item. */
export interface ReconcileChoice {
  divergenceId: string;
  /** The file to relink a missing asset to (`relink` only). */
  path?: string | null;
  /** `adopt`, `drop`, `relink`, `register`, `ignore`, `move`, `reload` or `keep`. */
  resolution: string;
}

/**
 * How a reference names an asset.
 *
 * - `id`: `asset:<id>`: survives every move.
 * - `path`: `asset:<path>` or a glTF `uri`.
 */
export type ReferenceBy = "id" | "path";

/**
 * One reference a rewrite changes: where it is in the file as it was, and
 * its literal before and after, quotes included, exactly as written.
 */
export interface ReferenceChange {
  after: string;
  before: string;
  /** 1-based column of the literal, in characters. */
  column: number;
  /** 1-based line of the literal. */
  line: number;
  /** JSON pointer of the value. */
  pointer: string;
}

/** An asset's references, counted (`packer/references` lists them). */
export interface ReferenceCounts {
  /** Of `uses`, those that name nothing registered. */
  broken: number;
  /** References in other files that name this asset, each one. */
  usedBy: number;
  /** References in the asset's file, each one (broken ones included). */
  uses: number;
}

/** One reference: the other asset, and where the reference is written. */
export interface ReferenceItem {
  /**
   * The other asset (in `uses`, the one named; in `usedBy`, the one whose
   * file holds the reference); absent when the reference is broken.
   */
  assetId?: AssetId;
  /** It names nothing registered. */
  broken: boolean;
  /** How the reference names its target. */
  by: ReferenceBy;
  column: number;
  line: number;
  path?: RelativePath;
  /**
   * Where it is written, in the referring file: a JSON pointer (RFC 6901,
   * over the TOML tree for TOML), and the 1-based line and column.
   */
  pointer: string;
  /** What it names: an id, or a path from the project root. */
  target: string;
}

/** The project's references, counted. */
export interface ReferenceTotals {
  /** References that name nothing registered (each an error diagnostic on its file). */
  broken: number;
}

export interface ReferencesParams {
  assetId: string;
  projectId: string;
}

/** `packer/references`: what an asset's file names, and what names it. */
export interface ReferencesResult {
  assetId: AssetId;
  /** How many there are of each, whatever the lists hold. */
  counts: ReferenceCounts;
  generation: Generation;
  path: RelativePath;
  /**
   * The references in other files that name this asset, by referrer id,
   * then in file order (the first 1,000).
   */
  usedBy: ReferenceItem[];
  /** The references in the asset's file, in file order (the first 1,000). */
  uses: ReferenceItem[];
}

/**
 * A change to one registry entry: `add` has `after`, `remove` has
 * `before`, `update` has both.
 */
export type RegistryMutation =
  | RegistryMutationAdd
  | RegistryMutationUpdate
  | RegistryMutationRemove;

export interface RegistryMutationAdd {
  after: Entry;
  assetId: AssetId;
  op: "add";
}

export interface RegistryMutationUpdate {
  after: Entry;
  assetId: AssetId;
  before: Entry;
  op: "update";
}

export interface RegistryMutationRemove {
  assetId: AssetId;
  before: Entry;
  op: "remove";
}

/** `rejected`, as an outcome. */
export type RejectedOutcome = "rejected";

/** A project-relative path with `/` separators. */
export type RelativePath = string;

export interface RemoteCacheInfo {
  mode: RemoteMode;
  url: string;
}

/**
 * Why the shared cache was switched off for the rest of a build.
 *
 * - `refused`: The server refused the credentials (401/403) or an upload.
 * - `failures`: Three failures in a row.
 */
export type RemoteDisabledReason = "refused" | "failures";

/** What was switched off. */
export type RemoteDisabledScope = "all" | "uploads";

/**
 * What a build may do with the shared remote cache.
 *
 * - `read`: Use entries, never upload (the default: people read what CI wrote).
 * - `read-write`: Use entries and upload new ones (for CI).
 * - `off`: Do not use the remote at all.
 */
export type RemoteMode = "read" | "read-write" | "off";

/** The shared cache's part of a build: what it found, fetched and stored. */
export interface RemoteStats {
  bytesDown: number;
  bytesUp: number;
  /** Entries found damaged (refetched or reprocessed). */
  corrupt: number;
  errors: number;
  hits: number;
  misses: number;
  mode: RemoteMode;
  uploaded: number;
}

/** `packer/replayEvents`: journaled events after `after`, oldest first. */
export interface ReplayEventsResult {
  events: Event[];
  /** The project's last `seq`: when it is beyond the last event returned, ask again. */
  lastSeq: number;
}

export interface ReplayParams {
  after?: number;
  limit?: number | null;
  projectId: string;
}

/** A JSON-RPC request id: an integer or a string. */
export type RequestId = number | string;

/** In a preview of a reconcile: each item it resolves, and how. */
export interface Resolution {
  divergenceId: DivergenceId;
  kind: ItemKind;
  path: RelativePath;
  resolution: ResolutionName;
  /** Where a `relink` or `move` takes the asset. */
  to?: string;
}

/** How one divergence item is resolved. */
export type ResolutionName =
  | "adopt"
  | "drop"
  | "relink"
  | "register"
  | "ignore"
  | "move"
  | "reload"
  | "keep"
  | "ours"
  | "theirs"
  | "both";

/**
 * An event's place in its project's stream, from 1, rising by one per
 *  event, across restarts.
 */
export type Seq = number;

/** An event's place within its operation, from 1. */
export type Sequence = number;

export interface ServerCapabilities {
  experimental: ExperimentalCapabilities;
}

export interface ServerInfo {
  /** `studio-packer`. */
  name: string;
  version: string;
}

/** Where an effective setting comes from. */
export type SettingSource = SettingSourceDefault | SettingSourceRule | SettingSourceAsset;

/** The kind's default. */
export interface SettingSourceDefault {
  kind: "default";
}

/** An `[[assets.rules]]` rule of `packer.toml`, starting at `line` (1-based). */
export interface SettingSourceRule {
  kind: "rule";
  line: number;
}

/** The asset's own `settings` in the registry. */
export interface SettingSourceAsset {
  kind: "asset";
}

/** Ordered most severe first. */
export type Severity = "error" | "warning" | "info";

/** An asset's status, in the order of precedence used to pick one. */
export type Status = "ok" | "invalid" | "modified" | "missing";

/** `succeeded`'s outcome: `applied` for an apply, `succeeded` for a build or a prune. */
export type SucceededOutcome = "applied" | "succeeded";

/** `packer/summary`: every count a client shows, computed by the packer. */
export interface Summary {
  assets: AssetCounts;
  diagnostics: DiagnosticCounts;
  divergence: DivergenceCount;
  /** Source-control operations in progress, oldest first: divergence is held back until they end. */
  externalChanges: ExternalChangeInfo[];
  generation: Generation;
  lane: LaneCounts;
  /**
   * Each target's last build in this process, by target name (no key
   * until this process has built that target).
   */
  lastBuild: Record<string, LastBuild>;
  references: ReferenceTotals;
  /**
   * The build targets of the manifest the snapshot was made with, in
   * `packer.toml` order (the one a build without `target` builds first is first).
   */
  targets: TargetInfo[];
  watch: Watch;
}

/** One target of a build. */
export interface TargetBuild {
  outcome: BuildOutcome;
  /** How many packs it made or kept. */
  packs: number;
  profile: Profile;
  stats: BuildStats;
  target: string;
}

/** A build target of `packer.toml`. */
export interface TargetInfo {
  name: string;
  profile: Profile;
}

/** A terminal state of an operation. */
export type TerminalState = "succeeded" | "failed" | "cancelled" | "rejected";

/** `packer/thumbnail`: a picture of an image as a target's GPU shows it. */
export interface ThumbnailParams {
  assetId: string;
  projectId: string;
  /** The longest side wanted, in pixels (1 to 1024). */
  size: number;
  /** A `name` of `[[build.targets]]`; the first declared target when absent. */
  target?: string | null;
}

/**
 * `packer/thumbnail`: a picture of a cooked texture as the target's GPU
 * shows it.
 */
export interface ThumbnailResult {
  /** The GPU format it was decoded from. */
  format: string;
  height: number;
  /** The mip level it was decoded from. */
  level: number;
  /** A PNG file (8-bit RGBA), base64. */
  png: string;
  target: string;
  /** The picture's size: at most the asked `size` on its longer side. */
  width: number;
}

/**
 * Present only when a list of the answer holds more than `limit` entries.
 * Each list then holds its first `limit` entries, in order, and this
 * gives every list's full length (exact: a blocker beyond the first
 * `limit` still rejects the mutation).
 */
export interface Truncated {
  blockers: number;
  filesystemMutations: number;
  /** 1,000. */
  limit: number;
  registryMutations: number;
  /** In a preview of a reconcile that resolves at least one item. */
  resolutions?: number;
  warnings: number;
}

/** An asset no pack holds. */
export interface UnpackedAsset {
  assetId: AssetId;
  path: RelativePath;
}

/**
 * A warning of a mutation: a `Diagnostic` of severity `warning` with a
 * warning's code.
 */
export interface Warning {
  assetId?: AssetId;
  code: WarningCode;
  message: string;
  path?: string;
  severity: WarningSeverity;
}

/** What a client should know of a mutation that does not stop it. */
export type WarningCode =
  | "outsideAssetRoots"
  | "excluded"
  | "noChange"
  | "kindChanged"
  | "fileAlreadyMissing"
  | "invalidUtf8"
  | "imageUnreadable"
  | "audioUnreadable"
  | "invalidJson"
  | "invalidToml"
  | "fontUnreadable"
  | "textureInvalid"
  | "tooManyReferences"
  | "reevaluated"
  | "skipped"
  | "contentDiffers"
  | "choiceNeeded"
  | "copyKept";

/** A warning's severity: always `warning`. */
export type WarningSeverity = "warning";

export interface Watch {
  reason?: string;
  state: WatchState;
}

/**
 * Watching the project's files for changes.
 *
 * - `off`: Not watched (a one-shot command).
 * - `starting`: The watches are being placed; changes meanwhile are seen once they are.
 * - `degraded`: Watching failed; `reason` says why. Changes are seen at the next look.
 */
export type WatchState = "ok" | "off" | "starting" | "degraded";

export type WorkDoneProgress = WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd;

export interface WorkDoneProgressBegin {
  /** Always true. */
  cancellable: true;
  kind: "begin";
  operationId: OperationId;
  sequence: Sequence;
  /** `Apply <kind>`, `Build`, `Build (clean)` or `Prune the processing cache`. */
  title: string;
}

export interface WorkDoneProgressReport {
  kind: "report";
  message: string;
  operationId: OperationId;
  /** 0 to 100. */
  percentage: number;
  sequence: Sequence;
}

export interface WorkDoneProgressEnd {
  kind: "end";
  /** The operation's terminal state. */
  message: TerminalState;
  operationId: OperationId;
  sequence: Sequence;
}

/** Every request, by method: what `params` it takes (`void`: none) and the `result` it answers. */
export interface Requests {
  /** LSP's handshake: the server's capabilities. */
  "initialize": { params: InitializeParams; result: InitializeResult };
  /** LSP's: the server stops answering, then `exit`. */
  "shutdown": { params: void; result: null };
  /** Opens (or attaches to) a project and subscribes this connection to its events. */
  "packer/openProject": { params: OpenProjectParams; result: OpenProjectResult };
  /** Unsubscribes this connection; the last one closes the project. */
  "packer/closeProject": { params: ProjectParams; result: null };
  /** The projects this server has open. */
  "packer/listProjects": { params: Empty; result: ListProjectsResult };
  /** Every count a client shows, from the current snapshot. */
  "packer/summary": { params: ProjectParams; result: Summary };
  /** A page of assets in path order, filtered. */
  "packer/listAssets": { params: ListAssetsParams; result: ListAssetsResult };
  /** One asset with its metadata, status, diagnostics, effective settings and cooked textures. */
  "packer/getAsset": { params: GetAssetParams; result: GetAssetResult };
  /** What an asset's file names and what names it, each reference with its place. */
  "packer/references": { params: ReferencesParams; result: ReferencesResult };
  /** A PNG of an image's cooked texture for a target, as its GPU shows it. */
  "packer/thumbnail": { params: ThumbnailParams; result: ThumbnailResult };
  /** The project's diagnostics, or one asset's. */
  "packer/diagnostics": { params: DiagnosticsParams; result: DiagnosticsResult };
  /** Every difference between disk and registry. */
  "packer/divergence": { params: ProjectParams; result: DivergenceResult };
  /** What a mutation would do; changes nothing. */
  "packer/previewMutation": { params: PreviewParams; result: PreviewResult };
  /** Applies a mutation in the project's lane, planned again at its turn. */
  "packer/applyMutation": { params: ApplyParams; result: ApplyResult };
  /** Builds the project's packs in its lane. */
  "packer/build": { params: BuildParams; result: BuildResult };
  /** What the processing caches hold. */
  "packer/cacheStats": { params: ProjectParams; result: CacheStatsResult };
  /** Evicts the least recently used cache entries, in the lane. */
  "packer/pruneCache": { params: PruneCacheParams; result: PruneCacheResult };
  /** Active operations in arrival order, then recent ones. */
  "packer/operations": { params: ProjectParams; result: OperationsResult };
  /** Cancels an operation, whoever started it. */
  "packer/cancel": { params: CancelParams; result: CancelResult };
  /** Journaled events after a `seq`. */
  "packer/replayEvents": { params: ReplayParams; result: ReplayEventsResult };
  /** A source-control operation begins: divergence is held until it ends. */
  "packer/beginExternalChange": { params: BeginExternalChangeParams; result: BeginExternalChangeResult };
  /** The source-control operation ended: one look at the workspace. */
  "packer/endExternalChange": { params: EndExternalChangeParams; result: null };
}

/** Every notification the server sends, by method: its params. */
export interface Notifications {
  /** One event of a project. */
  "packer/event": Event;
  /** A slow client missed these events. */
  "packer/eventsDropped": EventsDropped;
  /** LSP work-done progress of an operation. */
  "$/progress": ProgressParams;
}

export type RequestMethod = keyof Requests;
export type NotificationMethod = keyof Notifications;

/** Every request method: `lane`, whether it runs in the project's lane; `cancellable`, whether `$/cancelRequest` stops it. */
export const METHODS = [
  { name: "initialize", lane: false, cancellable: false },
  { name: "shutdown", lane: false, cancellable: false },
  { name: "packer/openProject", lane: false, cancellable: false },
  { name: "packer/closeProject", lane: false, cancellable: false },
  { name: "packer/listProjects", lane: false, cancellable: false },
  { name: "packer/summary", lane: false, cancellable: false },
  { name: "packer/listAssets", lane: false, cancellable: false },
  { name: "packer/getAsset", lane: false, cancellable: false },
  { name: "packer/references", lane: false, cancellable: false },
  { name: "packer/thumbnail", lane: false, cancellable: false },
  { name: "packer/diagnostics", lane: false, cancellable: false },
  { name: "packer/divergence", lane: false, cancellable: false },
  { name: "packer/previewMutation", lane: false, cancellable: false },
  { name: "packer/applyMutation", lane: true, cancellable: true },
  { name: "packer/build", lane: true, cancellable: true },
  { name: "packer/cacheStats", lane: false, cancellable: false },
  { name: "packer/pruneCache", lane: true, cancellable: true },
  { name: "packer/operations", lane: false, cancellable: false },
  { name: "packer/cancel", lane: false, cancellable: false },
  { name: "packer/replayEvents", lane: false, cancellable: false },
  { name: "packer/beginExternalChange", lane: false, cancellable: false },
  { name: "packer/endExternalChange", lane: false, cancellable: false },
] as const;

export const PROTOCOL_VERSION = 1;
