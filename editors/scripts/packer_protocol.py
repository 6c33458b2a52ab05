# Generated from the protocol's Rust types by tests/codegen: do not edit.
# `cargo test --test generated` fails when this file is out of date;
# `UPDATE_GENERATED=1 cargo test --test generated` rewrites it.
"""The studio-packer protocol: its types, and a client of `studio-packer serve`.

Standard library only; Python 3.9 and later. An object type is a TypedDict
(required keys in a base class, optional ones in a total=False subclass); a
union of objects is told apart by its tag key (`kind`).
"""

from __future__ import annotations

import json
import subprocess
from typing import Any, Callable, Dict, List, Literal, Optional, TypedDict, Union, cast

PROTOCOL_VERSION = 1


# How an apply ended.
ApplyOutcome = Literal["applied", "rejected", "cancelled"]


class _ApplyParamsRequired(TypedDict):
    mutation: Mutation
    projectId: str


class ApplyParams(_ApplyParamsRequired, total=False):
    expectedGeneration: Optional[int]
    # A fresh id chosen by the client, so that it can follow the operation
    # before the response arrives (attached processes always set one).
    operationId: Optional[str]
    workDoneToken: Optional[ProgressToken]


class _ApplyResultRequired(TypedDict):
    blockers: List[Blocker]
    filesystemMutations: List[FilesystemMutation]
    # The generation after the apply (unchanged unless `applied` changed something).
    generation: Generation
    operationId: OperationId
    outcome: ApplyOutcome
    registryMutations: List[RegistryMutation]
    warnings: List[Warning]


class ApplyResult(_ApplyResultRequired, total=False):
    """`packer/applyMutation`, and the `result` of its terminal event."""

    truncated: Truncated


class Asset(TypedDict):
    """A registered asset: its registry entry and what the packer observed on disk."""

    diagnostics: List[Diagnostic]
    hash: ContentHash
    # The asset's id: stable for its life, whatever its path.
    id: AssetId
    kind: Kind
    metadata: Metadata
    # Relative to the project root, with `/` separators.
    path: RelativePath
    settings: Dict[str, Any]
    size: int
    status: Status
    tags: List[str]


class AssetCounts(TypedDict):
    """Counts kept with each snapshot, computed once when it is made."""

    byKind: CountsByKind
    byStatus: CountsByStatus
    # Sounds whose loudness is not measured yet (their metadata say
    # `loudnessPending`): the packer measures them after looking at them,
    # and publishes a snapshot as each batch is measured.
    loudnessPending: int
    total: int


class AssetFilter(TypedDict, total=False):
    kind: Optional[Kind]
    pathPrefix: Optional[str]
    status: Optional[Status]
    tag: Optional[str]
    text: Optional[str]
    # `true`: only assets no other asset names; `false`: only assets some other names.
    unused: Optional[bool]


# An asset's id. New ids are 128 random bits in lowercase Crockford
#  base32 (26 characters); a hand-edited registry may hold any 1 to 64
#  ASCII letters, digits, `-` and `_`.
AssetId = str


class _BeginExternalChangeParamsRequired(TypedDict):
    projectId: str
    # For people: what is changing the files (`git checkout feature`).
    reason: str


class BeginExternalChangeParams(_BeginExternalChangeParamsRequired, total=False):
    """`packer/beginExternalChange`: a source-control operation begins."""

    # How long the change may stay open (default 300,000; at most 3,600,000).
    timeoutMs: Optional[int]


class BeginExternalChangeResult(TypedDict):
    """`packer/beginExternalChange`."""

    # Pass to `packer/endExternalChange`.
    changeId: ChangeId


class _BlockerRequired(TypedDict):
    code: BlockerCode
    message: str
    severity: BlockerSeverity


class Blocker(_BlockerRequired, total=False):
    """A blocker of a mutation: a `Diagnostic` of severity `error` with a
    blocker's code.
    """

    assetId: AssetId
    path: str


# What stops a mutation: any blocker rejects it and it changes nothing.
BlockerCode = Literal["staleGeneration", "emptyMutation", "outsideProject", "invalidName", "alreadyRegistered", "notFound", "notAFile", "unreadable", "unknownAsset", "targetExists", "fileMissing", "invalidTag", "invalidSetting", "diverged", "unknownDivergence", "invalidResolution", "registryInvalid", "manifestInvalid", "inConflict", "caseConflict", "inBuildOutput", "referenced"]


# A blocker's severity: always `error`.
BlockerSeverity = Literal["error"]


# An outcome of a build or a cache prune.
BuildOutcome = Literal["succeeded", "failed", "cancelled"]


class _BuildParamsRequired(TypedDict):
    projectId: str


class BuildParams(_BuildParamsRequired, total=False):
    # Ignore the processing cache: process every asset again.
    clean: bool
    operationId: Optional[str]
    # Build only this target (a `name` of `[[build.targets]]`); every
    # declared target, in order, when absent.
    target: Optional[str]
    workDoneToken: Optional[ProgressToken]


class BuildResult(TypedDict):
    """`packer/build`, and the `result` of its terminal event."""

    diagnostics: List[Diagnostic]
    operationId: OperationId
    outcome: BuildOutcome
    # Every target's packs, in target order.
    packs: List[PackInfo]
    # The sums over the targets built.
    stats: BuildStats
    # Each target the build reached, in `packer.toml` order: a target whose
    # build failed or was cancelled ends the build, and the targets after it
    # are not listed.
    targets: List[TargetBuild]
    # The registered assets no pack holds (neither a pack's `include` nor
    # the closure of its `roots`), in path order; the first 1,000.
    unpacked: List[UnpackedAsset]


class BuildStats(TypedDict):
    """What a build counted."""

    # Assets in the build.
    assets: int
    bytesIn: int
    bytesOut: int
    durationMs: int
    # Assets processed by this build.
    processed: int
    remote: RemoteStats
    # Assets taken from a processing cache.
    reused: int


class CacheStatsResult(TypedDict):
    """`packer/cacheStats`."""

    local: LocalCacheStats
    # `[cache.remote]`, when set.
    remote: Optional[RemoteCacheInfo]


class CancelParams(TypedDict):
    operationId: str


class CancelResult(TypedDict):
    """`packer/cancel`: the state before and after the request (a running
    operation stops at its next safe point, so `state` may still be `running`).
    """

    operationId: OperationId
    previousState: OpState
    state: OpState


class CancelledData(TypedDict):
    operationId: OperationId
    outcome: CancelledOutcome


# `cancelled`, as an outcome.
CancelledOutcome = Literal["cancelled"]


# An external change's id: `xc-` and an id.
ChangeId = str


# The codes only `studio-packer check` reports: the divergence items a
# freshly opened project would show, and the project files' syntax.
CheckCode = Literal["modified", "missing", "moved", "untracked", "registryConflict", "registryInvalid", "manifestInvalid"]


class _CheckFindingRequired(TypedDict):
    code: FindingCode
    message: str
    # Project-relative: `packer.registry.jsonl`, `packer.toml`, an asset's
    # path, or the path in a state folder the packer refuses.
    path: str
    severity: Severity


class CheckFinding(_CheckFindingRequired, total=False):
    """One finding of `studio-packer check --json`: a `Diagnostic` that always
    names its file.
    """

    assetId: str
    # 1-based: the manifest's errors, a broken reference's column.
    column: int
    # 1-based: the registry entry's or conflict record's line, a bad
    # registry line, the manifest's error line, a broken reference's line
    # in the asset's file.
    line: int


