// Translation only: packer answers and events in, view models out.
// Nothing here counts, decides a blocker or an outcome: every number and
// verdict shown is a field the packer sent.

export interface StatusBarModel {
  text: string;
  tooltip: string;
  warning: boolean;
}

export function statusBar(summary: any): StatusBarModel {
  const parts = [`$(package) ${summary.assets.total} assets`];
  if (summary.diagnostics.errors > 0) parts.push(`$(error) ${summary.diagnostics.errors}`);
  if (summary.diagnostics.warnings > 0) parts.push(`$(warning) ${summary.diagnostics.warnings}`);
  if (summary.divergence.state === "diverged") parts.push(`$(diff) ${summary.divergence.count} diverged`);
  if (summary.lane.running > 0 || summary.lane.queued > 0) parts.push("$(sync~spin)");
  // A checkout in progress: the packer holds divergence back until it ends.
  const held = (summary.externalChanges ?? []).map((c: any) => c.reason);
  if (held.length > 0) parts.push("$(git-branch) held");
  const build = summary.lastBuild ? `last build: ${summary.lastBuild.outcome}` : "not built yet";
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
export function refreshesStatus(event: any): boolean {
  return [
    "snapshotPublished",
    "externalChangeBegan",
    "externalChangeEnded",
    "watchDegraded",
    "watchRestored",
  ].includes(event.kind);
}

/** The message after a build: the packer's counts, and the shared cache's when one was used. */
export function buildMessage(result: any): string {
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
  asset?: { id: string; kind: string; status: string; icon: string; description: string; problems: string[] };
}

const KIND_ICONS: Record<string, string> = {
  image: "file-media",
  audio: "unmute",
  data: "json",
  text: "file-text",
  font: "text-size",
  binary: "file-binary",
};
const STATUS_ICONS: Record<string, string> = { ok: "", invalid: "error", modified: "diff-modified", missing: "question" };

/** The Assets view: the packer's assets arranged by folder. */
export function assetTree(items: any[]): TreeNode {
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
        problems: a.diagnostics.map((d: any) => `${d.severity}: ${d.message}`),
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

const LISTS: [string, string][] = [
  ["blockers", "blockers"],
  ["warnings", "warnings"],
  ["resolutions", "resolutions"],
  ["registryMutations", "registry changes"],
  ["filesystemMutations", "file changes"],
];

/** A mutation preview as a dialog shows it. */
export function previewDialog(preview: any): PreviewModel {
  const lines: string[] = [];
  for (const b of preview.blockers) lines.push(`Blocked (${b.code}): ${b.message}`);
  for (const w of preview.warnings) lines.push(`Warning (${w.code}): ${w.message}`);
  for (const r of preview.resolutions ?? []) lines.push(`Resolve ${r.kind} ${r.path}: ${r.resolution}`);
  for (const m of preview.registryMutations) {
    const before = m.before ? m.before.path : "";
    const after = m.after ? m.after.path : "";
    lines.push(`Registry ${m.op}: ${m.op === "update" && before !== after ? `${before} → ${after}` : after || before}`);
  }
  for (const f of preview.filesystemMutations) lines.push(`File ${f.op}: ${f.path}${f.to ? ` → ${f.to}` : ""}`);
  // A long list is cut by the packer, which says each list's full length.
  const cut = preview.truncated;
  if (cut) {
    for (const [list, label] of LISTS) {
      if (cut[list] !== undefined && cut[list] > (preview[list] ?? []).length) {
        lines.push(`(${label}: the first ${(preview[list] ?? []).length} of ${cut[list]} are shown)`);
      }
    }
  }
  return { blocked: preview.blockers.length > 0, needsConfirmation: preview.warnings.length > 0, lines };
}

const TERMINAL = new Set(["succeeded", "failed", "cancelled", "rejected"]);

export interface ActivityEntry {
  operationId: string;
  lastSequence: number;
  lastKind: string;
  /** Only a terminal event makes this true. */
  finished: boolean;
  outcome?: string;
}

/** The Activity channel: a line per event, and each operation's state as its events say. */
export class ActivityLog {
  readonly lines: string[] = [];
  readonly operations = new Map<string, ActivityEntry>();

  push(event: any): string {
    let line = `#${event.seq} ${event.kind}`;
    if (event.operationId) {
      line = `#${event.seq} ${event.operationId} [${event.sequence}] ${event.kind}`;
      const entry: ActivityEntry = this.operations.get(event.operationId) ?? {
        operationId: event.operationId,
        lastSequence: 0,
        lastKind: "",
        finished: false,
      };
      entry.lastSequence = event.sequence;
      entry.lastKind = event.kind;
      if (TERMINAL.has(event.kind)) {
        entry.finished = true;
        entry.outcome = event.outcome;
      }
      this.operations.set(event.operationId, entry);
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
