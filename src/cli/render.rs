//! The one place the CLI lays the packer's answers out for a person:
//! diagnostics (as a compiler prints them), a mutation's preview and
//! result, an asset, an event. Every count and word comes from the answer,
//! read as the protocol model's types (a field the packer renames breaks
//! this build, rather than printing nothing); a list the packer cut says
//! how long it was.

use serde::Serialize;
use serde_json::Value;
use studio_packer::project::model::{Asset, Diagnostic, Entry};
use studio_packer::protocol::events::{Event, EventBody, OperationFailure, OperationResult};
use studio_packer::protocol::model::{
    ApplyResult, Blocker, FilesystemMutation, PreviewResult, RegistryMutation, Resolution, Truncated, Warning,
};

/// A value of the model as its wire name (`notFound`, `image`, `ok`).
pub fn name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// One problem as a compiler prints it: `error[code]: path: message`.
fn problem(severity: &str, code: &str, path: Option<&str>, message: &str) -> String {
    let at = path.map(|p| format!("{p}: ")).unwrap_or_default();
    format!("{severity}[{code}]: {at}{message}")
}

/// One diagnostic.
pub fn diagnostic(d: &Diagnostic) -> String {
    problem(&name(&d.severity), &d.code, d.path.as_deref(), &d.message)
}

fn blocker(b: &Blocker) -> String {
    problem("error", &name(&b.code), b.path.as_deref(), &b.message)
}

fn warning(w: &Warning) -> String {
    problem("warning", &name(&w.code), w.path.as_deref(), &w.message)
}

/// The lists a preview and an apply's result share, with their counts.
pub struct Lists<'a> {
    pub blockers: &'a [Blocker],
    pub warnings: &'a [Warning],
    pub registry: &'a [RegistryMutation],
    pub files: &'a [FilesystemMutation],
    pub resolutions: Option<&'a [Resolution]>,
    truncated: Option<&'a Truncated>,
}

impl<'a> From<&'a PreviewResult> for Lists<'a> {
    fn from(p: &'a PreviewResult) -> Lists<'a> {
        Lists {
            blockers: &p.blockers,
            warnings: &p.warnings,
            registry: &p.registry_mutations,
            files: &p.filesystem_mutations,
            resolutions: p.resolutions.as_deref(),
            truncated: p.truncated.as_ref(),
        }
    }
}

impl<'a> From<&'a ApplyResult> for Lists<'a> {
    fn from(r: &'a ApplyResult) -> Lists<'a> {
        Lists {
            blockers: &r.blockers,
            warnings: &r.warnings,
            registry: &r.registry_mutations,
            files: &r.filesystem_mutations,
            resolutions: None,
            truncated: r.truncated.as_ref(),
        }
    }
}

/// Which list of [`Lists`].
#[derive(Clone, Copy)]
pub enum List {
    Blockers,
    Warnings,
    Registry,
    Files,
    Resolutions,
}

impl Lists<'_> {
    /// How many entries a list holds in all: its `truncated` count when the
    /// packer cut it, else its length.
    pub fn total(&self, list: List) -> usize {
        let t = self.truncated;
        match list {
            List::Blockers => t.map_or(self.blockers.len(), |t| t.blockers),
            List::Warnings => t.map_or(self.warnings.len(), |t| t.warnings),
            List::Registry => t.map_or(self.registry.len(), |t| t.registry_mutations),
            List::Files => t.map_or(self.files.len(), |t| t.filesystem_mutations),
            List::Resolutions => {
                let listed = self.resolutions.map_or(0, <[Resolution]>::len);
                t.and_then(|t| t.resolutions).unwrap_or(listed)
            }
        }
    }

    fn listed(&self, list: List) -> usize {
        match list {
            List::Blockers => self.blockers.len(),
            List::Warnings => self.warnings.len(),
            List::Registry => self.registry.len(),
            List::Files => self.files.len(),
            List::Resolutions => self.resolutions.map_or(0, <[Resolution]>::len),
        }
    }

    /// The line that says a list was cut, when it was.
    fn more(&self, list: List, what: &str) -> Option<String> {
        let (listed, all) = (self.listed(list), self.total(list));
        (all > listed).then(|| format!("  … and {} more {what} (the packer listed {listed} of {all})", all - listed))
    }

    /// Whether it plans any change at all.
    pub fn changes_anything(&self) -> bool {
        self.total(List::Registry) + self.total(List::Files) + self.total(List::Resolutions) > 0
    }

    /// The blockers and warnings, to stderr.
    pub fn issues(&self) {
        for b in self.blockers {
            eprintln!("{}", blocker(b));
        }
        if let Some(line) = self.more(List::Blockers, "blockers") {
            eprintln!("{line}");
        }
        for w in self.warnings {
            eprintln!("{}", warning(w));
        }
        if let Some(line) = self.more(List::Warnings, "warnings") {
            eprintln!("{line}");
        }
    }
}