class CheckReport(TypedDict):
    """What `studio-packer check` found (`check --json` prints it). Each
    finding is a `Diagnostic` that always names its file; `CheckFinding` is
    its schema.
    """

    # Registered assets (0 when the registry cannot be read).
    assets: int
    # No error findings.
    clean: bool
    errors: int
    # Errors first, then by path and line.
    findings: List[CheckFinding]
    warnings: int


# A BLAKE3 hash of a file's bytes, in lowercase hex.
ContentHash = str


class ContentModifiedData(TypedDict):
    generation: Generation


class _CookedTextureRequired(TypedDict):
    # The KTX2 file's size.
    bytes: int
    # The GPU format: `bc1`, `bc3`, `bc4`, `bc5`, `bc7`, `astc-4x4`, `astc-6x6`, `astc-8x8` or `rgba8`.
    format: str
    height: int
    levels: int
    profile: Profile
    # Whether the format is the sRGB variant (the GPU decodes to linear light).
    srgb: bool
    target: str
    # The KTX2 header's `vkFormat`.
    vkFormat: int
    # Level 0's size in pixels.
    width: int


class CookedTexture(_CookedTextureRequired, total=False):
    """What a build cooked of an image for one target."""

    # Level 0's PSNR in dB against the image that was encoded, decoded by
    # a decoder other than the encoder; absent for RGBA8 and for a source
    # passed through.
    psnr: float


class CountsByKind(TypedDict):
    """Counts per kind: every kind is present."""

    audio: int
    binary: int
    data: int
    font: int
    image: int
    model: int
    text: int


class CountsByStatus(TypedDict):
    """Counts per status: every status is present."""

    invalid: int
    missing: int
    modified: int
    ok: int


class _DiagnosticRequired(TypedDict):
    code: DiagnosticCode
    message: str
    severity: Severity


class Diagnostic(_DiagnosticRequired, total=False):
    """Something wrong, and where: on an asset or the project, in a build, in a
    mutation's plan (a blocker is an `error`, a warning a `warning`), or in a
    file `studio-packer check` reads (with its line and column).
    """

    assetId: AssetId
    # 1-based, on `line`.
    column: int
    # 1-based, in the file at `path`.
    line: int
    # Project-relative: an asset's path, or the project file concerned.
    path: str


# Every code a diagnostic of an asset, of the project or of a build may have.
DiagnosticCode = Literal["invalidUtf8", "imageUnreadable", "audioUnreadable", "invalidJson", "invalidToml", "fontUnreadable", "unreadable", "unrepresentableName", "symlinkIgnored", "diverged", "invalidSetting", "cacheWrite", "outputUnwritable", "packWrite", "unpacked", "recovered", "recoveryFailed", "remoteCacheConfig", "remoteCacheCorrupt", "remoteCacheDisabled", "remoteCacheRefused", "remoteCacheUploads", "noMaxSize", "inBuildOutput", "stateFolderRefused", "textureInvalid", "textureCooked", "audioEncode", "soundCooked", "unknownTarget", "brokenReference", "tooManyReferences"]


class DiagnosticCounts(TypedDict):
    errors: int
    warnings: int


class _DiagnosticsParamsRequired(TypedDict):
    projectId: str


class DiagnosticsParams(_DiagnosticsParamsRequired, total=False):
    assetId: Optional[str]


class DiagnosticsResult(TypedDict):
    """`packer/diagnostics`."""

    generation: Generation
    items: List[Diagnostic]


class DivergenceCount(TypedDict):
    # The number of divergence items.
    count: int
    state: DivergenceState


# A divergence item's id: `d-` and 16 hex digits, stable while the
#  difference lasts.
DivergenceId = str


class DivergenceResult(TypedDict):
    """`packer/divergence`: every difference between disk and registry."""

    generation: Generation
    items: List[Item]
    state: DivergenceState


# Whether disk and registry agree.
DivergenceState = Literal["clean", "diverged"]


class DuplicateIdData(TypedDict):
    duplicateId: RequestId


class EffectiveSetting(TypedDict):
    """One effective setting of an asset."""

    source: SettingSource
    value: Any


class Empty(TypedDict):
    pass


class EndExternalChangeParams(TypedDict):
    """`packer/endExternalChange`."""

    changeId: str


# Why a change ended.
#
# - `client`: `packer/endExternalChange`.
# - `connectionClosed`: The connection that began it closed.
# - `timeout`: Its timeout passed.
EndedBy = Literal["client", "connectionClosed", "timeout"]


class EntriesAndBytes(TypedDict):
    bytes: int
    entries: int


class Entry(TypedDict):
    """One registered asset as stored. Field order is the on-disk key order."""

    hash: ContentHash
    # The asset's id: stable for its life, whatever its path.
    id: AssetId
    kind: Kind
    # Relative to the project root, with `/` separators.
    path: RelativePath
    settings: Dict[str, Any]
    size: int
    tags: List[str]


# The `error` member of a response: its `data` is given by its `code`.
ErrorObject = Union["ErrorObjectVariant1", "ErrorObjectVariant2", "ErrorObjectVariant3", "ErrorObjectVariant4", "ErrorObjectVariant5", "ErrorObjectVariant6"]


class ErrorObjectVariant1(TypedDict):
    """-32700 the frame is not JSON-RPC, -32601 unknown method, -32603
    internal error, -32002 not initialized: no `data`.
    """

    code: Literal[-32700, -32601, -32603, -32002]
    message: str


class _ErrorObjectVariant2Required(TypedDict):
    code: Literal[-32600]
    message: str


class ErrorObjectVariant2(_ErrorObjectVariant2Required, total=False):
    """-32600 invalid request; `data` names a request id still in flight."""

    data: DuplicateIdData


class ErrorObjectVariant3(TypedDict):
    """-32602 invalid params."""

    code: Literal[-32602]
    data: InvalidParamsData
    message: str


class ErrorObjectVariant4(TypedDict):
    """-32800 cancelled by `$/cancelRequest`."""

    code: Literal[-32800]
    data: CancelledData
    message: str


class ErrorObjectVariant5(TypedDict):
    """-32801 content modified: the project moved on (a stale cursor)."""

    code: Literal[-32801]
    data: ContentModifiedData
    message: str


class ErrorObjectVariant6(TypedDict):
    """-32803 the request failed."""

    code: Literal[-32803]
    data: FailedData
    message: str


# One event of a project, as sent in a `packer/event` notification and as stored in `.packer/events.jsonl`: `projectId` and `seq` always; an operation's events also its `operationId` and `sequence`, which a snapshot or divergence event carries when an operation caused it.
Event = Union["EventQueued", "EventStarted", "EventProgress", "EventSucceeded", "EventFailed", "EventCancelled", "EventRejected", "EventRemoteCacheDisabled", "EventSnapshotPublished", "EventDivergenceDetected", "EventDivergenceCleared", "EventWatchDegraded", "EventWatchRestored", "EventOwnerChanged", "EventExternalChangeBegan", "EventExternalChangeEnded"]


class EventQueued(TypedDict):
    """The operation was accepted and waits in the project's lane. Always
    its first event (sequence 1).
    """

    kind: Literal["queued"]
    # The method that started the operation.
    operation: OperationKind
    operationId: OperationId
    projectId: ProjectId
    seq: Seq
    sequence: Sequence


