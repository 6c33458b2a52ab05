//! Building: the registered assets of one snapshot turned into the pack
//! files a game loads.
//!
//! A build is commit-bearing and runs in the project's lane, so it sees one
//! coherent registry and no write lands in the middle of it; reads go on
//! being answered from snapshots meanwhile. Processing runs on all cores
//! (rayon), outside the async runtime. Every asset goes through the local
//! cache, so an unchanged asset is never processed again, and a pack whose
//! table of contents would not change is not rewritten at all. A pack is
//! written to a temporary file and renamed into place: a crash or a cancel
//! never leaves a torn pack, and the previous one stays intact until then.

pub mod audio;
pub mod cache;
pub mod commit;
pub mod cooked;
pub mod membership;
pub mod memory;
pub mod pack;
pub mod process;
pub mod remote;
pub mod settings;
pub mod texture;
pub mod uptodate;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde_json::{Map, Value};

use crate::hash::ContentHash;
use crate::operations::Operation;
use crate::project::disk::sandbox::{FileStat, Sandbox};
use crate::project::format::manifest;
use crate::project::model::paths;
use crate::project::model::references;
use crate::project::model::{Asset, Diagnostic, Kind, Severity, Status};
use crate::project::snapshot::divergence::ItemKind;
use crate::project::snapshot::graph::Maps;
use crate::project::snapshot::Snapshot;
use crate::project::Project;
use crate::protocol::model::{
    BuildOutcome, BuildResult, BuildStats, CacheStatsResult, EntriesAndBytes, LocalCacheStats, PackInfo,
    PruneCacheResult, RemoteCacheInfo, RemoteStats, TargetBuild, UnpackedAsset,
};
use cache::{Key, LocalCache, StoredMeta};
use pack::{Compression, EntrySource, Format, PackEntry};
use remote::{Fetched, RemoteCache};

/// How often progress is reported at most (a rate a UI can draw).
const PROGRESS_EVERY: Duration = Duration::from_millis(66);

/// How a build ended, with its result (whose `outcome` says the same).
pub enum Outcome {
    Succeeded(BuildResult),
    Failed(BuildResult),
    Cancelled(BuildResult),
}

impl Outcome {
    fn result_mut(&mut self) -> &mut BuildResult {
        match self {
            Outcome::Succeeded(r) | Outcome::Failed(r) | Outcome::Cancelled(r) => r,
        }
    }
}

/// One unit of processing: every asset with the same cache key is processed once.
#[derive(Clone)]
struct Unit {
    key: Key,
    asset: Arc<Asset>,
    /// The settings its processor reads (resolved for the build's target).
    settings: Map<String, Value>,
    /// What its references by path resolve to (data assets).
    links: Arc<process::Links>,
    /// Source bytes of every asset this unit stands for (for progress).
    bytes: u64,
    /// The work of processing it once (see [`Build::work`]).
    work: u64,
}

enum UnitError {
    Cancelled,
    /// Boxed: a `Diagnostic` (with its line and column) is too large to pass
    /// by value in every `Err` of the build's hot path.
    Diagnostic(Box<Diagnostic>),
}

fn diag(asset: &Asset, code: &str, message: String) -> Diagnostic {
    Diagnostic::project(Severity::Error, code, message, Some(asset.path().to_string())).with_asset(Some(asset.id()))
}

/// Compressed when that is smaller; formats that are compressed already are
/// not tried.
fn compress(raw: &[u8], format: Format, level: i32) -> (Vec<u8>, Compression, u8) {
    // Known by their bytes, not their name: a cooked sound keeps its
    // source's (`.mp3` may hold PCM, `.wav` Ogg Vorbis).
    let precompressed = format == Format::Png
        || (format == Format::Bytes && [b"OggS", b"wOFF", b"wOF2"].iter().any(|m| raw.starts_with(*m)));
    if !precompressed {
        if let Ok(z) = zstd_compress(raw, level) {
            if z.len() < raw.len() {
                return (z, Compression::Zstd, level as u8);
            }
        }
    }
    (raw.to_vec(), Compression::None, 0)
}

/// `zstd::bulk::compress`, through one compression context per thread:
/// making a context for every asset was 5 % of a cold build. The bytes are
/// the same (a context is reset before each use).
fn zstd_compress(raw: &[u8], level: i32) -> std::io::Result<Vec<u8>> {
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
            const { std::cell::RefCell::new(None) };
    }
    CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(l, _)| *l != level) {
            *slot = Some((level, zstd::bulk::Compressor::new(level)?));
        }
        let (_, compressor) = slot.as_mut().expect("made above");
        compressor.compress(raw)
    })
}

/// What of a target decides the bytes an asset of `kind` becomes: for an
/// image, the target's profile and the texture encoders (their versions and
/// the fingerprint of their output on this machine, so that encoders built
/// differently miss the cache rather than hit bytes they would not make);
/// for a sound, likewise its encoders and their fingerprint (its settings
/// are resolved per target already); nothing for any other kind, whose
/// processed form every target shares.
fn target_part(kind: Kind, target: &manifest::Target) -> String {
    match kind {
        Kind::Image => format!(
            "{} texture@{} {} {}",
            target.profile.as_str(),
            texture::VERSION,
            texture::ENCODERS,
            crate::hash::hex(&texture::fingerprint())
        ),
        // A sound's settings are resolved per target already; the encoders' part.
        Kind::Audio => {
            format!("sound@{} {} {}", audio::VERSION, audio::ENCODERS, crate::hash::hex(&audio::fingerprint()))
        }
        _ => String::new(),
    }
}

/// The cache key of an asset's processed form for a target, with
/// `settings` as resolved for it: everything that decides its bytes.
fn unit_key(a: &Asset, settings: &Map<String, Value>, target_part: &str, level: i32, links: &process::Links) -> Key {
    let ext = a.path().rsplit_once('.').map_or("", |(_, e)| e);
    cache::key(&a.entry.hash, a.entry.kind, ext, settings, target_part, level, links)
}

/// What a data asset's references by path resolve to, by path (see
/// [`process::Links`]); empty for other kinds and for data naming nothing by
/// path, which is nearly all of it.
fn links_of(maps: &Maps<'_>, a: &Asset) -> Arc<process::Links> {
    if a.entry.kind != Kind::Data {
        return Arc::from([]);
    }
    let mut links: Vec<(Arc<str>, Arc<str>)> = a
        .references
        .iter()
        .filter_map(|r| match &r.target {
            references::Target::Path(p) => Some((p.clone(), maps.resolve(&r.target)?)),
            references::Target::Id(_) => None,
        })
        .collect();
    links.sort();
    links.dedup();
    links.into()
}

/// An asset's file read and processed, or the diagnostic a build reports
/// for it: the one place a build judges an asset's own content.
fn read_and_process(
    sandbox: &Sandbox,
    a: &Asset,
    settings: &Map<String, Value>,
    links: &process::Links,
    on: &process::For<'_>,
) -> Result<process::Processed, UnitError> {
    let read = |a: &Asset| -> Result<Vec<u8>, Box<Diagnostic>> {
        let bytes = sandbox
            .read(a.path())
            .map_err(|e| Box::new(diag(a, "unreadable", format!("cannot read `{}`: {e}", a.path()))))?;
        if ContentHash::of(&bytes) != a.entry.hash {
            let msg = format!("`{}` changed on disk since it was registered: reconcile it first", a.path());
            return Err(Box::new(diag(a, "diverged", msg)));
        }
        Ok(bytes)
    };
    let bytes = read(a).map_err(UnitError::Diagnostic)?;
    #[cfg(feature = "test-hooks")]
    if let Some(ms) = std::env::var("STUDIO_PACKER_TEST_PROCESS_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
        std::thread::sleep(Duration::from_millis(ms));
    }
    process::process(a.entry.kind, a.path(), &bytes, settings, links, on).map_err(|f| match f {
        process::Failure::Cancelled => UnitError::Cancelled,
        process::Failure::Refused { code, message } => {
            UnitError::Diagnostic(Box::new(diag(a, &code, format!("`{}`: {message}", a.path()))))
        }
    })
}

