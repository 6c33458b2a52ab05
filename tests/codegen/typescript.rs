//! `protocol.ts`: an interface or a type alias per declaration, then the
//! method maps. Written for `tsc --strict` (TypeScript 5).

use super::{is_identifier, union, Body, Decl, Model, Ty, HEADER};
use std::fmt::Write;

/// Names the file declares itself or uses from the standard library.
const RESERVED: &[&str] = &[
    "Requests",
    "Notifications",
    "RequestMethod",
    "NotificationMethod",
    "METHODS",
    "PROTOCOL_VERSION",
    "Record",
    "Array",
];

/// Past this width a union is written one member per line.
const WIDTH: usize = 100;

pub(super) fn render(model: &Model) -> String {
    let mut out = String::new();
    for line in HEADER {
        let _ = writeln!(out, "// {line}");
    }
    for decl in &model.decls {
        assert!(
            !RESERVED.contains(&decl.name.as_str()),
            "definition `{}`: the name is reserved in protocol.ts",
            decl.name
        );
        out.push('\n');
        declaration(&mut out, decl);
    }

    out.push('\n');
    doc(
        &mut out,
        "",
        Some("Every request, by method: what `params` it takes (`void`: none) and the `result` it answers."),
        false,
    );
    out.push_str("export interface Requests {\n");
    for m in &model.methods {
        let params = m.params.as_deref().unwrap_or("void");
        let result = m.result.as_deref().unwrap_or("null");
        doc(&mut out, "  ", m.doc.as_deref(), false);
        let _ = writeln!(out, "  {}: {{ params: {params}; result: {result} }};", string(&m.name));
    }
    out.push_str("}\n\n");
    doc(&mut out, "", Some("Every notification the server sends, by method: its params."), false);
    out.push_str("export interface Notifications {\n");
    for n in &model.notifications {
        doc(&mut out, "  ", n.doc.as_deref(), false);
        let _ = writeln!(out, "  {}: {};", string(&n.name), n.params.as_deref().unwrap_or("void"));
    }
    out.push_str("}\n\n");
    out.push_str("export type RequestMethod = keyof Requests;\n");
    out.push_str("export type NotificationMethod = keyof Notifications;\n\n");
    doc(
        &mut out,
        "",
        Some("Every request method: `lane`, whether it runs in the project's lane; `cancellable`, whether `$/cancelRequest` stops it."),
        false,
    );
    out.push_str("export const METHODS = [\n");
    for m in &model.methods {
        let _ = writeln!(out, "  {{ name: {}, lane: {}, cancellable: {} }},", string(&m.name), m.lane, m.cancellable);
    }
    out.push_str("] as const;\n\n");
    let _ = writeln!(out, "export const PROTOCOL_VERSION = {};", model.version);
    out
}

fn declaration(out: &mut String, decl: &Decl) {
    doc(out, "", decl.doc.as_deref(), decl.deprecated);
    match &decl.body {
        Body::Object(o) if o.props.is_empty() && o.extra.is_none() => {
            // An interface without members would accept any non-null value.
            let _ = writeln!(out, "export type {} = Record<string, never>;", decl.name);
        }
        Body::Object(o) => {
            let _ = writeln!(out, "export interface {} {{", decl.name);
            for p in &o.props {
                doc(out, "  ", p.doc.as_deref(), p.deprecated);
                let optional = if p.required { "" } else { "?" };
                let _ = writeln!(out, "  {}{optional}: {};", key(&p.name), ty(&p.ty));
            }
            if let Some(extra) = &o.extra {
                // An index signature must admit every property's type too.
                let mut all = vec![extra.clone()];
                all.extend(o.props.iter().map(|p| p.ty.clone()));
                let mut index = ty(&union(all));
                if o.props.iter().any(|p| !p.required) && index != "unknown" {
                    index.push_str(" | undefined");
                }
                let _ = writeln!(out, "  [key: string]: {index};");
            }
            out.push_str("}\n");
        }
        Body::Alias(t) => {
            let line = format!("export type {} = {};", decl.name, ty(t));
            match t {
                Ty::Union(members) if line.len() > WIDTH => {
                    let _ = writeln!(out, "export type {} =", decl.name);
                    for m in members {
                        let _ = writeln!(out, "  | {}", ty(m));
                    }
                    out.pop();
                    out.push_str(";\n");
                }
                _ => {
                    out.push_str(&line);
                    out.push('\n');
                }
            }
        }
    }
}

fn ty(t: &Ty) -> String {
    match t {
        Ty::Unknown => "unknown".into(),
        Ty::Null => "null".into(),
        Ty::Bool => "boolean".into(),
        Ty::Int | Ty::Num => "number".into(),
        Ty::Str => "string".into(),
        Ty::Lit(v) => v.to_string(),
        Ty::Array(item) => match **item {
            Ty::Union(_) => format!("({})[]", ty(item)),
            _ => format!("{}[]", ty(item)),
        },
        Ty::Tuple(items) => format!("[{}]", items.iter().map(ty).collect::<Vec<_>>().join(", ")),
        Ty::Map(value) => format!("Record<string, {}>", ty(value)),
        Ty::Ref(name) => name.clone(),
        Ty::Union(members) => members.iter().map(ty).collect::<Vec<_>>().join(" | "),
    }
}