/// A preview: its blockers and warnings (stderr), then the changes it
/// plans and a line of counts (stdout).
pub fn preview(p: &PreviewResult) {
    let lists = Lists::from(p);
    lists.issues();
    if let Some(items) = lists.resolutions.filter(|r| !r.is_empty()) {
        println!("resolutions:");
        for r in items {
            let to = r.to.as_ref().map(|t| format!(" -> {t}")).unwrap_or_default();
            println!("  {} {}: {}{to}", name(&r.kind), r.path, name(&r.resolution));
        }
        if let Some(line) = lists.more(List::Resolutions, "resolutions") {
            println!("{line}");
        }
    }
    if !lists.registry.is_empty() {
        println!("registry:");
        for m in lists.registry {
            println!("  {}", registry_change(m));
        }
        if let Some(line) = lists.more(List::Registry, "registry changes") {
            println!("{line}");
        }
    }
    if !lists.files.is_empty() {
        println!("files:");
        for f in lists.files {
            println!("  {}", file_step(f));
        }
        if let Some(line) = lists.more(List::Files, "file steps") {
            println!("{line}");
        }
    }
    let resolved = if p.resolutions.is_some() {
        format!(", {} resolution(s)", lists.total(List::Resolutions))
    } else {
        String::new()
    };
    println!(
        "preview at generation {}: {} registry change(s), {} file step(s){resolved}, {} blocker(s), {} warning(s)",
        p.base_generation,
        lists.total(List::Registry),
        lists.total(List::Files),
        lists.total(List::Blockers),
        lists.total(List::Warnings),
    )
}

/// One filesystem step: `move a -> b`, `delete a`, `write packer.toml`,
/// `rewrite a (n references)` with a line per change.
fn file_step(f: &FilesystemMutation) -> String {
    match f {
        FilesystemMutation::Move { path, to } => format!("move {path} -> {to}"),
        FilesystemMutation::Delete { path } => format!("delete {path}"),
        FilesystemMutation::Write { path } => format!("write {}", name(path)),
        FilesystemMutation::Rewrite { path, changes, count, .. } => {
            let mut out = format!("rewrite {path} ({count} reference{})", if *count == 1 { "" } else { "s" });
            for c in changes {
                out.push_str(&format!("\n      line {}: {} -> {}", c.line, c.before, c.after));
            }
            if *count > changes.len() {
                out.push_str(&format!("\n      and {} more", count - changes.len()));
            }
            out
        }
    }
}

/// One registry change: `+ path (kind)`, `- path`, `~ from -> to`, `~ path (fields)`.
fn registry_change(m: &RegistryMutation) -> String {
    match m {
        RegistryMutation::Add { after, .. } => format!("+ {} ({})", after.path, name(&after.kind)),
        RegistryMutation::Remove { before, .. } => format!("- {}", before.path),
        RegistryMutation::Update { before, after, .. } => {
            let what = changed_fields(before, after);
            let what = if what.is_empty() { String::new() } else { format!(" ({})", what.join(", ")) };
            if before.path == after.path {
                format!("~ {}{what}", after.path)
            } else {
                format!("~ {} -> {}{what}", before.path, after.path)
            }
        }
    }
}

/// What an update changes besides the path, as a person says it.
fn changed_fields(before: &Entry, after: &Entry) -> Vec<&'static str> {
    let mut fields = Vec::new();
    if before.kind != after.kind {
        fields.push("kind");
    }
    if before.hash != after.hash || before.size != after.size {
        fields.push("content");
    }
    if before.tags != after.tags {
        fields.push("tags");
    }
    if before.settings != after.settings {
        fields.push("settings");
    }
    fields
}

/// An asset in one line: id, kind, status, path.
pub fn asset_line(a: &Asset) -> String {
    format!("{}  {:<6}  {:<8}  {}", a.id(), name(&a.entry.kind), name(&a.status), a.path())
}

/// An asset with its settings, tags, metadata and diagnostics.
pub fn asset(a: &Asset) -> String {
    let mut out = format!("{}\n", a.path());
    let mut field = |label: &str, value: String| out.push_str(&format!("  {label:<9} {value}\n"));
    field("id:", a.id().to_string());
    field("kind:", name(&a.entry.kind));
    field("status:", name(&a.status));
    field("size:", format!("{} bytes", a.entry.size));
    field("hash:", name(&a.entry.hash));
    let tags = &a.entry.tags;
    field("tags:", if tags.is_empty() { "none".into() } else { tags.join(", ") });
    field("metadata:", pairs(&serde_json::to_value(&*a.metadata).unwrap_or_default()));
    field("settings:", pairs(&Value::Object((*a.entry.settings).clone())));
    for d in &a.diagnostics {
        out.push_str(&diagnostic(d));
        out.push('\n');
    }
    out
}