/// A registered asset a build refuses for its place: inside the build
/// output. The registry can say so (edited by hand, or by an older packer);
/// a build never replaces an asset's file with a pack.
fn misplaced(manifest: &manifest::Manifest, a: &Asset) -> Option<Diagnostic> {
    let output = &manifest.output;
    manifest.in_output(a.path()).then(|| {
        let msg =
            format!("`{}` is a registered asset inside the build output (`{output}`): move it out first", a.path());
        diag(a, "inBuildOutput", msg)
    })
}

/// What a build would report of these assets on their own, their place and
/// their content (for `studio-packer check`, which writes nothing). An
/// asset whose processed form the local cache holds, under the key a build
/// would use, processed cleanly before; every other one is read and
/// processed, on the build's threads, and nothing is stored. Assets with an
/// error diagnostic already, or whose file is missing or changed (divergence,
/// reported as such), are not processed.
pub fn asset_problems(
    sandbox: &Sandbox,
    state_dir: Option<&std::path::Path>,
    manifest: &manifest::Manifest,
    maps: &Maps<'_>,
    assets: &[Arc<Asset>],
) -> Vec<Diagnostic> {
    let level = manifest.zstd_level;
    let cache = state_dir.map(LocalCache::open);
    let target = &manifest.targets[0];
    let known = |a: &Asset, settings: &Map<String, Value>, links: &process::Links| {
        let key = unit_key(a, settings, &target_part(a.entry.kind, target), level, links);
        cache.as_ref().is_some_and(|c| c.get(&key).is_some())
    };
    let judged = |a: &Asset| a.diagnostics.iter().any(|d| d.severity == Severity::Error);
    let never = || false;
    let on = process::For { target, cancelled: &never };
    let problems_of = |a: &Asset| -> Vec<Diagnostic> {
        let settings = match settings::for_target(manifest, a, target) {
            Ok(settings) => settings,
            Err(problems) => return problems,
        };
        let links = links_of(maps, a);
        if known(a, &settings, &links) {
            return Vec::new();
        }
        // A texture is only decoded: cooking it for every target is a build's work.
        if a.entry.kind == Kind::Image {
            return image_problem(sandbox, a).into_iter().collect();
        }
        match read_and_process(sandbox, a, &settings, &links, &on) {
            Ok(_) | Err(UnitError::Cancelled) => Vec::new(),
            Err(UnitError::Diagnostic(d)) => vec![*d],
        }
    };
    let mut problems: Vec<Diagnostic> = assets.iter().filter_map(|a| misplaced(manifest, a)).collect();
    problems.extend(workers(thread_count(manifest)).install(|| {
        assets
            .par_iter()
            .filter(|a| matches!(a.status, Status::Ok | Status::Invalid) && !judged(a))
            .flat_map_iter(|a| problems_of(a))
            .collect::<Vec<_>>()
    }));
    problems
}

/// What reading and decoding an image says of it, if anything is wrong.
fn image_problem(sandbox: &Sandbox, a: &Asset) -> Option<Diagnostic> {
    let bytes = match sandbox.read(a.path()) {
        Ok(bytes) => bytes,
        Err(e) => return Some(diag(a, "unreadable", format!("cannot read `{}`: {e}", a.path()))),
    };
    match process::check_image(&bytes, a.path()) {
        Ok(()) | Err(process::Failure::Cancelled) => None,
        Err(process::Failure::Refused { code, message }) => Some(diag(a, &code, format!("`{}`: {message}", a.path()))),
    }
}

/// Processes a unit into the local cache (and queues it for the remote's,
/// when there is one).
fn process_unit(
    sandbox: &Sandbox,
    cache: &LocalCache,
    remote: Option<&RemoteCache>,
    unit: &Unit,
    level: i32,
    on: &process::For<'_>,
) -> Result<(StoredMeta, Vec<String>), UnitError> {
    let a = &unit.asset;
    let processed = read_and_process(sandbox, a, &unit.settings, &unit.links, on)?;
    let (stored, compression, used_level) = compress(&processed.bytes, processed.format, level);
    let meta = StoredMeta::describing(
        &processed.bytes,
        &stored,
        processed.format,
        compression,
        used_level,
        processed.image,
        processed.psnr_cdb,
    );
    cache.put(&unit.key, &meta, &stored).map_err(|e| {
        UnitError::Diagnostic(Box::new(diag(a, "cacheWrite", format!("cannot write the processing cache: {e}"))))
    })?;
    crate::fault::point("an asset processed into the cache");
    if let Some(remote) = remote {
        remote.upload(&unit.key, &meta, stored);
    }
    Ok((meta, processed.warnings))
}

struct FromCache<'a> {
    cache: &'a LocalCache,
    sandbox: &'a Sandbox,
    level: i32,
    on: process::For<'a>,
    /// Each entry's unit, and what the cache stores of it.
    members: Vec<(Unit, StoredMeta)>,
}

impl EntrySource for FromCache<'_> {
    fn stored_bytes(&self, index: usize) -> std::io::Result<Vec<u8>> {
        let (unit, meta) = &self.members[index];
        match self.cache.read_stored(&unit.key, meta) {
            Ok(bytes) => Ok(bytes),
            Err(e) => {
                // A damaged entry is a miss: process the asset again (the
                // same inputs give the same bytes the table describes).
                let path = unit.asset.path();
                tracing::warn!(path, error = %e, "a cache entry is damaged; processing its asset again");
                process_unit(self.sandbox, self.cache, None, unit, self.level, &self.on).map_err(|_| e)?;
                self.cache.read_stored(&unit.key, meta)
            }
        }
    }
}

/// How many threads process a build's assets: `STUDIO_PACKER_THREADS` when
/// it is set to a number from 1 to 1024 (a machine's say over a project's),
/// else `[build] threads`, else one per core. The bytes built never depend
/// on it.
pub fn thread_count(manifest: &manifest::Manifest) -> usize {
    let from_env = std::env::var("STUDIO_PACKER_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok());
    from_env
        .filter(|n| (1..=manifest::MAX_THREADS).contains(n))
        .or(manifest.threads)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// The threads that process a build's assets, `threads` of them, made once
/// per count: at a lower scheduling priority than the rest of the process,
/// so that a build using every core does not make the answers to reads
/// wait (measured: the read p99 during a build was 9 times the idle one on
/// two cores).
pub(crate) fn workers(threads: usize) -> &'static rayon::ThreadPool {
    static POOLS: Mutex<Vec<(usize, &'static rayon::ThreadPool)>> = Mutex::new(Vec::new());
    let mut pools = POOLS.lock().expect("pools lock");
    if let Some((_, pool)) = pools.iter().find(|(n, _)| *n == threads) {
        return pool;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("packer-build-{i}"))
        .start_handler(|_| {
            // On Linux a nice value belongs to the calling thread alone.
            // Best effort: at the usual priority, a build is only slower
            // to give way.
            // SAFETY: setpriority takes plain integers and changes no memory.
            let _ = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, 10) };
        })
        .build()
        .expect("the build's worker threads start");
    // Kept for the life of the process: a handful of counts at most.
    let pool: &'static rayon::ThreadPool = Box::leak(Box::new(pool));
    pools.push((threads, pool));
    pool
}

