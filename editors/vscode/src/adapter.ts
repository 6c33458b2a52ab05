// Translation only: packer answers and events in, view models out.
// Nothing here counts, decides a blocker or an outcome: every number and
// verdict shown is a field the packer sent. The packer's data has the
// generated types of ./protocol (never edit that file).

import type {
  ApplyResult,
  Asset,
  BuildResult,
  Event,
  EventSucceeded,
  EventFailed,
  EventCancelled,
  EventRejected,
  EffectiveSetting,
  GetAssetResult,
  Kind,
  PreviewResult,
  ReferenceItem,
  ReferencesResult,
  Status,
  Summary,
} from "./protocol";
import type { ThumbnailResult } from "./protocol";

export interface StatusBarModel {
  text: string;
  tooltip: string;
  warning: boolean;
}

export function statusBar(summary: Summary): StatusBarModel {
  const parts = [`$(package) ${summary.assets.total} assets`];
  if (summary.diagnostics.errors > 0) parts.push(`$(error) ${summary.diagnostics.errors}`);
  if (summary.diagnostics.warnings > 0) parts.push(`$(warning) ${summary.diagnostics.warnings}`);
  if (summary.divergence.state === "diverged") parts.push(`$(diff) ${summary.divergence.count} diverged`);
  if (summary.lane.running > 0 || summary.lane.queued > 0) parts.push("$(sync~spin)");
  // Sounds the packer has not measured yet: their loudness is coming.
  const measuring = summary.assets.loudnessPending;
  if (measuring > 0) parts.push(`$(pulse) measuring ${measuring} sound${measuring === 1 ? "" : "s"}`);
  // A checkout in progress: the packer holds divergence back until it ends.
  const held = (summary.externalChanges ?? []).map((c) => c.reason);
  if (held.length > 0) parts.push("$(git-branch) held");
  // One entry per target the packer built, in the packer's (name) order.
  const builds = Object.values(summary.lastBuild ?? {}).map((b) => `${b.target} ${b.outcome}`);
  const build = builds.length > 0 ? `last build: ${builds.join(", ")}` : "not built yet";
  const holding = held.length > 0 ? `; divergence held while ${held.join(", ")} runs` : "";
  return {
    text: parts.join("  "),
    tooltip: `generation ${summary.generation}; ${build}; watching: ${summary.watch.state}${holding}`,
    warning: summary.divergence.state === "diverged" || summary.diagnostics.errors > 0,
  };
}

/** Whether an event changes what the status bar shows: a new snapshot, a
 * checkout that begins or ends (summary.externalChanges), watching that
 * fails or recovers (summary.watch). */
export function refreshesStatus(event: Event): boolean {
  const kinds: Event["kind"][] = [
    "snapshotPublished",
    "externalChangeBegan",
    "externalChangeEnded",
    "watchDegraded",
    "watchRestored",
  ];
  return kinds.includes(event.kind);
}

/** The message after a build: the packer's counts, and the shared cache's when one was used. */
export function buildMessage(result: BuildResult): string {
  const s = result.stats;
  let message = `Build ${result.outcome}: ${s.processed} processed, ${s.reused} reused`;
  const r = s.remote;
  if (r && r.mode !== "off") {
    message += `; remote cache (${r.mode}): ${r.hits} hits, ${r.misses} misses, ${r.uploaded} uploaded`;
    if (r.corrupt > 0) message += `, ${r.corrupt} corrupt`;
    if (r.errors > 0) message += `, ${r.errors} errors`;
  }
  return message;
}

export interface TreeNode {
  label: string;
  path: string;
  children: TreeNode[];
  asset?: { id: string; kind: Kind; status: Status; icon: string; description: string; problems: string[] };
}

const KIND_ICONS: Partial<Record<Kind, string>> = {
  image: "file-media",
  audio: "unmute",
  data: "json",
  text: "file-text",
  font: "text-size",
  binary: "file-binary",
  model: "symbol-misc",
};
const STATUS_ICONS: Partial<Record<Status, string>> = { ok: "", invalid: "error", modified: "diff-modified", missing: "question" };

