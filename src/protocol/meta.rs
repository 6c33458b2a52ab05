//! The protocol as data, as LSP's `metaModel.json` is: every method with
//! the names of its params and result types, every notification, and one
//! `$defs` map of JSON Schemas generated from the Rust types. The schemas
//! under `protocol/schema/`, the TypeScript types of `editors/vscode` and
//! the Python client of `editors/scripts` are all made from this, by
//! `tests/generated.rs`, so that none of them can drift from the binary.

use schemars::{JsonSchema, SchemaGenerator};
use serde_json::{json, Map, Value};

use super::events::Event;
use super::model::*;
use super::*;

/// Where the schemas say they live (their `$id`s).
pub const SCHEMA_BASE: &str = "https://studio-packer.dev/schema/";

/// The generator for one direction: params are read (`#[serde(default)]`
/// fields are optional), results and events are written (a field is
/// required unless it may be left out).
fn generator(deserialize: bool) -> SchemaGenerator {
    let settings = schemars::generate::SchemaSettings::draft2020_12();
    let settings = if deserialize { settings.for_deserialize() } else { settings.for_serialize() };
    settings.into_generator()
}

/// The name of a type's definition, adding it (and what it uses) to `g`.
fn def<T: JsonSchema>(g: &mut SchemaGenerator) -> String {
    let name = T::schema_name().to_string();
    let schema = g.subschema_for::<T>();
    let reference = schema.get("$ref").and_then(Value::as_str).unwrap_or_default();
    assert_eq!(reference, format!("#/$defs/{name}"), "{name} must be a named definition");
    name
}

/// One method: its name, its params' and result's definitions (`None`:
/// no params, or a `null` result).
struct Row {
    name: &'static str,
    params: Option<String>,
    result: Option<String>,
    doc: &'static str,
}

