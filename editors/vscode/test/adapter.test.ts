// The client and the adapter against the real `studio-packer serve`.
// STUDIO_PACKER_BIN names the binary (default: the workspace's debug build).

import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as rpc from "vscode-jsonrpc/node";
import { PackerClient, PackerProject } from "../src/client";
import {
  ActivityLog,
  assetTree,
  buildMessage,
  previewDialog,
  referencesView,
  refreshesStatus,
  soundView,
  statusBar,
  textureView,
  thumbnailCaption,
  thumbnailUri,
} from "../src/adapter";
import type {
  BuildResult,
  CookedTexture,
  ErrorObject,
  Event,
  EventQueued,
  FailedData,
  GetAssetResult,
  Mutation,
  RemoteStats,
  Summary,
} from "../src/protocol";

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
    unpacked: [],
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
      byKind: { image: 1, audio: 0, data: 1, text: 0, font: 0, binary: 0, model: 0 },
      byStatus: { ok: 2, invalid: 0, modified: 0, missing: 0 },
      loudnessPending: 0,
    },
    diagnostics: { errors: 0, warnings: 0 },
    divergence: { state: "clean", count: 0 },
    lane: { queued: 0, running: 0 },
    watch: { state: "ok" },
    lastBuild: {},
    externalChanges: [{ changeId: "xc-1", reason: "git checkout feature", ageMs: 5 }],
    targets: [{ name: "desktop", profile: "desktop" }],
    references: { broken: 0 },
  };
  const bar = statusBar(summary);
  assert.equal(bar.text, "$(package) 2 assets  $(git-branch) held");
  assert.match(bar.tooltip, /divergence held while git checkout feature runs$/);
  assert.equal(statusBar({ ...summary, externalChanges: [] }).text, "$(package) 2 assets");
  // The packer's count of sounds whose loudness it is still measuring.
  const measuring = { ...summary, externalChanges: [], assets: { ...summary.assets, loudnessPending: 3 } };
  assert.equal(statusBar(measuring).text, "$(package) 2 assets  $(pulse) measuring 3 sounds");
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

/** A PNG's IHDR: the signature, then the first chunk, which must be IHDR. */
function pngHeader(png: Buffer): { width: number; height: number; bitDepth: number; colorType: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  assert.equal(png.readUInt32BE(8), 13, "IHDR length");
  assert.equal(png.toString("latin1", 12, 16), "IHDR");
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20), bitDepth: png[24], colorType: png[25] };
}

/** The texture line the packer's numbers make (files under 1 MiB). */
function lineOf(c: CookedTexture): string {
  assert.ok(c.bytes < 1024 * 1024, `${c.bytes} bytes`);
  const psnr = c.psnr === undefined ? "" : `, PSNR ${c.psnr.toFixed(1)} dB`;
  const size = c.bytes < 1024 ? `${c.bytes} B` : `${(c.bytes / 1024).toFixed(1)} KiB`;
  return `${c.target} (${c.profile}): ${c.format}${c.srgb ? " sRGB" : ""}, ${c.width}×${c.height}, ${c.levels} levels, ${size}${psnr}`;
}

/** -32803 notCooked, as the packer refuses a thumbnail of a texture it has not cooked. */
function notCooked(e: unknown): boolean {
  const error = e as ErrorObject;
  assert.equal(error.code, -32803);
  assert.equal((error.data as FailedData).reason, "notCooked");
  return true;
}

