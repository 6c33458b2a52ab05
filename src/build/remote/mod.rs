//! The shared processing cache: a studio's machines share what each has
//! processed through storage they already run (S3-compatible or a plain
//! HTTP/WebDAV cache), so an asset is processed once across all of them.
//!
//! Laid out as Bazel's remote cache: `ac/<key>` is a small action record
//! (see [`record`]) naming the stored bytes under `cas/<hash>`. The key is
//! the local cache's ([`super::cache::key`]), so the same content in two
//! projects is one entry.
//!
//! The remote is best effort, always: a build never fails because of it.
//! Every download is checked against its hash before it is used; a failed
//! request is a miss; after [`MAX_CONSECUTIVE_FAILURES`] failures in a row,
//! or at once on a 401/403, the remote is off for the rest of the build,
//! and the build says so once. Requests run on a small runtime of their own
//! (the build's processing threads are rayon's), many in flight: one
//! request costs tens of milliseconds, and a build asks thousands.

pub mod config;
pub mod record;
pub mod store;

use crate::protocol::events::{EventBody, RemoteDisabledReason, RemoteDisabledScope};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;

use super::cache::{Key, StoredMeta};
use crate::project::format::manifest::{RemoteMode, RemoteSettings};
use crate::project::model::{Diagnostic, Severity};
use crate::protocol::model::RemoteStats;
use config::{Env, Resolved};
use store::{Store, StoreError};

/// Failed requests in a row after which the remote is off for the build.
pub const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// Bytes queued for upload at most; processing waits beyond it.
const UPLOAD_QUEUE_BYTES: usize = 256 << 20;
/// Downloaded bytes the build has not taken yet, at most: a lookup waits
/// for room before it asks for a blob, never while a request is in flight.
const DOWNLOAD_BYTES: usize = 256 << 20;
/// How long a build's end waits for its uploads, at most.
pub const UPLOAD_DRAIN: Duration = Duration::from_secs(60);
/// Corrupt entries named one by one in a build's diagnostics, at most.
const CORRUPT_NAMED: usize = 10;

/// The runtime every remote request runs on: two threads are plenty to
/// keep many requests in flight, and it outlives builds, as do the
/// connections of the last store used.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("packer-remote")
            .enable_all()
            .build()
            .expect("the remote cache's runtime starts")
    })
}

/// The store of the last configuration used, kept so that its connections
/// are reused by the next build.
fn store_for(resolved: &Resolved) -> Result<Arc<dyn Store>, String> {
    static LAST: Mutex<Option<(Resolved, Arc<dyn Store>)>> = Mutex::new(None);
    let mut last = LAST.lock().expect("remote store lock");
    if let Some((r, store)) = last.as_ref() {
        if r == resolved {
            return Ok(store.clone());
        }
    }
    // Building the HTTP client registers with the runtime.
    let _guard = runtime().enter();
    let store: Arc<dyn Store> = Arc::new(store::ObjectStoreBackend::open(resolved)?);
    *last = Some((resolved.clone(), store.clone()));
    Ok(store)
}

/// What a lookup found.
pub enum Fetched {
    /// An action record and its blob, still to be checked ([`RemoteCache::accept`]).
    /// The blob's share of [`DOWNLOAD_BYTES`] is given back when this is dropped.
    Found { meta: StoredMeta, blob: Bytes, held: Held },
    /// Nothing usable: process the asset.
    Miss,
    /// An action record that does not decode: process the asset.
    Corrupt(String),
}