class EventStarted(TypedDict):
    """The operation's turn in the lane came."""

    kind: Literal["started"]
    operationId: OperationId
    projectId: ProjectId
    seq: Seq
    sequence: Sequence


class _EventProgressRequired(TypedDict):
    done: int
    kind: Literal["progress"]
    message: str
    operationId: OperationId
    projectId: ProjectId
    seq: Seq
    sequence: Sequence
    total: int


class EventProgress(_EventProgressRequired, total=False):
    """Progress of a running operation. May be coalesced when the client reads slowly."""

    # A build's bytes read so far.
    bytes: int
    bytesTotal: int
    # A build's work done so far, and in all: each texture weighs its
    # pixels times its encoder's cost, any other asset its size. The
    # `$/progress` percentage is `work` of `workTotal`.
    work: int
    workTotal: int


class _EventSucceededRequired(TypedDict):
    kind: Literal["succeeded"]
    operationId: OperationId
    outcome: SucceededOutcome
    projectId: ProjectId
    seq: Seq
    sequence: Sequence


class EventSucceeded(_EventSucceededRequired, total=False):
    """Terminal: an apply (outcome `applied`), a build or a cache prune
    (outcome `succeeded`) succeeded.
    """

    # Set on the terminal event of an operation whose process died: the
    # next owner ended it from the registry's state (see Crash recovery).
    recovered: Literal[True]
    # The operation's result, as its request was answered (absent only
    # when `recovered`).
    result: OperationResult


class _EventFailedRequired(TypedDict):
    kind: Literal["failed"]
    operationId: OperationId
    outcome: FailedOutcome
    projectId: ProjectId
    seq: Seq
    sequence: Sequence


class EventFailed(_EventFailedRequired, total=False):
    """Terminal: failed, with `error` (an apply that changed nothing, a build
    stopped by an internal error, an operation its process did not live
    to end) or with `result` (a build or a prune whose diagnostics say why).
    """

    error: OperationFailure
    recovered: Literal[True]
    result: OperationResult


class _EventCancelledRequired(TypedDict):
    kind: Literal["cancelled"]
    operationId: OperationId
    outcome: CancelledOutcome
    projectId: ProjectId
    seq: Seq
    sequence: Sequence


class EventCancelled(_EventCancelledRequired, total=False):
    """Terminal: cancelled. Cancelled by packer/cancel or by its project
    closing (queued or running), it carries its `result`; cancelled by
    `$/cancelRequest` it does not.
    """

    result: OperationResult


class EventRejected(TypedDict):
    """Terminal: the mutation had blockers and changed nothing. `result`
    equals the response's result.
    """

    kind: Literal["rejected"]
    operationId: OperationId
    outcome: RejectedOutcome
    projectId: ProjectId
    result: ApplyResult
    seq: Seq
    sequence: Sequence


class EventRemoteCacheDisabled(TypedDict):
    """A build stopped using the shared cache (or uploading to it)."""

    kind: Literal["remoteCacheDisabled"]
    message: str
    operationId: OperationId
    projectId: ProjectId
    reason: RemoteDisabledReason
    scope: RemoteDisabledScope
    seq: Seq
    sequence: Sequence
    url: str


class _EventSnapshotPublishedRequired(TypedDict):
    generation: Generation
    kind: Literal["snapshotPublished"]
    projectId: ProjectId
    seq: Seq


class EventSnapshotPublished(_EventSnapshotPublishedRequired, total=False):
    """A new snapshot is current."""

    operationId: OperationId
    sequence: Sequence


class _EventDivergenceDetectedRequired(TypedDict):
    # Every divergence item now.
    count: int
    generation: Generation
    # The items that are new or changed.
    items: List[Item]
    kind: Literal["divergenceDetected"]
    projectId: ProjectId
    seq: Seq
    state: DivergenceState


class EventDivergenceDetected(_EventDivergenceDetectedRequired, total=False):
    """New divergence items (or changed ones)."""

    operationId: OperationId
    sequence: Sequence


class _EventDivergenceClearedRequired(TypedDict):
    count: int
    generation: Generation
    # The ids of the items that are gone.
    ids: List[DivergenceId]
    kind: Literal["divergenceCleared"]
    projectId: ProjectId
    seq: Seq
    state: DivergenceState


class EventDivergenceCleared(_EventDivergenceClearedRequired, total=False):
    """Divergence items that are gone."""

    operationId: OperationId
    sequence: Sequence


class EventWatchDegraded(TypedDict):
    """Watching the project's files failed: changes are seen at the next look."""

    kind: Literal["watchDegraded"]
    projectId: ProjectId
    reason: str
    seq: Seq


class EventWatchRestored(TypedDict):
    """Watching works again."""

    kind: Literal["watchRestored"]
    projectId: ProjectId
    seq: Seq


class EventOwnerChanged(TypedDict):
    """Another process took the project over."""

    kind: Literal["ownerChanged"]
    ownerPid: int
    projectId: ProjectId
    seq: Seq


class EventExternalChangeBegan(TypedDict):
    """A source-control operation began (`packer/beginExternalChange`)."""

    changeId: ChangeId
    kind: Literal["externalChangeBegan"]
    projectId: ProjectId
    reason: str
    seq: Seq
    timeoutMs: int


class EventExternalChangeEnded(TypedDict):
    """A source-control operation ended."""

    changeId: ChangeId
    durationMs: int
    endedBy: EndedBy
    kind: Literal["externalChangeEnded"]
    projectId: ProjectId
    reason: str
    seq: Seq


class EventsDropped(TypedDict):
    """`packer/eventsDropped`: a slow client missed these events (replay them
    with `packer/replayEvents`).
    """

    fromSeq: Seq
    projectId: ProjectId
    toSeq: Seq


class ExperimentalCapabilities(TypedDict):
    packer: PackerCapabilities


class ExternalChangeInfo(TypedDict):
    """A source-control operation in progress (`packer/beginExternalChange`)."""

    ageMs: int
    changeId: ChangeId
    reason: str


# Why a request failed (-32803).
FailedData = Union["FailedDataNoFolder", "FailedDataNoManifest", "FailedDataRegistryInvalid", "FailedDataIo", "FailedDataAttached", "FailedDataOwnerUnreachable", "FailedDataOwnerChanged", "FailedDataNotCooked", "FailedDataInvalidSetting", "FailedDataManifestInvalid", "FailedDataStateFolderRefused", "FailedDataApplyFailed", "FailedDataApplyNotUndone", "FailedDataOwnerLost"]


class FailedDataNoFolder(TypedDict):
    """The folder does not exist (and `create` was not set)."""

    reason: Literal["noFolder"]


class FailedDataNoManifest(TypedDict):
    """There is no packer.toml (and `create` was not set)."""

    reason: Literal["noManifest"]


class FailedDataRegistryInvalid(TypedDict):
    """The registry does not parse."""

    reason: Literal["registryInvalid"]


class FailedDataIo(TypedDict):
    """Reading or writing failed."""

    reason: Literal["io"]


class FailedDataAttached(TypedDict):
    """This process attaches to the project's owner and cannot do this itself."""

    reason: Literal["attached"]


class FailedDataOwnerUnreachable(TypedDict):
    """The owner process holds the project but does not answer."""

    reason: Literal["ownerUnreachable"]


class FailedDataOwnerChanged(TypedDict):
    """The owner changed while the request was forwarded."""

    reason: Literal["ownerChanged"]


