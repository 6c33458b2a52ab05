//! One open project: its snapshot, its writer lane, its events.
//!
//! Invariants kept here:
//! - only the lane thread publishes snapshots, so writes never race;
//! - a snapshot is published whole, by one pointer swap, after the registry
//!   file is committed: a read sees all of a mutation or none of it;
//! - commit-bearing work runs in arrival order, one job at a time.

// The layers, bottom up; a file imports only from layers below its own
// (`tests/layers.rs` checks it; ARCHITECTURE.md draws it).
pub mod disk;
pub mod format;
pub mod model;
pub mod snapshot;
pub mod write;
// The open project itself: `Project` (this file) and its parts.
pub mod baseline;
pub mod external;
pub mod lane;
pub mod measure;
pub mod observe;
pub mod watcher;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::protocol::events::{EventBody, FailedOutcome, FailureReason, OperationFailure, SucceededOutcome};
use crate::protocol::model::{BuildResult, DivergenceCount, LaneCounts, LastBuild, Summary, Watch, WatchState};
use arc_swap::ArcSwap;
use imbl::OrdMap;

use crate::events::EventBus;
use crate::operations::{NewOperation, OpTable, Operation};
use disk::state::STATE_DIR;
use disk::{sandbox, statcache, state, workspace};
use format::{manifest, registry};
use manifest::{Manifest, ManifestError};
use model::{paths, Asset, Kind};
use registry::RegistryError;
use sandbox::FileStat;
use snapshot::divergence::{External, Untracked};
use snapshot::graph::{Graph, Maps};
use snapshot::{Contents, Snapshot};
use statcache::{ObserveStats, Seen, StatCache};
use write::intent;

/// Set by one-shot commands (`status`, `build`, `call`): projects this
/// process opens are watched only once another process attaches to it.
static WATCH_ON_DEMAND: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Makes this process a one-shot command's: it owns a project for moments,
/// so placing a watch on every folder (and the look at the whole workspace
/// that follows) would cost more than the command itself, and there is
/// nobody to tell about a change. Opening still looks at the whole disk.
/// Should another process attach meanwhile, watching starts then
/// ([`Project::ensure_watching`]); and when this process exits, the one
/// that takes over opens the project from the disk again.
pub fn watch_on_demand() {
    WATCH_ON_DEMAND.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// How long a degraded watcher waits before trying to watch again.
const WATCH_RETRY: std::time::Duration = std::time::Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}: no such folder")]
    NoFolder(String),
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    /// `.packer/` (or something in it) is not what the packer makes.
    #[error(transparent)]
    StateFolder(#[from] state::Refused),
}

impl OpenError {
    /// A short machine-readable reason for clients.
    pub fn reason(&self) -> &'static str {
        match self {
            OpenError::NoFolder(_) => "noFolder",
            OpenError::Manifest(ManifestError::Missing { .. }) => "noManifest",
            OpenError::Manifest(_) => "manifestInvalid",
            OpenError::Registry(_) => "registryInvalid",
            OpenError::Io { .. } => "io",
            OpenError::StateFolder(_) => "stateFolderRefused",
        }
    }
}

pub struct Project {
    pub id: String,
    /// The canonical root.
    pub root: PathBuf,
    /// The root as an open handle: every change to an asset's file, and every
    /// read of one, resolves its path beneath it.
    pub sandbox: sandbox::Sandbox,
    /// `.packer/`, checked and held open (see `disk::state`).
    pub state: state::StateDir,
    snapshot: ArcSwap<Snapshot>,
    pub bus: Arc<EventBus>,
    pub ops: Arc<OpTable>,
    pub(crate) lane: lane::Lane,
    submit_lock: Mutex<()>,
    /// Held for writing by an apply from its first file step until its new
    /// snapshot is published, and for reading by a preview while it looks
    /// at the disk: a preview never sees an apply between its steps.
    pub disk_gate: std::sync::RwLock<()>,
    /// What the packer knows of the disk; used by the lane (and by open).
    disk: Mutex<DiskKnowledge>,
    /// How opening went: files read and files taken from the stat cache.
    pub open_stats: ObserveStats,
    watcher: Mutex<Option<Arc<watcher::Watcher>>>,
    /// Why watching is degraded, when it is.
    watch_problem: Mutex<Option<String>>,
    /// Watching was asked for (at open, or when a process attached).
    watch_requested: std::sync::atomic::AtomicBool,
    /// The first watches are in place (or failed to be): see `ensure_watching`.
    watch_started: std::sync::atomic::AtomicBool,
    /// The outcome of the last build, for the summary.
    last_build: Mutex<std::collections::BTreeMap<String, LastBuild>>,
    retry_scheduled: std::sync::atomic::AtomicBool,
    /// Source-control operations in progress (see `external.rs`).
    pub external: external::ExternalChanges,
    /// The processing cache as reads last saw it (see `build::cooked`).
    pub cooked: crate::build::cooked::CacheView,
    /// Measures sounds' loudness off the open (see `measure.rs`).
    measurer: measure::Measurer,
}

