//! Files generated from the protocol model (`src/protocol`): the meta-model
//! `protocol/model.json`, the JSON Schemas of `protocol/schema/`, the
//! TypeScript types of `editors/vscode` and the Python client of
//! `editors/scripts`. This test makes them and fails when a committed file
//! differs from what the model gives; `UPDATE_GENERATED=1 cargo test --test
//! generated` (`scripts/generate.sh`) writes them.

mod codegen;

use std::path::PathBuf;

use serde_json::Value;
use studio_packer::protocol::meta;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pretty(v: &Value) -> String {
    let mut text = serde_json::to_string_pretty(v).expect("json");
    text.push('\n');
    text
}

/// Every generated file, by path relative to the repository.
fn generated() -> Vec<(String, String)> {
    let model = meta::model();
    let mut files = vec![("protocol/model.json".to_string(), pretty(&model))];
    for (name, schema) in meta::schema_files(&model) {
        files.push((format!("protocol/schema/{name}"), pretty(&schema)));
    }
    files.push(("editors/vscode/src/protocol.ts".to_string(), codegen::typescript(&model)));
    files.push(("editors/scripts/packer_protocol.py".to_string(), codegen::python(&model)));
    files
}

#[test]
fn the_generated_files_are_what_the_model_gives() {
    let update = std::env::var_os("UPDATE_GENERATED").is_some_and(|v| v == "1");
    let files = generated();
    let mut stale = Vec::new();
    for (rel, text) in &files {
        let path = root().join(rel);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != *text {
            if update {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, text).unwrap();
            }
            stale.push(rel.clone());
        }
    }
    // A schema the model no longer has must not linger beside the others.
    let dir = root().join("protocol/schema");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        let rel = format!("protocol/schema/{name}");
        if !files.iter().any(|(r, _)| *r == rel) {
            if update {
                std::fs::remove_file(dir.join(&name)).unwrap();
            }
            stale.push(format!("{rel} (not generated)"));
        }
    }
    if !update {
        assert!(
            stale.is_empty(),
            "generated files differ from the protocol model: {stale:?}\nrun `UPDATE_GENERATED=1 cargo test --test generated` and commit the result"
        );
    }
}

#[test]
fn the_schemas_compile_and_refer_only_to_what_exists() {
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    let files = generated();
    for (rel, text) in &files {
        if let Some(name) = rel.strip_prefix("protocol/schema/") {
            let value: Value = serde_json::from_str(text).unwrap();
            compiler.add_resource(&format!("{}{name}", meta::SCHEMA_BASE), value).unwrap();
        }
    }
    for (rel, _) in &files {
        if let Some(name) = rel.strip_prefix("protocol/schema/") {
            compiler
                .compile(&format!("{}{name}", meta::SCHEMA_BASE), &mut schemas)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }
}

/// The schemas' descriptions come from doc comments; those are for client
/// authors, never a maintainer's note about the Rust code.
#[test]
fn descriptions_speak_to_client_authors() {
    fn walk(v: &Value, at: &str, found: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(d)) = map.get("description") {
                    for word in ["crate::", "[`", "serde", "schemars", "Rust", "struct"] {
                        if d.contains(word) {
                            found.push(format!("{at}: `{word}` in {d:?}"));
                        }
                    }
                }
                for (k, x) in map {
                    walk(x, &format!("{at}/{k}"), found);
                }
            }
            Value::Array(items) => items.iter().enumerate().for_each(|(i, x)| walk(x, &format!("{at}[{i}]"), found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    walk(&meta::model()["$defs"], "", &mut found);
    assert!(found.is_empty(), "{found:#?}");
}