class FailedDataNotCooked(TypedDict):
    """The asset has not been cooked for the target as it is now: build it first."""

    reason: Literal["notCooked"]


class FailedDataInvalidSetting(TypedDict):
    """The asset's settings cannot be used (see `settingProblems`): no build cooks it."""

    reason: Literal["invalidSetting"]


class _FailedDataManifestInvalidRequired(TypedDict):
    reason: Literal["manifestInvalid"]


class FailedDataManifestInvalid(_FailedDataManifestInvalidRequired, total=False):
    """packer.toml does not parse or does not validate."""

    column: int
    # `packer.toml`, when the error has a place.
    file: str
    # The key at fault, or null when the error is not about one key.
    key: str
    line: int


class FailedDataStateFolderRefused(TypedDict):
    """The state folder, or something in it, is not what the packer makes."""

    # The offending path.
    path: str
    reason: Literal["stateFolderRefused"]


class FailedDataApplyFailed(TypedDict):
    """An apply failed before its commit point; the same object is the
    `error` of the `failed` event.
    """

    message: str
    operationId: OperationId
    reason: Literal["applyFailed"]


class FailedDataApplyNotUndone(TypedDict):
    """An apply failed before its commit point and some of what it did
    could not be undone (the message names each step); what it had set
    aside is kept in `.packer/recovered/<operationId>/`. The same object
    is the `error` of the `failed` event.
    """

    message: str
    operationId: OperationId
    reason: Literal["applyNotUndone"]


class FailedDataOwnerLost(TypedDict):
    """The owner of an attached project went away before answering a
    forwarded request. For a forwarded apply, `operationId` names the
    operation to look up in packer/operations or packer/replayEvents.
    """

    operationId: Optional[str]
    reason: Literal["ownerLost"]


# `failed`, as an outcome.
FailedOutcome = Literal["failed"]


# Why an operation failed without a result.
#
# - `applyFailed`: An apply failed before its commit point; everything it did was undone.
# - `applyNotUndone`: An apply failed before its commit point and some of what it did could not be undone (the message says what): the registry is as it was, the files not put back show as divergence, and what the apply had set aside is kept in `.packer/recovered/<operationId>/`.
# - `interrupted`: Its process died; the next owner ended it.
FailureReason = Literal["applyFailed", "applyNotUndone", "interrupted"]


# One filesystem step, in the order it is performed: a `write` of
# packer.toml (a reconcile's `ignore`) is a step among the others; a
# `write` of packer.registry.jsonl, when present, is always last.
FilesystemMutation = Union["FilesystemMutationMove", "FilesystemMutationDelete", "FilesystemMutationWrite", "FilesystemMutationRewrite"]


class FilesystemMutationMove(TypedDict):
    op: Literal["move"]
    path: RelativePath
    to: RelativePath


class FilesystemMutationDelete(TypedDict):
    op: Literal["delete"]
    path: RelativePath


class FilesystemMutationWrite(TypedDict):
    op: Literal["write"]
    path: ProjectFile


class FilesystemMutationRewrite(TypedDict):
    """An asset's file written again with some of its references changed
    (a move of what they name, or `replaceReferences`); nothing else in
    the file changes. `path` is where the file is when it is written.
    """

    assetId: AssetId
    # The references changed, in file order: the first 100.
    changes: List[ReferenceChange]
    # How many references the write changes in all.
    count: int
    op: Literal["rewrite"]
    path: RelativePath


# A check finding's code: one only `check` reports, or a diagnostic's (of
# an asset, of the project, or what a build would say of an asset).
FindingCode = Union["CheckCode", "DiagnosticCode"]


# A snapshot's generation. It starts past the journal's last `seq`
#  when a project is opened and rises by one per published snapshot.
Generation = int


class GetAssetParams(TypedDict):
    assetId: str
    projectId: str


class GetAssetResult(TypedDict):
    """`packer/getAsset`."""

    asset: Asset
    # An image's texture for each target a build cooked it for as it is
    # now (source and settings), in target order; empty for other kinds.
    cooked: List[CookedTexture]
    # The settings a build uses for the asset, by key (a texture's `format`
    # by target: `format.<target>`), each with where it was set.
    effectiveSettings: Dict[str, EffectiveSetting]
    generation: Generation
    # How many references the asset's file holds, how many name it, and
    # how many of its own name nothing registered.
    references: ReferenceCounts
    # Each effective setting the asset's kind cannot use (`invalidSetting`
    # errors naming the key and where it was set): a build fails on them.
    settingProblems: List[Diagnostic]


class InitializeParams(TypedDict, total=False):
    """`initialize`'s params: LSP's, of which the packer reads nothing; other
    fields are tolerated.
    """

    # The client's capabilities (the packer needs none).
    capabilities: Dict[str, Any]
    # The client's process id, or null.
    processId: Optional[int]


class InitializeResult(TypedDict):
    """What the server supports, as LSP servers declare theirs."""

    capabilities: ServerCapabilities
    serverInfo: ServerInfo


class _InvalidParamsDataRequired(TypedDict):
    # The path of the offending field (`mutation.mutations[0].assetIds[0]`);
    # `params` when the params as a whole are wrong.
    field: str


class InvalidParamsData(_InvalidParamsDataRequired, total=False):
    # Present when a limit was exceeded: the limit, in entries or bytes.
    limit: int


class _ItemRequired(TypedDict):
    # What differs, by kind (see protocol/README.md, "Divergence").
    detail: Dict[str, Any]
    # Stable while the difference lasts: derived from its kind and path.
    id: DivergenceId
    kind: ItemKind
    path: RelativePath


class Item(_ItemRequired, total=False):
    """One difference between disk and registry."""

    assetId: AssetId


ItemKind = Literal["modified", "missing", "untracked", "moved", "registryChanged", "manifestChanged", "registryConflict"]


# What an asset is, decided by its extension.
#
# - `model`: A glTF model (`.gltf`, `.glb`), copied as it is; a `.gltf` file's buffers and images are references.
Kind = Literal["image", "audio", "data", "text", "font", "binary", "model"]


class LaneCounts(TypedDict):
    # Operations waiting in the project's lane.
    queued: int
    # 0 or 1: the lane runs one operation at a time.
    running: int


class LastBuild(TypedDict):
    """The last build of one target in this process, for the summary."""

    # Milliseconds since the Unix epoch.
    finishedAtMs: int
    operationId: OperationId
    outcome: BuildOutcome
    # How many packs it made or kept.
    packs: int
    stats: BuildStats
    # The target's name (`[[build.targets]]`).
    target: str


class _ListAssetsParamsRequired(TypedDict):
    projectId: str


class ListAssetsParams(_ListAssetsParamsRequired, total=False):
    cursor: Optional[str]
    filter: AssetFilter
    limit: Optional[int]


class ListAssetsResult(TypedDict):
    """`packer/listAssets`: a page of assets in path order."""

    generation: Generation
    items: List[Asset]
    # Pass as `cursor` for the next page; null on the last page.
    nextCursor: Optional[str]


class ListProjectsResult(TypedDict):
    """`packer/listProjects`: the projects this connection's server has open, by root."""

    projects: List[ProjectInfo]


class LocalCacheStats(TypedDict):
    """The local processing cache."""

    bytes: int
    # What its files take on disk, reclaimable space included.
    diskBytes: int
    entries: int
    # `[cache] max_size`, or null.
    maxSize: Optional[int]
    newestUseMs: Optional[int]
    # Milliseconds since the Unix epoch; null when empty.
    oldestUseMs: Optional[int]
    segments: int