/// Runs a build of the project's current snapshot: of target `target`, or
/// of every declared target in order. Called by the lane.
pub fn run(project: &Project, op: &Operation, clean: bool, target: Option<&str>) -> Outcome {
    // A build deletes and writes under `.packer/cache`: a link brought there
    // since the project was opened (a checkout, an archive) is refused first.
    if let Err(refused) = project.state.recheck() {
        return Outcome::Failed(state_refused(project, op, refused));
    }
    let started = Instant::now();
    // One snapshot for every target: they are built from the same registry.
    let snap = project.snapshot();
    let targets: Vec<manifest::Target> = match target {
        None => snap.manifest.targets.clone(),
        Some(name) => match snap.manifest.target(name) {
            Some(t) => vec![t.clone()],
            None => {
                let declared: Vec<&str> = snap.manifest.targets.iter().map(|t| t.name.as_str()).collect();
                let msg = format!(
                    "no target `{name}` in packer.toml: the targets are {} (see [[build.targets]])",
                    declared.join(", ")
                );
                let d =
                    Diagnostic::project(Severity::Error, "unknownTarget", msg, Some(manifest::MANIFEST_FILE.into()));
                return Outcome::Failed(did_not_run(op, BuildOutcome::Failed, vec![d]));
            }
        },
    };
    let mut parts: Vec<(manifest::Target, Outcome)> = Vec::with_capacity(targets.len());
    for t in targets {
        let outcome = build_target(project, op, clean, &snap, &t);
        let go_on = matches!(outcome, Outcome::Succeeded(_));
        parts.push((t, outcome));
        if !go_on {
            break;
        }
    }
    let mut outcome = combine(op, parts, started);
    // What no pack holds: a fact of the manifest and the snapshot, the same
    // for every target.
    let assets: Vec<Arc<Asset>> = snap.contents.by_path.values().filter_map(|id| snap.asset(id).cloned()).collect();
    let membership = membership::Membership::new(&snap.manifest, &snap);
    outcome.result_mut().unpacked = membership
        .unpacked(&snap.manifest, &assets)
        .into_iter()
        .take(MAX_UNPACKED_LISTED)
        .map(|a| UnpackedAsset { asset_id: a.id().to_string(), path: a.path().to_string() })
        .collect();
    outcome
}

/// The most unpacked assets a build result lists (the `unpacked` warning counts them all).
const MAX_UNPACKED_LISTED: usize = 1_000;

/// Builds one target's packs.
fn build_target(
    project: &Project,
    op: &Operation,
    clean: bool,
    snap: &Arc<Snapshot>,
    target: &manifest::Target,
) -> Outcome {
    // All of it on the build's low-priority threads, the assembly of the
    // packs (hashing every byte) included: reads keep their answers quick.
    // What only waits (the remote's uploads) waits on the lane's thread,
    // not on a worker other projects' builds share.
    let pool = workers(thread_count(&snap.manifest));
    let built = match pool.install(|| build_in_pool(project, op, clean, snap, target)) {
        Ran::Answered(outcome) => return *outcome,
        Ran::Built(built) => built,
    };
    let Built { mut outcome, cache, remote, warnings, inputs, left, started, max_size } = *built;
    let report = finish_uploads(remote, &outcome);
    amend(&mut outcome, op, started, warnings, report);
    keep_processed(cache, max_size);
    if let Outcome::Succeeded(result) = &outcome {
        uptodate::record(&project.state_dir(), &target.name, &inputs, result, &left);
    }
    outcome
}

/// One build's outcome from its targets' (in order; the last one decides
/// the outcome): packs in target order, statistics summed, each target's
/// own part in `targets`.
fn combine(op: &Operation, parts: Vec<(manifest::Target, Outcome)>, started: Instant) -> Outcome {
    let mut packs = Vec::new();
    let mut diagnostics: Vec<Diagnostic> = Vec::new();
    let mut targets = Vec::with_capacity(parts.len());
    let mut stats: Option<BuildStats> = None;
    let mut outcome = BuildOutcome::Succeeded;
    for (target, part) in parts {
        let result = match part {
            Outcome::Succeeded(r) | Outcome::Failed(r) | Outcome::Cancelled(r) => r,
        };
        outcome = result.outcome;
        targets.push(TargetBuild {
            target: target.name,
            profile: target.profile,
            outcome: result.outcome,
            packs: result.packs.len(),
            stats: result.stats.clone(),
        });
        packs.extend(result.packs);
        // The same warning (a remote's configuration, an asset in no pack) once.
        for d in result.diagnostics {
            if !diagnostics.contains(&d) {
                diagnostics.push(d);
            }
        }
        stats = Some(match stats {
            None => result.stats,
            Some(sum) => add_stats(sum, &result.stats),
        });
    }
    let mut stats = stats.unwrap_or_else(|| did_not_run(op, outcome, Vec::new()).stats);
    stats.duration_ms = started.elapsed().as_millis() as u64;
    let result =
        BuildResult { operation_id: op.id.clone(), outcome, packs, stats, diagnostics, targets, unpacked: Vec::new() };
    match outcome {
        BuildOutcome::Succeeded => Outcome::Succeeded(result),
        BuildOutcome::Failed => Outcome::Failed(result),
        BuildOutcome::Cancelled => Outcome::Cancelled(result),
    }
}

/// Two targets' statistics as one build's: the assets are the same ones.
fn add_stats(a: BuildStats, b: &BuildStats) -> BuildStats {
    let (r, s) = (a.remote, &b.remote);
    let remote = RemoteStats {
        mode: r.mode,
        hits: r.hits + s.hits,
        misses: r.misses + s.misses,
        corrupt: r.corrupt + s.corrupt,
        uploaded: r.uploaded + s.uploaded,
        errors: r.errors + s.errors,
        bytes_down: r.bytes_down + s.bytes_down,
        bytes_up: r.bytes_up + s.bytes_up,
    };
    BuildStats {
        assets: a.assets.max(b.assets),
        processed: a.processed + b.processed,
        reused: a.reused + b.reused,
        bytes_in: a.bytes_in.max(b.bytes_in),
        bytes_out: a.bytes_out + b.bytes_out,
        duration_ms: a.duration_ms + b.duration_ms,
        remote,
    }
}

/// How the part of a build on the workers ended.
enum Ran {
    /// Nothing was processed (a diverged asset, or nothing to do).
    Answered(Box<Outcome>),
    Built(Box<Built>),
}

/// A build that ran, with what remains to be done after it.
struct Built {
    outcome: Outcome,
    cache: LocalCache,
    remote: Option<RemoteCache>,
    /// The remote's configuration warnings.
    warnings: Vec<Diagnostic>,
    inputs: uptodate::Inputs,
    left: Vec<(String, FileStat)>,
    started: Instant,
    max_size: Option<u64>,
}

/// The part of a build on the workers: check what is to be built, answer
/// at once when nothing is to be done, or open the caches and build.
fn build_in_pool(project: &Project, op: &Operation, clean: bool, snap: &Snapshot, target: &manifest::Target) -> Ran {
    let started = Instant::now();
    let mut build = Build::new(project, op, clean, snap, target, started);
    if let Some(failed) = build.refused() {
        return Ran::Answered(Box::new(failed));
    }
    let state_dir = project.state_dir();
    let inputs = uptodate::inputs(&snap.manifest, target, &build.assets);
    if let Some(done) = build.already_built(&state_dir, &inputs) {
        return Ran::Answered(Box::new(build.up_to_date(done)));
    }
    build.sort_by_path();
    let (cache, remote, warnings) = open_caches(&state_dir, &snap.manifest);
    let outcome = build.run(&cache, remote.as_ref());
    Ran::Built(Box::new(Built {
        outcome,
        cache,
        remote,
        warnings,
        inputs,
        left: build.left.into_inner(),
        started,
        max_size: snap.manifest.cache.max_size,
    }))
}

/// The local processing cache, rid of what no index names, and the remote
/// one as configured, with its configuration warnings.
fn open_caches(
    state_dir: &std::path::Path,
    manifest: &manifest::Manifest,
) -> (LocalCache, Option<RemoteCache>, Vec<Diagnostic>) {
    let cache = LocalCache::open(state_dir);
    cache.remove_unreferenced();
    let (remote, warnings) = RemoteCache::open(manifest.cache.remote.as_ref());
    (cache, remote, warnings)
}

/// Waits for the remote's uploads and says what it did. A cancelled build
/// stops them first: a cancel is answered now, not after the uploads.
fn finish_uploads(remote: Option<RemoteCache>, outcome: &Outcome) -> Option<remote::Report> {
    let remote = remote?;
    if let Outcome::Cancelled(_) = outcome {
        remote.stop();
    }
    Some(remote.finish(remote::UPLOAD_DRAIN))
}

/// Writes the local cache's index, evicting what is over `max_size`. What
/// was processed is kept whatever the outcome: a build that failed on one
/// asset does not lose the work done on the others.
fn keep_processed(cache: LocalCache, max_size: Option<u64>) {
    match cache.finish(max_size) {
        Ok(Some(p)) => tracing::info!(
            evicted = p.evicted_entries,
            bytes = p.evicted_bytes,
            left = p.after_bytes,
            "the processing cache was over its max_size: least recently used entries evicted"
        ),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "cannot write the processing cache's index; the next build processes again")
        }
    }
}

