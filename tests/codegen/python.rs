//! `packer_protocol.py`: TypedDicts and aliases per declaration, and a typed
//! `Client`. Standard library only; runs on Python 3.9 and later.
//!
//! Optional keys use the base-class pattern, not `NotRequired` (3.11): the
//! required keys go in a `total=True` base `_XRequired`, the optional ones in
//! `class X(_XRequired, total=False)`. Keys that are not identifiers (or are
//! keywords) need TypedDict's functional form, whose values run at import:
//! there, and in module-level aliases, names of the file's own types are
//! quoted (forward references); class bodies and signatures are not run,
//! thanks to `from __future__ import annotations`.

use super::{is_identifier, snake, Body, Decl, Model, Object, Prop, Ty, HEADER};
use std::collections::BTreeSet;
use std::fmt::Write;

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del",
    "elif", "else", "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal",
    "not", "or", "pass", "raise", "return", "try", "while", "with", "yield",
];

/// Module-level names the file defines or imports besides the declarations.
const RESERVED: &[&str] = &[
    "annotations",
    "json",
    "subprocess",
    "Any",
    "Callable",
    "Dict",
    "List",
    "Literal",
    "Optional",
    "Tuple",
    "TypedDict",
    "Union",
    "cast",
    "PROTOCOL_VERSION",
    "METHODS",
    "NOTIFICATIONS",
    "PackerError",
    "Client",
    "str",
    "int",
    "float",
    "bool",
];

/// Attributes of `Client` that a method's snake-case name must not take.
const CLIENT_ATTRIBUTES: &[&str] = &["proc", "next_id", "on_notification", "request", "notify", "close"];

/// Imports the client code itself uses.
const CLIENT_IMPORTS: &[&str] = &["Any", "Callable", "Dict", "List", "Optional", "cast"];

/// Past this width a functional TypedDict's dict is written one key per line.
const WIDTH: usize = 100;

fn key_is_identifier(name: &str) -> bool {
    // A key starting with `__` would be name-mangled inside a class body.
    is_identifier(name) && !KEYWORDS.contains(&name) && !name.starts_with("__")
}