class Metadata(TypedDict, total=False):
    """The cheap metadata read from a file's header (image size, audio format,
    text lines…): the fields that apply to its kind.
    """

    bitsPerSample: int
    channels: int
    # A sound's codec: `pcm`, `adpcm`, `flac`, `vorbis` or `mp3`.
    codec: Name
    durationMs: int
    encoding: Name
    format: Name
    height: int
    lines: int
    # A sound's integrated loudness (EBU R128, ITU-R BS.1770-4) in LUFS, to
    # a hundredth; absent when the standard gives none (no 400 ms block
    # above the -70 LUFS gate: a click, silence).
    loudnessLufs: float
    # `true` while a sound's loudness is not measured yet (it is measured
    # after the sound is looked at, off the open); absent once it is, and
    # then `loudnessLufs` and `truePeakDbtp` are the figures.
    loudnessPending: bool
    sampleRate: int
    # A sound's true peak (4x oversampled, the loudest channel) in dBTP, to
    # a hundredth; absent for pure silence.
    truePeakDbtp: float
    valid: bool
    width: int


# A change a client asks for; `kind` says which.
Mutation = Union["MutationRegister", "MutationMove", "MutationDelete", "MutationUnregister", "MutationSetMetadata", "MutationBatch", "MutationReconcile", "MutationReplaceReferences"]


class MutationRegister(TypedDict):
    """Registers files that exist on disk as new assets."""

    kind: Literal["register"]
    paths: List[str]


class MutationMove(TypedDict):
    """Moves (or renames) an asset's file; its id is kept."""

    assetId: str
    kind: Literal["move"]
    to: str


class MutationDelete(TypedDict):
    """Deletes assets' files and entries."""

    assetIds: List[str]
    kind: Literal["delete"]


class MutationUnregister(TypedDict):
    """Removes entries and leaves the files."""

    assetIds: List[str]
    kind: Literal["unregister"]


class _MutationSetMetadataRequired(TypedDict):
    assetId: str
    kind: Literal["setMetadata"]


class MutationSetMetadata(_MutationSetMetadataRequired, total=False):
    """Replaces tags and merges settings (`null` removes a setting)."""

    settings: Optional[Dict[str, Any]]
    tags: Optional[List[str]]


class MutationBatch(TypedDict):
    """Several mutations, all applied or none."""

    kind: Literal["batch"]
    mutations: List[Mutation]


class _MutationReconcileRequired(TypedDict):
    kind: Literal["reconcile"]


class MutationReconcile(_MutationReconcileRequired, total=False):
    """Resolves divergence items: the ones chosen (with their resolution),
    or every item with its default resolution.
    """

    items: Optional[List[ReconcileChoice]]


# Rewrites every reference to the asset `from` (by id, or by path) so
# that it names the asset `to`, written the same way; `from` may be an
# id no asset has, which references name (a broken reference repointed).
MutationReplaceReferences = TypedDict(
    "MutationReplaceReferences",
    {
        "from": str,
        "kind": Literal["replaceReferences"],
        "to": str,
    },
)


# A short name in metadata (`png`, `utf-8`).
Name = str


class ObserveStats(TypedDict):
    """How the look at the disk went: files read, files known unchanged, files gone."""

    # Files whose cached observation was used.
    cached: int
    # Files read and hashed.
    hashed: int
    # Files that were not there.
    missing: int


# An operation's state: `queued`, `running`, then one terminal state.
OpState = Literal["queued", "running", "succeeded", "failed", "cancelled", "rejected"]


class _OpenProjectParamsRequired(TypedDict):
    root: str


class OpenProjectParams(_OpenProjectParamsRequired, total=False):
    create: bool


class OpenProjectResult(TypedDict):
    """`packer/openProject`."""

    generation: Generation
    ownership: Ownership
    # Stable for a root: the same folder always gets the same id.
    projectId: ProjectId
    # The project's absolute root.
    root: str
    # How the first look at the disk went (null when attached: the owner looked).
    scan: Optional[ObserveStats]
    summary: Summary


class OperationFailure(TypedDict):
    message: str
    operationId: OperationId
    reason: FailureReason


# An operation's id: `op-` and 1 to 60 ASCII letters or digits. The
#  packer's are `op-` and 16 characters of lowercase Crockford base32;
#  a client may choose its own (see `packer/applyMutation`).
OperationId = str


class OperationInfo(TypedDict):
    """One operation of `packer/operations`."""

    finishedAtMs: Optional[int]
    kind: OperationKind
    # The `sequence` of its last event.
    lastSequence: Sequence
    operationId: OperationId
    # Milliseconds since the Unix epoch.
    queuedAtMs: int
    startedAtMs: Optional[int]
    state: OpState
    title: str


# The method that started an operation.
#
# - `unknown`: Recovered from a journal written by a version that did not record it.
OperationKind = Literal["applyMutation", "build", "pruneCache", "unknown"]


# The result an operation answered.
OperationResult = Union["ApplyResult", "BuildResult", "PruneCacheResult"]


class OperationsResult(TypedDict):
    """`packer/operations`: active operations in arrival order, then recent ones."""

    items: List[OperationInfo]


class Ownership(TypedDict):
    mode: OwnershipMode
    # The owner process (this one when `mode` is `owner`); null when it is not known.
    ownerPid: Optional[int]


# Whether this process owns the project or attaches to the process that does.
OwnershipMode = Literal["owner", "attached"]


class PackInfo(TypedDict):
    """One pack a build made or kept."""

    assets: int
    bytes: int
    # The pack's checksum (hex).
    hash: str
    name: str
    # Relative to the project root.
    path: str
    # The target it was cooked for; it lies under `<build.output>/<target>/`.
    target: str
    # False when the pack on disk already had these bytes and was kept.
    written: bool


class PackerCapabilities(TypedDict):
    """The packer's own capabilities, from the protocol model."""

    # Every `kind` of `packer/event` the server sends.
    eventKinds: List[str]
    # Every request method besides `initialize` and `shutdown`.
    methods: List[str]
    # Every `kind` of mutation `packer/previewMutation` and `packer/applyMutation` take.
    mutationKinds: List[str]
    # Every notification the server sends.
    notifications: List[str]
    # Every `profile` a `[[build.targets]]` may have.
    profiles: List[Profile]
    # Bumped when a change would break a client written for an older one.
    protocolVersion: int
    # Every texture format a target's `format` setting may name, by profile.
    textureFormats: Dict[str, List[str]]


class PreviewParams(TypedDict):
    mutation: Mutation
    projectId: str


class _PreviewResultRequired(TypedDict):
    baseGeneration: Generation
    blockers: List[Blocker]
    filesystemMutations: List[FilesystemMutation]
    registryMutations: List[RegistryMutation]
    warnings: List[Warning]


class PreviewResult(_PreviewResultRequired, total=False):
    """`packer/previewMutation`: what the mutation would do, against the
    snapshot of `baseGeneration`. Apply plans again at its turn.
    """

    # A reconcile's items with the resolution each gets.
    resolutions: List[Resolution]
    truncated: Truncated


# What kind of GPU and audio device a target's packs are cooked for.
#
# - `desktop`: PCs and consoles: the BC family of block-compressed textures.
# - `mobile`: Phones and tablets: ASTC block-compressed textures.
# - `uncompressed`: RGBA8 textures, for tools and debugging.
Profile = Literal["desktop", "mobile", "uncompressed"]