/// A found blob's share of the download budget.
pub struct Held {
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// Counters and state shared with the requests in flight.
#[derive(Default)]
struct Shared {
    hits: AtomicU64,
    misses: AtomicU64,
    corrupt: AtomicU64,
    uploaded: AtomicU64,
    errors: AtomicU64,
    bytes_down: AtomicU64,
    bytes_up: AtomicU64,
    consecutive: AtomicU32,
    /// Why the remote was switched off, once it is; and whether the cause
    /// was a refusal (401/403).
    disabled: OnceLock<(bool, String)>,
    /// Why uploads were switched off (a refused write: these credentials
    /// may read but not write); lookups go on.
    uploads_refused: OnceLock<String>,
    /// Set when the build ends or is cancelled: no new request starts.
    stop: AtomicBool,
    /// Corrupt entries: (key, path, why).
    corrupt_entries: Mutex<Vec<(String, String, String)>>,
    /// Keys found corrupt: uploading one again replaces what the remote
    /// holds, even where writes are conditional.
    corrupt_keys: Mutex<HashSet<Key>>,
    /// Lookups answered 403 `AccessDenied` (counted as misses too).
    denied: AtomicU64,
}

impl Shared {
    fn off(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.disabled.get().is_some()
    }

    fn uploads_off(&self) -> bool {
        self.off() || self.uploads_refused.get().is_some()
    }
}

/// One build's use of the remote cache.
pub struct RemoteCache {
    store: Arc<dyn Store>,
    url: String,
    mode: RemoteMode,
    credential_source: String,
    in_flight: usize,
    shared: Arc<Shared>,
    /// Uploads waiting for a slot; closed by [`RemoteCache::finish`].
    uploads: Mutex<Option<tokio::sync::mpsc::UnboundedSender<Upload>>>,
    uploader: Mutex<Option<tokio::task::JoinHandle<()>>>,
    lookup_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    queue_bytes: Arc<tokio::sync::Semaphore>,
    download_bytes: Arc<tokio::sync::Semaphore>,
}

/// The answers to [`RemoteCache::lookups`], as they come. The lookups go on
/// whether or not the build takes them (a request left unpolled while the
/// workers cook would run out its timeout and count as a failure: measured,
/// 102 of 597 lookups of a texture build failed so); what bounds memory is
/// [`DOWNLOAD_BYTES`], which a lookup waits for before asking for a blob.
pub struct Lookups {
    rx: tokio::sync::mpsc::UnboundedReceiver<(usize, Fetched)>,
}

impl Iterator for Lookups {
    type Item = (usize, Fetched);

    fn next(&mut self) -> Option<(usize, Fetched)> {
        self.rx.blocking_recv()
    }
}

struct Upload {
    key: Key,
    meta: StoredMeta,
    stored: Bytes,
    /// Replace what the remote holds (it was found corrupt).
    overwrite: bool,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// What a build reports about the remote.
pub struct Report {
    pub stats: RemoteStats,
    pub diagnostics: Vec<Diagnostic>,
    /// The `remoteCacheDisabled` event's payload, when it (or its uploads) was switched off.
    pub disabled: Option<EventBody>,
}

/// The statistics of a build that did not use a remote.
pub fn unused_stats(mode: RemoteMode) -> RemoteStats {
    stats(mode, &Shared::default())
}

/// `stats.remote`: what the counters say now.
fn stats(mode: RemoteMode, s: &Shared) -> RemoteStats {
    let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
    RemoteStats {
        mode,
        hits: get(&s.hits),
        misses: get(&s.misses),
        corrupt: get(&s.corrupt),
        uploaded: get(&s.uploaded),
        errors: get(&s.errors),
        bytes_down: get(&s.bytes_down),
        bytes_up: get(&s.bytes_up),
    }
}

impl RemoteCache {
    /// The remote `[cache.remote]` names, resolved against the process's
    /// environment; `None` when there is none, its mode is `off`, or it
    /// cannot be set up (then a warning says why). Configuration warnings
    /// come back either way.
    pub fn open(settings: Option<&RemoteSettings>) -> (Option<RemoteCache>, Vec<Diagnostic>) {
        RemoteCache::open_in(settings, &config::ProcessEnv)
    }