/** The Assets view: the packer's assets arranged by folder. */
export function assetTree(items: Asset[]): TreeNode {
  const root: TreeNode = { label: "", path: "", children: [] };
  for (const a of items) {
    const segments: string[] = a.path.split("/");
    let node = root;
    segments.slice(0, -1).forEach((seg, i) => {
      const path = segments.slice(0, i + 1).join("/");
      let child = node.children.find((c) => c.path === path && !c.asset);
      if (!child) {
        child = { label: seg, path, children: [] };
        node.children.push(child);
      }
      node = child;
    });
    node.children.push({
      label: segments[segments.length - 1],
      path: a.path,
      children: [],
      asset: {
        id: a.id,
        kind: a.kind,
        status: a.status,
        icon: STATUS_ICONS[a.status] || KIND_ICONS[a.kind] || "file",
        description: a.status === "ok" ? a.kind : `${a.kind}, ${a.status}`,
        problems: a.diagnostics.map((d) => `${d.severity}: ${d.message}`),
      },
    });
  }
  return root;
}

export interface PreviewModel {
  /** The packer said no: show the blockers, offer nothing. */
  blocked: boolean;
  /** The packer warned: ask before applying. */
  needsConfirmation: boolean;
  lines: string[];
}

/** What a preview and an apply's result have in common (only a preview of
 *  a reconcile has `resolutions`). */
type Plan = Pick<
  PreviewResult,
  "blockers" | "warnings" | "resolutions" | "registryMutations" | "filesystemMutations" | "truncated"
>;
type Listed = "blockers" | "warnings" | "resolutions" | "registryMutations" | "filesystemMutations";

const LISTS: [Listed, string][] = [
  ["blockers", "blockers"],
  ["warnings", "warnings"],
  ["resolutions", "resolutions"],
  ["registryMutations", "registry changes"],
  ["filesystemMutations", "file changes"],
];

/** A mutation preview as a dialog shows it. */
export function previewDialog(answer: PreviewResult | ApplyResult): PreviewModel {
  const preview: Plan = answer;
  const lines: string[] = [];
  for (const b of preview.blockers) lines.push(`Blocked (${b.code}): ${b.message}`);
  for (const w of preview.warnings) lines.push(`Warning (${w.code}): ${w.message}`);
  for (const r of preview.resolutions ?? []) lines.push(`Resolve ${r.kind} ${r.path}: ${r.resolution}`);
  for (const m of preview.registryMutations) {
    const before = m.op === "add" ? "" : m.before.path;
    const after = m.op === "remove" ? "" : m.after.path;
    lines.push(`Registry ${m.op}: ${m.op === "update" && before !== after ? `${before} → ${after}` : after || before}`);
  }
  for (const f of preview.filesystemMutations) lines.push(`File ${f.op}: ${f.path}${f.op === "move" ? ` → ${f.to}` : ""}`);
  // A long list is cut by the packer, which says each list's full length.
  const cut = preview.truncated;
  if (cut) {
    for (const [list, label] of LISTS) {
      const full = cut[list];
      const shown = (preview[list] ?? []).length;
      if (full !== undefined && full !== null && full > shown) {
        lines.push(`(${label}: the first ${shown} of ${full} are shown)`);
      }
    }
  }
  return { blocked: preview.blockers.length > 0, needsConfirmation: preview.warnings.length > 0, lines };
}

export interface ActivityEntry {
  operationId: string;
  lastSequence: number;
  lastKind: string;
  /** Only a terminal event makes this true. */
  finished: boolean;
  /** The terminal event's outcome, as the packer said it. */
  outcome?: (EventSucceeded | EventFailed | EventCancelled | EventRejected)["outcome"];
}

/** The Activity channel: a line per event, and each operation's state as its events say. */
export class ActivityLog {
  readonly lines: string[] = [];
  readonly operations = new Map<string, ActivityEntry>();

