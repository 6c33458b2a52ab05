//! The single-writer lane: one queue and one thread per project.
//!
//! Every commit-bearing operation runs here, one at a time, in the order it
//! was submitted. A job re-validates against the snapshot current at its
//! turn, so nothing a caller checked earlier is trusted. The lane is a plain
//! thread rather than an async task because its work is blocking file I/O
//! (rename, fsync) that must not occupy the async runtime's threads.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::format::registry;
use super::model::Diagnostic;
use super::snapshot::Snapshot;
use super::write::mutation::{self, Capped, ExecError, Executed, Lists, Mutation, Plan, Stopped, Unlisted};
use super::Project;
use crate::operations::{OpState, Operation};
use crate::protocol::events::{EventBody, FailedOutcome, FailureReason, OperationFailure};
use crate::protocol::model::{ApplyOutcome, ApplyResult};
use crate::transport::RpcError;

/// Commit-bearing work.
pub enum Job {
    Apply {
        mutation: Mutation,
        expected_generation: Option<u64>,
    },
    /// Look at these paths on disk again (all of the workspace when `None`)
    /// and publish what differs. Comes from the watcher, not from a client,
    /// so it has no operation; it runs in the lane so that it never sees a
    /// mutation half done.
    Observe {
        paths: Option<BTreeSet<String>>,
    },
    /// Everything again after the watcher failed, then watch again.
    Rescan,
    /// A build of the snapshot current at its turn.
    Build {
        clean: bool,
        /// One target's name; every declared target when `None`.
        target: Option<String>,
    },
    /// Takes sounds' loudness, measured off the lane (see `measure.rs`):
    /// derived from files, not a change of them, so it has no operation.
    Loudness {
        measured: Vec<super::measure::Measured>,
    },
    /// Evicts least recently used processing cache entries (it must not
    /// run beside a build, which reads and writes the cache).
    PruneCache {
        max_size: Option<u64>,
    },
}

type Queued = (Option<Arc<Operation>>, Job);

pub struct Lane {
    tx: Mutex<Option<mpsc::Sender<Queued>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set by `stop`: looks at the disk still queued are skipped (nobody
    /// will read what they find), operations are still finished.
    stopping: Arc<AtomicBool>,
}

impl Lane {
    pub fn start(project: Weak<Project>) -> Lane {
        let (tx, rx) = mpsc::channel::<Queued>();
        let stopping = Arc::new(AtomicBool::new(false));
        let seen = stopping.clone();
        let thread = std::thread::Builder::new()
            .name("packer-lane".into())
            .spawn(move || run(project, rx, &seen))
            .expect("the lane thread starts");
        Lane { tx: Mutex::new(Some(tx)), thread: Mutex::new(Some(thread)), stopping }
    }

    pub fn submit(&self, op: Option<Arc<Operation>>, job: Job) {
        let tx = self.tx.lock().expect("lane lock");
        let refused = match tx.as_ref() {
            Some(tx) => tx.send((op, job)).err().and_then(|mpsc::SendError((op, _))| op),
            None => op,
        };
        if let Some(op) = refused {
            op.finish_cancelled();
        }
    }