/// The meta-model: `{protocolVersion, methods, notifications, mutationKinds,
/// eventKinds, error, checkReport, $defs}`. Every row of [`METHODS`]
/// appears, with the types [`Request::decode`] reads and the handlers answer.
pub fn model() -> Value {
    let mut read = generator(true);
    let mut write = generator(false);
    let r = &mut read;
    let w = &mut write;
    let rows = vec![
        Row {
            name: "initialize",
            params: Some(def::<InitializeParams>(r)),
            result: Some(def::<InitializeResult>(w)),
            doc: "LSP's handshake: the server's capabilities.",
        },
        Row { name: "shutdown", params: None, result: None, doc: "LSP's: the server stops answering, then `exit`." },
        Row {
            name: "packer/openProject",
            params: Some(def::<OpenProjectParams>(r)),
            result: Some(def::<OpenProjectResult>(w)),
            doc: "Opens (or attaches to) a project and subscribes this connection to its events.",
        },
        Row {
            name: "packer/closeProject",
            params: Some(def::<ProjectParams>(r)),
            result: None,
            doc: "Unsubscribes this connection; the last one closes the project.",
        },
        Row {
            name: "packer/listProjects",
            params: Some(def::<Empty>(r)),
            result: Some(def::<ListProjectsResult>(w)),
            doc: "The projects this server has open.",
        },
        Row {
            name: "packer/summary",
            params: Some(def::<ProjectParams>(r)),
            result: Some(def::<Summary>(w)),
            doc: "Every count a client shows, from the current snapshot.",
        },
        Row {
            name: "packer/listAssets",
            params: Some(def::<ListAssetsParams>(r)),
            result: Some(def::<ListAssetsResult>(w)),
            doc: "A page of assets in path order, filtered.",
        },
        Row {
            name: "packer/getAsset",
            params: Some(def::<GetAssetParams>(r)),
            result: Some(def::<GetAssetResult>(w)),
            doc: "One asset with its metadata, status, diagnostics, effective settings and cooked textures.",
        },
        Row {
            name: "packer/references",
            params: Some(def::<ReferencesParams>(r)),
            result: Some(def::<ReferencesResult>(w)),
            doc: "What an asset's file names and what names it, each reference with its place.",
        },
        Row {
            name: "packer/thumbnail",
            params: Some(def::<ThumbnailParams>(r)),
            result: Some(def::<ThumbnailResult>(w)),
            doc: "A PNG of an image's cooked texture for a target, as its GPU shows it.",
        },
        Row {
            name: "packer/diagnostics",
            params: Some(def::<DiagnosticsParams>(r)),
            result: Some(def::<DiagnosticsResult>(w)),
            doc: "The project's diagnostics, or one asset's.",
        },
        Row {
            name: "packer/divergence",
            params: Some(def::<ProjectParams>(r)),
            result: Some(def::<DivergenceResult>(w)),
            doc: "Every difference between disk and registry.",
        },
        Row {
            name: "packer/previewMutation",
            params: Some(def::<PreviewParams>(r)),
            result: Some(def::<PreviewResult>(w)),
            doc: "What a mutation would do; changes nothing.",
        },
        Row {
            name: "packer/applyMutation",
            params: Some(def::<ApplyParams>(r)),
            result: Some(def::<ApplyResult>(w)),
            doc: "Applies a mutation in the project's lane, planned again at its turn.",
        },
        Row {
            name: "packer/build",
            params: Some(def::<BuildParams>(r)),
            result: Some(def::<BuildResult>(w)),
            doc: "Builds the project's packs in its lane.",
        },
        Row {
            name: "packer/cacheStats",
            params: Some(def::<ProjectParams>(r)),
            result: Some(def::<CacheStatsResult>(w)),
            doc: "What the processing caches hold.",
        },
        Row {
            name: "packer/pruneCache",
            params: Some(def::<PruneCacheParams>(r)),
            result: Some(def::<PruneCacheResult>(w)),
            doc: "Evicts the least recently used cache entries, in the lane.",
        },
        Row {
            name: "packer/operations",
            params: Some(def::<ProjectParams>(r)),
            result: Some(def::<OperationsResult>(w)),
            doc: "Active operations in arrival order, then recent ones.",
        },
        Row {
            name: "packer/cancel",
            params: Some(def::<CancelParams>(r)),
            result: Some(def::<CancelResult>(w)),
            doc: "Cancels an operation, whoever started it.",
        },
        Row {
            name: "packer/replayEvents",
            params: Some(def::<ReplayParams>(r)),
            result: Some(def::<ReplayEventsResult>(w)),
            doc: "Journaled events after a `seq`.",
        },
        Row {
            name: "packer/beginExternalChange",
            params: Some(def::<BeginExternalChangeParams>(r)),
            result: Some(def::<BeginExternalChangeResult>(w)),
            doc: "A source-control operation begins: divergence is held until it ends.",
        },
        Row {
            name: "packer/endExternalChange",
            params: Some(def::<EndExternalChangeParams>(r)),
            result: None,
            doc: "The source-control operation ended: one look at the workspace.",
        },
    ];
    let notifications = [
        ("packer/event", def::<Event>(w), "One event of a project."),
        ("packer/eventsDropped", def::<EventsDropped>(w), "A slow client missed these events."),
        ("$/progress", def::<ProgressParams>(w), "LSP work-done progress of an operation."),
    ];
    let extra = [def::<ErrorObject>(w)];
    // Not a message: what `studio-packer check --json` prints.
    let check = def::<crate::check::Report>(w);

    let mut defs = read.take_definitions(true);
    for (name, mut schema) in write.take_definitions(true) {
        omitted_is_not_null(&mut schema);
        match defs.get(&name) {
            Some(existing) if *existing != schema => {
                panic!("`{name}` is read and written with different schemas: give one of them its own type")
            }
            _ => {
                defs.insert(name, schema);
            }
        }
    }
    let methods: Vec<Value> = rows
        .iter()
        .map(|row| {
            let lane = method(row.name).is_some_and(|m| m.lane);
            json!({
                "name": row.name, "params": row.params, "result": row.result,
                "lane": lane, "cancellable": lane, "doc": row.doc,
            })
        })
        .collect();
    let notifications: Vec<Value> =
        notifications.iter().map(|(name, params, doc)| json!({ "name": name, "params": params, "doc": doc })).collect();
    let mut sorted = Map::new();
    let mut names: Vec<&String> = defs.keys().collect();
    names.sort();
    for name in names {
        sorted.insert(name.clone(), defs[name].clone());
    }
    json!({
        "protocolVersion": PROTOCOL_VERSION,
        "methods": methods,
        "notifications": notifications,
        "mutationKinds": crate::project::write::mutation::KINDS,
        "eventKinds": super::events::EventBody::KINDS,
        "error": extra[0],
        "checkReport": check,
        "$defs": sorted,
    })
}