/// A property name: bare when it is an identifier, else quoted.
fn key(name: &str) -> String {
    if is_identifier(name) || (name.starts_with('$') && is_identifier(&name[1..])) {
        name.to_string()
    } else {
        string(name)
    }
}

fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A TSDoc comment, one line when it fits.
fn doc(out: &mut String, indent: &str, text: Option<&str>, deprecated: bool) {
    let mut lines: Vec<String> =
        text.map(|t| t.replace("*/", "*\\/").lines().map(str::to_string).collect()).unwrap_or_default();
    if deprecated {
        lines.push("@deprecated".into());
    }
    match lines.as_slice() {
        [] => {}
        [one] => {
            let _ = writeln!(out, "{indent}/** {one} */");
        }
        _ => {
            let _ = writeln!(out, "{indent}/**");
            for line in &lines {
                let _ = writeln!(out, "{indent} *{}{line}", if line.is_empty() { "" } else { " " });
            }
            let _ = writeln!(out, "{indent} */");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{fixture, model};
    use super::super::typescript;
    use serde_json::json;

    #[test]
    fn is_deterministic_and_says_it_is_generated() {
        let ts = typescript(&fixture());
        assert_eq!(ts, typescript(&fixture()));
        assert!(ts.starts_with("// Generated from the protocol's Rust types by tests/codegen: do not edit.\n"));
        assert!(ts.contains("UPDATE_GENERATED=1 cargo test --test generated"));
    }

    #[test]
    fn objects_options_and_nullables() {
        let ts = typescript(&fixture());
        let expect = [
            "export interface ListAssetsParams {\n  cursor?: string | null;\n  filter?: AssetFilter;\n  limit?: number | null;\n  projectId: string;\n  workDoneToken?: ProgressToken | null;\n}\n",
            "/** Open a project. */\nexport interface OpenProjectParams {\n  create?: boolean;\n  /** The project's root folder. */\n  root: string;\n}\n",
            "  extra: unknown;\n",
            "  settings: Record<string, unknown>;\n",
            "  pair: [number, string];\n",
            "  nested: (number | null)[][];\n",
            "  \"content-type\": string;\n",
            "  class: string;\n",
            "export type Empty = Record<string, never>;\n",
            "  /** @deprecated */\n  old: number;\n",
            "export interface WithFlattenOpt {\n  a: number;\n  generation?: number;\n  [key: string]: unknown;\n}\n",
            "  byNum: Record<string, string>;\n",
        ];
        for e in expect {
            assert!(ts.contains(e), "missing:\n{e}\nin:\n{ts}");
        }
    }

    #[test]
    fn enums_and_unions() {
        let ts = typescript(&fixture());
        let expect = [
            "/**\n * An asset's kind.\n *\n * - `image`: A picture.\n */\nexport type Kind = \"audio\" | \"dataFile\" | \"image\";\n",
            "export type Status = \"ok\" | \"invalid\";\n",
            "/** LSP's progress token: an integer or a string. */\nexport type ProgressToken = number | string;\n",
            "/** One event of a project. */\nexport type Event = EventQueued | EventProgress | EventSnapshotPublished | EventWatchRestored;\n",
            "/** The operation was accepted. */\nexport interface EventQueued {\n  projectId: string;\n  seq: number;\n  kind: \"queued\";\n",
            "export interface EventWatchRestored {\n  projectId: string;\n  seq: number;\n  kind: \"watchRestored\";\n}\n",
            "export interface MutationBatch {\n  kind: \"batch\";\n  mutations: Mutation[];\n}\n",
            "export type External = \"A\" | ExternalB | ExternalC | ExternalD;\n",
            "export interface ExternalC {\n  C: ExternalCC;\n}\n",
            "export type UntaggedMixed = UntaggedMixedA | string[] | null;\n",
            "export type WrapsEnum = WrapsEnumInnerX | WrapsEnumInnerY | WrapsEnumLeaf;\n",
            "export type Unit = null;\n",
            "export type Newtype = string;\n",
        ];
        for e in expect {
            assert!(ts.contains(e), "missing:\n{e}\nin:\n{ts}");
        }
    }

    #[test]
    fn method_maps() {
        let ts = typescript(&fixture());
        let expect = [
            "  /** Opens a project. */\n  \"packer/openProject\": { params: OpenProjectParams; result: OpenProjectResult };\n",
            "  \"shutdown\": { params: void; result: null };\n",
            "  \"$/progress\": ProgressParams;\n",
            "  { name: \"packer/applyMutation\", lane: true, cancellable: true },\n",
            "] as const;\n\nexport const PROTOCOL_VERSION = 1;\n",
        ];
        for e in expect {
            assert!(ts.contains(e), "missing:\n{e}\nin:\n{ts}");
        }
    }

    #[test]
    #[should_panic(expected = "definition `Record`: the name is reserved")]
    fn a_reserved_name_panics() {
        typescript(&model(json!({ "Record": { "type": "string" } })));
    }
}