class ProgressParams(TypedDict):
    """`$/progress`: LSP work-done progress for an operation whose request
    carried a `workDoneToken`. Each value also carries the operation's id and
    the `sequence` of the `packer/event` it accompanies.
    """

    # The request's `workDoneToken`.
    token: ProgressToken
    value: WorkDoneProgress


# LSP's progress token: an integer or a string (at most 256 bytes).
ProgressToken = Union[int, str]


# The project's own files an apply may write.
ProjectFile = Literal["packer.toml", "packer.registry.jsonl"]


# A project's id: `p-` and 16 hex digits of the BLAKE3 hash of its
#  canonical root; the same root always gives the same id.
ProjectId = str


class ProjectInfo(TypedDict):
    """One entry of `packer/listProjects`."""

    # Null when the owner could not be asked.
    generation: Optional[Generation]
    # `name` of packer.toml; null when the owner could not be asked.
    name: Optional[str]
    ownership: Ownership
    projectId: ProjectId
    root: str


class ProjectParams(TypedDict):
    projectId: str


class _PruneCacheParamsRequired(TypedDict):
    projectId: str


class PruneCacheParams(_PruneCacheParamsRequired, total=False):
    """`packer/pruneCache`: evict the least recently used entries of the
    project's processing cache until it takes at most `maxSize` bytes
    (default: `[cache] max_size`).
    """

    maxSize: Optional[int]
    operationId: Optional[str]
    workDoneToken: Optional[ProgressToken]


class _PruneCacheResultRequired(TypedDict):
    diagnostics: List[Diagnostic]
    # The size pruned to; null when there was none to use.
    maxSize: Optional[int]
    operationId: OperationId
    outcome: BuildOutcome


class PruneCacheResult(_PruneCacheResultRequired, total=False):
    """`packer/pruneCache`, and the `result` of its terminal event."""

    after: EntriesAndBytes
    before: EntriesAndBytes
    evicted: EntriesAndBytes


class _ReconcileChoiceRequired(TypedDict):
    divergenceId: str
    # `adopt`, `drop`, `relink`, `register`, `ignore`, `move`, `reload` or `keep`.
    resolution: str


class ReconcileChoice(_ReconcileChoiceRequired, total=False):
    """How to resolve one divergence item."""

    # The file to relink a missing asset to (`relink` only).
    path: Optional[str]


# How a reference names an asset.
#
# - `id`: `asset:<id>`: survives every move.
# - `path`: `asset:<path>` or a glTF `uri`.
ReferenceBy = Literal["id", "path"]


class ReferenceChange(TypedDict):
    """One reference a rewrite changes: where it is in the file as it was, and
    its literal before and after, quotes included, exactly as written.
    """

    after: str
    before: str
    # 1-based column of the literal, in characters.
    column: int
    # 1-based line of the literal.
    line: int
    # JSON pointer of the value.
    pointer: str


class ReferenceCounts(TypedDict):
    """An asset's references, counted (`packer/references` lists them)."""

    # Of `uses`, those that name nothing registered.
    broken: int
    # References in other files that name this asset, each one.
    usedBy: int
    # References in the asset's file, each one (broken ones included).
    uses: int


class _ReferenceItemRequired(TypedDict):
    # It names nothing registered.
    broken: bool
    # How the reference names its target.
    by: ReferenceBy
    column: int
    line: int
    # Where it is written, in the referring file: a JSON pointer (RFC 6901,
    # over the TOML tree for TOML), and the 1-based line and column.
    pointer: str
    # What it names: an id, or a path from the project root.
    target: str


class ReferenceItem(_ReferenceItemRequired, total=False):
    """One reference: the other asset, and where the reference is written."""

    # The other asset (in `uses`, the one named; in `usedBy`, the one whose
    # file holds the reference); absent when the reference is broken.
    assetId: AssetId
    path: RelativePath


class ReferenceTotals(TypedDict):
    """The project's references, counted."""

    # References that name nothing registered (each an error diagnostic on its file).
    broken: int


class ReferencesParams(TypedDict):
    assetId: str
    projectId: str


class ReferencesResult(TypedDict):
    """`packer/references`: what an asset's file names, and what names it."""

    assetId: AssetId
    # How many there are of each, whatever the lists hold.
    counts: ReferenceCounts
    generation: Generation
    path: RelativePath
    # The references in other files that name this asset, by referrer id,
    # then in file order (the first 1,000).
    usedBy: List[ReferenceItem]
    # The references in the asset's file, in file order (the first 1,000).
    uses: List[ReferenceItem]


# A change to one registry entry: `add` has `after`, `remove` has
# `before`, `update` has both.
RegistryMutation = Union["RegistryMutationAdd", "RegistryMutationUpdate", "RegistryMutationRemove"]


class RegistryMutationAdd(TypedDict):
    after: Entry
    assetId: AssetId
    op: Literal["add"]


class RegistryMutationUpdate(TypedDict):
    after: Entry
    assetId: AssetId
    before: Entry
    op: Literal["update"]


class RegistryMutationRemove(TypedDict):
    assetId: AssetId
    before: Entry
    op: Literal["remove"]


# `rejected`, as an outcome.
RejectedOutcome = Literal["rejected"]


# A project-relative path with `/` separators.
RelativePath = str


class RemoteCacheInfo(TypedDict):
    mode: RemoteMode
    url: str


# Why the shared cache was switched off for the rest of a build.
#
# - `refused`: The server refused the credentials (401/403) or an upload.
# - `failures`: Three failures in a row.
RemoteDisabledReason = Literal["refused", "failures"]


# What was switched off.
RemoteDisabledScope = Literal["all", "uploads"]


# What a build may do with the shared remote cache.
#
# - `read`: Use entries, never upload (the default: people read what CI wrote).
# - `read-write`: Use entries and upload new ones (for CI).
# - `off`: Do not use the remote at all.
RemoteMode = Literal["read", "read-write", "off"]


class RemoteStats(TypedDict):
    """The shared cache's part of a build: what it found, fetched and stored."""

    bytesDown: int
    bytesUp: int
    # Entries found damaged (refetched or reprocessed).
    corrupt: int
    errors: int
    hits: int
    misses: int
    mode: RemoteMode
    uploaded: int


class ReplayEventsResult(TypedDict):
    """`packer/replayEvents`: journaled events after `after`, oldest first."""

    events: List[Event]
    # The project's last `seq`: when it is beyond the last event returned, ask again.
    lastSeq: int


class _ReplayParamsRequired(TypedDict):
    projectId: str


class ReplayParams(_ReplayParamsRequired, total=False):
    after: int
    limit: Optional[int]


# A JSON-RPC request id: an integer or a string.
RequestId = Union[int, str]


class _ResolutionRequired(TypedDict):
    divergenceId: DivergenceId
    kind: ItemKind
    path: RelativePath
    resolution: ResolutionName


class Resolution(_ResolutionRequired, total=False):
    """In a preview of a reconcile: each item it resolves, and how."""

    # Where a `relink` or `move` takes the asset.
    to: str


# How one divergence item is resolved.
ResolutionName = Literal["adopt", "drop", "relink", "register", "ignore", "move", "reload", "keep", "ours", "theirs", "both"]


# An event's place in its project's stream, from 1, rising by one per
#  event, across restarts.
Seq = int