/// In what the server writes, a field it may leave out is left out, never
/// `null`: schemars types such a field (`Option` with
/// `skip_serializing_if`) as optional *and* nullable, which would tell a
/// client to handle a `null` that never comes. Nullable stays for the
/// fields that are always present (`lastBuild: null`).
fn omitted_is_not_null(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let required: Vec<String> = map
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default();
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    if !required.contains(name) {
                        without_null(prop);
                    }
                }
            }
            for value in map.values_mut() {
                omitted_is_not_null(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(omitted_is_not_null),
        _ => {}
    }
}

/// `T | null` as `T`: `"type": [T, "null"]`, or `anyOf: [T, {"type": "null"}]`.
fn without_null(prop: &mut Value) {
    let Some(map) = prop.as_object_mut() else { return };
    if let Some(Value::Array(types)) = map.get("type") {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        if kept.len() < types.len() {
            let kept = if kept.len() == 1 { kept[0].clone() } else { Value::Array(kept) };
            map.insert("type".into(), kept);
        }
    }
    if let Some(Value::Array(any)) = map.get("anyOf") {
        let kept: Vec<Value> = any.iter().filter(|a| a.get("type").is_none_or(|t| t != "null")).cloned().collect();
        if kept.len() == 1 && any.len() == 2 {
            map.remove("anyOf");
            if let Value::Object(only) = &kept[0] {
                for (k, v) in only {
                    map.entry(k.clone()).or_insert_with(|| v.clone());
                }
            }
        }
    }
}

/// The files of `protocol/schema/`, by name: `defs.json` holds every
/// definition; each method's params and result, each notification's
/// params, the error object, a mutation and `check --json`'s report have a
/// file of their own that refers to it.
pub fn schema_files(model: &Value) -> Vec<(String, Value)> {
    let mut files = Vec::new();
    let file = |name: &str, title: String, def: &str| {
        (
            name.to_string(),
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": format!("{SCHEMA_BASE}{name}"),
                "title": title,
                "description": "Generated from the protocol model (src/protocol); see protocol/README.md.",
                "$ref": format!("defs.json#/$defs/{def}"),
            }),
        )
    };
    for m in model["methods"].as_array().expect("methods") {
        let name = m["name"].as_str().expect("name");
        let short = name.trim_start_matches("packer/");
        if let Some(p) = m["params"].as_str() {
            files.push(file(&format!("{short}.params.json"), format!("{name} params"), p));
        }
        if let Some(r) = m["result"].as_str() {
            files.push(file(&format!("{short}.result.json"), format!("{name} result"), r));
        }
    }
    for n in model["notifications"].as_array().expect("notifications") {
        let name = n["name"].as_str().expect("name");
        let short = match name {
            "packer/event" => "event",
            "packer/eventsDropped" => "eventsDropped",
            "$/progress" => "progress",
            other => panic!("no file name for the notification {other}"),
        };
        files.push(file(&format!("{short}.json"), format!("{name} params"), n["params"].as_str().expect("params")));
    }
    files.push(file("error.json", "JSON-RPC error object".into(), model["error"].as_str().expect("error")));
    files.push(file("mutation.json", "A mutation".into(), "Mutation"));
    let check = model["checkReport"].as_str().expect("checkReport");
    files.push(file("check.json", "studio-packer check --json".into(), check));
    files.push((
        "defs.json".to_string(),
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("{SCHEMA_BASE}defs.json"),
            "title": "studio-packer protocol definitions",
            "description": "Generated from the protocol model (src/protocol) by tests/generated.rs: do not edit.",
            "$defs": model["$defs"],
        }),
    ));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schemas_list_limit_is_what_answers_list() {
        // `length(max = 1000)` on the lists of PreviewResult and ApplyResult.
        assert_eq!(crate::project::write::mutation::LISTED, 1000);
    }

    #[test]
    fn every_method_of_the_table_is_in_the_model_once() {
        let model = model();
        let names: Vec<&str> =
            model["methods"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
        let mut expected = vec!["initialize", "shutdown"];
        expected.extend(method_names());
        assert_eq!(names, expected);
        for m in model["methods"].as_array().unwrap() {
            for key in ["params", "result"] {
                if let Some(name) = m[key].as_str() {
                    assert!(model["$defs"].get(name).is_some(), "{} {key}: no definition {name}", m["name"]);
                }
            }
        }
    }
}