    pub fn open_in(settings: Option<&RemoteSettings>, env: &dyn Env) -> (Option<RemoteCache>, Vec<Diagnostic>) {
        let (resolved, warnings) = config::resolve(settings, env);
        let mut diagnostics: Vec<Diagnostic> = warnings.into_iter().map(|w| warning("remoteCacheConfig", w)).collect();
        let Some(resolved) = resolved else { return (None, diagnostics) };
        match store_for(&resolved) {
            Ok(store) => (Some(RemoteCache::new(store, &resolved)), diagnostics),
            Err(e) => {
                diagnostics.push(warning(
                    "remoteCacheConfig",
                    format!("the remote cache {} cannot be used: {e}; building locally", resolved.url),
                ));
                (None, diagnostics)
            }
        }
    }

    pub fn new(store: Arc<dyn Store>, resolved: &Resolved) -> RemoteCache {
        RemoteCache {
            store,
            url: resolved.url.clone(),
            mode: resolved.mode,
            credential_source: resolved.credential_source.clone(),
            in_flight: resolved.requests_in_flight.max(1),
            shared: Arc::new(Shared::default()),
            uploads: Mutex::new(None),
            uploader: Mutex::new(None),
            lookup_task: Mutex::new(None),
            queue_bytes: Arc::new(tokio::sync::Semaphore::new(UPLOAD_QUEUE_BYTES)),
            download_bytes: Arc::new(tokio::sync::Semaphore::new(DOWNLOAD_BYTES)),
        }
    }

    pub fn writes(&self) -> bool {
        self.mode == RemoteMode::ReadWrite
    }

    /// Looks up every key, many at once; each answer is sent as it comes
    /// (in no particular order) with the index it was given. Every key
    /// gets exactly one answer; once the remote is off, the rest are misses
    /// without a request.
    pub fn lookups(&self, keys: Vec<(usize, Key)>) -> Lookups {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let ctx = self.context();
        let in_flight = self.in_flight;
        let task = runtime().spawn(async move {
            let ctx = &ctx;
            let mut answers = futures::stream::iter(keys)
                .map(|(i, key)| async move { (i, ctx.lookup(&key).await) })
                .buffer_unordered(in_flight);
            while let Some(answer) = answers.next().await {
                if tx.send(answer).is_err() {
                    return;
                }
            }
        });
        *self.lookup_task.lock().expect("lookup task lock") = Some(task);
        Lookups { rx }
    }

    /// Checks a found entry's bytes: true when they are whole and what the
    /// record says. A mismatch is counted as corrupt, named in a warning
    /// with `path`, and never used. (A hit is counted by [`RemoteCache::hit`],
    /// once the entry is in the local cache.)
    pub fn accept(&self, key: &Key, path: &str, meta: &StoredMeta, blob: &[u8]) -> bool {
        match record::verify(meta, blob) {
            Ok(()) => true,
            Err(why) => {
                self.corrupt(key, path, why);
                false
            }
        }
    }