/// What the packer last saw of files on disk.
pub struct DiskKnowledge {
    pub cache: StatCache,
    /// Hash of the registry file as the packer last wrote or read it.
    pub registry_hash: String,
    /// Hash of `packer.toml` as the packer last read it.
    pub manifest_hash: String,
}

/// What opening a project did about operations a dead process left unfinished.
#[derive(Clone, Copy)]
struct Settled<'a> {
    apply: Option<&'a intent::Settled>,
    build: Option<&'a crate::build::commit::Finished>,
}

/// Ends, with one terminal event each, the operations the journal shows
/// unfinished (their process died), and says so in project diagnostics.
/// An apply whose intent was settled ends as its registry says, and a build
/// whose packs were put in place succeeded; any other never reached its
/// commit point, so it failed.
fn recover_operations(
    project_id: &str,
    bus: &Arc<EventBus>,
    ops: &Arc<OpTable>,
    settled: Settled<'_>,
    diagnostics: &mut Vec<model::Diagnostic>,
) {
    use crate::operations::OpState;
    use model::{Diagnostic, Severity};
    for u in bus.take_unfinished() {
        let kind: &'static str = match u.kind.as_str() {
            "applyMutation" => "applyMutation",
            "build" => "build",
            "pruneCache" => "pruneCache",
            _ => "unknown",
        };
        let new = NewOperation {
            id: Some(u.operation_id.clone()),
            project_id: project_id.to_string(),
            kind,
            title: format!("{kind} (interrupted)"),
            bus: bus.clone(),
            table: ops.clone(),
            reply: None,
            progress_token: None,
            cancelled_result: None,
        };
        let build = settled.build.filter(|b| b.operation_id == u.operation_id);
        if let Some(b) = build {
            let message = format!(
                "build {} was interrupted after its commit point: its packs were put in place ({} now)",
                u.operation_id, b.renamed
            );
            tracing::warn!(operation = %u.operation_id, "{message}");
            diagnostics.push(Diagnostic::project(Severity::Warning, "recovered", message, None));
            for p in &b.problems {
                let m = format!("build {}: a pack could not be put in place: {p}", u.operation_id);
                diagnostics.push(Diagnostic::project(Severity::Error, "recoveryFailed", m, None));
            }
            let body =
                EventBody::Succeeded { outcome: SucceededOutcome::Succeeded, result: None, recovered: Some(true) };
            Operation::recover(new, u.last_sequence, OpState::Succeeded, body);
            continue;
        }
        if kind == "pruneCache" {
            // Its only write is the cache's index, replaced atomically.
            let message =
                format!("cache prune {} was interrupted; the processing cache is whole, pruned or not", u.operation_id);
            tracing::warn!(operation = %u.operation_id, "{message}");
            Operation::recover(new, u.last_sequence, OpState::Failed, interrupted(&u.operation_id, message));
            continue;
        }
        let mine = settled.apply.filter(|s| s.operation_id == u.operation_id);
        let (state, body, message) = match mine {
            Some(s) if s.committed => (
                OpState::Succeeded,
                EventBody::Succeeded { outcome: SucceededOutcome::Applied, result: None, recovered: Some(true) },
                format!("operation {} was interrupted after its commit point: it took effect", u.operation_id),
            ),
            _ => {
                let undone = mine.map_or(0, |s| s.steps);
                let message = format!(
                    "operation {} was interrupted before its commit point: it did not take effect ({undone} file step(s) undone)",
                    u.operation_id
                );
                (OpState::Failed, interrupted(&u.operation_id, message.clone()), message)
            }
        };
        tracing::warn!(operation = %u.operation_id, "{message}");
        diagnostics.push(Diagnostic::project(Severity::Warning, "recovered", message, None));
        if let Some(s) = mine {
            for p in &s.problems {
                let m = format!("operation {}: a step could not be undone: {p}", u.operation_id);
                diagnostics.push(Diagnostic::project(Severity::Error, "recoveryFailed", m, None));
            }
        }
        Operation::recover(new, u.last_sequence, state, body);
    }
}

/// The terminal event of an operation its process did not live to end.
fn interrupted(operation_id: &str, message: String) -> EventBody {
    let error =
        OperationFailure { reason: FailureReason::Interrupted, operation_id: operation_id.to_string(), message };
    EventBody::Failed { outcome: FailedOutcome::Failed, result: None, error: Some(error), recovered: Some(true) }
}

