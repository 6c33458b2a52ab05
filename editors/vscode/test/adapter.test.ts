// The client and the adapter against the real `studio-packer serve`.
// STUDIO_PACKER_BIN names the binary (default: the workspace's debug build).

import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as rpc from "vscode-jsonrpc/node";
import { PackerClient, PackerProject } from "../src/client";
import { ActivityLog, assetTree, buildMessage, previewDialog, refreshesStatus, statusBar } from "../src/adapter";
import type { BuildResult, ErrorObject, Event, EventQueued, Mutation, RemoteStats, Summary } from "../src/protocol";

const BIN = process.env.STUDIO_PACKER_BIN ?? path.resolve(__dirname, "../../../../target/debug/studio-packer");
const SAMPLE = path.resolve(__dirname, "../../../../examples/sample-game");

function sampleCopy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "packer-vscode-"));
  fs.cpSync(SAMPLE, dir, { recursive: true, filter: (src) => !/[\\/](\.packer|build)$/.test(src) });
  return dir;
}

function waitFor<T>(predicate: () => T | undefined, what: string, ms = 20000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = predicate();
      if (v) return resolve(v);
      if (Date.now() - started > ms) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

const TERMINAL = new Set<string>(["succeeded", "failed", "cancelled", "rejected"]);

/** The operation an event belongs to, if any. */
function operationOf(e: Event): string | undefined {
  return ("operationId" in e && e.operationId) || undefined;
}

test("open, list, preview blocked and allowed moves, apply, reconcile, build with progress and cancel", async () => {
  const root = sampleCopy();
  // Slow processing (a test-only switch of the server), so that a cancel lands mid-build.
  process.env.STUDIO_PACKER_TEST_PROCESS_DELAY_MS = "300";
  const client = await PackerClient.start(BIN);
  const events: Event[] = [];
  const activity = new ActivityLog();
  const finishedSeenAt = new Map<string, string>();
  client.onEvent((e) => {
    events.push(e);
    activity.push(e);
    // The activity view may show an operation as finished only once its terminal event is in.
    for (const [id, entry] of activity.operations) {
      if (entry.finished && !finishedSeenAt.has(id)) finishedSeenAt.set(id, entry.lastKind);
    }
  });
  try {
    const project = await PackerProject.open(client, root);
    const bar = statusBar(await project.summary());
    assert.match(bar.text, /^\$\(package\) 7 assets/);
    assert.equal(bar.warning, false);

    const items = await project.listAllAssets(3);
    assert.equal(items.length, 7);
    const tree = assetTree(items);
    const assetsFolder = tree.children.find((c) => c.label === "assets")!;
    assert.deepEqual(assetsFolder.children.map((c) => c.label).sort(), ["audio", "data", "sprites", "text", "ui"]);
    const hero = items.find((a) => a.path === "assets/sprites/hero.png")!;

    const blocked = previewDialog(await project.preview({ kind: "move", assetId: hero.id, to: "assets/sprites/slime.png" }));
    assert.equal(blocked.blocked, true);
    assert.match(blocked.lines[0], /^Blocked \(targetExists\)/);

    // A preview the packer cuts short says how much it left out.
    const many = Array.from({ length: 1500 }, (_, i) => `assets/none/${i}.txt`);
    const long = previewDialog(await project.preview({ kind: "register", paths: many }));
    assert.equal(long.blocked, true);
    assert.equal(long.lines.filter((l) => l.startsWith("Blocked (notFound)")).length, 1000);
    assert.ok(long.lines.includes("(blockers: the first 1000 of 1500 are shown)"), long.lines.slice(-2).join("\n"));

    const move: Mutation = { kind: "move", assetId: hero.id, to: "assets/characters/hero.png" };
    const preview = await project.preview(move);
    const shown = previewDialog(preview);
    assert.equal(shown.blocked, false);
    assert.ok(shown.lines.includes("File move: assets/sprites/hero.png → assets/characters/hero.png"), shown.lines.join("\n"));
    const applied = await project.apply(move, preview.baseGeneration);
    assert.equal(applied.outcome, "applied");
    assert.ok(fs.existsSync(path.join(root, "assets/characters/hero.png")));
    const opFinished = activity.operations.get(applied.operationId)!;
    assert.equal(opFinished.finished, true, "the terminal event came before the response");

    // A file changed behind the server's back: reconcile as the packer proposes.
    fs.writeFileSync(path.join(root, "assets/text/credits.txt"), "new credits\n");
    await waitFor(() => events.find((e) => e.kind === "divergenceDetected"), "divergenceDetected");
    assert.equal(statusBar(await project.summary()).warning, true);
    const rec = previewDialog(await project.preview({ kind: "reconcile" }));
    assert.ok(rec.lines.some((l) => l.startsWith("Resolve modified assets/text/credits.txt: adopt")), rec.lines.join("\n"));
    assert.equal((await project.apply({ kind: "reconcile" })).outcome, "applied");
    assert.equal((await project.summary()).divergence.state, "clean");

    // Build with progress, cancelled from the client side ($/cancelRequest).
    const token = "vscode-test-build";
    const progress: string[] = [];
    client.onProgress((t, value) => {
      if (t === token) progress.push(value.kind);
    });
    const source = new rpc.CancellationTokenSource();
    const building = project.build(token, source.token);
    await waitFor(() => events.find((e) => e.kind === "progress" && e.done > 0), "build progress");
    source.cancel();
    await assert.rejects(building, (e) => (e as ErrorObject).code === -32800);
    await waitFor(() => progress.includes("end"), "$/progress end");
    assert.equal(progress[0], "begin");
    const buildOp = events.find((e): e is EventQueued => e.kind === "queued" && e.operation === "build")!.operationId;
    await waitFor(() => activity.operations.get(buildOp)?.finished, "the build's terminal event");
    assert.equal(activity.operations.get(buildOp)!.lastKind, "cancelled");
    assert.ok(!fs.existsSync(path.join(root, "build/desktop/main.pack")), "a cancelled build writes no pack");

    // And a build to completion.
    delete process.env.STUDIO_PACKER_TEST_PROCESS_DELAY_MS;
    const built = await project.build("vscode-test-build-2");
    assert.equal(built.outcome, "succeeded");
    assert.equal((await project.summary()).lastBuild.desktop?.outcome, "succeeded");
    assert.match(statusBar(await project.summary()).tooltip, /last build: desktop succeeded, mobile succeeded;/);

    // Nothing was shown finished before its terminal event.
    for (const [id, kind] of finishedSeenAt) assert.ok(TERMINAL.has(kind), `${id} shown finished at ${kind}`);
    for (const e of events) if (operationOf(e) && !TERMINAL.has(e.kind)) {
      // Each non-terminal event of an operation came while it was not finished yet.
      assert.ok(events.indexOf(e) < events.findIndex((x) => operationOf(x) === operationOf(e) && TERMINAL.has(x.kind)));
    }
  } finally {
    await client.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("a build's message shows the packer's counts, the remote cache's only when one was used", () => {
  const result = (remote: RemoteStats): BuildResult => ({
    operationId: "op-1",
    outcome: "succeeded",
    packs: [],
    diagnostics: [],
    targets: [],
    stats: { assets: 7, processed: 2, reused: 5, bytesIn: 10, bytesOut: 8, durationMs: 1, remote },
  });
  const off: RemoteStats = { mode: "off", hits: 0, misses: 0, corrupt: 0, uploaded: 0, errors: 0, bytesDown: 0, bytesUp: 0 };
  assert.equal(buildMessage(result(off)), "Build succeeded: 2 processed, 5 reused");
  const read: RemoteStats = { mode: "read", hits: 5, misses: 2, corrupt: 1, uploaded: 0, errors: 0, bytesDown: 9, bytesUp: 0 };
  assert.equal(
    buildMessage(result(read)),
    "Build succeeded: 2 processed, 5 reused; remote cache (read): 5 hits, 2 misses, 0 uploaded, 1 corrupt",
  );
  const log = new ActivityLog();
  assert.equal(
    log.push({
      projectId: "p",
      seq: 9,
      kind: "remoteCacheDisabled",
      operationId: "op-2",
      sequence: 3,
      message: "the remote cache x is off",
      reason: "failures",
      scope: "all",
      url: "https://cache.example",
    }),
    "#9 op-2 [3] remoteCacheDisabled: the remote cache x is off",
  );
});

test("the status bar says when divergence is held for a checkout", () => {
  const summary: Summary = {
    generation: 3,
    assets: {
      total: 2,
      byKind: { image: 1, audio: 0, data: 1, text: 0, font: 0, binary: 0 },
      byStatus: { ok: 2, invalid: 0, modified: 0, missing: 0 },
    },
    diagnostics: { errors: 0, warnings: 0 },
    divergence: { state: "clean", count: 0 },
    lane: { queued: 0, running: 0 },
    watch: { state: "ok" },
    lastBuild: {},
    externalChanges: [{ changeId: "xc-1", reason: "git checkout feature", ageMs: 5 }],
  };
  const bar = statusBar(summary);
  assert.equal(bar.text, "$(package) 2 assets  $(git-branch) held");
  assert.match(bar.tooltip, /divergence held while git checkout feature runs$/);
  assert.equal(statusBar({ ...summary, externalChanges: [] }).text, "$(package) 2 assets");
  // No snapshot is published while a change holds divergence: its events refresh the bar.
  const began: Event = { projectId: "p", seq: 4, kind: "externalChangeBegan", changeId: "xc-1", reason: "git checkout feature", timeoutMs: 1 };
  assert.equal(refreshesStatus(began), true);
  const progress: Event = { projectId: "p", seq: 5, kind: "progress", operationId: "op-1", sequence: 3, done: 1, total: 2, message: "" };
  assert.equal(refreshesStatus(progress), false);
});

test("the activity log says what an external change was and how it ended", () => {
  const log = new ActivityLog();
  assert.equal(
    log.push({ projectId: "p", seq: 4, kind: "externalChangeBegan", changeId: "xc-1", reason: "git checkout feature", timeoutMs: 1 }),
    "#4 externalChangeBegan: git checkout feature",
  );
  assert.equal(
    log.push({
      projectId: "p",
      seq: 5,
      kind: "externalChangeEnded",
      changeId: "xc-1",
      reason: "git checkout feature",
      endedBy: "connectionClosed",
      durationMs: 3,
    }),
    "#5 externalChangeEnded: git checkout feature (connectionClosed)",
  );
  assert.equal(log.operations.size, 0, "a state event, not an operation");
});

test("the activity log marks an operation finished only on its terminal event", () => {
  const log = new ActivityLog();
  const op = { projectId: "p", operationId: "op-1" };
  const events: Event[] = [
    { ...op, seq: 1, sequence: 1, kind: "queued", operation: "applyMutation" },
    { ...op, seq: 2, sequence: 2, kind: "started" },
    { ...op, seq: 3, sequence: 3, kind: "progress", done: 1, total: 2, message: "" },
    { ...op, seq: 4, sequence: 4, kind: "snapshotPublished", generation: 2 },
    { ...op, seq: 5, sequence: 5, kind: "succeeded", outcome: "applied" },
  ];
  for (const event of events) {
    log.push(event);
    assert.equal(log.operations.get("op-1")!.finished, event.kind === "succeeded");
  }
  assert.equal(log.lines[4], "#5 op-1 [5] succeeded");
});
