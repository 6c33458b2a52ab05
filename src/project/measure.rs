//! Sounds' loudness, measured off the open.
//!
//! Looking at a sound decodes it (a file that does not decode is an error
//! from the first look), but measuring its loudness costs twice that decode
//! (the EBU R128 meter's K-weighting and 4x true-peak oversampling): done
//! in the open, it made a cold open of a workspace whose sounds are 4 % of
//! its files half as slow again. So a sound is first seen with its loudness
//! pending, and one thread per project measures what a snapshot holds
//! pending, in batches, on the build's low-priority workers.
//!
//! Measuring only reads. Each batch goes to the lane as a job of its own,
//! which takes a figure only while the asset still holds the bytes that
//! were measured (re-validated at its turn, as every lane job is), records
//! it in the stat cache, and publishes a snapshot: so a read never sees a
//! figure of bytes the asset no longer has, and a warm re-open does not
//! measure again.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, Weak};

use rayon::prelude::*;

use super::model::{extension, Decibels, Kind, Status};
use super::snapshot::Snapshot;
use super::Project;
use crate::hash::ContentHash;

/// What measuring one sound gave: the figures of the bytes that hashed to
/// `hash`, for the asset `id`.
#[derive(Debug, Clone)]
pub struct Measured {
    id: Arc<str>,
    hash: ContentHash,
    lufs: Option<Decibels>,
    true_peak: Option<Decibels>,
}

/// Sounds measured in one batch: each batch publishes a snapshot, so that a
/// studio sees figures arrive while the rest are measured.
const BATCH_PER_THREAD: usize = 8;

/// Figures kept by content hash (a sound measured and not yet published is
/// not measured twice; copies of one file are measured once). Forgotten
/// whole past this many.
const REMEMBERED: usize = 65_536;

/// One project's measuring thread: started at the first snapshot with a
/// sound pending, woken by every snapshot published after.
pub struct Measurer {
    project: Weak<Project>,
    shared: Arc<Shared>,
}

struct Shared {
    wake: Mutex<Wake>,
    woken: Condvar,
}

#[derive(Default)]
struct Wake {
    /// Off for a one-shot command's process until another process attaches
    /// (it would only compete with the command's own work).
    enabled: bool,
    /// A snapshot with sounds pending was published since the thread last looked.
    asked: bool,
    stopping: bool,
    started: bool,
    /// Batches handed to the lane and not yet taken: the figures in them
    /// are not handed over again meanwhile.
    in_flight: usize,
}

impl Measurer {
    pub fn new(project: Weak<Project>, enabled: bool) -> Measurer {
        let wake = Wake { enabled, ..Wake::default() };
        Measurer { project, shared: Arc::new(Shared { wake: Mutex::new(wake), woken: Condvar::new() }) }
    }

    fn wake(&self) -> std::sync::MutexGuard<'_, Wake> {
        self.shared.wake.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A snapshot holding `pending` sounds to measure was published.
    pub fn poke(&self, pending: usize) {
        if pending > 0 {
            self.ask(&mut self.wake());
        }
    }

    /// Asks the thread to look at the current snapshot, starting it the
    /// first time.
    fn ask(&self, wake: &mut Wake) {
        if !wake.enabled || wake.stopping {
            return;
        }
        wake.asked = true;
        if !wake.started {
            let (shared, project) = (self.shared.clone(), self.project.clone());
            let spawned =
                std::thread::Builder::new().name("packer-measure".into()).spawn(move || run(&shared, &project));
            match spawned {
                Ok(_) => wake.started = true,
                Err(e) => tracing::warn!(error = %e, "cannot start measuring sounds; their loudness stays pending"),
            }
        }
        self.shared.woken.notify_one();
    }

    /// Measuring starts (a process attached to a one-shot command's
    /// project): the thread looks at whatever is current by then.
    pub fn enable(&self) {
        let mut wake = self.wake();
        wake.enabled = true;
        self.ask(&mut wake);
    }

    /// The lane took (or refused) a batch; `pending` sounds are left. When
    /// no batch is queued any more, figures known but not yet taken are
    /// handed over again (their batch was refused, or they were skipped
    /// while it waited).
    fn batch_done(&self, pending: usize) {
        let mut wake = self.wake();
        wake.in_flight = wake.in_flight.saturating_sub(1);
        if wake.in_flight == 0 && pending > 0 {
            self.ask(&mut wake);
        }
    }

    /// The project closes: the thread stops after the sound it is measuring.
    pub fn stop(&self) {
        self.wake().stopping = true;
        self.shared.woken.notify_all();
    }

    fn stopping(shared: &Shared) -> bool {
        shared.wake.lock().unwrap_or_else(|p| p.into_inner()).stopping
    }

    fn hand_over(shared: &Shared, project: &Project, measured: Vec<Measured>) {
        shared.wake.lock().unwrap_or_else(|p| p.into_inner()).in_flight += 1;
        project.record_loudness(measured);
    }
}