    /// Counts a unit taken from the remote.
    pub fn hit(&self) {
        self.shared.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a corrupt entry (a record that did not decode, or bytes that
    /// do not match it).
    pub fn corrupt(&self, key: &Key, path: &str, why: String) {
        self.shared.corrupt.fetch_add(1, Ordering::Relaxed);
        self.shared.corrupt_keys.lock().expect("corrupt keys lock").insert(*key);
        let mut list = self.shared.corrupt_entries.lock().expect("corrupt list lock");
        list.push((crate::hash::hex(key), path.to_string(), why));
    }

    /// Queues a processed entry for upload (in read-write mode; nothing
    /// otherwise). Waits while the queue holds too many bytes.
    pub fn upload(&self, key: &Key, meta: &StoredMeta, stored: Vec<u8>) {
        if !self.writes() || self.shared.uploads_off() {
            return;
        }
        let want = stored.len().clamp(1, UPLOAD_QUEUE_BYTES) as u32;
        let Ok(permit) = runtime().block_on(self.queue_bytes.clone().acquire_many_owned(want)) else { return };
        let mut uploads = self.uploads.lock().expect("upload queue lock");
        let tx = uploads.get_or_insert_with(|| {
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Upload>();
            let ctx = self.context();
            let in_flight = self.in_flight;
            let task = runtime().spawn(async move {
                let ctx = &ctx;
                tokio_stream_of(rx).for_each_concurrent(in_flight, |u| async move { ctx.upload(u).await }).await;
            });
            *self.uploader.lock().expect("uploader lock") = Some(task);
            tx
        });
        let overwrite = self.shared.corrupt_keys.lock().expect("corrupt keys lock").contains(key);
        let _ =
            tx.send(Upload { key: *key, meta: meta.clone(), stored: Bytes::from(stored), overwrite, _permit: permit });
    }

    /// Stops everything at once, requests in flight included (a cancelled
    /// build): what was not looked up yet is a miss, what was not uploaded
    /// yet is not.
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        for task in [&self.lookup_task, &self.uploader] {
            if let Some(t) = task.lock().expect("remote task lock").as_ref() {
                t.abort();
            }
        }
    }

    /// Waits for the queued uploads (at most `drain`), then reports.
    pub fn finish(self, drain: Duration) -> Report {
        drop(self.uploads.lock().expect("upload queue lock").take());
        let mut diagnostics = Vec::new();
        if let Some(task) = self.uploader.lock().expect("uploader lock").take() {
            let abort = task.abort_handle();
            if runtime().block_on(async { tokio::time::timeout(drain, task).await }).is_err() {
                abort.abort();
                self.shared.stop.store(true, Ordering::Relaxed);
                diagnostics.push(warning(
                    "remoteCacheUploads",
                    format!(
                        "uploads to the remote cache {} took longer than {} s; the rest were abandoned",
                        self.url,
                        drain.as_secs()
                    ),
                ));
            }
        }
        self.shared.stop.store(true, Ordering::Relaxed);
        let s = &self.shared;
        let mut corrupt = std::mem::take(&mut *s.corrupt_entries.lock().expect("corrupt list lock"));
        corrupt.sort();
        for (key, path, why) in corrupt.iter().take(CORRUPT_NAMED) {
            diagnostics.push(warning(
                "remoteCacheCorrupt",
                format!("remote cache entry ac/{key} (for `{path}`) is corrupt: {why}; not used, processed locally"),
            ));
        }
        if corrupt.len() > CORRUPT_NAMED {
            diagnostics.push(warning(
                "remoteCacheCorrupt",
                format!("{} more remote cache entries are corrupt; not used", corrupt.len() - CORRUPT_NAMED),
            ));
        }
        let mut disabled = None;
        if let Some(why) = s.uploads_refused.get() {
            diagnostics.push(warning("remoteCacheRefused", why.clone()));
            disabled = Some(EventBody::RemoteCacheDisabled {
                url: self.url.clone(),
                reason: RemoteDisabledReason::Refused,
                message: why.clone(),
                scope: RemoteDisabledScope::Uploads,
            });
        }
        let denied = s.denied.load(Ordering::Relaxed);
        if denied > 0 && s.hits.load(Ordering::Relaxed) == 0 && s.disabled.get().is_none() {
            diagnostics.push(warning(
                "remoteCacheConfig",
                format!(
                    "{denied} lookups in the remote cache {} were answered 403 AccessDenied and none found an entry: \
                     the credentials from {} may not read it (a reader needs s3:GetObject, and s3:ListBucket \
                     for a missing entry to be a 404)",
                    self.url, self.credential_source
                ),
            ));
        }
        if let Some((refused, why)) = s.disabled.get() {
            let code = if *refused { "remoteCacheRefused" } else { "remoteCacheDisabled" };
            diagnostics.push(warning(code, why.clone()));
            let reason = if *refused { RemoteDisabledReason::Refused } else { RemoteDisabledReason::Failures };
            disabled = Some(EventBody::RemoteCacheDisabled {
                url: self.url.clone(),
                reason,
                message: why.clone(),
                scope: RemoteDisabledScope::All,
            });
        }
        Report { stats: stats(self.mode, s), diagnostics, disabled }
    }

    fn context(&self) -> Context {
        Context {
            store: self.store.clone(),
            shared: self.shared.clone(),
            url: self.url.clone(),
            credential_source: self.credential_source.clone(),
            download_bytes: self.download_bytes.clone(),
        }
    }
}

/// A tokio receiver as a stream.
fn tokio_stream_of<T: Send + 'static>(
    mut rx: tokio::sync::mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

fn warning(code: &str, message: String) -> Diagnostic {
    Diagnostic::project(Severity::Warning, code, message, None)
}

/// What the requests in flight need: owned, so that they outlive the call
/// that started them.
struct Context {
    store: Arc<dyn Store>,
    shared: Arc<Shared>,
    url: String,
    credential_source: String,
    download_bytes: Arc<tokio::sync::Semaphore>,
}

impl Context {
    async fn lookup(&self, key: &Key) -> Fetched {
        let record = match self.get(&record::ac_name(key)).await {
            Some(Some(bytes)) => bytes,
            Some(None) => {
                self.shared.misses.fetch_add(1, Ordering::Relaxed);
                return Fetched::Miss;
            }
            None => return Fetched::Miss,
        };
        let meta = match record::decode(key, &record) {
            Ok(meta) => meta,
            Err(why) => return Fetched::Corrupt(why),
        };
        let want = meta.length.clamp(1, DOWNLOAD_BYTES as u64) as u32;
        let Ok(permit) = self.download_bytes.clone().acquire_many_owned(want).await else { return Fetched::Miss };
        match self.get(&record::cas_name(&meta.stored_hash)).await {
            Some(Some(blob)) => Fetched::Found { meta, blob, held: Held { _permit: permit } },
            // An action record whose blob is gone is a miss.
            Some(None) => {
                self.shared.misses.fetch_add(1, Ordering::Relaxed);
                Fetched::Miss
            }
            None => Fetched::Miss,
        }
    }