# An event's place within its operation, from 1.
Sequence = int


class ServerCapabilities(TypedDict):
    experimental: ExperimentalCapabilities


class ServerInfo(TypedDict):
    # `studio-packer`.
    name: str
    version: str


# Where an effective setting comes from.
SettingSource = Union["SettingSourceDefault", "SettingSourceRule", "SettingSourceAsset"]


class SettingSourceDefault(TypedDict):
    """The kind's default."""

    kind: Literal["default"]


class SettingSourceRule(TypedDict):
    """An `[[assets.rules]]` rule of `packer.toml`, starting at `line` (1-based)."""

    kind: Literal["rule"]
    line: int


class SettingSourceAsset(TypedDict):
    """The asset's own `settings` in the registry."""

    kind: Literal["asset"]


# Ordered most severe first.
Severity = Literal["error", "warning", "info"]


# An asset's status, in the order of precedence used to pick one.
Status = Literal["ok", "invalid", "modified", "missing"]


# `succeeded`'s outcome: `applied` for an apply, `succeeded` for a build or a prune.
SucceededOutcome = Literal["applied", "succeeded"]


class Summary(TypedDict):
    """`packer/summary`: every count a client shows, computed by the packer."""

    assets: AssetCounts
    diagnostics: DiagnosticCounts
    divergence: DivergenceCount
    # Source-control operations in progress, oldest first: divergence is held back until they end.
    externalChanges: List[ExternalChangeInfo]
    generation: Generation
    lane: LaneCounts
    # Each target's last build in this process, by target name (no key
    # until this process has built that target).
    lastBuild: Dict[str, LastBuild]
    references: ReferenceTotals
    # The build targets of the manifest the snapshot was made with, in
    # `packer.toml` order (the one a build without `target` builds first is first).
    targets: List[TargetInfo]
    watch: Watch


class TargetBuild(TypedDict):
    """One target of a build."""

    outcome: BuildOutcome
    # How many packs it made or kept.
    packs: int
    profile: Profile
    stats: BuildStats
    target: str


class TargetInfo(TypedDict):
    """A build target of `packer.toml`."""

    name: str
    profile: Profile


# A terminal state of an operation.
TerminalState = Literal["succeeded", "failed", "cancelled", "rejected"]


class _ThumbnailParamsRequired(TypedDict):
    assetId: str
    projectId: str
    # The longest side wanted, in pixels (1 to 1024).
    size: int


class ThumbnailParams(_ThumbnailParamsRequired, total=False):
    """`packer/thumbnail`: a picture of an image as a target's GPU shows it."""

    # A `name` of `[[build.targets]]`; the first declared target when absent.
    target: Optional[str]


class ThumbnailResult(TypedDict):
    """`packer/thumbnail`: a picture of a cooked texture as the target's GPU
    shows it.
    """

    # The GPU format it was decoded from.
    format: str
    height: int
    # The mip level it was decoded from.
    level: int
    # A PNG file (8-bit RGBA), base64.
    png: str
    target: str
    # The picture's size: at most the asked `size` on its longer side.
    width: int


class _TruncatedRequired(TypedDict):
    blockers: int
    filesystemMutations: int
    # 1,000.
    limit: int
    registryMutations: int
    warnings: int


class Truncated(_TruncatedRequired, total=False):
    """Present only when a list of the answer holds more than `limit` entries.
    Each list then holds its first `limit` entries, in order, and this
    gives every list's full length (exact: a blocker beyond the first
    `limit` still rejects the mutation).
    """

    # In a preview of a reconcile that resolves at least one item.
    resolutions: int


class UnpackedAsset(TypedDict):
    """An asset no pack holds."""

    assetId: AssetId
    path: RelativePath


class _WarningRequired(TypedDict):
    code: WarningCode
    message: str
    severity: WarningSeverity


class Warning(_WarningRequired, total=False):
    """A warning of a mutation: a `Diagnostic` of severity `warning` with a
    warning's code.
    """

    assetId: AssetId
    path: str


# What a client should know of a mutation that does not stop it.
WarningCode = Literal["outsideAssetRoots", "excluded", "noChange", "kindChanged", "fileAlreadyMissing", "invalidUtf8", "imageUnreadable", "audioUnreadable", "invalidJson", "invalidToml", "fontUnreadable", "textureInvalid", "tooManyReferences", "reevaluated", "skipped", "contentDiffers", "choiceNeeded", "copyKept"]


# A warning's severity: always `warning`.
WarningSeverity = Literal["warning"]


class _WatchRequired(TypedDict):
    state: WatchState


class Watch(_WatchRequired, total=False):
    reason: str


# Watching the project's files for changes.
#
# - `off`: Not watched (a one-shot command).
# - `starting`: The watches are being placed; changes meanwhile are seen once they are.
# - `degraded`: Watching failed; `reason` says why. Changes are seen at the next look.
WatchState = Literal["ok", "off", "starting", "degraded"]


WorkDoneProgress = Union["WorkDoneProgressBegin", "WorkDoneProgressReport", "WorkDoneProgressEnd"]


class WorkDoneProgressBegin(TypedDict):
    # Always true.
    cancellable: Literal[True]
    kind: Literal["begin"]
    operationId: OperationId
    sequence: Sequence
    # `Apply <kind>`, `Build`, `Build (clean)` or `Prune the processing cache`.
    title: str


class WorkDoneProgressReport(TypedDict):
    kind: Literal["report"]
    message: str
    operationId: OperationId
    # 0 to 100.
    percentage: int
    sequence: Sequence


class WorkDoneProgressEnd(TypedDict):
    kind: Literal["end"]
    # The operation's terminal state.
    message: TerminalState
    operationId: OperationId
    sequence: Sequence


# Every request method: `lane`, whether it runs in the project's lane;
# `cancellable`, whether `$/cancelRequest` stops it.
METHODS = (
    {"name": "initialize", "lane": False, "cancellable": False},
    {"name": "shutdown", "lane": False, "cancellable": False},
    {"name": "packer/openProject", "lane": False, "cancellable": False},
    {"name": "packer/closeProject", "lane": False, "cancellable": False},
    {"name": "packer/listProjects", "lane": False, "cancellable": False},
    {"name": "packer/summary", "lane": False, "cancellable": False},
    {"name": "packer/listAssets", "lane": False, "cancellable": False},
    {"name": "packer/getAsset", "lane": False, "cancellable": False},
    {"name": "packer/references", "lane": False, "cancellable": False},
    {"name": "packer/thumbnail", "lane": False, "cancellable": False},
    {"name": "packer/diagnostics", "lane": False, "cancellable": False},
    {"name": "packer/divergence", "lane": False, "cancellable": False},
    {"name": "packer/previewMutation", "lane": False, "cancellable": False},
    {"name": "packer/applyMutation", "lane": True, "cancellable": True},
    {"name": "packer/build", "lane": True, "cancellable": True},
    {"name": "packer/cacheStats", "lane": False, "cancellable": False},
    {"name": "packer/pruneCache", "lane": True, "cancellable": True},
    {"name": "packer/operations", "lane": False, "cancellable": False},
    {"name": "packer/cancel", "lane": False, "cancellable": False},
    {"name": "packer/replayEvents", "lane": False, "cancellable": False},
    {"name": "packer/beginExternalChange", "lane": False, "cancellable": False},
    {"name": "packer/endExternalChange", "lane": False, "cancellable": False},
)