/// An object's members as `key value, …`; `none` when empty.
fn pairs(v: &Value) -> String {
    let Some(map) = v.as_object().filter(|m| !m.is_empty()) else {
        return "none".into();
    };
    let parts: Vec<String> = map
        .iter()
        .map(|(k, v)| match v.as_str() {
            Some(s) => format!("{k} {s}"),
            None => format!("{k} {v}"),
        })
        .collect();
    parts.join(", ")
}

/// At most three items of a list, then how many more.
fn some<T: AsRef<str>>(items: &[T]) -> String {
    let mut shown: Vec<&str> = items.iter().take(3).map(AsRef::as_ref).collect();
    let rest = items.len().saturating_sub(3);
    let more = if rest > 0 { format!(" and {rest} more") } else { String::new() };
    if shown.is_empty() {
        shown.push("none");
    }
    format!("{}{more}", shown.join(", "))
}

/// A `packer/event` as one line: its seq, its operation (when it has one),
/// its kind and what it says.
pub fn event_line(e: &Event) -> String {
    let body = &e.body;
    let mut line = event_head(&e.seq.to_string(), e.operation_id.as_deref(), body.kind());
    let whole = |state: String, count: usize| format!("{state}, {count} item(s)");
    let detail = match body {
        EventBody::Queued { operation } => name(operation),
        EventBody::Started {} | EventBody::WatchRestored {} => String::new(),
        EventBody::Progress { done, total, message, .. } => format!("{done}/{total} {message}"),
        EventBody::SnapshotPublished { generation } => format!("generation {generation}"),
        EventBody::DivergenceDetected { generation, state, count, items } => {
            let items: Vec<String> = items.iter().map(|i| format!("{} {}", name(&i.kind), i.path)).collect();
            format!("generation {generation}: {}; {}", some(&items), whole(name(state), *count))
        }
        EventBody::DivergenceCleared { generation, state, count, ids } => {
            format!("generation {generation}: {} item(s) cleared; {}", ids.len(), whole(name(state), *count))
        }
        EventBody::Succeeded { outcome: out, result, recovered } => {
            outcome(&name(out), None, result.as_ref(), *recovered)
        }
        EventBody::Failed { outcome: out, result, error, recovered } => {
            outcome(&name(out), error.as_ref(), result.as_ref(), *recovered)
        }
        EventBody::Cancelled { outcome: out, result } => outcome(&name(out), None, result.as_ref(), None),
        EventBody::Rejected { outcome: out, result } => outcome(&name(out), None, Some(result), None),
        EventBody::WatchDegraded { reason } => reason.clone(),
        EventBody::OwnerChanged { owner_pid } => format!("pid {owner_pid}"),
        EventBody::ExternalChangeBegan { change_id, reason, .. } => format!("{change_id}: {reason}"),
        EventBody::ExternalChangeEnded { change_id, reason, ended_by, duration_ms } => {
            format!("{change_id}: {reason} (ended by {} after {duration_ms} ms)", name(ended_by))
        }
        EventBody::RemoteCacheDisabled { url, message, .. } => format!("{url}: {message}"),
    };
    if !detail.is_empty() {
        line.push(' ');
        line.push_str(&detail);
    }
    line
}

/// An event's seq, its operation (when it has one) and its kind.
fn event_head(seq: &str, operation_id: Option<&str>, kind: &str) -> String {
    match operation_id {
        Some(op) => format!("{seq} {op} {kind}"),
        None => format!("{seq} {kind}"),
    }
}

/// An event this CLI does not know (a newer packer's, read back from the
/// journal): its seq, operation and kind, then its other fields as JSON.
pub fn unknown_event_line(e: &Value) -> String {
    let line = event_head(&e["seq"].to_string(), e["operationId"].as_str(), e["kind"].as_str().unwrap_or("?"));
    let mut rest = e.clone();
    if let Some(obj) = rest.as_object_mut() {
        for k in ["seq", "kind", "projectId", "operationId", "sequence"] {
            obj.remove(k);
        }
    }
    format!("{line} {rest}")
}

/// What a terminal event says of its operation.
fn outcome(out: &str, error: Option<&OperationFailure>, result: Option<&Value>, recovered: Option<bool>) -> String {
    let recovered = if recovered == Some(true) { " (recovered after a restart)" } else { "" };
    let result = result.and_then(|r| serde_json::from_value::<OperationResult>(r.clone()).ok());
    let said = match (error, &result) {
        (Some(error), _) => error.message.clone(),
        (None, Some(OperationResult::Apply(r))) if !r.blockers.is_empty() => {
            let first: Vec<String> = r.blockers.iter().map(blocker).collect();
            some(&first)
        }
        (None, Some(OperationResult::Apply(r))) => format!("generation {}", r.generation),
        (None, Some(OperationResult::Build(b))) => format!("{} asset(s)", b.stats.assets),
        (None, Some(OperationResult::PruneCache(_))) | (None, None) => String::new(),
    };
    [out, said.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(", ") + recovered
}