    /// `None` when the remote is off or the request failed.
    async fn get(&self, name: &str) -> Option<Option<Bytes>> {
        if self.shared.off() {
            return None;
        }
        match self.store.get(name).await {
            Ok(found) => {
                self.succeeded();
                if let Some(b) = &found {
                    self.shared.bytes_down.fetch_add(b.len() as u64, Ordering::Relaxed);
                }
                Some(found)
            }
            // A reader who may not list the bucket gets 403 for a missing
            // object: a miss (the build's end says so when nothing was found).
            Err(StoreError::Denied(_)) => {
                self.succeeded();
                self.shared.denied.fetch_add(1, Ordering::Relaxed);
                Some(None)
            }
            Err(e) => {
                self.failed(e, false);
                None
            }
        }
    }

    /// The blob first, then the record naming it: a record is never
    /// visible before its bytes are.
    async fn upload(&self, u: Upload) {
        let record = record::encode(&u.key, &u.meta);
        for (name, bytes) in
            [(record::cas_name(&u.meta.stored_hash), u.stored), (record::ac_name(&u.key), Bytes::from(record))]
        {
            if self.shared.uploads_off() {
                return;
            }
            let len = bytes.len() as u64;
            match self.store.put(&name, bytes, u.overwrite).await {
                Ok(()) => {
                    self.succeeded();
                    self.shared.bytes_up.fetch_add(len, Ordering::Relaxed);
                }
                Err(e) => return self.failed(e, true),
            }
        }
        self.shared.uploaded.fetch_add(1, Ordering::Relaxed);
    }

    fn succeeded(&self) {
        self.shared.consecutive.store(0, Ordering::Relaxed);
    }