# Every notification the server sends, with the type of its params.
NOTIFICATIONS = {
    "packer/event": "Event",
    "packer/eventsDropped": "EventsDropped",
    "$/progress": "ProgressParams",
}


class PackerError(Exception):
    """An error answer: JSON-RPC's `code`, `message` and `data` (None when absent)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.data = data


class Client:
    """A client of `studio-packer serve` over the LSP base protocol (Content-Length framing).

    `argv` starts the server; other keyword arguments go to subprocess.Popen
    (cwd, env, stderr). Notifications that arrive while a request waits for
    its answer go to `on_notification(method, params)`, in the order sent.
    """

    def __init__(
        self,
        argv: List[str],
        on_notification: Optional[Callable[[str, Any], None]] = None,
        **popen: Any,
    ) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **popen)
        self.next_id = 1
        self.on_notification: Callable[[str, Any], None] = on_notification or (lambda method, params: None)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.close()

    def _send(self, message: Dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self) -> Dict[str, Any]:
        assert self.proc.stdout is not None
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the server closed its output")
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length is None:
            raise ValueError("a message without Content-Length")
        body = self.proc.stdout.read(length)
        if len(body) < length:
            raise EOFError("the server closed its output inside a message")
        message: Dict[str, Any] = json.loads(body)
        return message

    def notify(self, method: str, params: Any = None) -> None:
        """Sends a notification; no params is sent as `{}`."""
        self._send({"jsonrpc": "2.0", "method": method, "params": {} if params is None else params})

    def request(self, method: str, params: Any = None) -> Any:
        """Sends a request and returns its result; no params is sent as `{}`.

        Raises PackerError on an error answer.
        """
        request_id = self.next_id
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": {} if params is None else params})
        while True:
            message = self._read()
            if "method" in message and "id" in message:
                # The packer sends no requests: answer as JSON-RPC does an unknown method.
                refusal = {"code": -32601, "message": "the client handles no requests"}
                self._send({"jsonrpc": "2.0", "id": message["id"], "error": refusal})
            elif "method" in message:
                self.on_notification(message["method"], message.get("params"))
            elif message.get("id") == request_id:
                error = message.get("error")
                if error is not None:
                    raise PackerError(error.get("code"), error.get("message"), error.get("data"))
                return message.get("result")

    def close(self, timeout: float = 30) -> int:
        """Shuts the server down (`shutdown`, then `exit`) and waits for it: its exit code."""
        self.request("shutdown")
        self.notify("exit")
        code = self.proc.wait(timeout=timeout)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        return code

    def initialize(self, params: InitializeParams) -> InitializeResult:
        """LSP's handshake: the server's capabilities.

        `initialize`
        """
        return cast(InitializeResult, self.request("initialize", params))

    def shutdown(self) -> None:
        """LSP's: the server stops answering, then `exit`.

        `shutdown`
        """
        self.request("shutdown")

    def open_project(self, params: OpenProjectParams) -> OpenProjectResult:
        """Opens (or attaches to) a project and subscribes this connection to its events.

        `packer/openProject`
        """
        return cast(OpenProjectResult, self.request("packer/openProject", params))

    def close_project(self, params: ProjectParams) -> None:
        """Unsubscribes this connection; the last one closes the project.

        `packer/closeProject`
        """
        self.request("packer/closeProject", params)

    def list_projects(self, params: Empty) -> ListProjectsResult:
        """The projects this server has open.

        `packer/listProjects`
        """
        return cast(ListProjectsResult, self.request("packer/listProjects", params))

    def summary(self, params: ProjectParams) -> Summary:
        """Every count a client shows, from the current snapshot.

        `packer/summary`
        """
        return cast(Summary, self.request("packer/summary", params))

    def list_assets(self, params: ListAssetsParams) -> ListAssetsResult:
        """A page of assets in path order, filtered.

        `packer/listAssets`
        """
        return cast(ListAssetsResult, self.request("packer/listAssets", params))

    def get_asset(self, params: GetAssetParams) -> GetAssetResult:
        """One asset with its metadata, status, diagnostics, effective settings and cooked textures.

        `packer/getAsset`
        """
        return cast(GetAssetResult, self.request("packer/getAsset", params))

    def references(self, params: ReferencesParams) -> ReferencesResult:
        """What an asset's file names and what names it, each reference with its place.

        `packer/references`
        """
        return cast(ReferencesResult, self.request("packer/references", params))

    def thumbnail(self, params: ThumbnailParams) -> ThumbnailResult:
        """A PNG of an image's cooked texture for a target, as its GPU shows it.

        `packer/thumbnail`
        """
        return cast(ThumbnailResult, self.request("packer/thumbnail", params))

    def diagnostics(self, params: DiagnosticsParams) -> DiagnosticsResult:
        """The project's diagnostics, or one asset's.

        `packer/diagnostics`
        """
        return cast(DiagnosticsResult, self.request("packer/diagnostics", params))

    def divergence(self, params: ProjectParams) -> DivergenceResult:
        """Every difference between disk and registry.

        `packer/divergence`
        """
        return cast(DivergenceResult, self.request("packer/divergence", params))

    def preview_mutation(self, params: PreviewParams) -> PreviewResult:
        """What a mutation would do; changes nothing.

        `packer/previewMutation`
        """
        return cast(PreviewResult, self.request("packer/previewMutation", params))

    def apply_mutation(self, params: ApplyParams) -> ApplyResult:
        """Applies a mutation in the project's lane, planned again at its turn.

        `packer/applyMutation` (in the project's lane; cancellable)
        """
        return cast(ApplyResult, self.request("packer/applyMutation", params))

    def build(self, params: BuildParams) -> BuildResult:
        """Builds the project's packs in its lane.

        `packer/build` (in the project's lane; cancellable)
        """
        return cast(BuildResult, self.request("packer/build", params))

    def cache_stats(self, params: ProjectParams) -> CacheStatsResult:
        """What the processing caches hold.

        `packer/cacheStats`
        """
        return cast(CacheStatsResult, self.request("packer/cacheStats", params))

    def prune_cache(self, params: PruneCacheParams) -> PruneCacheResult:
        """Evicts the least recently used cache entries, in the lane.

        `packer/pruneCache` (in the project's lane; cancellable)
        """
        return cast(PruneCacheResult, self.request("packer/pruneCache", params))

    def operations(self, params: ProjectParams) -> OperationsResult:
        """Active operations in arrival order, then recent ones.

        `packer/operations`
        """
        return cast(OperationsResult, self.request("packer/operations", params))

    def cancel(self, params: CancelParams) -> CancelResult:
        """Cancels an operation, whoever started it.

        `packer/cancel`
        """
        return cast(CancelResult, self.request("packer/cancel", params))

    def replay_events(self, params: ReplayParams) -> ReplayEventsResult:
        """Journaled events after a `seq`.

        `packer/replayEvents`
        """
        return cast(ReplayEventsResult, self.request("packer/replayEvents", params))

    def begin_external_change(self, params: BeginExternalChangeParams) -> BeginExternalChangeResult:
        """A source-control operation begins: divergence is held until it ends.

        `packer/beginExternalChange`
        """
        return cast(BeginExternalChangeResult, self.request("packer/beginExternalChange", params))

    def end_external_change(self, params: EndExternalChangeParams) -> None:
        """The source-control operation ended: one look at the workspace.

        `packer/endExternalChange`
        """
        self.request("packer/endExternalChange", params)