  push(event: Event): string {
    let line = `#${event.seq} ${event.kind}`;
    if ("operationId" in event && event.operationId) {
      const operationId = event.operationId;
      line = `#${event.seq} ${operationId} [${event.sequence}] ${event.kind}`;
      const entry: ActivityEntry = this.operations.get(operationId) ?? {
        operationId,
        lastSequence: 0,
        lastKind: "",
        finished: false,
      };
      // Optional only on the events an operation may not have caused.
      if (event.sequence !== undefined && event.sequence !== null) entry.lastSequence = event.sequence;
      entry.lastKind = event.kind;
      switch (event.kind) {
        case "succeeded":
        case "failed":
        case "cancelled":
        case "rejected":
          entry.finished = true;
          entry.outcome = event.outcome;
      }
      this.operations.set(operationId, entry);
    }
    if (event.kind === "progress") line += ` ${event.done}/${event.total}`;
    if (event.kind === "divergenceDetected" || event.kind === "divergenceCleared") line += ` (${event.state})`;
    if (event.kind === "remoteCacheDisabled") line += `: ${event.message}`;
    if (event.kind === "externalChangeBegan") line += `: ${event.reason}`;
    if (event.kind === "externalChangeEnded") line += `: ${event.reason} (${event.endedBy})`;
    this.lines.push(line);
    return line;
  }
}

export interface TextureTarget {
  target: string;
  /** Whether the packer reported a cooked texture for it (`cooked`). */
  cooked: boolean;
  line: string;
}

export interface TextureModel {
  /** One per target the packer named: `cooked` first, in its order, then
   *  the targets of `lastBuild` it did not cook the asset for. */
  targets: TextureTarget[];
  /** Each effective setting with where the packer says it was set. */
  settings: string[];
  /** The packer's `settingProblems`: a build refuses the asset. */
  problems: string[];
}

/** Bytes for a person: B, KiB, MiB, GiB, one decimal past B. */
export function byteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function settingValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

function settingSource(setting: EffectiveSetting): string {
  const source = setting.source;
  switch (source.kind) {
    case "rule":
      return `rule, packer.toml:${source.line}`;
    default:
      return source.kind;
  }
}

/** The texture panel of an image: what each target's GPU gets, as the
 *  packer's `cooked` says, and the effective settings with their sources.
 *  `declared` is the summary's `targets` (the project's, in order): a
 *  declared target without a cooked texture of this asset as it is now is
 *  "not built". Without it, only the cooked targets are listed. */
export function textureView(answer: GetAssetResult, declared: Summary["targets"] = []): TextureModel {
  const cooked: TextureTarget[] = answer.cooked.map((c) => {
    const parts = [
      `${c.format}${c.srgb ? " sRGB" : ""}`,
      `${c.width}×${c.height}`,
      `${c.levels} ${c.levels === 1 ? "level" : "levels"}`,
      byteSize(c.bytes),
    ];
    if (c.psnr !== undefined && c.psnr !== null) parts.push(`PSNR ${c.psnr.toFixed(1)} dB`);
    return { target: c.target, cooked: true, line: `${c.target} (${c.profile}): ${parts.join(", ")}` };
  });
  // In the project's order; only images are cooked, so another kind is
  // "not built" for no target.
  const targets: TextureTarget[] = [];
  if (answer.asset.kind === "image") {
    for (const { name } of declared) {
      targets.push(cooked.find((c) => c.target === name) ?? { target: name, cooked: false, line: `${name}: not built` });
    }
  }
  for (const c of cooked) if (!targets.some((t) => t.target === c.target)) targets.push(c);
  return {
    targets,
    settings: Object.entries(answer.effectiveSettings).map(
      ([key, s]) => `${key}: ${settingValue(s.value)} (${settingSource(s)})`,
    ),
    problems: answer.settingProblems.map((d) => `${d.severity}: ${d.message}`),
  };
}

export interface SoundModel {
  /** What the file is, as the packer read it: container, codec, rate, channels, length. */
  stream: string;
  /** The packer's loudness figures (EBU R128), as it measured them. */
  loudness: string;
  settings: string[];
  problems: string[];
}

/** The sound panel of an audio asset: the packer's metadata and effective
 *  settings, worded. Nothing is measured here: a figure the packer does not
 *  give (a click has no integrated loudness) is said to be absent, and one
 *  it has not measured yet (`loudnessPending`) is said to be coming. */