    /// Counts a failed request; switches the remote off after a refusal
    /// or too many failures in a row (a refused write only switches off
    /// uploads: the credentials may be a reader's).
    fn failed(&self, e: StoreError, writing: bool) {
        tracing::debug!(remote = %self.url, writing, error = ?e, "remote cache request failed");
        if self.shared.off() || (writing && self.shared.uploads_off()) {
            // A request that was in flight when the remote went off.
            return;
        }
        // A refusal is counted once: the first switches the remote (or its
        // uploads) off, and the others were in flight with it.
        match e {
            StoreError::Refused(why) | StoreError::Denied(why) if writing => {
                let message = format!(
                    "configuration error: the remote cache {} refused an upload with the credentials from {} \
                     ({why}); uploads are off for this build, which goes on using what the remote has",
                    self.url, self.credential_source
                );
                if self.shared.uploads_refused.set(message).is_ok() {
                    self.shared.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            StoreError::Refused(why) | StoreError::Denied(why) => {
                let message = format!(
                    "configuration error: the remote cache {} refused the credentials from {} ({why}); \
                     it is off for this build, which goes on locally",
                    self.url, self.credential_source
                );
                if self.shared.disabled.set((true, message)).is_ok() {
                    self.shared.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
            StoreError::Failed(why) => {
                // Counted up to the failure that switches the remote off,
                // even when several in flight fail at once.
                let n = self.shared.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
                if n > MAX_CONSECUTIVE_FAILURES {
                    return;
                }
                self.shared.errors.fetch_add(1, Ordering::Relaxed);
                if n == MAX_CONSECUTIVE_FAILURES {
                    let message = format!(
                        "the remote cache {} is off for this build after {n} failed requests in a row \
                         (the last: {why}); the build goes on locally",
                        self.url
                    );
                    let _ = self.shared.disabled.set((false, message));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::future::BoxFuture;
    use std::time::Instant;

    /// A store with an empty bucket whose requests fail when they take
    /// longer than `timeout` from their first poll to their answer, as an
    /// HTTP client's request timeout does, polled or not.
    struct Slow {
        timeout: Duration,
    }

    impl Store for Slow {
        fn get(&self, _name: &str) -> BoxFuture<'_, Result<Option<Bytes>, StoreError>> {
            Box::pin(async move {
                let started = Instant::now();
                tokio::time::sleep(Duration::from_millis(2)).await;
                if started.elapsed() > self.timeout {
                    return Err(StoreError::Failed("timed out".into()));
                }
                Ok(None)
            })
        }

        fn put(&self, _name: &str, _bytes: Bytes, _overwrite: bool) -> BoxFuture<'_, Result<(), StoreError>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn resolved(in_flight: usize) -> Resolved {
        Resolved {
            url: "s3://bucket/test".into(),
            backend: config::Backend::S3,
            mode: RemoteMode::Read,
            endpoint: None,
            region: None,
            allow_http: true,
            connect_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            requests_in_flight: in_flight,
            credentials: config::Credentials::None,
            credential_source: "test".into(),
        }
    }

    #[test]
    fn lookups_go_on_while_the_build_is_busy_with_earlier_answers() {
        // The build's workers take an answer, then cook for a while (every
        // tenth answer for longer than a request may take); the store's
        // requests time out after 150 ms. Were the lookups to wait for the
        // build, those in flight during a long cook would time out.
        let cache = RemoteCache::new(Arc::new(Slow { timeout: Duration::from_millis(150) }), &resolved(8));
        let keys: Vec<(usize, Key)> = (0..60).map(|i| (i, [i as u8; 32])).collect();
        let mut answered = Vec::new();
        for (i, fetched) in cache.lookups(keys) {
            assert!(matches!(fetched, Fetched::Miss));
            answered.push(i);
            std::thread::sleep(Duration::from_millis(if i % 10 == 0 { 200 } else { 2 }));
        }
        answered.sort();
        assert_eq!(answered, (0..60).collect::<Vec<_>>());
        let report = cache.finish(Duration::from_secs(1));
        assert_eq!((report.stats.misses, report.stats.errors), (60, 0));
        assert!(report.disabled.is_none() && report.diagnostics.is_empty(), "{:?}", report.diagnostics);
    }
}