/// Adds what the build did with the remote cache to its result: the
/// statistics, the warnings, and one `remoteCacheDisabled` event when it
/// was switched off. The duration then includes the wait for uploads.
fn amend(
    outcome: &mut Outcome,
    op: &Operation,
    started: Instant,
    mut warnings: Vec<Diagnostic>,
    report: Option<remote::Report>,
) {
    let result = outcome.result_mut();
    if let Some(report) = report {
        result.stats.remote = report.stats;
        warnings.extend(report.diagnostics);
        if let Some(body) = report.disabled {
            op.state_event(body);
        }
    }
    result.stats.duration_ms = started.elapsed().as_millis() as u64;
    result.diagnostics.extend(warnings);
}

/// What the project's processing caches hold: the local one, and the
/// remote one as configured (its mode as this process would use it).
pub fn cache_stats(project: &Project) -> CacheStatsResult {
    let snap = project.snapshot();
    let stats = LocalCache::open(&project.state_dir()).stats();
    let remote = snap.manifest.cache.remote.as_ref().map(|r| {
        let mode = remote::config::mode(Some(r), &remote::config::ProcessEnv, &mut Vec::new());
        RemoteCacheInfo { url: r.url.clone(), mode }
    });
    let local = LocalCacheStats {
        entries: stats.entries,
        bytes: stats.bytes,
        disk_bytes: stats.disk_bytes,
        segments: stats.segments,
        max_size: snap.manifest.cache.max_size,
        oldest_use_ms: stats.oldest_use,
        newest_use_ms: stats.newest_use,
    };
    CacheStatsResult { local, remote }
}

/// Evicts the least recently used entries of the local processing cache
/// until it takes at most `max_size` bytes (default: `[cache] max_size`).
/// Runs in the lane: never beside a build.
pub fn prune_cache(
    project: &Project,
    op: &Operation,
    max_size: Option<u64>,
) -> (crate::operations::OpState, PruneCacheResult) {
    use crate::operations::OpState;
    let failed = |max_size: Option<u64>, d: Diagnostic| {
        (OpState::Failed, pruned(op, BuildOutcome::Failed, max_size, None, vec![d]))
    };
    if let Err(refused) = project.state.recheck() {
        return failed(max_size, state_refused_diagnostic(project, refused));
    }
    let Some(max) = max_size.or(project.snapshot().manifest.cache.max_size) else {
        let d = Diagnostic::project(
            Severity::Error,
            "noMaxSize",
            "no size to prune to: pass `maxSize`, or set `max_size` under [cache] in packer.toml".into(),
            None,
        );
        return failed(None, d);
    };
    match LocalCache::open(&project.state_dir()).prune(max) {
        Ok(p) => {
            let sizes = |entries, bytes| EntriesAndBytes { entries, bytes };
            let counts = [
                sizes(p.before_entries, p.before_bytes),
                sizes(p.evicted_entries, p.evicted_bytes),
                sizes(p.after_entries, p.after_bytes),
            ];
            (OpState::Succeeded, pruned(op, BuildOutcome::Succeeded, Some(max), Some(counts), Vec::new()))
        }
        Err(e) => {
            let d =
                Diagnostic::project(Severity::Error, "cacheWrite", format!("pruning the processing cache: {e}"), None);
            failed(Some(max), d)
        }
    }
}

/// A prune's result; `counts` (before, evicted, after) when it ran.
fn pruned(
    op: &Operation,
    outcome: BuildOutcome,
    max_size: Option<u64>,
    counts: Option<[EntriesAndBytes; 3]>,
    diagnostics: Vec<Diagnostic>,
) -> PruneCacheResult {
    let [before, evicted, after] = counts.map_or([None, None, None], |c| c.map(Some));
    PruneCacheResult { operation_id: op.id.clone(), outcome, max_size, before, evicted, after, diagnostics }
}

/// What a build counted.
#[derive(Default)]
struct Counts {
    assets: usize,
    processed: u64,
    reused: u64,
    bytes_in: u64,
    bytes_out: u64,
}

/// A build result's `stats`.
fn stats(c: Counts, took: Duration, remote: RemoteStats) -> BuildStats {
    BuildStats {
        assets: c.assets,
        processed: c.processed,
        reused: c.reused,
        bytes_in: c.bytes_in,
        bytes_out: c.bytes_out,
        duration_ms: took.as_millis() as u64,
        remote,
    }
}

/// A build's result.
fn build_result(
    op: &Operation,
    outcome: BuildOutcome,
    packs: Vec<PackInfo>,
    stats: BuildStats,
    diagnostics: Vec<Diagnostic>,
) -> BuildResult {
    BuildResult {
        operation_id: op.id.clone(),
        outcome,
        packs,
        stats,
        diagnostics,
        targets: Vec::new(),
        unpacked: Vec::new(),
    }
}

/// The result of a build that did not run: nothing built, nothing written.
fn did_not_run(op: &Operation, outcome: BuildOutcome, diagnostics: Vec<Diagnostic>) -> BuildResult {
    let stats = stats(Counts::default(), Duration::ZERO, remote::unused_stats(manifest::RemoteMode::Off));
    build_result(op, outcome, Vec::new(), stats, diagnostics)
}

/// The result of a build cancelled before it ran (while queued, or by its
/// project closing): nothing built, nothing written.
pub fn cancelled_before_running(op: &Operation) -> BuildResult {
    did_not_run(op, BuildOutcome::Cancelled, Vec::new())
}

/// The result of a build that did not start because the state folder is
/// not the packer's (see `disk::state`).
fn state_refused(project: &Project, op: &Operation, refused: crate::project::disk::state::Refused) -> BuildResult {
    did_not_run(op, BuildOutcome::Failed, vec![state_refused_diagnostic(project, refused)])
}

/// `stateFolderRefused`, at the path relative to the project.
fn state_refused_diagnostic(project: &Project, refused: crate::project::disk::state::Refused) -> Diagnostic {
    let path = std::path::Path::new(&refused.path);
    let rel = path.strip_prefix(&project.root).map_or(refused.path.clone(), |p| p.display().to_string());
    Diagnostic::project(Severity::Error, "stateFolderRefused", refused.to_string(), Some(rel))
}

/// The result of a cache prune cancelled before it ran.
pub fn prune_cancelled_before_running(op: &Operation) -> PruneCacheResult {
    pruned(op, BuildOutcome::Cancelled, None, None, Vec::new())
}

/// One build of one snapshot.
struct Build<'a> {
    project: &'a Project,
    op: &'a Operation,
    clean: bool,
    snap: &'a Snapshot,
    /// Every registered asset; in path order once it is to be built.
    assets: Vec<Arc<Asset>>,
    /// Each pack the build compared or wrote, with what `stat` said of that
    /// very file: what `uptodate` records (never a later `stat`, which could
    /// bless a pack changed meanwhile).
    left: std::cell::RefCell<Vec<(String, FileStat)>>,
    started: Instant,
    /// The remote cache's mode, for the statistics of a build that does not use it.
    remote_mode: manifest::RemoteMode,
    target: &'a manifest::Target,
    /// Where the target's packs go, relative to the project root.
    output: String,
    /// What processing had to say (a texture downscaled, alpha dropped).
    warnings: std::cell::RefCell<Vec<Diagnostic>>,
}

/// Units of work by cache key: assets with the same key (the same bytes,
/// kind and settings) are one unit.
struct Units {
    list: Vec<Unit>,
    /// The unit of each asset, by the asset's index.
    of: Vec<usize>,
}

/// What processing counted, for the statistics.
#[derive(Clone, Copy)]
struct Tally {
    processed: u64,
    reused: u64,
}

/// Every unit processed (or taken from a cache): what packs are made of.
struct Processed<'u> {
    units: &'u Units,
    /// What the cache stores of each unit, by unit.
    metas: Vec<StoredMeta>,
}

impl Processed<'_> {
    /// The unit of asset `i`, and what the cache stores of it.
    fn of(&self, i: usize) -> (&Unit, &StoredMeta) {
        let u = self.units.of[i];
        (&self.units.list[u], &self.metas[u])
    }
}