pub(super) fn render(model: &Model) -> String {
    let mut used: BTreeSet<&'static str> = CLIENT_IMPORTS.iter().copied().collect();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut claim = |name: String, def: &str| {
        assert!(
            !RESERVED.contains(&name.as_str()) && !KEYWORDS.contains(&name.as_str()),
            "definition `{def}`: the name `{name}` is reserved in packer_protocol.py"
        );
        assert!(
            names.insert(name.clone()),
            "definition `{def}`: the name `{name}` is declared twice in packer_protocol.py"
        );
    };
    let mut body = String::new();
    // An alias to another declaration is evaluated at import: after all the
    // others, targets first.
    let (mut deferred, now): (Vec<&Decl>, Vec<&Decl>) =
        model.decls.iter().partition(|d| matches!(d.body, Body::Alias(Ty::Ref(_))));
    for decl in now {
        claim(decl.name.clone(), &decl.name);
        if let Body::Object(o) = &decl.body {
            if o.props.iter().any(|p| p.required) && o.props.iter().any(|p| !p.required) {
                claim(format!("_{}Required", decl.name), &decl.name);
                claim(format!("_{}Optional", decl.name), &decl.name);
            }
        }
        body.push_str("\n\n");
        declaration(&mut body, decl, &mut used);
    }
    while !deferred.is_empty() {
        let ready = deferred.iter().position(|d| {
            let Body::Alias(Ty::Ref(target)) = &d.body else { unreachable!() };
            !deferred.iter().any(|o| &o.name == target)
        });
        let Some(ready) = ready else { panic!("definition `{}`: aliases that refer to each other", deferred[0].name) };
        let decl = deferred.remove(ready);
        claim(decl.name.clone(), &decl.name);
        body.push_str("\n\n");
        declaration(&mut body, decl, &mut used);
    }

    let mut methods = String::new();
    let mut method_names: BTreeSet<String> = BTreeSet::new();
    for m in &model.methods {
        let mut name = snake(&m.name);
        if KEYWORDS.contains(&name.as_str()) {
            name.push('_');
        }
        assert!(is_identifier(&name), "method `{}`: `{name}` is not a Python name", m.name);
        assert!(!CLIENT_ATTRIBUTES.contains(&name.as_str()), "method `{}`: `{name}` is taken by Client itself", m.name);
        assert!(method_names.insert(name.clone()), "method `{}`: another method is named `{name}` too", m.name);
        let params = m.params.as_ref().map_or(String::new(), |p| format!(", params: {p}"));
        let result = m.result.as_deref().unwrap_or("None");
        let _ = writeln!(methods, "\n    def {name}(self{params}) -> {result}:");
        let traits = match (m.lane, m.cancellable) {
            (true, true) => " (in the project's lane; cancellable)",
            (true, false) => " (in the project's lane)",
            (false, true) => " (cancellable)",
            (false, false) => "",
        };
        let text = match &m.doc {
            Some(d) => format!("{d}\n\n`{}`{traits}", m.name),
            None => format!("`{}`{traits}", m.name),
        };
        docstring(&mut methods, "        ", &text);
        let send = if m.params.is_some() { ", params" } else { "" };
        let call = format!("self.request({}{send})", string(&m.name));
        let _ = match &m.result {
            // `request` answers Any: the cast is what makes the result typed.
            Some(r) => writeln!(methods, "        return cast({r}, {call})"),
            None => writeln!(methods, "        {call}"),
        };
    }

    let mut out = String::new();
    for line in HEADER {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str(concat!(
        "\"\"\"The studio-packer protocol: its types, and a client of `studio-packer serve`.\n\n",
        "Standard library only; Python 3.9 and later. An object type is a TypedDict\n",
        "(required keys in a base class, optional ones in a total=False subclass); a\n",
        "union of objects is told apart by its tag key (`kind`).\n\"\"\"\n\n",
        "from __future__ import annotations\n\n",
        "import json\n",
        "import subprocess\n",
    ));
    let _ = writeln!(out, "from typing import {}\n", used.iter().copied().collect::<Vec<_>>().join(", "));
    let _ = writeln!(out, "PROTOCOL_VERSION = {}", model.version);
    out.push_str(&body);
    out.push_str("\n\n# Every request method: `lane`, whether it runs in the project's lane;\n");
    out.push_str("# `cancellable`, whether `$/cancelRequest` stops it.\nMETHODS = (\n");
    for m in &model.methods {
        let _ = writeln!(
            out,
            "    {{\"name\": {}, \"lane\": {}, \"cancellable\": {}}},",
            string(&m.name),
            py_bool(m.lane),
            py_bool(m.cancellable)
        );
    }
    out.push_str(")\n\n# Every notification the server sends, with the type of its params.\nNOTIFICATIONS = {\n");
    for n in &model.notifications {
        let params = n.params.as_ref().map_or("None".to_string(), |p| string(p));
        let _ = writeln!(out, "    {}: {params},", string(&n.name));
    }
    out.push_str("}\n");
    out.push_str(CLIENT);
    out.push_str(&methods);
    out
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

fn string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

fn declaration(out: &mut String, decl: &Decl, used: &mut BTreeSet<&'static str>) {
    let mut text = decl.doc.clone().unwrap_or_default();
    if decl.deprecated {
        text = if text.is_empty() { "Deprecated.".into() } else { format!("{text}\n\nDeprecated.") };
    }
    match &decl.body {
        Body::Alias(t) => {
            comment(out, "", &text);
            let value = match t {
                // `X = None` would be a variable to a type checker, not an alias.
                Ty::Null => {
                    used.insert("Literal");
                    "Literal[None]".to_string()
                }
                t => ty(t, true, used),
            };
            let _ = writeln!(out, "{} = {value}", decl.name);
        }
        Body::Object(o) => typed_dict(out, &decl.name, &text, o, used),
    }
}

fn typed_dict(out: &mut String, name: &str, doc: &str, o: &Object, used: &mut BTreeSet<&'static str>) {
    used.insert("TypedDict");
    let mut doc = doc.to_string();
    if let Some(extra) = &o.extra {
        // TypedDicts cannot say this (PEP 728 is not in 3.9).
        let note = format!("Other keys are allowed too, of type `{}`.", ty(extra, false, used));
        doc = if doc.is_empty() { note } else { format!("{doc}\n\n{note}") };
    }
    let required: Vec<&Prop> = o.props.iter().filter(|p| p.required).collect();
    let optional: Vec<&Prop> = o.props.iter().filter(|p| !p.required).collect();
    let plain = |ps: &[&Prop]| ps.iter().all(|p| key_is_identifier(&p.name));
    if required.is_empty() || optional.is_empty() {
        let total = optional.is_empty();
        if plain(&o.props.iter().collect::<Vec<_>>()) {
            class(out, name, &["TypedDict"], total, doc.as_str(), &o.props.iter().collect::<Vec<_>>(), used);
        } else {
            functional(out, name, total, &doc, &o.props.iter().collect::<Vec<_>>(), used);
        }
        return;
    }
    let base = format!("_{name}Required");
    if plain(&required) {
        class(out, &base, &["TypedDict"], true, "", &required, used);
    } else {
        functional(out, &base, true, "", &required, used);
    }
    out.push_str("\n\n");
    if plain(&optional) {
        class(out, name, &[&base], false, &doc, &optional, used);
    } else {
        let rest = format!("_{name}Optional");
        functional(out, &rest, false, "", &optional, used);
        out.push_str("\n\n");
        class(out, name, &[&base, &rest], true, &doc, &[], used);
    }
}

fn class(
    out: &mut String,
    name: &str,
    bases: &[&str],
    total: bool,
    doc: &str,
    props: &[&Prop],
    used: &mut BTreeSet<&'static str>,
) {
    let total = if total { "" } else { ", total=False" };
    let _ = writeln!(out, "class {name}({}{total}):", bases.join(", "));
    if !doc.is_empty() {
        docstring(out, "    ", doc);
        if !props.is_empty() {
            out.push('\n');
        }
    } else if props.is_empty() {
        out.push_str("    pass\n");
    }
    for p in props {
        comment(out, "    ", &prop_doc(p));
        let _ = writeln!(out, "    {}: {}", p.name, ty(&p.ty, false, used));
    }
}

fn functional(
    out: &mut String,
    name: &str,
    total: bool,
    doc: &str,
    props: &[&Prop],
    used: &mut BTreeSet<&'static str>,
) {
    comment(out, "", doc);
    let total = if total { "" } else { ", total=False" };
    let fields: Vec<String> = props.iter().map(|p| format!("{}: {}", string(&p.name), ty(&p.ty, true, used))).collect();
    let line = format!("{name} = TypedDict({}, {{{}}}{total})", string(name), fields.join(", "));
    let documented = props.iter().any(|p| !prop_doc(p).is_empty());
    if line.len() <= WIDTH && !documented {
        out.push_str(&line);
        out.push('\n');
        return;
    }
    let _ = writeln!(out, "{name} = TypedDict(\n    {},\n    {{", string(name));
    for (p, field) in props.iter().zip(&fields) {
        comment(out, "        ", &prop_doc(p));
        let _ = writeln!(out, "        {field},");
    }
    let _ = writeln!(out, "    }}{}\n)", if total.is_empty() { "," } else { ",\n    total=False," });
}

fn prop_doc(p: &Prop) -> String {
    let text = p.doc.clone().unwrap_or_default();
    match (p.deprecated, text.is_empty()) {
        (false, _) => text,
        (true, true) => "Deprecated.".into(),
        (true, false) => format!("{text} Deprecated."),
    }
}

/// A type annotation. `quote` names the file's own types as strings, for
/// expressions run at import (aliases, functional TypedDicts).
fn ty(t: &Ty, quote: bool, used: &mut BTreeSet<&'static str>) -> String {
    fn import(used: &mut BTreeSet<&'static str>, name: &'static str) -> &'static str {
        used.insert(name);
        name
    }
    match t {
        Ty::Unknown => import(used, "Any").into(),
        Ty::Null => "None".into(),
        Ty::Bool => "bool".into(),
        Ty::Int => "int".into(),
        Ty::Num => "float".into(),
        Ty::Str => "str".into(),
        Ty::Lit(v) => format!("{}[{}]", import(used, "Literal"), literal(v)),
        Ty::Array(item) => format!("{}[{}]", import(used, "List"), ty(item, quote, used)),
        Ty::Tuple(items) if items.is_empty() => format!("{}[()]", import(used, "Tuple")),
        Ty::Tuple(items) => {
            import(used, "Tuple");
            format!("Tuple[{}]", items.iter().map(|i| ty(i, quote, used)).collect::<Vec<_>>().join(", "))
        }
        Ty::Map(value) => format!("{}[str, {}]", import(used, "Dict"), ty(value, quote, used)),
        Ty::Ref(name) if quote => string(name),
        Ty::Ref(name) => name.clone(),
        Ty::Union(members) => {
            // Literals become one `Literal[...]` where the first of them stood.
            let literals: Vec<String> =
                members.iter().filter_map(|m| if let Ty::Lit(v) = m { Some(literal(v)) } else { None }).collect();
            let mut parts = Vec::new();
            for m in members {
                match m {
                    Ty::Null => {}
                    Ty::Lit(_) if parts.iter().any(|p: &String| p.starts_with("Literal[")) => {}
                    Ty::Lit(_) => parts.push(format!("{}[{}]", import(used, "Literal"), literals.join(", "))),
                    m => parts.push(ty(m, quote, used)),
                }
            }
            let inner = match parts.len() {
                0 => return "None".into(),
                1 => parts.pop().unwrap(),
                _ => format!("{}[{}]", import(used, "Union"), parts.join(", ")),
            };
            if members.contains(&Ty::Null) {
                format!("{}[{inner}]", import(used, "Optional"))
            } else {
                inner
            }
        }
    }
}