/// A project dropped without being closed (one that failed to start) stops its thread.
impl Drop for Measurer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The thread: waits to be asked, measures what the current snapshot holds
/// pending, hands each batch to the lane; until the project closes.
fn run(shared: &Shared, project: &Weak<Project>) {
    let mut remembered: HashMap<ContentHash, (Option<Decibels>, Option<Decibels>)> = HashMap::new();
    loop {
        let batches_queued = {
            let mut wake = shared.wake.lock().unwrap_or_else(|p| p.into_inner());
            while !wake.asked && !wake.stopping {
                wake = shared.woken.wait(wake).unwrap_or_else(|p| p.into_inner());
            }
            if wake.stopping {
                return;
            }
            wake.asked = false;
            wake.in_flight > 0
        };
        let Some(project) = project.upgrade() else { return };
        let snap = project.snapshot();
        let pending = pending(&snap);
        let threads = crate::build::thread_count(&snap.manifest);
        drop(snap);
        let (known, unknown): (Vec<Pending>, Vec<Pending>) =
            pending.into_iter().partition(|p| remembered.contains_key(&p.hash));
        let known: Vec<Measured> = known
            .into_iter()
            .map(|p| {
                let (lufs, true_peak) = remembered[&p.hash];
                Measured { id: p.id, hash: p.hash, lufs, true_peak }
            })
            .collect();
        // While a batch waits in the lane, what is known is in it (or is
        // handed over again once the lane is done with it: `batch_done`).
        if !known.is_empty() && !batches_queued {
            Measurer::hand_over(shared, &project, known);
        }
        // Test builds: measuring waits this long first, so that a test
        // can see sounds pending.
        #[cfg(feature = "test-hooks")]
        if let Some(ms) = std::env::var("STUDIO_PACKER_TEST_MEASURE_DELAY_MS").ok().and_then(|v| v.parse().ok()) {
            if !unknown.is_empty() {
                std::thread::sleep(std::time::Duration::from_millis(ms));
            }
        }
        let pool = crate::build::workers(threads);
        for batch in unknown.chunks(threads * BATCH_PER_THREAD) {
            if Measurer::stopping(shared) {
                return;
            }
            let measured: Vec<Measured> = pool.install(|| {
                batch
                    .par_iter()
                    .with_max_len(1)
                    .filter_map(|p| (!Measurer::stopping(shared)).then(|| measure(&project, p)).flatten())
                    .collect()
            });
            if remembered.len() + measured.len() > REMEMBERED {
                remembered.clear();
            }
            remembered.extend(measured.iter().map(|m| (m.hash, (m.lufs, m.true_peak))));
            if !measured.is_empty() {
                Measurer::hand_over(shared, &project, measured);
            }
        }
    }
}

/// A sound whose loudness a snapshot holds pending.
struct Pending {
    id: Arc<str>,
    path: Arc<str>,
    hash: ContentHash,
}

/// The sounds `snap` holds pending, in path order.
fn pending(snap: &Snapshot) -> Vec<Pending> {
    if snap.asset_counts.loudness_pending == 0 {
        return Vec::new();
    }
    let mut pending: Vec<Pending> = snap
        .contents
        .assets
        .values()
        .filter(|a| a.entry.kind == Kind::Audio && a.status != Status::Missing && a.metadata.loudness_is_pending())
        .map(|a| Pending { id: a.entry.id.clone(), path: a.entry.path.clone(), hash: a.hash_on_disk() })
        .collect();
    pending.sort_by(|a, b| a.path.cmp(&b.path));
    pending
}

/// Reads and measures one sound; `None` when the file is gone or no longer
/// holds the bytes the snapshot has (a look at the disk will say so, and
/// the sound is measured again then).
fn measure(project: &Project, p: &Pending) -> Option<Measured> {
    let bytes = project.sandbox.read(&p.path).ok()?;
    if ContentHash::of(&bytes) != p.hash {
        return None;
    }
    // These bytes decoded when they were looked at; should the meter refuse
    // them now (or panic: a bug), the sound has no figures rather than
    // staying pending for ever.
    let inspect = std::panic::AssertUnwindSafe(|| crate::build::audio::inspect(&bytes, &extension(&p.path)));
    let loudness = std::panic::catch_unwind(inspect).ok().and_then(Result::ok).map(|f| f.loudness);
    let (lufs, true_peak) = loudness.map_or((None, None), |l| {
        (l.integrated_lufs.and_then(Decibels::new), l.true_peak_dbtp.and_then(Decibels::new))
    });
    Some(Measured { id: p.id.clone(), hash: p.hash, lufs, true_peak })
}

/// The lane's part: takes each figure whose asset still holds the bytes
/// measured and is still pending, records it in the stat cache, publishes
/// one snapshot. The stat cache is saved once nothing is pending.
pub fn record(project: &Project, measured: Vec<Measured>) {
    take(project, measured);
    project.measurer.batch_done(project.snapshot().asset_counts.loudness_pending);
}

fn take(project: &Project, measured: Vec<Measured>) {
    let snap = project.snapshot();
    let mut contents = snap.contents.clone();
    let mut taken = 0usize;
    {
        let mut disk = project.disk();
        for m in measured {
            let Some(asset) = contents.assets.get(&m.id) else { continue };
            if asset.status == Status::Missing
                || !asset.metadata.loudness_is_pending()
                || asset.hash_on_disk() != m.hash
            {
                continue;
            }
            let metadata = asset.metadata.with_loudness(m.lufs, m.true_peak);
            let mut fresh = (**asset).clone();
            fresh.metadata = disk.cache.record_loudness(&asset.entry.path, m.hash, metadata);
            contents.assets.insert(m.id, Arc::new(fresh));
            taken += 1;
        }
    }
    if taken == 0 {
        return;
    }
    // Loudness is in no reference, divergence item or status: the graph
    // stays as it is, and only the counts change.
    let mut next =
        Snapshot::new(snap.generation + 1, snap.manifest.clone(), contents, snap.project_diagnostics.clone());
    // Figures arriving change nothing a client decided on: a mutation
    // previewed before them is not stale because of them.
    next.changed_at = snap.changed_at;
    let left = next.asset_counts.loudness_pending;
    project.publish(&snap, next, None);
    tracing::debug!(project = %project.id, measured = taken, left, "sounds' loudness measured");
    if left == 0 {
        project.disk().cache.save();
    }
}