/// Why a build ended before its packs were in place, with the diagnostics
/// it answers.
enum Stop {
    Cancelled(Vec<Diagnostic>),
    Failed(Vec<Diagnostic>),
}

/// An asset's key, settings and work, once planned for a target.
type Planned = (Key, Map<String, Value>, Arc<process::Links>, u64);

/// What each unit gave, by unit (`None`: not answered yet).
type Answers = Vec<Option<Result<StoredMeta, UnitError>>>;

/// A pack staged in a temporary file, with its path relative to the root.
type StagedPack<'a> = (Staged<'a>, String);

/// The packs of a build, written or left as they were.
struct Packed {
    /// Each pack as the result describes it.
    packs: Vec<PackInfo>,
    bytes_out: u64,
    /// How many assets no pack includes.
    unpacked: usize,
}

impl<'a> Build<'a> {
    fn new(
        project: &'a Project,
        op: &'a Operation,
        clean: bool,
        snap: &'a Snapshot,
        target: &'a manifest::Target,
        started: Instant,
    ) -> Build<'a> {
        // What is built: every registered asset (in id order until it is
        // known that there is something to build).
        let assets: Vec<Arc<Asset>> = snap.contents.assets.values().cloned().collect();
        let remote_mode =
            remote::config::mode(snap.manifest.cache.remote.as_ref(), &remote::config::ProcessEnv, &mut Vec::new());
        let output = snap.manifest.target_output(&target.name);
        Build {
            project,
            op,
            clean,
            snap,
            assets,
            started,
            left: Default::default(),
            remote_mode,
            target,
            output,
            warnings: Default::default(),
        }
    }

    fn result(
        &self,
        outcome: BuildOutcome,
        packs: Vec<PackInfo>,
        stats: BuildStats,
        diagnostics: Vec<Diagnostic>,
    ) -> BuildResult {
        build_result(self.op, outcome, packs, stats, diagnostics)
    }

    /// Source bytes of every asset built.
    fn bytes_in(&self) -> u64 {
        self.assets.iter().map(|a| a.entry.size).sum()
    }

    fn stats(&self, processed: u64, reused: u64, bytes_out: u64) -> BuildStats {
        let counts = Counts { assets: self.assets.len(), processed, reused, bytes_in: self.bytes_in(), bytes_out };
        stats(counts, self.started.elapsed(), remote::unused_stats(self.remote_mode))
    }
    /// A failed outcome naming every asset that differs from its registry
    /// entry (a build never packs what the registry does not say), and every
    /// broken reference at its line (a game would load a reference to nothing).
    fn refused(&self) -> Option<Outcome> {
        let mut diagnostics: Vec<Diagnostic> = Vec::new();
        for a in &self.assets {
            diagnostics.extend(self.snap.broken_references(a));
            match a.status {
                Status::Missing => {
                    diagnostics.push(diag(a, "diverged", format!("`{}` is missing: reconcile it first", a.path())))
                }
                Status::Modified => diagnostics.push(diag(
                    a,
                    "diverged",
                    format!("`{}` changed on disk since it was registered: reconcile it first", a.path()),
                )),
                Status::Ok | Status::Invalid => {}
            }
            // The registry may say so (edited by hand, or an older packer):
            // a build never replaces a registered asset's file with a pack.
            let output = &self.snap.manifest.output;
            if self.snap.manifest.in_output(a.path()) {
                let msg = format!(
                    "`{}` is a registered asset inside the build output (`{output}`): move it out first",
                    a.path()
                );
                diagnostics.push(diag(a, "inBuildOutput", msg));
            }
        }
        // Nor while the registry holds a conflict: either side may become the truth.
        let conflicts = self.snap.divergence.iter().filter(|i| i.kind == ItemKind::RegistryConflict);
        for item in conflicts {
            let msg = format!("`{}` is in an unresolved registry conflict: reconcile it first", item.path);
            let d = Diagnostic::project(Severity::Error, "diverged", msg, Some(item.path.clone()));
            diagnostics.push(d.with_asset(item.asset_id.as_deref()));
        }
        diagnostics.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
        (!diagnostics.is_empty())
            .then(|| Outcome::Failed(self.result(BuildOutcome::Failed, Vec::new(), self.stats(0, 0, 0), diagnostics)))
    }

    /// The outcome of a build with nothing to do: the packs as they are.
    fn up_to_date(&self, done: uptodate::UpToDate) -> Outcome {
        let stats = self.stats(0, done.units, done.bytes_out);
        Outcome::Succeeded(self.result(BuildOutcome::Succeeded, done.packs, stats, done.diagnostics))
    }

    /// What the last successful build recorded, when nothing it read has
    /// changed since: the packs as they are. Never for a clean build.
    fn already_built(&self, state_dir: &std::path::Path, inputs: &uptodate::Inputs) -> Option<uptodate::UpToDate> {
        if self.clean {
            return None;
        }
        uptodate::check(state_dir, &self.project.sandbox, &self.target.name, inputs)
    }

    /// Built in path order. (Walking the id map and sorting costs a third
    /// of looking up each path's id.)
    fn sort_by_path(&mut self) {
        self.assets.par_sort_unstable_by(|a, b| a.path().cmp(b.path()));
    }

    /// Processes the assets into the cache, then writes the packs and puts
    /// them in place.
    fn run(&self, cache: &LocalCache, remote: Option<&RemoteCache>) -> Outcome {
        let units = match self.plan_units(cache) {
            Ok(units) => units,
            Err(stop) => return self.stopped(stop, Tally { processed: 0, reused: 0 }),
        };
        let (tally, processed) = self.process_assets(&units, cache, remote);
        match processed.and_then(|processed| self.pack(&processed, cache)) {
            Ok(packed) => self.succeeded(packed, tally),
            Err(stop) => self.stopped(stop, tally),
        }
    }

    /// The assets as units of work by cache key, each key marked used in the
    /// cache (what eviction must not take).
    fn plan_units(&self, cache: &LocalCache) -> Result<Units, Stop> {
        let assets = &self.assets;
        let manifest = &self.snap.manifest;
        let level = manifest.zstd_level;
        let target = self.target;
        let texture_part = target_part(Kind::Image, target);
        // Only a build with sounds pays for the encoders' fingerprint.
        let sound_part = std::sync::OnceLock::new();
        let maps = self.snap.contents.maps();
        let planned: Vec<Result<Planned, Vec<Diagnostic>>> = assets
            .par_iter()
            .map(|a| {
                let settings = settings::for_target(manifest, a, target)?;
                // What `target_part` gives each kind, worked out once.
                let part = match a.entry.kind {
                    Kind::Image => texture_part.as_str(),
                    Kind::Audio => sound_part.get_or_init(|| target_part(Kind::Audio, target)).as_str(),
                    _ => "",
                };
                let work = work(a, &settings, target);
                let links = links_of(&maps, a);
                Ok((unit_key(a, &settings, part, level, &links), settings, links, work))
            })
            .collect();
        // An asset whose settings cannot be used stops the build before any work.
        let refused: Vec<Diagnostic> = planned.iter().filter_map(|p| p.as_ref().err()).flatten().cloned().collect();
        if !refused.is_empty() {
            return Err(Stop::Failed(refused));
        }
        let mut list: Vec<Unit> = Vec::new();
        let mut unit_by_key: HashMap<Key, usize> = HashMap::with_capacity(assets.len());
        let mut of: Vec<usize> = Vec::with_capacity(assets.len());
        let planned: Vec<Planned> = planned.into_iter().map(|p| p.expect("checked")).collect();
        cache.mark_used(planned.iter().map(|(key, ..)| *key));
        for (a, (key, settings, links, work)) in assets.iter().zip(planned) {
            let u = *unit_by_key.entry(key).or_insert_with(|| {
                list.push(Unit { key, asset: a.clone(), settings, links, bytes: 0, work });
                list.len() - 1
            });
            list[u].bytes += a.entry.size;
            of.push(u);
        }
        Ok(Units { list, of })
    }

    /// Every unit from the local cache, else from the remote, else
    /// processed: complete unless a unit failed or the build was cancelled.
    fn process_assets<'u>(
        &self,
        units: &'u Units,
        cache: &LocalCache,
        remote: Option<&RemoteCache>,
    ) -> (Tally, Result<Processed<'u>, Stop>) {
        let processing = Processing {
            op: self.op,
            sandbox: &self.project.sandbox,
            units: &units.list,
            cache,
            remote,
            clean: self.clean,
            level: self.snap.manifest.zstd_level,
            progress: Progress::new(self.op, &self.target.name, &units.list, self.bytes_in()),
            stop: AtomicBool::new(false),
            processed: AtomicU64::new(0),
            target: self.target,
            warnings: Mutex::new(Vec::new()),
            memory: memory::Budget::new(memory::DEFAULT_BUDGET),
        };
        processing.progress.report(true);
        let outcomes = processing.every_unit();
        let processed = processing.processed.load(Ordering::Relaxed);
        let mut warnings = std::mem::take(&mut *processing.warnings.lock().expect("warnings lock"));
        warnings.sort_by(|a, b| a.path.cmp(&b.path));
        self.warnings.borrow_mut().extend(warnings);
        let (tally, metas) = self.judge(outcomes, processed);
        if metas.is_ok() {
            processing.progress.report(true);
        }
        (tally, metas.map(|metas| Processed { units, metas }))
    }

    /// What each unit gave, by unit: the stored forms when all were
    /// processed; otherwise the build is cancelled, or fails with every
    /// unit's diagnostic.
    fn judge(&self, outcomes: Answers, processed: u64) -> (Tally, Result<Vec<StoredMeta>, Stop>) {
        let mut metas: Vec<StoredMeta> = Vec::with_capacity(outcomes.len());
        let mut diagnostics: Vec<Diagnostic> = Vec::new();
        let mut cancelled = false;
        for outcome in outcomes {
            match outcome.expect("every unit is answered") {
                Ok(meta) => metas.push(meta),
                Err(UnitError::Cancelled) => cancelled = true,
                Err(UnitError::Diagnostic(d)) => diagnostics.push(*d),
            }
        }
        let tally = Tally { processed, reused: (metas.len() as u64).saturating_sub(processed) };
        if cancelled || self.op.is_cancel_requested() {
            return (tally, Err(Stop::Cancelled(diagnostics)));
        }
        if !diagnostics.is_empty() {
            diagnostics.sort_by(|a, b| a.path.cmp(&b.path));
            return (tally, Err(Stop::Failed(diagnostics)));
        }
        (tally, Ok(metas))
    }

    /// The packs: written where they would change, then put in place
    /// together.
    fn pack(&self, processed: &Processed<'_>, cache: &LocalCache) -> Result<Packed, Stop> {
        self.make_output_folder()?;
        let (packed, staged) = self.write_packs(processed, cache)?;
        self.put_packs_in_place(staged)?;
        Ok(packed)
    }

    /// The output folder, created through the sandbox: an output folder
    /// that is (or goes through) a symlink is refused, so packs are never
    /// written elsewhere.
    fn make_output_folder(&self) -> Result<(), Stop> {
        let output = paths::absolute(&self.project.root, &self.output);
        if let Err(e) = self.project.sandbox.create_dir_all(&self.output) {
            let d = Diagnostic::project(Severity::Error, "outputUnwritable", format!("{}: {e}", self.output), None);
            return Err(Stop::Failed(vec![d]));
        }
        // Temporary packs a killed build left behind.
        let _ = crate::fsutil::remove_stale_temps(&output);
        Ok(())
    }

    /// Every pack laid out, and written to a temporary file where it would
    /// change: all are renamed into place only once all are whole, so a
    /// game never finds a new pack beside an old one from the same build.
    fn write_packs(
        &self,
        processed: &Processed<'_>,
        cache: &LocalCache,
    ) -> Result<(Packed, Vec<StagedPack<'a>>), Stop> {
        let manifest = &self.snap.manifest;
        let mut packed = Packed { packs: Vec::new(), bytes_out: 0, unpacked: 0 };
        let mut staged: Vec<StagedPack<'a>> = Vec::new();
        let mut in_a_pack = vec![false; self.assets.len()];
        let membership = membership::Membership::new(manifest, self.snap);
        for (index, def) in manifest.packs.iter().enumerate() {
            let (members, laid) = self.lay_out(&membership, index, processed, &mut in_a_pack);
            let rel = format!("{}/{}.pack", self.output, def.name);
            let unchanged = self.unchanged_pack(&rel, &laid);
            let (checksum, len) = match unchanged {
                Some(found) => found,
                // Returning drops the packs staged so far: the previous packs all stay.
                None => {
                    let (tmp, checksum, len) = self.stage_pack(&rel, &laid, &members, processed, cache)?;
                    staged.push((tmp, rel.clone()));
                    (checksum, len)
                }
            };
            packed.bytes_out += len;
            packed.packs.push(PackInfo {
                target: self.target.name.clone(),
                name: def.name.clone(),
                path: rel,
                assets: laid.entries.len(),
                bytes: len,
                hash: crate::hash::hex(&checksum),
                written: unchanged.is_none(),
            });
        }
        packed.unpacked = in_a_pack.iter().filter(|x| !**x).count();
        Ok((packed, staged))
    }

    /// The assets `def` includes (by index), and its entries laid out.
    fn lay_out(
        &self,
        membership: &membership::Membership,
        index: usize,
        processed: &Processed<'_>,
        in_a_pack: &mut [bool],
    ) -> (Vec<usize>, pack::Layout) {
        let assets = &self.assets;
        let manifest = &self.snap.manifest;
        let members: Vec<usize> =
            (0..assets.len()).filter(|i| membership.holds(manifest, index, &assets[*i])).collect();
        let mut entries = Vec::with_capacity(members.len());
        for &i in &members {
            in_a_pack[i] = true;
            entries.push(pack_entry(&assets[i], processed.of(i).1));
        }
        (members, pack::layout(entries))
    }

    /// The checksum and length of the pack at `rel` when it would not
    /// change: its table of contents is the one laid out. A clean build
    /// writes every pack anew (which also repairs a pack whose data was
    /// damaged behind an intact table of contents).
    fn unchanged_pack(&self, rel: &str, laid: &pack::Layout) -> Option<([u8; 32], u64)> {
        let path = paths::absolute(&self.project.root, rel);
        // The pack as found, with what `stat` said of the very file read.
        let existing = self.project.sandbox.open_file(rel).ok().and_then(|mut f| {
            let stat = FileStat::of(&f.metadata().ok()?);
            pack::Frame::read(&mut f, &path).ok().map(|frame| (frame, stat))
        });
        let same = |(r, _): &(pack::Frame, FileStat)| r.toc == laid.toc && r.toc_offset == laid.toc_offset;
        let (found, stat) = existing.filter(|found| !self.clean && same(found))?;
        self.left.borrow_mut().push((rel.to_string(), stat));
        Some((found.checksum, found.len))
    }

    /// Writes the pack at `rel` to a temporary file, from the cache.
    fn stage_pack(
        &self,
        rel: &str,
        laid: &pack::Layout,
        members: &[usize],
        processed: &Processed<'_>,
        cache: &LocalCache,
    ) -> Result<(Staged<'a>, [u8; 32], u64), Stop> {
        let sandbox = &self.project.sandbox;
        let keys = members.iter().map(|&i| {
            let (unit, meta) = processed.of(i);
            (Unit { asset: self.assets[i].clone(), ..unit.clone() }, meta.clone())
        });
        let cancelled = || self.op.is_cancel_requested();
        let on = process::For { target: self.target, cancelled: &cancelled };
        let source = FromCache { cache, sandbox, level: self.snap.manifest.zstd_level, on, members: keys.collect() };
        match write_pack(sandbox, &self.output, laid, &source, self.op) {
            Ok((tmp, checksum, len, stat)) => {
                self.left.borrow_mut().push((rel.to_string(), stat));
                crate::fault::point("a pack staged");
                Ok((tmp, checksum, len))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Err(Stop::Cancelled(Vec::new())),
            Err(e) => {
                let d = Diagnostic::project(
                    Severity::Error,
                    "packWrite",
                    format!("writing {rel}: {e}"),
                    Some(rel.to_string()),
                );
                Err(Stop::Failed(vec![d]))
            }
        }
    }

    /// The staged packs renamed into place as one commit, unless the build
    /// was cancelled meanwhile (dropping them then leaves every previous
    /// pack as it was).
    fn put_packs_in_place(&self, staged: Vec<StagedPack<'a>>) -> Result<(), Stop> {
        if self.op.is_cancel_requested() {
            return Err(Stop::Cancelled(Vec::new()));
        }
        put_in_place(self.project, self.op, &self.output, staged).map_err(|d| Stop::Failed(vec![*d]))
    }

    /// The outcome of a build whose packs are in place.
    fn succeeded(&self, packed: Packed, tally: Tally) -> Outcome {
        let mut diagnostics: Vec<Diagnostic> = self.warnings.take();
        let unpacked = packed.unpacked;
        if unpacked > 0 {
            let msg = format!(
                "{unpacked} asset(s) are in no pack: no `include` of [[build.packs]] matches them and no pack's `roots` reaches them (the build result's `unpacked` lists them)"
            );
            diagnostics.push(Diagnostic::project(Severity::Warning, "unpacked", msg, None));
        }
        let stats = self.stats(tally.processed, tally.reused, packed.bytes_out);
        Outcome::Succeeded(self.result(BuildOutcome::Succeeded, packed.packs, stats, diagnostics))
    }

    /// The outcome of a build that ended before its packs were in place.
    fn stopped(&self, stop: Stop, tally: Tally) -> Outcome {
        let stats = self.stats(tally.processed, tally.reused, 0);
        match stop {
            Stop::Cancelled(diagnostics) => {
                Outcome::Cancelled(self.result(BuildOutcome::Cancelled, Vec::new(), stats, diagnostics))
            }
            Stop::Failed(diagnostics) => {
                Outcome::Failed(self.result(BuildOutcome::Failed, Vec::new(), stats, diagnostics))
            }
        }
    }
}