fn literal(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Bool(b) => py_bool(*b).into(),
        other => other.to_string(),
    }
}

fn comment(out: &mut String, indent: &str, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{indent}#{}{line}", if line.is_empty() { "" } else { " " });
    }
}

fn docstring(out: &mut String, indent: &str, text: &str) {
    let mut text = text.replace('\\', "\\\\").replace("\"\"\"", "\\\"\\\"\\\"");
    if text.ends_with('"') {
        text.insert(text.len() - 1, '\\');
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 {
        let _ = writeln!(out, "{indent}\"\"\"{}\"\"\"", lines[0]);
        return;
    }
    let _ = writeln!(out, "{indent}\"\"\"{}", lines[0]);
    for line in &lines[1..] {
        let _ = writeln!(out, "{}", if line.is_empty() { String::new() } else { format!("{indent}{line}") });
    }
    let _ = writeln!(out, "{indent}\"\"\"");
}

/// The client, the same on the wire as editors/scripts/packer_client.py.
const CLIENT: &str = r#"

class PackerError(Exception):
    """An error answer: JSON-RPC's `code`, `message` and `data` (None when absent)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message
        self.data = data


class Client:
    """A client of `studio-packer serve` over the LSP base protocol (Content-Length framing).

    `argv` starts the server; other keyword arguments go to subprocess.Popen
    (cwd, env, stderr). Notifications that arrive while a request waits for
    its answer go to `on_notification(method, params)`, in the order sent.
    """

    def __init__(
        self,
        argv: List[str],
        on_notification: Optional[Callable[[str, Any], None]] = None,
        **popen: Any,
    ) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, **popen)
        self.next_id = 1
        self.on_notification: Callable[[str, Any], None] = on_notification or (lambda method, params: None)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.close()

    def _send(self, message: Dict[str, Any]) -> None:
        body = json.dumps(message).encode("utf-8")
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def _read(self) -> Dict[str, Any]:
        assert self.proc.stdout is not None
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the server closed its output")
            line = line.strip()
            if not line:
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        if length is None:
            raise ValueError("a message without Content-Length")
        body = self.proc.stdout.read(length)
        if len(body) < length:
            raise EOFError("the server closed its output inside a message")
        message: Dict[str, Any] = json.loads(body)
        return message

    def notify(self, method: str, params: Any = None) -> None:
        """Sends a notification; no params is sent as `{}`."""
        self._send({"jsonrpc": "2.0", "method": method, "params": {} if params is None else params})

    def request(self, method: str, params: Any = None) -> Any:
        """Sends a request and returns its result; no params is sent as `{}`.

        Raises PackerError on an error answer.
        """
        request_id = self.next_id
        self.next_id += 1
        self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": {} if params is None else params})
        while True:
            message = self._read()
            if "method" in message and "id" in message:
                # The packer sends no requests: answer as JSON-RPC does an unknown method.
                refusal = {"code": -32601, "message": "the client handles no requests"}
                self._send({"jsonrpc": "2.0", "id": message["id"], "error": refusal})
            elif "method" in message:
                self.on_notification(message["method"], message.get("params"))
            elif message.get("id") == request_id:
                error = message.get("error")
                if error is not None:
                    raise PackerError(error.get("code"), error.get("message"), error.get("data"))
                return message.get("result")

    def close(self, timeout: float = 30) -> int:
        """Shuts the server down (`shutdown`, then `exit`) and waits for it: its exit code."""
        self.request("shutdown")
        self.notify("exit")
        code = self.proc.wait(timeout=timeout)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        return code
"#;

#[cfg(test)]
mod tests {
    use super::super::python;
    use super::super::tests::{fixture, model};
    use serde_json::json;
    use std::process::Command;

    #[test]
    fn is_deterministic_and_says_it_is_generated() {
        let py = python(&fixture());
        assert_eq!(py, python(&fixture()));
        assert!(py.starts_with("# Generated from the protocol's Rust types by tests/codegen: do not edit.\n"));
        assert!(py.contains("UPDATE_GENERATED=1 cargo test --test generated"));
    }

    #[test]
    fn typed_dicts_literals_and_unions() {
        let py = python(&fixture());
        let expect = [
            "class _ListAssetsParamsRequired(TypedDict):\n    projectId: str\n\n\nclass ListAssetsParams(_ListAssetsParamsRequired, total=False):\n    cursor: Optional[str]\n    filter: AssetFilter\n",
            "class OpenProjectParams(_OpenProjectParamsRequired, total=False):\n    \"\"\"Open a project.\"\"\"\n\n    create: bool\n",
            "class AssetFilter(TypedDict, total=False):\n",
            "# An asset's kind.\n#\n# - `image`: A picture.\nKind = Literal[\"audio\", \"dataFile\", \"image\"]\n",
            "ProgressToken = Union[int, str]\n",
            "Event = Union[\"EventQueued\", \"EventProgress\", \"EventSnapshotPublished\", \"EventWatchRestored\"]\n",
            "class EventQueued(TypedDict):\n    \"\"\"The operation was accepted.\"\"\"\n\n    projectId: str\n    seq: int\n    kind: Literal[\"queued\"]\n",
            "class MutationBatch(TypedDict):\n    kind: Literal[\"batch\"]\n    mutations: List[Mutation]\n",
            "UntaggedMixed = Optional[Union[\"UntaggedMixedA\", List[str]]]\n",
            "Unit = Literal[None]\n",
            "        \"nested\": List[List[Optional[int]]],\n",
            "        \"pair\": Tuple[int, str],\n",
            "        \"settings\": Dict[str, Any],\n",
            "    # Deprecated.\n    old: int\n",
            "\"\"\"Other keys are allowed too, of type `Any`.\"\"\"",
        ];
        for e in expect {
            assert!(py.contains(e), "missing:\n{e}\nin:\n{py}");
        }
    }

    #[test]
    fn keys_that_are_not_names_use_the_functional_form() {
        let py = python(&fixture());
        let expect = [
            "_AssetRequired = TypedDict(\n    \"_AssetRequired\",\n    {\n        \"boxed\": \"Status\",\n",
            "        \"class\": str,\n        \"content-type\": str,\n",
            "_AssetOptional = TypedDict(\"_AssetOptional\", {\"from\": Optional[str]}, total=False)\n\n\nclass Asset(_AssetRequired, _AssetOptional):\n    pass\n",
        ];
        for e in expect {
            assert!(py.contains(e), "missing:\n{e}\nin:\n{py}");
        }
    }

    #[test]
    fn client_methods_and_tables() {
        let py = python(&fixture());
        let expect = [
            "    def open_project(self, params: OpenProjectParams) -> OpenProjectResult:\n        \"\"\"Opens a project.\n\n        `packer/openProject`\n        \"\"\"\n        return cast(OpenProjectResult, self.request(\"packer/openProject\", params))\n",
            "    def shutdown(self) -> None:\n",
            "        `packer/applyMutation` (in the project's lane; cancellable)\n",
            "        self.request(\"shutdown\")\n",
            "    def list_projects(self) -> ListProjectsResult:\n",
            "    def close_project(self, params: ProjectParams) -> None:\n",
            "    {\"name\": \"packer/applyMutation\", \"lane\": True, \"cancellable\": True},\n",
            "    \"$/progress\": \"ProgressParams\",\n",
            "PROTOCOL_VERSION = 1\n",
        ];
        for e in expect {
            assert!(py.contains(e), "missing:\n{e}\nin:\n{py}");
        }
    }

    #[test]
    #[should_panic(expected = "method `packer/close`: `close` is taken by Client itself")]
    fn a_method_named_like_the_clients_own_panics() {
        let mut m = model(json!({}));
        m["methods"] =
            json!([{ "name": "packer/close", "params": null, "result": null, "lane": false, "cancellable": false }]);
        python(&m);
    }

    /// The module imports (3.9 semantics where that interpreter is the one
    /// installed) and its Client speaks to a stand-in server: framing,
    /// notifications while waiting, an error answer, shutdown and exit.
    #[test]
    fn the_module_imports_and_its_client_talks_to_a_server() {
        let dir = std::env::temp_dir().join(format!("packer-codegen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("packer_protocol.py"), python(&fixture())).unwrap();
        std::fs::write(dir.join("server.py"), SERVER).unwrap();
        std::fs::write(dir.join("drive.py"), DRIVE).unwrap();
        let out = Command::new("python3").arg("drive.py").current_dir(&dir).output();
        let out = out.expect("python3 is needed to check the generated client (scripts/test.sh installs it)");
        let _ = std::fs::remove_dir_all(&dir);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(
            stdout,
            "note packer/event {'kind': 'watchRestored', 'projectId': 'p-1', 'seq': 1}\n\
             opened {'projectId': 'p-1'}\n\
             error -32602 bad root {'field': 'root'}\n\
             exit 0\n\
             log initialize,packer/openProject,packer/openProject,shutdown,exit\n"
        );
    }

    const SERVER: &str = r#"
import json, sys
log = []
def send(m):
    b = json.dumps(m).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(b) + b)
    sys.stdout.buffer.flush()
def read():
    n = None
    while True:
        line = sys.stdin.buffer.readline().strip()
        if not line:
            break
        k, _, v = line.decode().partition(":")
        if k.lower() == "content-length":
            n = int(v)
    return json.loads(sys.stdin.buffer.read(n))
while True:
    m = read()
    log.append(m["method"])
    if m["method"] == "exit":
        sys.stderr.write("log " + ",".join(log) + "\n")
        sys.exit(0)
    if m["method"] == "packer/openProject" and m["params"]["root"] == "/bad":
        send({"jsonrpc": "2.0", "id": m["id"], "error": {"code": -32602, "message": "bad root", "data": {"field": "root"}}})
    elif m["method"] == "packer/openProject":
        send({"jsonrpc": "2.0", "method": "packer/event", "params": {"projectId": "p-1", "seq": 1, "kind": "watchRestored"}})
        send({"jsonrpc": "2.0", "id": m["id"], "result": {"projectId": "p-1"}})
    elif "id" in m:
        send({"jsonrpc": "2.0", "id": m["id"], "result": None})
"#;

    const DRIVE: &str = r#"
import subprocess, sys
import packer_protocol as pp
c = pp.Client([sys.executable, "server.py"], stderr=subprocess.PIPE,
              on_notification=lambda method, params: print("note", method, dict(sorted(params.items()))))
c.initialize({"processId": 1, "capabilities": {}})
print("opened", c.open_project({"root": "/r"}))
try:
    c.open_project({"root": "/bad"})
except pp.PackerError as e:
    print("error", e.code, e.message, e.data)
err = c.proc.stderr
print("exit", c.close())
print(err.read().decode().strip())
"#;
}
