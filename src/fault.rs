//! Fault injection for the crash tests (test builds only).
//!
//! With `STUDIO_PACKER_TEST_CRASH_AT=<kind>:<n>` (kind `apply` or `build`),
//! the process kills itself with SIGKILL at the n-th fault point it reaches
//! while an operation of that kind runs, as `kill -9` or a power cut would
//! stop it: no destructor runs, nothing is flushed. A test walks n = 1, 2, …
//! until the operation ends without reaching point n, so every point of the
//! code path is covered whatever their number. `STUDIO_PACKER_TEST_FAULTS_LOG`
//! names a file that receives one line per point reached (its label), so a
//! test can report which step each crash was.
//!
//! Without the `test-hooks` feature every function here is empty.

/// The operation kinds that have fault points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Apply,
    Build,
}

#[cfg(feature = "test-hooks")]
mod imp {
    use super::Kind;
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
    use std::sync::OnceLock;

    struct Config {
        kind: Option<(Kind, u64)>,
        log: Option<std::path::PathBuf>,
    }

    fn config() -> &'static Config {
        static CONFIG: OnceLock<Config> = OnceLock::new();
        CONFIG.get_or_init(|| {
            let kind = std::env::var("STUDIO_PACKER_TEST_CRASH_AT").ok().and_then(|v| {
                let (k, n) = v.split_once(':')?;
                let kind = match k {
                    "apply" => Kind::Apply,
                    "build" => Kind::Build,
                    _ => return None,
                };
                Some((kind, n.parse().ok()?))
            });
            let log = std::env::var_os("STUDIO_PACKER_TEST_FAULTS_LOG").map(Into::into);
            Config { kind, log }
        })
    }

    /// 0: none; 1: apply; 2: build.
    static ACTIVE: AtomicU8 = AtomicU8::new(0);
    static REACHED: AtomicU64 = AtomicU64::new(0);

    fn code(kind: Kind) -> u8 {
        match kind {
            Kind::Apply => 1,
            Kind::Build => 2,
        }
    }

    pub fn begin(kind: Kind) {
        REACHED.store(0, Ordering::SeqCst);
        ACTIVE.store(code(kind), Ordering::SeqCst);
    }

    pub fn end() {
        ACTIVE.store(0, Ordering::SeqCst);
    }

    pub fn point(label: &str) {
        let active = ACTIVE.load(Ordering::SeqCst);
        if active == 0 {
            return;
        }
        let n = REACHED.fetch_add(1, Ordering::SeqCst) + 1;
        let cfg = config();
        if let Some(path) = &cfg.log {
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                // One write of the whole line: O_APPEND keeps lines from two
                // threads whole.
                let _ = f.write_all(format!("{n} {label}\n").as_bytes());
            }
        }
        if let Some((kind, at)) = cfg.kind {
            if code(kind) == active && at == n {
                // SIGKILL, not abort(): no handler, no core file, no unwinding.
                unsafe {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
            }
        }
    }
}

/// While alive, an operation of `kind` runs: fault points count from its
/// creation (the crash tests use one project, so one lane).
#[must_use]
pub struct Scope(());

impl Scope {
    #[inline]
    pub fn new(_kind: Kind) -> Scope {
        #[cfg(feature = "test-hooks")]
        imp::begin(_kind);
        Scope(())
    }
}

impl Drop for Scope {
    #[inline]
    fn drop(&mut self) {
        #[cfg(feature = "test-hooks")]
        imp::end();
    }
}

/// A point where a crash must leave the project recoverable. `label` says
/// which step has just been made durable (or is about to be).
#[inline]
pub fn point(_label: &str) {
    #[cfg(feature = "test-hooks")]
    imp::point(_label);
}