    /// Whether `stop` was called: a look at the disk in progress gives up.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Lets the lane finish what it has and waits for its thread.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        drop(self.tx.lock().expect("lane lock").take());
        if let Some(handle) = self.thread.lock().expect("lane lock").take() {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

fn run(project: Weak<Project>, rx: mpsc::Receiver<Queued>, stopping: &AtomicBool) {
    while let Ok((op, job)) = rx.recv() {
        if op.is_none() && stopping.load(Ordering::SeqCst) {
            continue;
        }
        let Some(project) = project.upgrade() else {
            if let Some(op) = op {
                op.finish_cancelled();
            }
            continue;
        };
        let started = Instant::now();
        let what = match (&op, &job) {
            (_, Job::Observe { paths: Some(p) }) => {
                format!("observe {} path(s): {:?}", p.len(), p.iter().take(3).collect::<Vec<_>>())
            }
            (_, Job::Observe { paths: None }) => "observe everything".to_string(),
            (_, Job::Rescan) => "rescan".to_string(),
            (_, Job::Loudness { measured }) => format!("loudness of {} sound(s)", measured.len()),
            (Some(op), _) => op.id.clone(),
            (None, _) => String::new(),
        };
        let _timing = Timing { what, started, project: project.id.clone() };
        let Some(op) = op else {
            let run = std::panic::AssertUnwindSafe(|| match job {
                Job::Observe { paths } => super::observe::observe(&project, paths.as_ref()),
                Job::Rescan => {
                    // Watch first, so that nothing changed during the scan is missed.
                    let watching = project.rewatch();
                    super::observe::observe(&project, None);
                    project.watch_outcome(watching);
                }
                Job::Loudness { measured } => super::measure::record(&project, measured),
                Job::Apply { .. } | Job::Build { .. } | Job::PruneCache { .. } => {}
            });
            if std::panic::catch_unwind(run).is_err() {
                tracing::error!(project = %project.id, "looking at the disk failed (a bug); the snapshot is unchanged");
            }
            continue;
        };
        if !op.start() {
            // Already finished: cancelled while it waited.
            continue;
        }
        let run = std::panic::AssertUnwindSafe(|| match &job {
            Job::Apply { mutation, expected_generation } => apply(&project, &op, mutation, *expected_generation),
            Job::Build { clean, target } => build(&project, &op, *clean, target.as_deref()),
            Job::PruneCache { max_size } => {
                let (state, result) = crate::build::prune_cache(&project, &op, *max_size);
                finish(&op, state, &result);
            }
            Job::Observe { .. } | Job::Rescan | Job::Loudness { .. } => {}
        });
        // A bug in one job must not take the lane (and every later write) down.
        if std::panic::catch_unwind(run).is_err() {
            fail(&op, "internal error (a bug in the packer; see its log); nothing after the failure was done");
        }
    }
}

/// Logs (at debug level) how long each lane job took, when it ends.
struct Timing {
    what: String,
    started: Instant,
    project: String,
}

impl Drop for Timing {
    fn drop(&mut self) {
        tracing::debug!(project = %self.project, job = %self.what, ms = self.started.elapsed().as_millis() as u64, "lane job done");
    }
}

/// An answer's lists holding only `blockers`.
fn lists_with_blockers(blockers: &Capped<Diagnostic>) -> Result<Lists, Unlisted> {
    let empty = (Capped::default(), Capped::default(), Capped::default());
    mutation::answer_lists(blockers, &empty.0, &empty.1, &empty.2, None)
}

/// What a cancelled apply answers (see `Operation::finish_cancelled_with`):
/// nothing changed (every step done was undone), so its lists are empty.
fn apply_cancelled(op: &Operation, generation: u64) -> ApplyResult {
    Lists::default().applied(&op.id, ApplyOutcome::Cancelled, generation)
}

/// [`apply_cancelled`], for an apply cancelled before it ran, at the
/// generation current when it was cancelled.
pub fn apply_cancelled_before_running(project: Weak<Project>) -> crate::operations::CancelledResult {
    crate::operations::cancelled_result(move |op| {
        apply_cancelled(op, project.upgrade().map_or(0, |p| p.snapshot().generation))
    })
}

/// Ends `op` with its typed result, made JSON once for its terminal event
/// (its `outcome` and `result`) and the response.
fn finish(op: &Operation, state: OpState, result: &impl Serialize) {
    let result = crate::operations::result_json(result);
    op.finish(state, crate::operations::terminal_body(state, result.clone()), Ok(result));
}

fn apply(project: &Project, op: &Operation, mutation: &Mutation, expected_generation: Option<u64>) {
    let _fault = crate::fault::Scope::new(crate::fault::Kind::Apply);
    let snap = project.snapshot();
    if let Some(blockers) = stale_generation(&snap, expected_generation) {
        return match lists_with_blockers(&blockers) {
            Ok(lists) => reject(op, snap.generation, lists),
            Err(e) => fail(op, &e.to_string()),
        };
    }
    let plan = plan_again(project, &snap, mutation);
    // What the result will list, made before anything is changed: a plan
    // the wire cannot carry fails here, not after its commit point.
    let lists = match plan.applied_lists() {
        Ok(lists) => lists,
        Err(e) => return fail(op, &e.to_string()),
    };
    if !plan.blockers.is_empty() {
        return reject(op, snap.generation, lists);
    }
    let state_dir = project.state_dir();
    let trash = super::write::intent::trash_rel(&op.id);
    let registry_text = registry_text(&plan);
    // From the first change on disk until the new snapshot is published,
    // previews wait (they would otherwise see files moved and a registry not).
    let _gate = project.disk_gate.write().unwrap_or_else(|e| e.into_inner());
    if let Err(message) = record_intent(project, op, &state_dir, &plan, registry_text.as_deref()) {
        return fail(op, &message);
    }
    let mut executed = match run_steps(project, op, &trash, &plan) {
        Ok(executed) => executed,
        Err(e) => return end_undone(op, &state_dir, snap.generation, e),
    };
    let registry_hash = match commit_registry(project, &state_dir, &plan, registry_text.as_deref()) {
        Ok(hash) => hash,
        Err(message) => {
            let not_undone = executed.rollback();
            return match end_intent(op, &state_dir, &not_undone) {
                Some(kept) => fail_with(op, FailureReason::ApplyNotUndone, &(message + &kept)),
                None => fail(op, &message),
            };
        }
    };
    // Committed: from here on the operation succeeds whatever happens.
    crate::fault::point("committed: registry written");
    remember_applied(project, &plan, registry_hash);
    executed.commit();
    crate::fault::point("trash emptied");
    let generation = publish_applied(project, op, &snap, &plan);
    crate::fault::point("published");
    let result = lists.applied(&op.id, ApplyOutcome::Applied, generation);
    finish(op, OpState::Succeeded, &result);
    // Only now: until the terminal event is journaled, the intent is what
    // tells the next open that this apply took effect.
    super::write::intent::clear(&state_dir);
    crate::fault::point("intent cleared");
}

/// The blocker of an apply that expected a generation other than the
/// current one or one since which only sounds' loudness figures arrived
/// (measured in the background, they change nothing a mutation decides on).
fn stale_generation(snap: &Snapshot, expected: Option<u64>) -> Option<Capped<Diagnostic>> {
    let expected = expected.filter(|expected| !(snap.changed_at..=snap.generation).contains(expected))?;
    let blocker = Diagnostic::blocker(
        "staleGeneration",
        format!("expected generation {expected}, but the project is at generation {}", snap.generation),
        None,
        None,
    );
    let mut blockers = Capped::default();
    blockers.push(blocker);
    Some(blockers)
}

/// Ends an apply as rejected: nothing was changed.
fn reject(op: &Operation, generation: u64, lists: Lists) {
    finish(op, OpState::Rejected, &lists.applied(&op.id, ApplyOutcome::Rejected, generation));
}

/// The plan made again at the apply's turn, against the snapshot current
/// then: nothing checked earlier (by a preview) is trusted.
fn plan_again(project: &Project, snap: &Snapshot, mutation: &Mutation) -> Plan {
    let mut disk = project.disk();
    mutation::plan(&project.root, snap, mutation, Some(&mut disk.cache))
}

/// The registry file the plan writes, when it writes one.
fn registry_text(plan: &Plan) -> Option<String> {
    plan.write_registry
        .then(|| registry::render_merged(plan.contents.assets.values().map(|a| &a.entry), &plan.contents.conflicts))
}

/// The intent goes to disk before the first step: a crash from here to the
/// commit point is settled on the next open (see `intent`).
fn record_intent(
    project: &Project,
    op: &Operation,
    state_dir: &Path,
    plan: &Plan,
    registry_text: Option<&str>,
) -> Result<(), String> {
    let Some(intent) = intent_of(project, op, plan, registry_text) else {
        return Ok(());
    };
    if let Err(e) = super::write::intent::write(state_dir, &intent) {
        return Err(format!("cannot record the intent before changing anything: {e}"));
    }
    crate::fault::point("intent written");
    Ok(())
}

/// The plan's file steps, done in order; progress is reported between
/// them, and a cancel undoes them.
fn run_steps<'p>(project: &'p Project, op: &Operation, trash: &str, plan: &Plan) -> Result<Executed<'p>, Stopped> {
    let last_report = std::cell::Cell::new(Instant::now());
    let check = |done: usize, total: usize| {
        // Report progress at a rate a UI can draw, never faster.
        if total > 1 && last_report.get().elapsed() >= Duration::from_millis(50) {
            op.progress(done as u64, total as u64, "applying");
            last_report.set(Instant::now());
        }
        op.is_cancel_requested()
    };
    mutation::execute(&project.sandbox, trash, &plan.steps, &check)
}

/// Ends an apply whose file steps were cancelled or failed: the steps done
/// were undone, so the project is as it was, unless some could not be (a
/// failure that says which, with the parked files kept for a person).
fn end_undone(op: &Operation, state_dir: &Path, generation: u64, stopped: Stopped) {
    match (stopped.error, end_intent(op, state_dir, &stopped.not_undone)) {
        (e, Some(kept)) => fail_with(op, FailureReason::ApplyNotUndone, &(e.to_string() + &kept)),
        (ExecError::Cancelled, None) => {
            op.finish_cancelled_with(crate::operations::result_json(&apply_cancelled(op, generation)));
        }
        (e, None) => fail(op, &e.to_string()),
    }
}

/// Clears the intent of an apply that stopped before its commit point.
/// When its undo left steps not undone, the files it parked are first
/// moved, durably, where no open empties them
/// (`.packer/recovered/<operation>`), and the failure says so; if they
/// cannot be, the intent stays, and the next open settles it (keeping
/// them aside). Answers the words to add to the failure (`None` when
/// everything was undone).
fn end_intent(op: &Operation, state_dir: &Path, not_undone: &[String]) -> Option<String> {
    if not_undone.is_empty() {
        super::write::intent::clear(state_dir);
        return None;
    }
    let steps = not_undone.join("; ");
    let kept = match super::write::intent::keep_trash_of(state_dir, &op.id) {
        Ok(Some(_)) => format!(
            "; what the apply had set aside is kept in {}/recovered/{}/",
            crate::project::disk::state::STATE_DIR,
            op.id
        ),
        Ok(None) => String::new(),
        Err(e) => {
            tracing::error!(operation = %op.id, error = %e, "cannot keep a failed apply's trash aside; its intent stays for the next open");
            return Some(format!(
                "; undoing it failed for {steps}; its intent is kept, and the next open puts back what it can and keeps the rest aside"
            ));
        }
    };
    super::write::intent::clear(state_dir);
    Some(format!("; undoing it failed for {steps}{kept}"))
}

/// The commit point: the registry file written, or (for a reload) found
/// still to be exactly what was reloaded. Answers the registry's hash
/// (empty when the apply does not touch it).
fn commit_registry(
    project: &Project,
    state_dir: &Path,
    plan: &Plan,
    registry_text: Option<&str>,
) -> Result<String, String> {
    let registry_path = project.root.join(registry::REGISTRY_FILE);
    if let Some(text) = registry_text {
        crate::fsutil::write_atomic(&registry_path, text.as_bytes())
            .map(|()| {
                super::baseline::remember_registry(state_dir, text.as_bytes());
                registry::content_hash(text.as_bytes())
            })
            .map_err(|e| format!("writing {}: {e}", registry::REGISTRY_FILE))
    } else if let Some(expected) = &plan.adopt_registry_hash {
        let bytes = std::fs::read(&registry_path).unwrap_or_default();
        let now = registry::content_hash(&bytes);
        if &now == expected {
            super::baseline::remember_registry(state_dir, &bytes);
            Ok(now)
        } else {
            Err(format!("{} changed again since it was looked at; look again and reconcile", registry::REGISTRY_FILE))
        }
    } else {
        Ok(String::new())
    }
}

/// What the packer knows of the disk, brought up to date with the
/// committed apply: the files it wrote are its own.
fn remember_applied(project: &Project, plan: &Plan, registry_hash: String) {
    let mut disk = project.disk();
    if !registry_hash.is_empty() {
        disk.registry_hash = registry_hash;
    }
    if let Some(h) = &plan.manifest_hash {
        disk.manifest_hash = h.clone();
        if let Ok(bytes) = std::fs::read(project.root.join(super::format::manifest::MANIFEST_FILE)) {
            super::baseline::remember_manifest(&project.state_dir(), &bytes);
        }
    }
    for step in &plan.steps {
        match step {
            mutation::Step::Move { from, to } => disk.cache.rename(from, to),
            mutation::Step::Delete { path } => disk.cache.forget(path),
            // Read again when next looked at: the packer's own write.
            mutation::Step::Rewrite(rw) => disk.cache.forget(&rw.path),
            _ => {}
        }
    }
}

/// Publishes the applied plan's snapshot, when it changes anything (the
/// watches following new asset roots first). Answers the generation.
fn publish_applied(project: &Project, op: &Operation, snap: &Snapshot, plan: &Plan) -> u64 {
    if !plan.changes_anything() {
        return snap.generation;
    }
    let manifest = plan.manifest.clone().unwrap_or_else(|| snap.manifest.clone());
    if plan.manifest.is_some() {
        if let Some(w) = project.watcher() {
            if let Err(e) = w.set_roots(manifest.roots.clone()) {
                project.watch_degraded(&format!("the new asset roots cannot be watched: {e}"));
            }
        }
    }
    let next = Snapshot::new(snap.generation + 1, manifest, plan.contents.clone(), snap.project_diagnostics.clone());
    project.publish(snap, next, Some(op))
}

/// The intent of an apply that changes files or the registry.
fn intent_of(
    project: &Project,
    op: &Operation,
    plan: &Plan,
    registry_text: Option<&str>,
) -> Option<super::write::intent::Intent> {
    use super::write::intent::{Intent, IntentStep};
    if plan.steps.is_empty() && registry_text.is_none() {
        return None;
    }
    let registry_before = project.disk().registry_hash.clone();
    let registry_after = match (registry_text, &plan.adopt_registry_hash) {
        (Some(text), _) => registry::content_hash(text.as_bytes()),
        (None, Some(h)) => h.clone(),
        (None, None) => registry_before.clone(),
    };
    let mut parked = 0;
    // Test builds have a step kind with no intent (`testSleep`), hence filter_map.
    #[allow(clippy::unnecessary_filter_map)]
    let steps = plan
        .steps
        .iter()
        .filter_map(|s| match s {
            mutation::Step::Move { from, to } => Some(IntentStep::Move { from: from.clone(), to: to.clone() }),
            mutation::Step::Delete { path } => {
                parked += 1;
                Some(IntentStep::Delete { path: path.clone(), parked: parked - 1 })
            }
            mutation::Step::Rewrite(rw) => {
                parked += 1;
                Some(IntentStep::Rewrite {
                    path: rw.path.clone(),
                    parked: parked - 1,
                    before_hash: rw.before.to_hex().to_string(),
                    after_hash: registry::content_hash(&rw.bytes),
                })
            }
            mutation::Step::WriteManifest { text } => {
                let before = std::fs::read_to_string(project.root.join(super::format::manifest::MANIFEST_FILE))
                    .unwrap_or_default();
                Some(IntentStep::WriteManifest { before, after_hash: registry::content_hash(text.as_bytes()) })
            }
            #[cfg(feature = "test-hooks")]
            mutation::Step::Sleep { .. } => None,
        })
        .collect();
    Some(Intent { operation_id: op.id.clone(), registry_before, registry_after, steps })
}

fn build(project: &Project, op: &Operation, clean: bool, target: Option<&str>) {
    let _fault = crate::fault::Scope::new(crate::fault::Kind::Build);
    let outcome = crate::build::run(project, op, clean, target);
    let (state, result) = match outcome {
        crate::build::Outcome::Succeeded(r) => (OpState::Succeeded, r),
        crate::build::Outcome::Failed(r) => (OpState::Failed, r),
        crate::build::Outcome::Cancelled(r) => (OpState::Cancelled, r),
    };
    project.record_build(op, &result);
    crate::fault::point("build recorded");
    if state == OpState::Cancelled && op.cancelled_by_request() {
        op.finish_cancelled();
        return;
    }
    finish(op, state, &result);
    if state == OpState::Succeeded {
        // Its terminal event is journaled: the commit record has done its job.
        crate::build::commit::clear(&project.state_dir());
    }
}

fn fail(op: &Operation, message: &str) {
    fail_with(op, FailureReason::ApplyFailed, message);
}

fn fail_with(op: &Operation, reason: FailureReason, message: &str) {
    let what = match reason {
        FailureReason::ApplyNotUndone => "apply failed, and not all of it could be undone",
        _ => "apply failed, nothing was changed",
    };
    tracing::error!(operation = %op.id, %message, "{what}");
    let error = OperationFailure { reason, operation_id: op.id.clone(), message: message.to_string() };
    let err = RpcError::new(crate::transport::message::code::REQUEST_FAILED, format!("{what}: {message}"))
        .with_data(serde_json::to_value(&error).expect("a failure serialises"));
    let body = EventBody::Failed { outcome: FailedOutcome::Failed, result: None, error: Some(error), recovered: None };
    op.finish(OpState::Failed, body, Err(err));
}
