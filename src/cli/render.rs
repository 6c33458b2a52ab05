//! The one place the CLI lays the packer's answers out for a person:
//! diagnostics (as a compiler prints them), a mutation's preview and
//! result, an asset, an event. Every count and word comes from the answer;
//! a list the packer cut says how long it was.

use serde_json::Value;

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// One diagnostic, blocker or warning: `error[code]: path: message`.
/// `severity` is used when the diagnostic does not carry its own (blockers
/// and warnings do not).
pub fn diagnostic(d: &Value, severity: &str) -> String {
    let severity = d["severity"].as_str().unwrap_or(severity);
    let at = d["path"].as_str().map(|p| format!("{p}: ")).unwrap_or_default();
    format!("{severity}[{}]: {at}{}", text(&d["code"]), text(&d["message"]))
}

/// How many entries the list `name` of a preview or result holds in all:
/// its `truncated` count when the packer cut it, else its length.
pub fn total(answer: &Value, name: &str) -> usize {
    let listed = answer[name].as_array().map_or(0, Vec::len);
    answer["truncated"][name].as_u64().map_or(listed, |n| n as usize)
}

/// The line that says a list was cut, when it was.
fn more(answer: &Value, name: &str, what: &str) -> Option<String> {
    let listed = answer[name].as_array().map_or(0, Vec::len);
    let all = total(answer, name);
    (all > listed).then(|| format!("  … and {} more {what} (the packer listed {listed} of {all})", all - listed))
}

/// The blockers and warnings of a preview or a result, to stderr.
pub fn issues(answer: &Value) {
    for (list, severity, what) in [("blockers", "error", "blockers"), ("warnings", "warning", "warnings")] {
        for d in answer[list].as_array().into_iter().flatten() {
            eprintln!("{}", diagnostic(d, severity));
        }
        if let Some(line) = more(answer, list, what) {
            eprintln!("{line}");
        }
    }
}

/// A preview: its blockers and warnings (stderr), then the changes it
/// plans and a line of counts (stdout).
pub fn preview(p: &Value) {
    issues(p);
    let resolutions = p["resolutions"].as_array().filter(|r| !r.is_empty());
    if let Some(items) = resolutions {
        println!("resolutions:");
        for r in items {
            let to = r["to"].as_str().map(|t| format!(" -> {t}")).unwrap_or_default();
            println!("  {} {}: {}{to}", text(&r["kind"]), text(&r["path"]), text(&r["resolution"]));
        }
        if let Some(line) = more(p, "resolutions", "resolutions") {
            println!("{line}");
        }
    }
    let registry = p["registryMutations"].as_array().filter(|r| !r.is_empty());
    if let Some(items) = registry {
        println!("registry:");
        for m in items {
            println!("  {}", registry_change(m));
        }
        if let Some(line) = more(p, "registryMutations", "registry changes") {
            println!("{line}");
        }
    }
    let files = p["filesystemMutations"].as_array().filter(|f| !f.is_empty());
    if let Some(items) = files {
        println!("files:");
        for f in items {
            let to = f["to"].as_str().map(|t| format!(" -> {t}")).unwrap_or_default();
            println!("  {} {}{to}", text(&f["op"]), text(&f["path"]));
        }
        if let Some(line) = more(p, "filesystemMutations", "file steps") {
            println!("{line}");
        }
    }
    let resolved = if p.get("resolutions").is_some() {
        format!(", {} resolution(s)", total(p, "resolutions"))
    } else {
        String::new()
    };
    println!(
        "preview at generation {}: {} registry change(s), {} file step(s){resolved}, {} blocker(s), {} warning(s)",
        p["baseGeneration"],
        total(p, "registryMutations"),
        total(p, "filesystemMutations"),
        total(p, "blockers"),
        total(p, "warnings"),
    )
}

/// Whether a preview plans any change at all.
pub fn changes_anything(p: &Value) -> bool {
    total(p, "registryMutations") + total(p, "filesystemMutations") + total(p, "resolutions") > 0
}

/// One registry change: `+ path (kind)`, `- path`, `~ from -> to`, `~ path (fields)`.
fn registry_change(m: &Value) -> String {
    let (before, after) = (&m["before"], &m["after"]);
    match text(&m["op"]) {
        "add" => format!("+ {} ({})", text(&after["path"]), text(&after["kind"])),
        "remove" => format!("- {}", text(&before["path"])),
        "update" => {
            let fields: Vec<&str> = ["kind", "hash", "size", "tags", "settings"]
                .into_iter()
                .filter(|f| before[*f] != after[*f])
                .map(|f| if f == "hash" || f == "size" { "content" } else { f })
                .fold(Vec::new(), |mut v, f| {
                    if !v.contains(&f) {
                        v.push(f)
                    }
                    v
                });
            let what = if fields.is_empty() { String::new() } else { format!(" ({})", fields.join(", ")) };
            if before["path"] == after["path"] {
                format!("~ {}{what}", text(&after["path"]))
            } else {
                format!("~ {} -> {}{what}", text(&before["path"]), text(&after["path"]))
            }
        }
        other => format!("{other} {}", text(&m["assetId"])),
    }
}