export function soundView(answer: GetAssetResult): SoundModel {
  const m = answer.asset.metadata;
  const channels = m.channels === undefined ? undefined : m.channels === 1 ? "mono" : m.channels === 2 ? "stereo" : `${m.channels} channels`;
  const parts = [
    m.format,
    m.codec,
    m.sampleRate === undefined ? undefined : `${m.sampleRate.toLocaleString("en-US")} Hz`,
    channels,
    m.durationMs === undefined ? undefined : `${(m.durationMs / 1000).toFixed(2)} s`,
    m.bitsPerSample === undefined ? undefined : `${m.bitsPerSample}-bit`,
  ].filter((p): p is string => p !== undefined);
  const lufs =
    m.loudnessLufs === undefined || m.loudnessLufs === null
      ? "no integrated loudness (under 400 ms, or silent)"
      : `${m.loudnessLufs.toFixed(1)} LUFS integrated`;
  const peak =
    m.truePeakDbtp === undefined || m.truePeakDbtp === null ? "no true peak (silent)" : `true peak ${m.truePeakDbtp.toFixed(1)} dBTP`;
  const readable = answer.asset.diagnostics.filter((d) => d.code === "audioUnreadable");
  const loudness =
    readable.length > 0
      ? "not measured: the file does not decode"
      : m.loudnessPending === true
        ? "measuring (the packer has not measured it yet)"
        : `${lufs}, ${peak}`;
  return {
    stream: parts.length > 0 ? parts.join(", ") : "not read",
    loudness,
    settings: Object.entries(answer.effectiveSettings).map(
      ([key, s]) => `${key}: ${settingValue(s.value)} (${settingSource(s)})`,
    ),
    problems: [...readable, ...answer.settingProblems].map((d) => `${d.severity}: ${d.message}`),
  };
}

/** A thumbnail as an image source for a webview or a hover. */
export function thumbnailUri(thumbnail: ThumbnailResult): string {
  return `data:image/png;base64,${thumbnail.png}`;
}

/** What a thumbnail shows, under it. */
export function thumbnailCaption(thumbnail: ThumbnailResult): string {
  return `${thumbnail.target}: ${thumbnail.format}, level ${thumbnail.level}, ${thumbnail.width}×${thumbnail.height}`;
}

/** One reference as the "Show References" list shows it: where it is
 *  written (the file to open, at its line and column) and what it names. */
export interface ReferenceEntry {
  label: string;
  description: string;
  /** The file the reference is written in (project-relative). */
  path: string;
  line: number;
  column: number;
  broken: boolean;
}

export interface ReferencesModel {
  title: string;
  entries: ReferenceEntry[];
  /** The packer's counts where its lists were cut. */
  notes: string[];
}

/** `packer/references` as a list: what the asset uses (written in its own
 *  file), then what uses it (written in theirs). Broken and counts are the
 *  packer's. */
export function referencesView(answer: ReferencesResult): ReferencesModel {
  const entry = (item: ReferenceItem, direction: "uses" | "usedBy"): ReferenceEntry => {
    const other = item.path ?? `asset:${item.target}`;
    const where = direction === "uses" ? answer.path : item.path ?? answer.path;
    return {
      label: direction === "uses" ? `$(arrow-right) ${other}` : `$(arrow-left) ${other}`,
      description: `${where}:${item.line} ${item.pointer} (by ${item.by})${item.broken ? " broken: names nothing registered" : ""}`,
      path: where,
      line: item.line,
      column: item.column,
      broken: item.broken,
    };
  };
  const notes: string[] = [];
  const { uses, usedBy, broken } = answer.counts;
  if (answer.uses.length < uses) notes.push(`uses: the first ${answer.uses.length} of ${uses} are shown`);
  if (answer.usedBy.length < usedBy) notes.push(`used by: the first ${answer.usedBy.length} of ${usedBy} are shown`);
  return {
    title: `${answer.path}: uses ${uses}${broken > 0 ? ` (${broken} broken)` : ""}, used by ${usedBy}`,
    entries: [...answer.uses.map((u) => entry(u, "uses")), ...answer.usedBy.map((u) => entry(u, "usedBy"))],
    notes,
  };
}