test("the texture panel shows what the packer cooked, and the thumbnail is that texture", async () => {
  const root = sampleCopy();
  const client = await PackerClient.start(BIN);
  try {
    const project = await PackerProject.open(client, root);
    const hero = (await project.assetAt("assets/sprites/hero.png"))!;
    assert.equal(hero.path, "assets/sprites/hero.png");
    assert.equal(await project.assetAt("assets/sprites/her"), undefined, "a prefix of a path is no asset");

    // Before a build: nothing cooked for either of the sample's targets, no thumbnail.
    await assert.rejects(project.thumbnail(hero.id, 16), notCooked);
    const before = await project.getAsset(hero.id);
    assert.deepEqual(before.cooked, []);
    const declared = (await project.summary()).targets;
    assert.deepEqual(declared, [{ name: "desktop", profile: "desktop" }, { name: "mobile", profile: "mobile" }]);
    assert.deepEqual(textureView(before, declared).targets.map((t) => t.line), ["desktop: not built", "mobile: not built"]);

    assert.equal((await project.build("vscode-texture-build")).outcome, "succeeded");
    const answer = await project.getAsset(hero.id);
    assert.equal(answer.cooked.length, 2);
    const cooked = answer.cooked[0];
    const view = textureView(answer, declared);
    assert.deepEqual(view.targets, answer.cooked.map((c) => ({ target: c.target, cooked: true, line: lineOf(c) })));
    // What that is for the sample's 32×32 sprite on its desktop and mobile targets.
    assert.match(view.targets[0].line, /^desktop \(desktop\): bc7 sRGB, 32×32, 6 levels, \d+\.\d KiB, PSNR \d+\.\d dB$/);
    assert.match(view.targets[1].line, /^mobile \(mobile\): astc-6x6 sRGB, 32×32, 6 levels, \d+\.\d KiB, PSNR \d+\.\d dB$/);
    assert.deepEqual(view.settings, [
      "max_size: null (default)",
      "mipmaps: true (default)",
      "premultiplied_alpha: false (default)",
      "quality: normal (default)",
      "use: color (default)",
    ]);
    assert.deepEqual(view.problems, []);

    // The thumbnail is a PNG of the size the packer says, from the level nearest 16.
    const thumb = await project.thumbnail(hero.id, 16);
    assert.equal(thumb.target, cooked.target);
    assert.equal(thumb.format, cooked.format);
    assert.equal(thumb.level, 1);
    assert.deepEqual([thumb.width, thumb.height], [16, 16]);
    const png = Buffer.from(thumb.png, "base64");
    const ihdr = pngHeader(png);
    assert.deepEqual([ihdr.width, ihdr.height], [thumb.width, thumb.height]);
    assert.deepEqual([ihdr.bitDepth, ihdr.colorType], [8, 6], "8-bit RGBA");
    assert.equal(thumbnailUri(thumb), `data:image/png;base64,${thumb.png}`);
    assert.equal(thumbnailCaption(thumb), "desktop: bc7, level 1, 16×16");

    // A setting changed: the cooked texture is not what a build would use
    // any more, and the target the last build reached is "not built".
    const set: Mutation = { kind: "setMetadata", assetId: hero.id, settings: { max_size: 16 } };
    assert.equal((await project.apply(set)).outcome, "applied");
    const changed = await project.getAsset(hero.id);
    assert.deepEqual(changed.cooked, []);
    const stale = textureView(changed, declared);
    assert.deepEqual(stale.targets.map((t) => t.line), ["desktop: not built", "mobile: not built"]);
    assert.ok(stale.settings.includes("max_size: 16 (asset)"), stale.settings.join("\n"));
    await assert.rejects(project.thumbnail(hero.id, 16, "desktop"), notCooked);

    assert.equal((await project.build("vscode-texture-build-2")).outcome, "succeeded");
    const rebuilt = await project.getAsset(hero.id);
    assert.deepEqual(rebuilt.cooked.map((c) => [c.width, c.height, c.levels]), [[16, 16, 5], [16, 16, 5]]);
    const line = textureView(rebuilt).targets[0].line;
    assert.equal(line, lineOf(rebuilt.cooked[0]));
    assert.match(line, /^desktop \(desktop\): bc7 sRGB, 16×16, 5 levels, \d+ B, PSNR \d+\.\d dB$/);
  } finally {
    await client.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("the sound panel words the packer's stream facts, loudness and settings; it measures nothing", async () => {
  const root = sampleCopy();
  const client = await PackerClient.start(BIN);
  try {
    const project = await PackerProject.open(client, root);
    const jump = (await project.assetAt("assets/audio/jump.wav"))!;
    // The packer measures loudness after it looks at a sound: until then
    // the panel says it is coming, and works nothing out.
    let answer = await project.getAsset(jump.id);
    if (answer.asset.metadata.loudnessPending === true) {
      assert.equal(soundView(answer).loudness, "measuring (the packer has not measured it yet)");
    }
    const pending: GetAssetResult = structuredClone(answer);
    pending.asset.metadata = { ...pending.asset.metadata, loudnessPending: true, loudnessLufs: undefined, truePeakDbtp: undefined };
    assert.equal(soundView(pending).loudness, "measuring (the packer has not measured it yet)");
    const deadline = Date.now() + 30_000;
    while (answer.asset.metadata.loudnessPending === true && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 20));
      answer = await project.getAsset(jump.id);
    }
    const m = answer.asset.metadata;
    assert.equal(m.loudnessPending, undefined, "the packer measured the sound");
    // The sample's jump: 0.2 s of 22,050 Hz 16-bit mono PCM, as the packer read it.
    assert.deepEqual(
      [m.format, m.codec, m.sampleRate, m.channels, m.bitsPerSample, m.durationMs],
      ["wav", "pcm", 22050, 1, 16, 200],
    );
    const view = soundView(answer);
    assert.equal(view.stream, "wav, pcm, 22,050 Hz, mono, 0.20 s, 16-bit");
    // A fifth of a second: no gated block, so the packer gives no integrated
    // loudness, and the panel says so rather than working one out.
    assert.equal(m.loudnessLufs, undefined);
    assert.equal(view.loudness, `no integrated loudness (under 400 ms, or silent), true peak ${m.truePeakDbtp!.toFixed(1)} dBTP`);
    assert.deepEqual(view.settings, [
      "codec: vorbis (default)",
      "mono: false (default)",
      "normalize: null (default)",
      "quality: 0.4 (default)",
      "sample_rate: keep (default)",
    ]);
    assert.deepEqual(view.problems, []);
    // A setting the packer refuses is its problem, worded as it words it.
    const set: Mutation = { kind: "setMetadata", assetId: jump.id, settings: { codec: "opus" } };
    assert.equal((await project.apply(set)).outcome, "applied");
    const refused = soundView(await project.getAsset(jump.id));
    assert.equal(refused.problems.length, 1);
    assert.match(refused.problems[0], /^error: `assets\/audio\/jump\.wav`: setting `codec`: `"opus"` is not a codec; allowed: vorbis, adpcm, pcm/);
    assert.ok(refused.settings.includes("codec: opus (asset)"), refused.settings.join("\n"));
  } finally {
    await client.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("the texture panel shows each setting's source, the packer's problems, and targets not built", () => {
  const answer: GetAssetResult = {
    generation: 4,
    asset: {
      id: "a1",
      path: "assets/sprites/rock_n.png",
      kind: "image",
      hash: "00",
      size: 100,
      tags: [],
      settings: { max_size: 256, quality: "ultra" },
      metadata: { format: "png", width: 512, height: 512 },
      status: "ok",
      diagnostics: [],
    },
    effectiveSettings: {
      "format.phone": { value: "astc-4x4", source: { kind: "rule", line: 12 } },
      max_size: { value: 256, source: { kind: "asset" } },
      mipmaps: { value: true, source: { kind: "default" } },
      quality: { value: "ultra", source: { kind: "asset" } },
      use: { value: "normal", source: { kind: "rule", line: 12 } },
    },
    settingProblems: [
      {
        severity: "error",
        code: "invalidSetting",
        message: "`assets/sprites/rock_n.png`: setting `quality`: unknown quality \"ultra\"; allowed: fast, normal, high (set in the asset's own settings)",
        assetId: "a1",
        path: "assets/sprites/rock_n.png",
      },
    ],
    cooked: [
      { target: "pc", profile: "desktop", format: "bc5", srgb: false, vkFormat: 141, width: 256, height: 256, levels: 9, bytes: 87524, psnr: 48.26 },
      { target: "web", profile: "uncompressed", format: "rgba8", srgb: false, vkFormat: 37, width: 1, height: 1, levels: 1, bytes: 900 },
    ],
    references: { uses: 0, usedBy: 1, broken: 0 },
  };
  const declared: Summary["targets"] = [
    { name: "pc", profile: "desktop" },
    { name: "phone", profile: "mobile" },
    { name: "web", profile: "uncompressed" },
  ];
  const view = textureView(answer, declared);
  assert.deepEqual(
    view.targets.map((t) => t.line),
    [
      "pc (desktop): bc5, 256×256, 9 levels, 85.5 KiB, PSNR 48.3 dB",
      "phone: not built",
      "web (uncompressed): rgba8, 1×1, 1 level, 900 B",
    ],
  );
  assert.deepEqual(view.targets.map((t) => t.cooked), [true, false, true]);
  assert.deepEqual(view.settings, [
    "format.phone: astc-4x4 (rule, packer.toml:12)",
    "max_size: 256 (asset)",
    "mipmaps: true (default)",
    "quality: ultra (asset)",
    "use: normal (rule, packer.toml:12)",
  ]);
  assert.deepEqual(view.problems, [
    "error: `assets/sprites/rock_n.png`: setting `quality`: unknown quality \"ultra\"; allowed: fast, normal, high (set in the asset's own settings)",
  ]);
  // Without the summary, only the targets the packer cooked the asset for.
  assert.deepEqual(textureView(answer).targets.map((t) => t.target), ["pc", "web"]);
  // Another kind has no texture: no target is "not built" for it.
  const data: GetAssetResult = { ...answer, asset: { ...answer.asset, kind: "data" }, cooked: [], settingProblems: [] };
  assert.deepEqual(textureView(data, declared).targets, []);
});

test("Show References lists what the packer says, and delete shows its referenced blocker as worded", async () => {
  const root = sampleCopy();
  // The sample's hero sprite by id, its jump sound by path.
  fs.writeFileSync(
    path.join(root, "assets/data/level3.json"),
    '{\n  "hero": "asset:13hsh6x879ccd571kndbbbe4rw",\n  "sounds": ["asset:assets/audio/jump.wav", "asset:assets/audio/gone.wav"]\n}\n',
  );
  const client = await PackerClient.start(BIN);
  try {
    const project = await PackerProject.open(client, root);
    const applied = await project.apply({ kind: "register", paths: ["assets/data/level3.json"] });
    assert.equal(applied.outcome, "applied");
    const level = (await project.assetAt("assets/data/level3.json"))!;
    const hero = (await project.assetAt("assets/sprites/hero.png"))!;

    const mine = referencesView(await project.references(level.id));
    assert.equal(mine.title, "assets/data/level3.json: uses 3 (1 broken), used by 0");
    assert.deepEqual(
      mine.entries.map((e) => [e.label, e.description, e.path, e.line, e.column]),
      [
        ["$(arrow-right) assets/sprites/hero.png", "assets/data/level3.json:2 /hero (by id)", "assets/data/level3.json", 2, 11],
        ["$(arrow-right) assets/audio/jump.wav", "assets/data/level3.json:3 /sounds/0 (by path)", "assets/data/level3.json", 3, 14],
        [
          "$(arrow-right) asset:assets/audio/gone.wav",
          "assets/data/level3.json:3 /sounds/1 (by path) broken: names nothing registered",
          "assets/data/level3.json",
          3,
          45,
        ],
      ],
    );
    assert.deepEqual(mine.notes, []);
    const theirs = referencesView(await project.references(hero.id));
    assert.equal(theirs.title, "assets/sprites/hero.png: uses 0, used by 1");
    assert.deepEqual(
      theirs.entries.map((e) => [e.label, e.path, e.line]),
      [["$(arrow-left) assets/data/level3.json", "assets/data/level3.json", 2]],
    );

    const dialog = previewDialog(await project.preview({ kind: "delete", assetIds: [hero.id] }));
    assert.equal(dialog.blocked, true);
    assert.deepEqual(dialog.lines.slice(0, 1), [
      "Blocked (referenced): `assets/sprites/hero.png` is named by 1 reference in 1 asset: " +
        "`assets/data/level3.json` line 2 (`/hero`); this change would leave them naming nothing: repoint them (replaceReferences) or remove them in the same batch",
    ]);
  } finally {
    await client.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