/// An asset in one line: id, kind, status, path.
pub fn asset_line(a: &Value) -> String {
    format!("{}  {:<6}  {:<8}  {}", text(&a["id"]), text(&a["kind"]), text(&a["status"]), text(&a["path"]))
}

/// An asset with its settings, tags, metadata and diagnostics.
pub fn asset(a: &Value) -> String {
    let mut out = format!("{}\n", text(&a["path"]));
    let mut field = |name: &str, value: String| out.push_str(&format!("  {name:<9} {value}\n"));
    field("id:", text(&a["id"]).to_string());
    field("kind:", text(&a["kind"]).to_string());
    field("status:", text(&a["status"]).to_string());
    field("size:", format!("{} bytes", a["size"]));
    field("hash:", text(&a["hash"]).to_string());
    let tags: Vec<&str> = a["tags"].as_array().into_iter().flatten().map(text).collect();
    field("tags:", if tags.is_empty() { "none".into() } else { tags.join(", ") });
    field("metadata:", pairs(&a["metadata"]));
    field("settings:", pairs(&a["settings"]));
    for d in a["diagnostics"].as_array().into_iter().flatten() {
        out.push_str(&diagnostic(d, "error"));
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
pub fn event_line(e: &Value) -> String {
    let kind = text(&e["kind"]);
    let mut line = e["seq"].to_string();
    if let Some(op) = e["operationId"].as_str() {
        line.push(' ');
        line.push_str(op);
    }
    line.push(' ');
    line.push_str(kind);
    let whole = |e: &Value| format!("{}, {} item(s)", text(&e["state"]), e["count"]);
    let detail = match kind {
        "queued" => text(&e["operation"]).to_string(),
        "started" | "watchRestored" => String::new(),
        "progress" => format!("{}/{} {}", e["done"], e["total"], text(&e["message"])),
        "snapshotPublished" => format!("generation {}", e["generation"]),
        "divergenceDetected" => {
            let items: Vec<String> = e["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| format!("{} {}", text(&i["kind"]), text(&i["path"])))
                .collect();
            format!("generation {}: {}; {}", e["generation"], some(&items), whole(e))
        }
        "divergenceCleared" => {
            let n = e["ids"].as_array().map_or(0, Vec::len);
            format!("generation {}: {n} item(s) cleared; {}", e["generation"], whole(e))
        }
        "succeeded" | "rejected" | "failed" | "cancelled" => outcome(e),
        "watchDegraded" => text(&e["reason"]).to_string(),
        "ownerChanged" => format!("pid {}", e["ownerPid"]),
        "externalChangeBegan" => format!("{}: {}", text(&e["changeId"]), text(&e["reason"])),
        "externalChangeEnded" => format!(
            "{}: {} (ended by {} after {} ms)",
            text(&e["changeId"]),
            text(&e["reason"]),
            text(&e["endedBy"]),
            e["durationMs"]
        ),
        "remoteCacheDisabled" => format!("{}: {}", text(&e["url"]), text(&e["message"])),
        _ => {
            let mut rest = e.clone();
            if let Some(obj) = rest.as_object_mut() {
                for k in ["seq", "kind", "projectId", "operationId", "sequence"] {
                    obj.remove(k);
                }
            }
            rest.to_string()
        }
    };
    if !detail.is_empty() {
        line.push(' ');
        line.push_str(&detail);
    }
    line
}

/// What a terminal event says of its operation.
fn outcome(e: &Value) -> String {
    let result = &e["result"];
    let recovered = if e["recovered"] == true { " (recovered after a restart)" } else { "" };
    let said = if let Some(message) = e["error"]["message"].as_str() {
        message.to_string()
    } else if let Some(blockers) = result["blockers"].as_array().filter(|b| !b.is_empty()) {
        let first: Vec<String> = blockers.iter().map(|b| diagnostic(b, "error")).collect();
        some(&first)
    } else if result["generation"].is_number() {
        format!("generation {}", result["generation"])
    } else if let Some(stats) = result.get("stats") {
        format!("{} asset(s)", stats["assets"])
    } else {
        String::new()
    };
    let out = text(&e["outcome"]);
    [out, said.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(", ") + recovered
}