/// How much work processing `a` for `target` is, for progress and for the
/// order units start in (heaviest first): a texture's pixels times its
/// encoder's cost, a sound's decoded samples (an MP3 is ten times its
/// size), any other asset's size.
fn work(a: &Asset, settings: &Map<String, Value>, target: &manifest::Target) -> u64 {
    if let Some(samples) = decoded_samples(a) {
        return samples.saturating_mul(2).max(1);
    }
    let (Kind::Image, Some(w), Some(h)) = (a.entry.kind, a.metadata.width, a.metadata.height) else {
        return a.entry.size.max(1);
    };
    let Ok(t) = texture::from_settings(settings) else { return a.entry.size.max(1) };
    texture::work(w, h, &t, target.profile, &target.name)
}

/// The memory processing `a` holds at its peak: a texture's pixels (from
/// the size its header gave when the file was looked at) times what a cook
/// holds per pixel; a sound's decoded samples times what its cook holds per
/// sample; any other asset's bytes, twice.
fn memory_of(a: &Asset) -> u64 {
    if let Some(samples) = decoded_samples(a) {
        // The decoded sound as f32, a resampled or gained copy, the output.
        return samples.saturating_mul(4 * 3);
    }
    match (a.entry.kind, a.metadata.width, a.metadata.height) {
        (Kind::Image, Some(w), Some(h)) => u64::from(w) * u64::from(h) * memory::BYTES_PER_PIXEL,
        _ => a.entry.size.saturating_mul(2),
    }
}

