//! Source-control operations as one change (`packer/beginExternalChange`,
//! `packer/endExternalChange`), in the manner of Watchman's state-enter and
//! state-leave.
//!
//! A `git checkout` renames and rewrites files for a while; watched piece
//! by piece, it would be published as many half-done states. While a change
//! is open, the lane's looks at the disk are held (the watcher's paths are
//! dropped, not looked at); when the last open change ends, the lane looks
//! at the whole workspace once and publishes the net difference, as one
//! snapshot with one `divergenceDetected` (or nothing when nothing differs).
//! Looking at everything, rather than at the paths the watcher reported,
//! also covers events the watcher delivers after the end.
//!
//! A change never outlives its client: it ends when the connection that
//! began it closes, and after its timeout at the latest.

use crate::protocol::events::EventBody;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Project;

/// How long a change stays open when its client says nothing.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest timeout a client may ask for.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum EndedBy {
    /// `packer/endExternalChange`.
    Client,
    /// The connection that began it closed.
    ConnectionClosed,
    /// Its timeout passed.
    Timeout,
}

impl EndedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Client => "client",
            EndedBy::ConnectionClosed => "connectionClosed",
            EndedBy::Timeout => "timeout",
        }
    }
}

struct Open {
    reason: String,
    began: Instant,
}

/// The changes open on one project.
#[derive(Default)]
pub struct ExternalChanges {
    open: Mutex<HashMap<String, Open>>,
}

impl ExternalChanges {
    /// Whether looks at the disk are held now.
    pub fn holding(&self) -> bool {
        !self.open.lock().expect("external changes lock").is_empty()
    }

    /// The open changes, oldest first, as `packer/summary` shows them.
    pub fn describe(&self) -> Vec<crate::protocol::model::ExternalChangeInfo> {
        let open = self.open.lock().expect("external changes lock");
        let mut list: Vec<(&String, &Open)> = open.iter().collect();
        list.sort_by_key(|(_, o)| o.began);
        list.into_iter()
            .map(|(id, o)| crate::protocol::model::ExternalChangeInfo {
                change_id: id.clone(),
                reason: o.reason.clone(),
                age_ms: o.began.elapsed().as_millis() as u64,
            })
            .collect()
    }
}

impl Project {
    /// Opens a change: from now until it ends, divergence is not published
    /// piece by piece. Returns its id.
    pub fn begin_external_change(self: &Arc<Self>, reason: &str, timeout: Duration) -> String {
        let change_id = format!("xc-{}", crate::ids::new_asset_id());
        let open = Open { reason: reason.to_string(), began: Instant::now() };
        self.external.open.lock().expect("external changes lock").insert(change_id.clone(), open);
        tracing::info!(project = %self.id, change = %change_id, reason, "external change began");
        let began = EventBody::ExternalChangeBegan {
            change_id: change_id.clone(),
            reason: reason.to_string(),
            timeout_ms: timeout.as_millis() as u64,
        };
        self.bus.emit(began.into_fields(), None);
        let project = Arc::downgrade(self);
        let id = change_id.clone();
        let spawned = std::thread::Builder::new().name("packer-change-timeout".into()).spawn(move || {
            std::thread::sleep(timeout);
            if let Some(p) = project.upgrade() {
                if p.end_external_change(&id, EndedBy::Timeout) {
                    tracing::warn!(project = %p.id, change = %id, "an external change timed out; ended it");
                }
            }
        });
        if let Err(e) = spawned {
            // Without its timer the change would depend on its client alone.
            tracing::warn!(error = %e, "cannot start an external change's timer; ending it now");
            self.end_external_change(&change_id, EndedBy::Timeout);
        }
        change_id
    }

    /// Ends a change (false when no change of this project has that id).
    /// When it was the last one open, the lane looks at everything once.
    pub fn end_external_change(&self, change_id: &str, by: EndedBy) -> bool {
        let (ended, last) = {
            let mut open = self.external.open.lock().expect("external changes lock");
            let ended = open.remove(change_id);
            (ended, open.is_empty())
        };
        let Some(ended) = ended else { return false };
        tracing::info!(project = %self.id, change = %change_id, ended_by = by.as_str(), "external change ended");
        let body = EventBody::ExternalChangeEnded {
            change_id: change_id.to_string(),
            duration_ms: ended.began.elapsed().as_millis() as u64,
            reason: ended.reason,
            ended_by: by,
        };
        self.bus.emit(body.into_fields(), None);
        if last {
            self.observe(None);
        }
        true
    }
}