/// Creates the files of a new project in `root` (which may not exist yet).
/// Refuses to touch a folder that already has a manifest.
pub fn create(root: &Path, name: Option<&str>) -> Result<(), OpenError> {
    let io = |path: &Path, source| OpenError::Io { path: path.display().to_string(), source };
    std::fs::create_dir_all(root).map_err(|e| io(root, e))?;
    let manifest_path = root.join(manifest::MANIFEST_FILE);
    if manifest_path.exists() {
        return Err(io(
            &manifest_path,
            std::io::Error::new(std::io::ErrorKind::AlreadyExists, "a project already exists here"),
        ));
    }
    let default_name = root.canonicalize().ok().and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    let name = name.map(str::to_string).or(default_name).unwrap_or_else(|| "game".into());
    std::fs::create_dir_all(root.join("assets")).map_err(|e| io(root, e))?;
    let registry_path = root.join(registry::REGISTRY_FILE);
    if !registry_path.exists() {
        registry::store(root, &[]).map_err(|e| io(&registry_path, e))?;
    }
    let gitignore = root.join(".gitignore");
    let existing = std::fs::read_to_string(&gitignore).unwrap_or_default();
    let wanted = [".packer/", "/build/"];
    let missing: Vec<&str> = wanted.iter().copied().filter(|w| !existing.lines().any(|l| l.trim() == *w)).collect();
    if !missing.is_empty() {
        let mut text = existing;
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        for w in missing {
            text.push_str(w);
            text.push('\n');
        }
        crate::fsutil::write_atomic(&gitignore, text.as_bytes()).map_err(|e| io(&gitignore, e))?;
    }
    // The manifest last: its presence is what makes the folder a project.
    crate::fsutil::write_atomic(&manifest_path, Manifest::template(&name).as_bytes()).map_err(|e| io(&manifest_path, e))
}

/// What opening a workspace finds, before any state is attached to it.
pub(crate) struct Loaded {
    pub assets: OrdMap<Arc<str>, Arc<Asset>>,
    pub by_path: OrdMap<Arc<str>, Arc<str>>,
    pub untracked: OrdMap<String, Untracked>,
    pub stats: ObserveStats,
    /// Files the walk could not take (symlinks, unreadable folders).
    pub skipped: Vec<model::Diagnostic>,
}