/// A sound's samples once decoded (all channels), from its metadata.
fn decoded_samples(a: &Asset) -> Option<u64> {
    let m = &a.metadata;
    match (a.entry.kind, m.duration_ms, m.sample_rate, m.channels) {
        (Kind::Audio, Some(ms), Some(rate), Some(ch)) => {
            Some(ms.saturating_mul(u64::from(rate)) / 1000 * u64::from(ch))
        }
        _ => None,
    }
}

/// An asset's entry in a pack, as the cache stores its processed form (its
/// offset is the layout's to set).
fn pack_entry(a: &Asset, meta: &StoredMeta) -> PackEntry {
    PackEntry {
        asset_id: a.id().to_string(),
        path: a.path().to_string(),
        kind: a.entry.kind,
        format: meta.format(),
        compression: meta.compression(),
        level: meta.level,
        image: meta.image,
        offset: 0,
        length: meta.length,
        raw_length: meta.raw_length,
        hash: meta.hash,
    }
}

/// How far the processing is, reported at a rate a UI can draw.
struct Progress<'a> {
    op: &'a Operation,
    /// What a report says is being done (naming the target).
    message: String,
    /// Units to process.
    total: u64,
    /// Source bytes of every asset built.
    bytes_total: u64,
    /// The work of every unit (see [`work`]).
    work_total: u64,
    done: AtomicU64,
    bytes_done: AtomicU64,
    work_done: AtomicU64,
    last_report: Mutex<Instant>,
}

impl<'a> Progress<'a> {
    fn new(op: &'a Operation, target: &str, units: &[Unit], bytes_total: u64) -> Progress<'a> {
        let last_report = Mutex::new(Instant::now() - PROGRESS_EVERY);
        let message = format!("processing assets for {target}");
        Progress {
            op,
            message,
            total: units.len() as u64,
            bytes_total,
            work_total: units.iter().map(|u| u.work).sum(),
            done: AtomicU64::new(0),
            bytes_done: AtomicU64::new(0),
            work_done: AtomicU64::new(0),
            last_report,
        }
    }

    /// Reports progress, when `force`d or when the last report is old enough.
    fn report(&self, force: bool) {
        let mut last = self.last_report.lock().expect("progress lock");
        if force || last.elapsed() >= PROGRESS_EVERY {
            *last = Instant::now();
            let bytes = (self.bytes_done.load(Ordering::Relaxed), self.bytes_total);
            let work = (self.work_done.load(Ordering::Relaxed), self.work_total);
            let done = self.done.load(Ordering::Relaxed);
            self.op.progress_with(done, self.total, &self.message, Some(bytes), Some(work));
        }
    }

    /// Counts a unit done, from a cache or processed.
    fn unit_done(&self, unit: &Unit) {
        self.done.fetch_add(1, Ordering::Relaxed);
        self.bytes_done.fetch_add(unit.bytes, Ordering::Relaxed);
        self.work_done.fetch_add(unit.work, Ordering::Relaxed);
        self.report(false);
    }
}

/// What the build's workers share while they process the units.
struct Processing<'a> {
    op: &'a Operation,
    sandbox: &'a Sandbox,
    units: &'a [Unit],
    cache: &'a LocalCache,
    remote: Option<&'a RemoteCache>,
    clean: bool,
    level: i32,
    progress: Progress<'a>,
    /// Set once a unit has seen the cancel: the others stop at once.
    stop: AtomicBool,
    /// Units processed here (the others came from a cache).
    processed: AtomicU64,
    target: &'a manifest::Target,
    /// What processing had to say of the units processed here.
    warnings: Mutex<Vec<Diagnostic>>,
    /// Memory the units being processed may hold at once.
    memory: memory::Budget,
}

