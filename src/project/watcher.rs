//! Watching a project's files with `notify`, debounced.
//!
//! The watcher never changes anything: it tells the lane which paths to
//! look at again (`Project::observe`). When it fails or falls behind (an
//! overflowed event queue, a watch that cannot be placed, a root removed),
//! the project says so with a `watchDegraded` event, is rescanned in full, and
//! says `watchRestored` once watching works again.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use notify_debouncer_full::notify::{self, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer_opt, DebounceEventResult, Debouncer, NoCache};

use super::{paths, Project};

/// How long events settle before the lane looks at them.
pub const DEBOUNCE: Duration = Duration::from_millis(100);

pub struct Watcher {
    root: PathBuf,
    /// The asset roots, relative (they change when the manifest is reloaded).
    asset_roots: Mutex<Vec<String>>,
    debouncer: Mutex<Debouncer<RecommendedWatcher, NoCache>>,
    /// Asset roots currently watched.
    watched: Mutex<BTreeSet<String>>,
}

impl Watcher {
    pub fn start(project: &Arc<Project>) -> notify::Result<Arc<Watcher>> {
        let weak: Weak<Project> = Arc::downgrade(project);
        let root = project.root.clone();
        let handler_root = root.clone();
        let handler = move |result: DebounceEventResult| {
            let Some(project) = weak.upgrade() else { return };
            match result {
                Ok(events) => {
                    let mut rescan = false;
                    let mut changed = BTreeSet::new();
                    for ev in events {
                        rescan |= ev.need_rescan();
                        // Opening or reading a file changes nothing; and the
                        // packer's own reads (a build reads every asset)
                        // would otherwise come back as a storm of looks.
                        if matches!(ev.kind, notify::EventKind::Access(_)) {
                            continue;
                        }
                        for p in &ev.paths {
                            let Some(rel) = paths::relative_of(&handler_root, p) else { continue };
                            let ours = rel.split('/').any(|seg| seg == ".packer" || seg == ".git");
                            if rel.is_empty() || ours {
                                continue;
                            }
                            changed.insert(rel);
                        }
                    }
                    if rescan {
                        project.watch_degraded("the file system's event queue overflowed; events were lost");
                    } else if !changed.is_empty() {
                        if let Some(w) = project.watcher() {
                            if let Err(e) = w.ensure_roots(&changed) {
                                project.watch_degraded(&format!("a new asset root cannot be watched: {e}"));
                                return;
                            }
                        }
                        project.observe(Some(changed));
                    }
                }
                Err(errors) => {
                    let reason = errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
                    project.watch_degraded(&format!("the watcher failed: {reason}"));
                }
            }
        };
        let mut debouncer = new_debouncer_opt::<_, RecommendedWatcher, NoCache>(
            DEBOUNCE,
            None,
            handler,
            NoCache,
            notify::Config::default(),
        )?;
        debouncer.watch(&root, RecursiveMode::NonRecursive)?;
        let watcher = Arc::new(Watcher {
            root,
            asset_roots: Mutex::new(project.snapshot().manifest.roots.clone()),
            debouncer: Mutex::new(debouncer),
            watched: Mutex::new(BTreeSet::new()),
        });
        watcher.watch_roots()?;
        Ok(watcher)
    }

    /// Places a recursive watch on every asset root that exists and is not
    /// watched yet.
    pub fn watch_roots(&self) -> notify::Result<()> {
        let roots = self.asset_roots.lock().expect("roots lock").clone();
        let mut watched = self.watched.lock().expect("watched lock");
        let mut debouncer = self.debouncer.lock().expect("debouncer lock");
        for r in watched.clone() {
            if !roots.contains(&r) {
                let _ = debouncer.unwatch(paths::absolute(&self.root, &r));
                watched.remove(&r);
            }
        }
        for r in &roots {
            let abs = paths::absolute(&self.root, r);
            if !abs.is_dir() {
                watched.remove(r);
                continue;
            }
            if !watched.contains(r) {
                debouncer.watch(&abs, RecursiveMode::Recursive)?;
                watched.insert(r.clone());
            }
        }
        Ok(())
    }

    /// Drops and places again every watch (after a failure).
    pub fn rewatch(&self) -> notify::Result<()> {
        self.unwatch_all();
        self.debouncer.lock().expect("debouncer lock").watch(&self.root, RecursiveMode::NonRecursive)?;
        self.watch_roots()
    }

    /// Drops every watch.
    pub fn unwatch_all(&self) {
        let _ = self.debouncer.lock().expect("debouncer lock").unwatch(&self.root);
        {
            let mut watched = self.watched.lock().expect("watched lock");
            let mut debouncer = self.debouncer.lock().expect("debouncer lock");
            for r in watched.iter() {
                let _ = debouncer.unwatch(paths::absolute(&self.root, r));
            }
            watched.clear();
        }
    }

    /// The manifest's asset roots changed (a reload): watch the new set.
    pub fn set_roots(&self, roots: Vec<String>) -> notify::Result<()> {
        *self.asset_roots.lock().expect("roots lock") = roots;
        self.watch_roots()
    }

    /// An asset root created (or removed) since: watch it (or forget it).
    fn ensure_roots(&self, changed: &BTreeSet<String>) -> notify::Result<()> {
        let roots = self.asset_roots.lock().expect("roots lock").clone();
        if roots.iter().any(|r| changed.iter().any(|c| r == c || r.starts_with(&format!("{c}/")))) {
            self.watch_roots()?;
        }
        Ok(())
    }
}