/// The registry's entries merged with a walk of the asset roots, each file
/// looked at through the stat cache (which learns what it hashes, in
/// memory: saving it is the caller's choice). The one way a workspace is
/// loaded, by `Project::open` and by `check` alike.
pub(crate) fn load(
    sandbox: &sandbox::Sandbox,
    scan: workspace::Scan,
    mut entries: Vec<model::Entry>,
    cache: &mut StatCache,
) -> Loaded {
    // The registered paths in order, each with its entry (in id order).
    let mut order: Vec<(Arc<str>, usize)> = entries.iter().enumerate().map(|(i, e)| (e.path.clone(), i)).collect();
    rayon::slice::ParallelSliceMut::par_sort_unstable(&mut order[..]);
    // Everything that needs the walk is done before any asset is made,
    // so that its memory is given back first: at 100,000 assets the walk
    // and the assets together were the peak of an open. The registered
    // paths, the walk and the stat cache are all in path order: one merge
    // of the three says what each file is, with no lookups.
    let (observed, untracked, stats, paths, skipped) = {
        let mut registered: Vec<Seen> = Vec::with_capacity(order.len());
        let mut unregistered: Vec<Seen> = Vec::new();
        let workspace::Scan { files: walked, skipped } = scan;
        let mut found = walked.iter().peekable();
        let mut other = |(p, stat): &(String, FileStat)| {
            let slot = unregistered.len();
            unregistered.push(Seen { path: p.as_str().into(), kind: Kind::of_path(p), stat: Some(*stat), slot });
        };
        for (path, i) in &order {
            while let Some(f) = found.next_if(|(p, _)| p.as_str() < &**path) {
                other(f);
            }
            let stat = found.next_if(|(p, _)| p.as_str() == &**path).map(|(_, stat)| *stat);
            registered.push(Seen { path: path.clone(), kind: entries[*i].kind, stat, slot: *i });
        }
        found.for_each(&mut other);
        // What each file is, is known: the walk's own list goes before the
        // files are looked at (9 MB at 100,000 files, at an open's peak).
        drop((order, walked));
        let mut observed = vec![None; entries.len()];
        let mut stats = cache.observe_sorted(sandbox, &mut registered, &mut observed);
        // One copy of each path, shared by the entry, both maps and the
        // stat cache: at 100,000 assets each copy is about 5 MB.
        for seen in &registered {
            entries[seen.slot].path = seen.path.clone();
        }
        // Registered paths in order (the order `by_path` is filled in:
        // a B-tree filled along its right edge stays in cache).
        let paths: Vec<(Arc<str>, Arc<str>)> =
            registered.into_iter().map(|seen| (seen.path, entries[seen.slot].id.clone())).collect();
        let mut untracked_obs = vec![None; unregistered.len()];
        let untracked_stats = cache.observe_sorted(sandbox, &mut unregistered, &mut untracked_obs);
        stats.hashed += untracked_stats.hashed;
        stats.cached += untracked_stats.cached;
        let untracked: OrdMap<String, Untracked> = unregistered
            .into_iter()
            .zip(untracked_obs)
            .filter_map(|(seen, obs)| obs.map(|o| (seen.path.to_string(), Untracked { hash: o.hash, size: o.size })))
            .collect();
        (observed, untracked, stats, paths, skipped)
    };
    // The two maps are independent: each is filled on a thread of its own.
    let (assets, by_path) = std::thread::scope(|s| {
        let by_path = s.spawn(move || full_map(paths));
        // Taken off the ends of the two vectors, which shrink as the map
        // grows: whole, they are 21 MB at 100,000 assets, and this loop
        // was an open's peak of memory.
        let (mut entries, mut observed) = (entries, observed);
        let mut assets = OrdMap::new();
        // Every other id first, with a stand-in, so that the loop fills
        // the leaves between them (see `full_map`; the entries are in id
        // order) and puts each asset in place of its stand-in.
        let stand_in = entries.first().map(|first| Arc::new(Asset::from_observation(first.clone(), None)));
        if let Some(stand_in) = &stand_in {
            for entry in entries.iter().step_by(2) {
                assets.insert(entry.id.clone(), stand_in.clone());
            }
        }
        let mut shrunk_at = entries.len();
        while let (Some(entry), Some(obs)) = (entries.pop(), observed.pop()) {
            assets.insert(entry.id.clone(), Arc::new(Asset::from_observation(entry, obs)));
            if shrunk_at - entries.len() >= 4096 {
                entries.shrink_to_fit();
                observed.shrink_to_fit();
                shrunk_at = entries.len();
            }
        }
        debug_assert!(stand_in.is_none_or(|s| Arc::strong_count(&s) == 1), "every stand-in was replaced");
        (assets, by_path.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    Loaded { assets, by_path, untracked, stats, skipped }
}

/// An ordered map of sorted `pairs` with full leaves. Inserted in order,
/// every leaf of an `imbl` map is split in half as the next key arrives
/// and never filled again: half its memory empty (11 MB of the two maps
/// of an open at 100,000 assets). Every other pair first, then the ones
/// between: each half-full leaf of the first pass is filled by the second
/// without a split.
fn full_map<K: Ord + Clone, V: Clone>(pairs: Vec<(K, V)>) -> OrdMap<K, V> {
    let mut map = OrdMap::new();
    for (k, v) in pairs.iter().step_by(2) {
        map.insert(k.clone(), v.clone());
    }
    for (k, v) in pairs.into_iter().skip(1).step_by(2) {
        map.insert(k, v);
    }
    map
}

fn io_error(path: &Path, source: std::io::Error) -> OpenError {
    OpenError::Io { path: path.display().to_string(), source }
}

/// The canonical root of the project at `root`. A folder without a
/// manifest is not a project: it is refused before anything is created in it.
fn project_root(root: &Path) -> Result<PathBuf, OpenError> {
    let root = root.canonicalize().map_err(|_| OpenError::NoFolder(root.display().to_string()))?;
    if !root.is_dir() {
        return Err(OpenError::NoFolder(root.display().to_string()));
    }
    if !root.join(manifest::MANIFEST_FILE).is_file() {
        Manifest::load(&root)?;
    }
    Ok(root)
}

/// What opening did about the operations a dead process left half done.
struct Interrupted {
    apply: Option<intent::Settled>,
    build: Option<crate::build::commit::Finished>,
}

impl Interrupted {
    fn settled(&self) -> Settled<'_> {
        Settled { apply: self.apply.as_ref(), build: self.build.as_ref() }
    }
}

/// Settles an apply a dead process left half done, and finishes a build
/// that died while putting its packs in place: before anything reads the
/// registry or the files.
fn settle_interrupted(root: &Path, sandbox: &sandbox::Sandbox, state_dir: &Path) -> Interrupted {
    let apply = intent::settle(sandbox, state_dir);
    if let Some(s) = apply.as_ref().filter(|s| s.committed) {
        // Its commit happened: what the files hold now is the packer's own.
        tracing::info!(operation = %s.operation_id, "an interrupted apply had committed; finished it");
        for (file, remember) in [
            (registry::REGISTRY_FILE, baseline::remember_registry as fn(&Path, &[u8])),
            (manifest::MANIFEST_FILE, baseline::remember_manifest),
        ] {
            if let Ok(bytes) = std::fs::read(root.join(file)) {
                remember(state_dir, &bytes);
            }
        }
    }
    let build = crate::build::commit::finish(sandbox, state_dir);
    Interrupted { apply, build }
}

/// Removes what interrupted writes left behind: temporary files, and the
/// trash of an apply.
fn remove_leftovers(
    root: &Path,
    sandbox: &sandbox::Sandbox,
    state_dir: &Path,
    manifest: &Manifest,
    settled: Option<&intent::Settled>,
) -> Result<(), OpenError> {
    // What a killed build left half written: packs staged but never
    // committed (a processing-cache segment that its index never named
    // is removed by the next build). Only a real folder of the project:
    // never through a symlink.
    for target in &manifest.targets {
        let output = manifest.target_output(&target.name);
        if sandbox.entry(&output).is_ok_and(|e| e == Some(sandbox::Entry::Dir)) {
            let _ = crate::fsutil::remove_stale_temps(&paths::absolute(root, &output));
        }
    }
    for dir in [root, state_dir] {
        let removed = crate::fsutil::remove_stale_temps(dir).map_err(|e| io_error(dir, e))?;
        if removed > 0 {
            tracing::warn!(dir = %dir.display(), removed, "removed temporary files left by an interrupted write");
        }
    }
    // Trash left by a crash that the intent did not account for: the
    // registry is the truth, so an entry that still names a trashed file
    // shows up as missing, never silently. Kept when settling had problems.
    if settled.is_none_or(|s| s.problems.is_empty()) {
        let _ = std::fs::remove_dir_all(state_dir.join("trash"));
    }
    Ok(())
}

/// What opening read of the workspace, for the first snapshot.
struct Workspace {
    loaded: Loaded,
    conflicts: Arc<Vec<registry::Conflict>>,
    /// The registry file, when it differs from the packer's copy.
    registry_on_disk: Option<baseline::RegistryOnDisk>,
}

/// Reads the registry and the stat cache, walks the asset roots, and loads
/// the workspace from them. Also returns the stat cache (to be saved: it
/// has learnt what was hashed) and the registry's hash.
fn read_workspace(
    root: &Path,
    sandbox: &sandbox::Sandbox,
    state_dir: &Path,
    manifest: &Manifest,
) -> Result<(Workspace, StatCache, String), OpenError> {
    // The walk is mostly system calls, reading the registry and the stat
    // cache mostly parsing: side by side, they take the time of the longer.
    // (The registry and the stat cache each on a thread of its own: one
    // after the other they took longer than the walk.)
    let (scan, registry, cache) = std::thread::scope(|s| {
        let registry = s.spawn(|| baseline::load_registry(root, state_dir));
        let cache = s.spawn(|| StatCache::load(state_dir));
        let scan = workspace::scan_in(sandbox, manifest);
        let (registry, cache) = (registry.join(), cache.join());
        let join = |panic| std::panic::resume_unwind(panic);
        (scan, registry.unwrap_or_else(join), cache.unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    let mut cache = cache;
    let registry = registry?;
    let (registry_hash, entries) = (registry.registry_hash, registry.registry.entries);
    let conflicts = Arc::new(registry.registry.conflicts);
    let loaded = load(sandbox, scan, entries, &mut cache);
    let workspace = Workspace { loaded, conflicts, registry_on_disk: registry.registry_on_disk };
    Ok((workspace, cache, registry_hash))
}

/// The project's event journal, `.packer/events.jsonl`.
fn open_journal(id: &str, root: &Path, state_dir: &Path) -> Result<Arc<EventBus>, OpenError> {
    let bus = EventBus::open(id, &state_dir.join("events.jsonl")).map_err(|e| io_error(&root.join(STATE_DIR), e))?;
    Ok(Arc::new(bus))
}

/// The first snapshot of an opened project, once the operations the journal
/// shows unfinished are ended (which its project diagnostics report).
/// `manifest_changed`: `packer.toml` changed since the packer last read it.
fn first_snapshot(
    id: &str,
    bus: &Arc<EventBus>,
    ops: &Arc<OpTable>,
    manifest: Arc<Manifest>,
    manifest_changed: bool,
    workspace: Workspace,
    interrupted: &Interrupted,
) -> Snapshot {
    let Workspace { loaded, conflicts, registry_on_disk } = workspace;
    let Loaded { assets, by_path, untracked, skipped, .. } = loaded;
    // Generations keep rising across restarts (they start past the
    // journal's last seq), so a generation from an earlier run never
    // matches by accident.
    let generation = bus.last_seq() + 1;
    let external = External { registry: baseline::registry_change(registry_on_disk, &assets), manifest_changed };
    let graph = Graph::build(&Maps { assets: &assets, by_path: &by_path });
    let contents = Contents { assets, by_path, untracked, external: Arc::new(external), conflicts, graph };
    let mut project_diagnostics = skipped;
    recover_operations(id, bus, ops, interrupted.settled(), &mut project_diagnostics);
    Snapshot::new(generation, manifest, contents, Arc::new(project_diagnostics))
}

/// An opened project's parts, before its lane starts.
struct Parts {
    id: String,
    root: PathBuf,
    sandbox: sandbox::Sandbox,
    state: state::StateDir,
    bus: Arc<EventBus>,
    ops: Arc<OpTable>,
    disk: DiskKnowledge,
    open_stats: ObserveStats,
}

impl Project {
    /// Opens a project from disk: manifest, registry, a scan of the asset
    /// roots and a look at every registered file. `state` is its `.packer/`,
    /// checked by whoever took the owner lock in it (`state::prepare`): the
    /// project writes in the very folder the lock is in.
    pub fn open(root: &Path, state: state::StateDir) -> Result<Arc<Project>, OpenError> {
        let root = project_root(root)?;
        // Every use of the folder goes through the handle the check opened.
        let state_dir = state.path().to_path_buf();
        let sandbox = sandbox::Sandbox::open(&root).map_err(|e| io_error(&root, e))?;
        let interrupted = settle_interrupted(&root, &sandbox, &state_dir);
        let base = baseline::load_manifest(&root, &state_dir)?;
        let manifest = Arc::new(base.manifest);
        remove_leftovers(&root, &sandbox, &state_dir, &manifest, interrupted.apply.as_ref())?;
        let id = crate::ids::project_id(&root);
        let (workspace, mut cache, registry_hash) = read_workspace(&root, &sandbox, &state_dir, &manifest)?;
        let bus = open_journal(&id, &root, &state_dir)?;
        let ops = Arc::new(OpTable::default());
        let open_stats = workspace.loaded.stats;
        // What the look at every file found is written to the stat cache
        // beside the making of the first snapshot (the reference graph
        // above all): neither needs the other. One after the other they
        // took 0.3 to 0.4 s of a 3 s cold open of 100,000 assets with
        // 300,000 references.
        let snap = std::thread::scope(|s| {
            s.spawn(|| cache.save());
            first_snapshot(&id, &bus, &ops, manifest, base.manifest_changed, workspace, &interrupted)
        });
        let disk = DiskKnowledge { cache, registry_hash, manifest_hash: base.manifest_hash };
        let project = Project::start(Parts { id, root, sandbox, state, bus, ops, disk, open_stats }, snap);
        if !WATCH_ON_DEMAND.load(std::sync::atomic::Ordering::SeqCst) {
            project.ensure_watching();
        }
        Ok(project)
    }

    /// The project made of its parts and first snapshot: its lane starts.
    fn start(parts: Parts, snap: Snapshot) -> Arc<Project> {
        let Parts { id, root, sandbox, state, bus, ops, disk, open_stats } = parts;
        let project = Arc::new_cyclic(|weak| Project {
            id,
            root,
            sandbox,
            state,
            snapshot: ArcSwap::from_pointee(snap),
            bus,
            ops,
            lane: lane::Lane::start(weak.clone()),
            submit_lock: Mutex::new(()),
            disk_gate: std::sync::RwLock::new(()),
            disk: Mutex::new(disk),
            open_stats,
            watcher: Mutex::new(None),
            watch_problem: Mutex::new(None),
            watch_requested: std::sync::atomic::AtomicBool::new(false),
            watch_started: std::sync::atomic::AtomicBool::new(false),
            last_build: Mutex::new(Default::default()),
            retry_scheduled: std::sync::atomic::AtomicBool::new(false),
            external: external::ExternalChanges::default(),
            cooked: Default::default(),
            measurer: measure::Measurer::new(weak.clone(), !WATCH_ON_DEMAND.load(std::sync::atomic::Ordering::SeqCst)),
        });
        project.measurer.poke(project.snapshot().asset_counts.loudness_pending);
        project
    }

    /// What the packer knows of the disk. Only the lane (and open) use it.
    pub(crate) fn disk(&self) -> std::sync::MutexGuard<'_, DiskKnowledge> {
        // A panic caught in the lane must not poison every later write.
        self.disk.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current snapshot. Never waits for a write.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Publishes `next` (only the lane calls this) and announces it:
    /// `snapshotPublished`, then `divergenceDetected` / `divergenceCleared`
    /// when its divergence differs from `before`'s. With `op`, the events
    /// are that operation's (its id and sequence), otherwise state events.
    /// Returns the new generation.
    fn publish(&self, before: &Snapshot, next: Snapshot, op: Option<&Operation>) -> u64 {
        let (detected, cleared) = observe::item_changes(&before.divergence, &next.divergence);
        let generation = next.generation;
        let state = next.divergence_state();
        let count = next.divergence.len();
        let pending = next.asset_counts.loudness_pending;
        self.snapshot.store(Arc::new(next));
        self.measurer.poke(pending);
        let emit = |body: EventBody| match op {
            Some(op) => op.state_event(body),
            None => {
                self.bus.emit(body.into_fields(), None);
            }
        };
        emit(EventBody::SnapshotPublished { generation });
        if !detected.is_empty() {
            emit(EventBody::DivergenceDetected { generation, state, count, items: detected });
        }
        if !cleared.is_empty() {
            emit(EventBody::DivergenceCleared { generation, state, count, ids: cleared });
        }
        generation
    }

    /// Makes an operation for commit-bearing work and queues it behind
    /// everything queued before it. Its `queued` event and its place in the
    /// lane are taken under one lock, so that with several connections (an
    /// attached process's among them) the order of `queued` events is the
    /// order the lane runs them in. `None` when `wanted_id` is not fresh.
    pub fn enqueue(&self, mut new: NewOperation, wanted_id: Option<String>, job: lane::Job) -> Option<Arc<Operation>> {
        let _order = self.submit_lock.lock().expect("submit lock");
        if let Some(id) = &wanted_id {
            if !crate::ids::is_operation_id(id) || self.ops.find(id).is_some() {
                return None;
            }
        }
        new.id = wanted_id;
        let op = Operation::new(new);
        self.lane.submit(Some(op.clone()), job);
        Some(op)
    }

    /// Places the watches on a thread of their own: on a large workspace
    /// that takes as long as the rest of opening (a watch per folder), and
    /// nobody's first answer should wait for it. Whatever changes before the
    /// watches are in place is found by one look at the whole workspace,
    /// queued as soon as they are; until then `summary.watch` says `starting`.
    /// Once per project; later calls do nothing.
    pub fn ensure_watching(self: &Arc<Self>) {
        if self.watch_requested.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return;
        }
        // A process that stays (this one serving, or one attached) wants
        // the figures too.
        self.measurer.enable();
        let project = Arc::downgrade(self);
        let spawned = std::thread::Builder::new().name("packer-watch-start".into()).spawn(move || {
            // Test builds: placing the watches takes this long, so that a
            // test can see `starting` and change files meanwhile.
            #[cfg(feature = "test-hooks")]
            if let Some(ms) = std::env::var("STUDIO_PACKER_TEST_WATCH_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
            let Some(project) = project.upgrade() else { return };
            let started = watcher::Watcher::start(&project);
            let mut slot = project.watcher.lock().expect("watcher lock");
            // `close` ran (it stops the lane first): a watcher placed late is dropped.
            if project.lane.is_stopping() {
                return;
            }
            match started {
                Ok(w) => {
                    // A rescan may have placed watches meanwhile: keep those.
                    let w = slot.get_or_insert(w).clone();
                    drop(slot);
                    // An apply that changed the asset roots while the watches
                    // were being placed found no watcher to tell.
                    let roots = project.snapshot().manifest.roots.clone();
                    if let Err(e) = w.set_roots(roots) {
                        project.watch_started.store(true, std::sync::atomic::Ordering::SeqCst);
                        project.watch_degraded(&format!("an asset root cannot be watched: {e}"));
                        return;
                    }
                    project.watch_started.store(true, std::sync::atomic::Ordering::SeqCst);
                    project.observe(None);
                }
                Err(e) => {
                    drop(slot);
                    project.watch_started.store(true, std::sync::atomic::Ordering::SeqCst);
                    project.watch_degraded(&format!("the workspace cannot be watched: {e}"));
                }
            }
        });
        if let Err(e) = spawned {
            self.watch_started.store(true, std::sync::atomic::Ordering::SeqCst);
            self.watch_degraded(&format!("the workspace cannot be watched: {e}"));
        }
    }

    pub(crate) fn watcher(&self) -> Option<Arc<watcher::Watcher>> {
        self.watcher.lock().expect("watcher lock").clone()
    }

    /// Watching failed or fell behind: say so, and rescan everything. The
    /// rescan (in the lane) tries to watch again and says when it is back.
    pub fn watch_degraded(&self, reason: &str) {
        self.mark_watch_degraded(reason);
        self.lane.submit(None, lane::Job::Rescan);
    }

    fn mark_watch_degraded(&self, reason: &str) {
        tracing::warn!(project = %self.id, %reason, "watching degraded; rescanning");
        *self.watch_problem.lock().expect("watch lock") = Some(reason.to_string());
        self.bus.emit(EventBody::WatchDegraded { reason: reason.to_string() }.into_fields(), None);
    }

    /// Test builds only: really stops watching, says so, and rescans only
    /// after `hold`, so that a test can change files nobody is watching.
    #[cfg(feature = "test-hooks")]
    pub fn break_watch_for_test(self: &Arc<Self>, hold: std::time::Duration) {
        if let Some(w) = self.watcher() {
            w.unwatch_all();
        }
        self.mark_watch_degraded("stopped by a test");
        let project = Arc::downgrade(self);
        std::thread::spawn(move || {
            std::thread::sleep(hold);
            if let Some(p) = project.upgrade() {
                p.lane.submit(None, lane::Job::Rescan);
            }
        });
    }

    /// Places the watches again; say the outcome with [`Project::watch_outcome`]
    /// once the rescan that follows has published what it found.
    pub(crate) fn rewatch(self: &Arc<Self>) -> Result<(), String> {
        match self.watcher() {
            Some(w) => w.rewatch().map_err(|e| e.to_string()),
            None => {
                let w = watcher::Watcher::start(self).map_err(|e| format!("the workspace cannot be watched: {e}"))?;
                *self.watcher.lock().expect("watcher lock") = Some(w);
                Ok(())
            }
        }
    }

    /// Says whether watching is back after a rescan.
    pub(crate) fn watch_outcome(self: &Arc<Self>, result: Result<(), String>) {
        match result {
            Ok(()) => {
                if self.watch_problem.lock().expect("watch lock").take().is_some() {
                    self.bus.emit(EventBody::WatchRestored {}.into_fields(), None);
                }
            }
            Err(e) => {
                tracing::warn!(project = %self.id, error = %e, "watching is still degraded; trying again in a while");
                *self.watch_problem.lock().expect("watch lock") = Some(e);
                // Keep trying (a watch limit may be raised, a root recreated);
                // each try rescans, so nothing is missed meanwhile. One retry
                // at a time, however many failures are reported.
                if !self.retry_scheduled.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    let project = Arc::downgrade(self);
                    std::thread::spawn(move || {
                        std::thread::sleep(WATCH_RETRY);
                        if let Some(p) = project.upgrade() {
                            p.retry_scheduled.store(false, std::sync::atomic::Ordering::SeqCst);
                            p.lane.submit(None, lane::Job::Rescan);
                        }
                    });
                }
            }
        }
    }

    /// Hands sounds' loudness, measured, to the lane, which takes what still
    /// holds (see `measure::record`).
    fn record_loudness(&self, measured: Vec<measure::Measured>) {
        self.lane.submit(None, lane::Job::Loudness { measured });
    }

    /// Asks the lane to look at `paths` on disk again (everything when `None`).
    pub fn observe(&self, paths: Option<std::collections::BTreeSet<String>>) {
        self.lane.submit(None, lane::Job::Observe { paths });
    }

    /// Remembers a build's outcome for the summary.
    pub(crate) fn record_build(&self, op: &Operation, result: &BuildResult) {
        let finished =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let mut last = self.last_build.lock().expect("last build lock");
        for t in &result.targets {
            let build = LastBuild {
                operation_id: op.id.clone(),
                target: t.target.clone(),
                outcome: t.outcome,
                finished_at_ms: finished,
                packs: t.packs,
                stats: t.stats.clone(),
            };
            last.insert(t.target.clone(), build);
        }
    }

    /// The parts of a new operation that come from this project.
    pub fn new_operation(&self, kind: &'static str, title: String) -> NewOperation {
        NewOperation {
            id: None,
            project_id: self.id.clone(),
            kind,
            title,
            bus: self.bus.clone(),
            table: self.ops.clone(),
            reply: None,
            progress_token: None,
            cancelled_result: None,
        }
    }

    /// Stops the project: every active operation is cancelled (queued ones at
    /// once, the running one at its next safe point) and the lane finishes.
    pub fn close(&self) {
        for op in self.ops.active() {
            op.request_cancel(false);
        }
        self.measurer.stop();
        self.lane.stop();
        if self.ops.active().is_empty() {
            self.bus.checkpoint();
        }
        // Dropping the watcher stops its threads; one still being placed is
        // dropped when it is ready.
        self.watcher.lock().expect("watcher lock").take();
        let mut disk = self.disk();
        disk.cache.save();
        if WATCH_ON_DEMAND.load(std::sync::atomic::Ordering::SeqCst) {
            // A one-shot command's process exits right after this: freeing
            // every asset and stat-cache entry one by one (7 % of a warm
            // `status` at 100,000 assets) is work the kernel does at once.
            std::mem::forget(self.snapshot());
            std::mem::forget(std::mem::take(&mut disk.cache));
        }
    }

    /// The summary: the one place its numbers are put together.
    pub fn summary(&self, snap: &Snapshot) -> Summary {
        use std::sync::atomic::Ordering::SeqCst;
        let (queued, running) = self.ops.counts();
        let problem = self.watch_problem.lock().expect("watch lock").clone();
        let state = match &problem {
            Some(_) => WatchState::Degraded,
            None if !self.watch_requested.load(SeqCst) => WatchState::Off,
            None if !self.watch_started.load(SeqCst) => WatchState::Starting,
            None => WatchState::Ok,
        };
        Summary {
            generation: snap.generation,
            assets: snap.asset_counts.clone(),
            diagnostics: snap.diagnostic_counts.clone(),
            divergence: DivergenceCount { state: snap.divergence_state(), count: snap.divergence.len() },
            lane: LaneCounts { queued, running },
            watch: Watch { state, reason: problem },
            last_build: self.last_build.lock().expect("last build lock").clone(),
            external_changes: self.external.describe(),
            targets: snap
                .manifest
                .targets
                .iter()
                .map(|t| crate::protocol::model::TargetInfo { name: t.name.clone(), profile: t.profile })
                .collect(),
            references: crate::protocol::model::ReferenceTotals { broken: snap.contents.graph.broken_total() },
        }
    }

    /// `.packer/`, through the handle opened when it was checked.
    pub fn state_dir(&self) -> PathBuf {
        self.state.path().to_path_buf()
    }
}