impl Processing<'_> {
    /// What each unit gave, by unit.
    fn every_unit(&self) -> Answers {
        let mut outcomes = self.look_up_local_cache();
        let mut missing: Vec<usize> = (0..self.units.len()).filter(|&i| outcomes[i].is_none()).collect();
        // The heaviest first (a large texture's decode and mips run on one
        // thread): one started last would leave the other cores idle at the
        // end. Answers are by unit, so the order decides no byte.
        missing.sort_by_key(|&i| std::cmp::Reverse(self.units[i].work));
        for (i, answer) in self.fetch_or_process(&missing) {
            outcomes[i] = Some(answer);
        }
        // Were the remote's lookups to end early, what they did not answer
        // is processed here.
        let unanswered: Vec<usize> = missing.into_iter().filter(|&i| outcomes[i].is_none()).collect();
        for (i, answer) in self.process_each(&unanswered) {
            outcomes[i] = Some(answer);
        }
        outcomes
    }

    // These run on the build's workers already (see `build_target`).

    /// The units the local cache holds (none for a clean build), by unit.
    fn look_up_local_cache(&self) -> Answers {
        self.units
            .par_iter()
            .map(|unit| {
                let cached = if self.clean { None } else { self.cache.get(&unit.key) };
                cached.map(|meta| self.finished(unit, meta))
            })
            .collect()
    }

    /// The units at `missing`: looked up in the remote cache, when there is
    /// one, as many at once as it takes; processed otherwise.
    fn fetch_or_process(&self, missing: &[usize]) -> Vec<(usize, Result<StoredMeta, UnitError>)> {
        match self.remote {
            Some(r) if !self.clean && !missing.is_empty() => {
                let lookups = r.lookups(missing.iter().map(|&i| (i, self.units[i].key)).collect());
                lookups.par_bridge().map(|(i, fetched)| (i, self.work(i, Some(fetched)))).collect()
            }
            _ => self.process_each(missing),
        }
    }

    /// The units at `indices`, processed. Each unit is a job of its own
    /// (`with_max_len(1)`): rayon otherwise hands each thread a run of units
    /// to fold in sequence, and a thread done with its run finds nothing to
    /// take while the other works through its own. With the heaviest units
    /// first, the runs at the end are all small textures, whose strips are
    /// too few to share: one core sat idle a third of the time there
    /// (measured on 600 textures, the cook then 1.2 x the encoder's own).
    fn process_each(&self, indices: &[usize]) -> Vec<(usize, Result<StoredMeta, UnitError>)> {
        indices.par_iter().with_max_len(1).map(|&i| (i, self.work(i, None))).collect()
    }

    /// A unit the local cache lacks: from the remote when it has it
    /// (checked), processed otherwise.
    fn work(&self, i: usize, fetched: Option<Fetched>) -> Result<StoredMeta, UnitError> {
        if self.cancelled() {
            return Err(UnitError::Cancelled);
        }
        let unit = &self.units[i];
        if let Some(meta) = self.accept_from_remote(unit, fetched) {
            return self.finished(unit, meta);
        }
        // Within the build's bound on pixels in memory (see `memory`).
        let _share = self.memory.take(memory_of(&unit.asset));
        if self.cancelled() {
            return Err(UnitError::Cancelled);
        }
        // A long unit (a large texture) looks between its strips.
        let cancelled = || self.stop.load(Ordering::Relaxed) || self.op.is_cancel_requested();
        let on = process::For { target: self.target, cancelled: &cancelled };
        let (meta, warnings) = match process_unit(self.sandbox, self.cache, self.remote, unit, self.level, &on) {
            Err(UnitError::Cancelled) => {
                self.stop.store(true, Ordering::Relaxed);
                return Err(UnitError::Cancelled);
            }
            other => other?,
        };
        if !warnings.is_empty() {
            let a = &unit.asset;
            let code = if a.entry.kind == Kind::Audio { "soundCooked" } else { "textureCooked" };
            let mut list = self.warnings.lock().expect("warnings lock");
            for w in warnings {
                let message = format!("`{}`: {w}", a.path());
                let d = Diagnostic::project(Severity::Warning, code, message, Some(a.path().to_string()));
                list.push(d.with_asset(Some(a.id())));
            }
        }
        self.processed.fetch_add(1, Ordering::Relaxed);
        self.finished(unit, meta)
    }

    /// Whether the build was cancelled; the first unit to see it stops the
    /// others, and the remote's transfers.
    fn cancelled(&self) -> bool {
        if !(self.stop.load(Ordering::Relaxed) || self.op.is_cancel_requested()) {
            return false;
        }
        self.stop.store(true, Ordering::Relaxed);
        if let Some(r) = self.remote {
            r.stop();
        }
        true
    }

    /// What the remote found of `unit`, once checked and kept in the local
    /// cache; `None` when it must be processed.
    fn accept_from_remote(&self, unit: &Unit, fetched: Option<Fetched>) -> Option<StoredMeta> {
        let (r, fetched) = (self.remote?, fetched?);
        match fetched {
            Fetched::Found { meta, blob, held: _held } => {
                if r.accept(&unit.key, unit.asset.path(), &meta, &blob)
                    && self.cache.put(&unit.key, &meta, &blob).is_ok()
                {
                    r.hit();
                    return Some(meta);
                }
            }
            Fetched::Corrupt(why) => r.corrupt(&unit.key, unit.asset.path(), why),
            Fetched::Miss => {}
        }
        None
    }

    /// A unit done: counted, and its stored form passed on.
    fn finished(&self, unit: &Unit, meta: StoredMeta) -> Result<StoredMeta, UnitError> {
        self.progress.unit_done(unit);
        Ok(meta)
    }
}

/// A pack written to a temporary file beside its target; removed when
/// dropped unless kept (a cancelled or failed build leaves nothing behind).
struct Staged<'a> {
    sandbox: &'a Sandbox,
    /// Relative to the project root.
    rel: String,
    kept: bool,
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if !self.kept {
            let _ = self.sandbox.remove_file(&self.rel);
        }
    }
}

fn file_name(rel: &str) -> String {
    rel.rsplit('/').next().unwrap_or(rel).to_string()
}

/// Renames the staged packs into place as one commit (see [`commit`]). On an
/// error before the commit point, every previous pack stays as it was.
fn put_in_place(
    project: &Project,
    op: &Operation,
    output_rel: &str,
    staged: Vec<(Staged<'_>, String)>,
) -> Result<(), Box<Diagnostic>> {
    if staged.is_empty() {
        return Ok(());
    }
    let fail = |what: String| Box::new(Diagnostic::project(Severity::Error, "packWrite", what, None));
    let renames: Vec<(String, String)> =
        staged.iter().map(|(tmp, rel)| (file_name(&tmp.rel), file_name(rel))).collect();
    let record = commit::Commit { operation_id: op.id.clone(), output: output_rel.to_string(), renames };
    // Dropping `staged` on an error removes the temporary files: the
    // previous packs all stay.
    if let Err(e) = commit::write(&project.state_dir(), &record) {
        return Err(fail(format!("recording the packs to put in place: {e}")));
    }
    crate::fault::point("build committed: renames recorded");
    // After the commit point the temporary files must outlive this process:
    // a crash from here is finished from them on the next open.
    let mut staged = staged;
    for (tmp, _) in &mut staged {
        tmp.kept = true;
    }
    for (tmp, rel) in &staged {
        if let Err(e) = project.sandbox.rename(&tmp.rel, rel, true).map_err(std::io::Error::from) {
            // A rename should not fail here; if one does, the next open
            // retries it from the record, which stays.
            return Err(fail(format!(
                "renaming into {rel}: {e}; the remaining packs are put in place when the project is next opened"
            )));
        }
        crate::fault::point("a pack renamed into place");
    }
    // The record stays until the build's terminal event is journaled (the
    // lane clears it then): a crash in between must not look like a build
    // that never took effect.
    Ok(())
}

/// Writes a pack to a synced temporary file in the output folder (renamed
/// into place by the caller).
fn write_pack<'a>(
    sandbox: &'a Sandbox,
    output_rel: &str,
    laid: &pack::Layout,
    source: &FromCache<'_>,
    op: &Operation,
) -> std::io::Result<(Staged<'a>, [u8; 32], u64, FileStat)> {
    let (file, staged) = loop {
        let rel = format!("{output_rel}/{}{}", crate::fsutil::TEMP_PREFIX, crate::ids::new_operation_id());
        match sandbox.create_new(&rel) {
            Ok(f) => break (f, Staged { sandbox, rel, kept: false }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    };
    let (checksum, len) = pack::write_file(&file, laid, source, &|| op.is_cancel_requested())?;
    if op.is_cancel_requested() {
        // Dropping `staged` removes the temporary file; the previous pack stays.
        return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "cancelled"));
    }
    file.sync_all()?;
    // What `stat` will say of the pack once renamed into place (a rename
    // keeps the inode, size and modification time).
    let stat = FileStat::of(&file.metadata()?);
    Ok((staged, checksum, len, stat))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_reused_compression_context_gives_the_bytes_a_fresh_one_gives() {
        let texts: Vec<Vec<u8>> = (0..4)
            .map(|i| format!("{{\"n\": {i}, \"text\": \"{}\"}}", "abc".repeat(100 * (i + 1))).into_bytes())
            .collect();
        for level in [3, 9, 3] {
            for t in &texts {
                assert_eq!(super::zstd_compress(t, level).unwrap(), zstd::bulk::compress(t, level).unwrap());
            }
        }
    }
}
