//! Client source generated from the protocol's meta-model: `protocol.ts` for
//! editors/vscode and `packer_protocol.py` for editors/scripts.
//!
//! The meta-model is JSON: `protocolVersion`, `methods` (`name`, `params`,
//! `result`, `lane`, `cancellable`, `doc`), `notifications` (`name`,
//! `params`, `doc`) and `$defs`, the JSON Schemas (draft 2020-12) that
//! schemars 1.x derives from the Rust types. Both generators share one
//! lowering from those schemas to named declarations ([`Decl`]), so the
//! TypeScript and the Python name the same types the same way. A schema
//! construct the lowering does not know panics with the definition's name and
//! the fragment: a client type is never silently widened to `any`.

use serde_json::{Map, Value};
use std::collections::BTreeSet;

mod python;
mod typescript;

/// `protocol.ts`: the protocol's types, `Requests`, `Notifications`, `METHODS`
/// and `PROTOCOL_VERSION`, for `tsc --strict`.
pub fn typescript(model: &Value) -> String {
    typescript::render(&Model::from_json(model))
}

/// `packer_protocol.py`: the protocol's types as TypedDicts and aliases, and a
/// typed `Client` over stdio. Standard library only, Python 3.9 and later.
pub fn python(model: &Value) -> String {
    python::render(&Model::from_json(model))
}

/// The header of both generated files, one comment line each.
const HEADER: [&str; 3] = [
    "Generated from the protocol's Rust types by tests/codegen: do not edit.",
    "`cargo test --test generated` fails when this file is out of date;",
    "`UPDATE_GENERATED=1 cargo test --test generated` rewrites it.",
];

/// The meta-model, checked and lowered.
struct Model {
    version: u64,
    methods: Vec<Method>,
    notifications: Vec<Notification>,
    decls: Vec<Decl>,
}

struct Method {
    name: String,
    params: Option<String>,
    result: Option<String>,
    lane: bool,
    cancellable: bool,
    doc: Option<String>,
}

struct Notification {
    name: String,
    params: Option<String>,
    doc: Option<String>,
}

/// One named type of the output: a definition, or an object the lowering
/// named (a union's variant, an inline object).
#[derive(Debug)]
struct Decl {
    name: String,
    doc: Option<String>,
    deprecated: bool,
    body: Body,
}

#[derive(Debug)]
enum Body {
    Object(Object),
    Alias(Ty),
}

#[derive(Debug)]
struct Object {
    props: Vec<Prop>,
    /// The type of keys other than `props` (`additionalProperties`, a
    /// flattened map), when they are allowed.
    extra: Option<Ty>,
}

#[derive(Debug)]
struct Prop {
    name: String,
    ty: Ty,
    required: bool,
    doc: Option<String>,
    deprecated: bool,
}

/// A type as both languages can say it. Objects are always named (`Ref`):
/// Python's TypedDicts cannot be written inline.
#[derive(Debug, Clone, PartialEq)]
enum Ty {
    /// Any JSON value (`serde_json::Value`: schema `true` or `{}`).
    Unknown,
    Null,
    Bool,
    /// Integers and floats alike: JSON has one number type.
    Int,
    Num,
    Str,
    /// A literal string, number or bool (`const`, `enum`).
    Lit(Value),
    Array(Box<Ty>),
    Tuple(Vec<Ty>),
    /// An object whose keys are all free (`BTreeMap<String, T>`).
    Map(Box<Ty>),
    Ref(String),
    Union(Vec<Ty>),
}

/// A union, flattened and without repeats; `null` goes last (`T | null`), and
/// anything united with `Unknown` is `Unknown`.
fn union(members: Vec<Ty>) -> Ty {
    let mut out: Vec<Ty> = Vec::new();
    let mut null = false;
    let mut pending = members;
    pending.reverse();
    while let Some(m) = pending.pop() {
        match m {
            Ty::Union(inner) => pending.extend(inner.into_iter().rev()),
            Ty::Null | Ty::Lit(Value::Null) => null = true,
            Ty::Unknown => return Ty::Unknown,
            m if !out.contains(&m) => out.push(m),
            _ => {}
        }
    }
    if null {
        out.push(Ty::Null);
    }
    if out.len() == 1 {
        out.pop().unwrap()
    } else {
        Ty::Union(out)
    }
}

impl Model {
    fn from_json(model: &Value) -> Model {
        let top = model.as_object().unwrap_or_else(|| panic!("the meta-model is not an object"));
        let defs = top.get("$defs").and_then(Value::as_object).unwrap_or_else(|| panic!("the meta-model has no $defs"));
        let version = top.get("protocolVersion").and_then(Value::as_u64).unwrap_or_else(|| {
            panic!("the meta-model's protocolVersion is not a number: {:?}", top.get("protocolVersion"))
        });
        let type_name = |m: &Value, key: &str| -> Option<String> {
            match m.get(key) {
                None | Some(Value::Null) => None,
                Some(Value::String(n)) if defs.contains_key(n) => Some(n.clone()),
                Some(other) => panic!("{key} of {m} is neither null nor a key of $defs: {other}"),
            }
        };
        let text = |m: &Value, key: &str| -> Option<String> { m.get(key).and_then(Value::as_str).map(str::to_string) };
        let name = |m: &Value| -> String {
            text(m, "name").unwrap_or_else(|| panic!("a method or notification has no name: {m}"))
        };
        let flag = |m: &Value, key: &str| -> bool {
            m.get(key).and_then(Value::as_bool).unwrap_or_else(|| panic!("{key} of {m} is not a bool"))
        };
        let list = |key: &str| -> &Vec<Value> {
            top.get(key).and_then(Value::as_array).unwrap_or_else(|| panic!("the meta-model's {key} is not a list"))
        };
        let methods = list("methods")
            .iter()
            .map(|m| Method {
                name: name(m),
                params: type_name(m, "params"),
                result: type_name(m, "result"),
                lane: flag(m, "lane"),
                cancellable: flag(m, "cancellable"),
                doc: text(m, "doc"),
            })
            .collect();
        let notifications = list("notifications")
            .iter()
            .map(|n| Notification { name: name(n), params: type_name(n, "params"), doc: text(n, "doc") })
            .collect();
        Model { version, methods, notifications, decls: lower(defs) }
    }
}

/// Keywords that say nothing a client type can carry (documentation, or
/// bounds neither language checks).
const ANNOTATIONS: &[&str] = &[
    "description",
    "title",
    "default",
    "deprecated",
    "examples",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "readOnly",
    "writeOnly",
    "$comment",
];

/// The keywords the lowering gives meaning to. Any other one panics.
const STRUCTURAL: &[&str] = &[
    "type",
    "$ref",
    "const",
    "enum",
    "anyOf",
    "oneOf",
    "allOf",
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "items",
    "prefixItems",
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `snapshotPublished` -> `SnapshotPublished`, `content-type` -> `ContentType`.
fn pascal(s: &str) -> String {
    s.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w[..1].to_ascii_uppercase() + &w[1..])
        .collect()
}

/// A method's last segment in snake case: `packer/openProject` -> `open_project`,
/// `parseHTTPResponse` -> `parse_http_response`.
fn snake(method: &str) -> String {
    let last = method.rsplit('/').next().unwrap_or(method);
    let chars: Vec<char> = last.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            let boundary =
                prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_lower);
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    out.trim_end_matches('_').to_string()
}

fn description(schema: &Value) -> Option<String> {
    schema.get("description").and_then(Value::as_str).map(str::to_string)
}

fn deprecated(schema: &Value) -> bool {
    schema.get("deprecated").and_then(Value::as_bool).unwrap_or(false)
}

/// Lowers every definition, in the order of `$defs`; the objects a
/// definition needs named follow it.
fn lower(defs: &Map<String, Value>) -> Vec<Decl> {
    let mut lowering = Lowering { defs, def: String::new(), taken: defs.keys().cloned().collect(), out: Vec::new() };
    for (name, schema) in defs {
        assert!(is_identifier(name), "definition `{name}`: its name is not an identifier");
        lowering.def = name.clone();
        lowering.definition(name, schema);
    }
    lowering.out
}

/// One object alternative of a schema: what `allOf`, `oneOf`/`anyOf`, a
/// `$ref` beside object keywords and `#[serde(flatten)]` come to once
/// multiplied out.
#[derive(Clone)]
struct Shape {
    /// Appended to the name of the type for each alternative (a variant's tag).
    parts: Vec<String>,
    props: Vec<(String, Value)>,
    required: Vec<String>,
    extra: Option<Value>,
    doc: Option<String>,
    deprecated: bool,
}

struct Lowering<'a> {
    defs: &'a Map<String, Value>,
    /// The definition being lowered, for panics.
    def: String,
    /// Every type name given out, so that a generated name never shadows one.
    taken: BTreeSet<String>,
    out: Vec<Decl>,
}

impl Lowering<'_> {
    fn fail(&self, why: &str, fragment: &Value) -> ! {
        panic!("definition `{}`: {why}: {fragment}", self.def)
    }

    fn definition(&mut self, name: &str, schema: &Value) {
        let at = self.out.len();
        let (doc, deprecated) = (description(schema), deprecated(schema));
        let body = if self.expandable(schema) {
            let mut shapes = self.expand(schema);
            if shapes.len() == 1 {
                Body::Object(self.object(&shapes.pop().unwrap(), name))
            } else {
                Body::Alias(self.name_shapes(shapes, name))
            }
        } else {
            Body::Alias(self.ty(schema, name))
        };
        let doc = match &body {
            Body::Alias(_) => with_member_docs(doc, schema),
            Body::Object(_) => doc,
        };
        self.out.insert(at, Decl { name: name.to_string(), doc, deprecated, body });
    }

    fn object_of<'v>(&self, schema: &'v Value) -> &'v Map<String, Value> {
        let Some(o) = schema.as_object() else { self.fail("a schema that is not an object", schema) };
        for key in o.keys() {
            if !STRUCTURAL.contains(&key.as_str()) && !ANNOTATIONS.contains(&key.as_str()) && !key.starts_with("x-") {
                self.fail(&format!("the keyword `{key}` is not supported"), schema);
            }
        }
        o
    }

    fn ref_name(&self, schema: &Value, reference: &Value) -> String {
        let name = reference.as_str().and_then(|r| r.strip_prefix("#/$defs/"));
        match name {
            Some(n) if self.defs.contains_key(n) => n.to_string(),
            _ => self.fail("a $ref that names no key of $defs", schema),
        }
    }

    /// Whether `schema` is an object type to name (a struct, a flattened
    /// struct, a union of inline objects), rather than a primitive, a list,
    /// a map, a bare `$ref` or a union of those.
    fn expandable(&self, schema: &Value) -> bool {
        let o = self.object_of(schema);
        if o.get("type").is_some_and(Value::is_array) {
            return false;
        }
        let object_type = o.get("type").and_then(Value::as_str) == Some("object");
        let map = o.contains_key("patternProperties") || o.get("additionalProperties").is_some_and(|a| a != false);
        let ref_with_fields =
            o.contains_key("$ref") && o.keys().any(|k| k != "$ref" && STRUCTURAL.contains(&k.as_str()));
        let union_of_objects = ["oneOf", "anyOf"].iter().any(|k| {
            o.get(*k).and_then(Value::as_array).is_some_and(|ms| ms.iter().all(|m| m.is_object() && self.expandable(m)))
        });
        o.contains_key("properties")
            || o.contains_key("allOf")
            || ref_with_fields
            || union_of_objects
            || (object_type && !map)
    }

    /// The object alternatives of `schema`: its own properties, times the
    /// target of a `$ref` beside them, times each of `allOf`, times the sum
    /// of `oneOf`/`anyOf`. A flattened enum is the sum; flattened structs
    /// arrive already merged by schemars.
    fn expand(&self, schema: &Value) -> Vec<Shape> {
        let o = self.object_of(schema);
        for key in ["const", "enum", "items", "prefixItems"] {
            if o.contains_key(key) {
                self.fail("an object alternative with non-object keywords", schema);
            }
        }
        if o.get("type").is_some_and(|t| t != "object") {
            self.fail("an object alternative that is not of type object", schema);
        }
        let mut shapes = vec![self.own_shape(schema, o)];
        if let Some(r) = o.get("$ref") {
            let target = &self.defs[&self.ref_name(schema, r)];
            shapes = self.product(shapes, self.expand(target), schema);
        }
        for member in o.get("allOf").map(|a| self.members(schema, a)).unwrap_or_default() {
            shapes = self.product(shapes, self.expand(member), schema);
        }
        for key in ["oneOf", "anyOf"] {
            let Some(members) = o.get(key) else { continue };
            let mut sum = Vec::new();
            for (i, member) in self.members(schema, members).iter().enumerate() {
                let part = self.part(member, i);
                for mut shape in self.expand(member) {
                    shape.parts.insert(0, part.clone());
                    shape.doc = shape.doc.or_else(|| description(member));
                    shape.deprecated |= deprecated(member);
                    sum.push(shape);
                }
            }
            shapes = self.product(shapes, sum, schema);
        }
        for shape in &shapes {
            if let Some(missing) = shape.required.iter().find(|r| !shape.props.iter().any(|(p, _)| p == *r)) {
                self.fail(&format!("`{missing}` is required but not a property"), schema);
            }
        }
        shapes
    }

    fn members<'v>(&self, schema: &Value, list: &'v Value) -> Vec<&'v Value> {
        match list.as_array() {
            Some(ms) if !ms.is_empty() => ms.iter().collect(),
            _ => self.fail("allOf/anyOf/oneOf that is not a non-empty list", schema),
        }
    }

    /// The properties, required keys and extra keys of `o` itself.
    fn own_shape(&self, schema: &Value, o: &Map<String, Value>) -> Shape {
        let props = match o.get("properties") {
            None => Vec::new(),
            Some(Value::Object(p)) => p.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            Some(_) => self.fail("properties that are not an object", schema),
        };
        let required = match o.get("required") {
            None => Vec::new(),
            Some(Value::Array(r)) if r.iter().all(Value::is_string) => {
                r.iter().map(|k| k.as_str().unwrap().to_string()).collect()
            }
            Some(_) => self.fail("required that is not a list of strings", schema),
        };
        Shape { parts: Vec::new(), props, required, extra: self.extra(schema, o), doc: None, deprecated: false }
    }

    /// The schema of keys beyond the properties, if others are allowed.
    /// `patternProperties` (maps with integer keys) become their union.
    fn extra(&self, schema: &Value, o: &Map<String, Value>) -> Option<Value> {
        let additional = o.get("additionalProperties").filter(|a| **a != false);
        match (additional, o.get("patternProperties")) {
            (None, None) => None,
            (Some(a), None) => Some(a.clone()),
            (None, Some(Value::Object(p))) if o.get("additionalProperties") == Some(&Value::Bool(false)) => {
                let values: Vec<Value> = p.values().cloned().collect();
                Some(if values.len() == 1 { values[0].clone() } else { serde_json::json!({ "anyOf": values }) })
            }
            _ => self.fail("patternProperties beside additionalProperties other than false", schema),
        }
    }

    fn product(&self, left: Vec<Shape>, right: Vec<Shape>, schema: &Value) -> Vec<Shape> {
        let mut out = Vec::new();
        for a in &left {
            for b in &right {
                let mut m = a.clone();
                m.parts.extend(b.parts.iter().cloned());
                for (k, v) in &b.props {
                    match m.props.iter().find(|(p, _)| p == k) {
                        Some((_, existing)) if existing != v => {
                            self.fail(&format!("the property `{k}` comes twice with different schemas"), schema)
                        }
                        Some(_) => {}
                        None => m.props.push((k.clone(), v.clone())),
                    }
                }
                for r in &b.required {
                    if !m.required.contains(r) {
                        m.required.push(r.clone());
                    }
                }
                m.extra = match (m.extra.take(), &b.extra) {
                    (Some(x), Some(y)) if x != *y => self.fail("two different additionalProperties merged", schema),
                    (x, y) => x.or_else(|| y.clone()),
                };
                m.doc = b.doc.clone().or(m.doc);
                m.deprecated |= b.deprecated;
                out.push(m);
            }
        }
        out
    }

    /// The name part of a union member: its tag's value (`kind: "queued"` ->
    /// `Queued`), the name it refers to, an externally tagged variant's only
    /// key, or else its position.
    fn part(&self, member: &Value, index: usize) -> String {
        let required = |k: &str| member["required"].as_array().is_some_and(|r| r.iter().any(|x| x == k));
        let props = member.get("properties").and_then(Value::as_object);
        let tag = props.and_then(|p| {
            p.iter().find_map(|(k, v)| v.get("const").and_then(Value::as_str).filter(|_| required(k)).map(pascal))
        });
        let lone_key = props.filter(|p| p.len() == 1).and_then(|p| p.keys().next()).filter(|k| required(k));
        let pure_ref = member.get("$ref").filter(|_| !self.expandable(member));
        match (tag, pure_ref, lone_key) {
            (Some(t), _, _) if !t.is_empty() => t,
            (_, Some(r), _) => self.ref_name(member, r),
            (_, _, Some(k)) if !pascal(k).is_empty() => pascal(k),
            _ => format!("Variant{}", index + 1),
        }
    }

    /// Names the shapes after `base` and their parts, and declares them.
    fn name_shapes(&mut self, shapes: Vec<Shape>, base: &str) -> Ty {
        let single = shapes.len() == 1;
        let refs = shapes
            .into_iter()
            .map(|shape| {
                let name = if single { base.to_string() } else { format!("{base}{}", shape.parts.concat()) };
                if !self.taken.insert(name.clone()) {
                    panic!(
                        "definition `{}`: the generated type name `{name}` is already taken: rename a type or variant",
                        self.def
                    );
                }
                let at = self.out.len();
                let body = Body::Object(self.object(&shape, &name));
                self.out.insert(
                    at,
                    Decl { name: name.clone(), doc: shape.doc.clone(), deprecated: shape.deprecated, body },
                );
                Ty::Ref(name)
            })
            .collect();
        union(refs)
    }

    fn object(&mut self, shape: &Shape, name: &str) -> Object {
        let props = shape
            .props
            .iter()
            .map(|(k, v)| Prop {
                name: k.clone(),
                ty: self.ty(v, &format!("{name}{}", pascal(k))),
                required: shape.required.contains(k),
                doc: description(v),
                deprecated: deprecated(v),
            })
            .collect();
        let extra = shape.extra.as_ref().map(|e| self.ty(e, &format!("{name}Value")));
        Object { props, extra }
    }

    /// The type of `schema`; objects in it are declared under names that
    /// start with `ctx`.
    fn ty(&mut self, schema: &Value, ctx: &str) -> Ty {
        match schema {
            Value::Bool(true) => return Ty::Unknown,
            Value::Bool(false) => self.fail("the schema `false` (no value) is not supported", schema),
            _ => {}
        }
        let o = self.object_of(schema);
        if let Some(Value::Array(types)) = o.get("type") {
            let members = types
                .iter()
                .map(|t| {
                    let mut single = o.clone();
                    single.insert("type".into(), t.clone());
                    self.ty(&Value::Object(single), ctx)
                })
                .collect();
            return union(members);
        }
        if self.expandable(schema) {
            let shapes = self.expand(schema);
            return self.name_shapes(shapes, ctx);
        }
        if let Some(r) = o.get("$ref") {
            return Ty::Ref(self.ref_name(schema, r));
        }
        if let Some(c) = o.get("const") {
            return self.literal(schema, c);
        }
        if let Some(e) = o.get("enum") {
            let Some(values) = e.as_array() else { self.fail("an enum that is not a list", schema) };
            return union(values.iter().map(|v| self.literal(schema, v)).collect());
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(members) = o.get(key) {
                let members = self.members(schema, members);
                let tys = members
                    .iter()
                    .enumerate()
                    .map(|(i, m)| {
                        let part = self.part(m, i);
                        self.ty(m, &format!("{ctx}{part}"))
                    })
                    .collect();
                return union(tys);
            }
        }
        match o.get("type").map(|t| t.as_str().unwrap_or_else(|| self.fail("a type that is not a string", schema))) {
            None => Ty::Unknown,
            Some("null") => Ty::Null,
            Some("boolean") => Ty::Bool,
            Some("integer") => Ty::Int,
            Some("number") => Ty::Num,
            Some("string") => Ty::Str,
            Some("array") => match (o.get("prefixItems"), o.get("items")) {
                (Some(Value::Array(prefix)), _) => {
                    Ty::Tuple(prefix.iter().enumerate().map(|(i, p)| self.ty(p, &format!("{ctx}{i}"))).collect())
                }
                (None, Some(items)) if !items.is_array() => Ty::Array(Box::new(self.ty(items, &format!("{ctx}Item")))),
                (None, None) => Ty::Array(Box::new(Ty::Unknown)),
                _ => self.fail("an array schema with unsupported items", schema),
            },
            Some("object") => match self.extra(schema, o) {
                Some(values) => Ty::Map(Box::new(self.ty(&values, &format!("{ctx}Value")))),
                None => self.fail("an object schema that is neither a struct nor a map", schema),
            },
            Some(other) => self.fail(&format!("the type `{other}` is not supported"), schema),
        }
    }

    fn literal(&self, schema: &Value, value: &Value) -> Ty {
        match value {
            Value::Null => Ty::Null,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => Ty::Lit(value.clone()),
            _ => self.fail("a const or enum value that is a list or an object", schema),
        }
    }
}

/// An alias's doc with the docs of its documented literal members (a
/// documented unit variant of a string enum): `` - `image`: A picture. ``.
fn with_member_docs(doc: Option<String>, schema: &Value) -> Option<String> {
    let members = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array);
    let lines: Vec<String> = members
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let text = description(m)?;
            let values = match (m.get("const"), m.get("enum").and_then(Value::as_array)) {
                (Some(c), _) => vec![c.clone()],
                (None, Some(e)) => e.clone(),
                _ => return None,
            };
            let names: Vec<String> =
                values.iter().map(|v| format!("`{}`", v.as_str().map_or(v.to_string(), str::to_string))).collect();
            Some(format!("- {}: {}", names.join(", "), text.replace('\n', " ")))
        })
        .collect();
    if lines.is_empty() {
        return doc;
    }
    let list = lines.join("\n");
    Some(match doc {
        Some(d) => format!("{d}\n\n{list}"),
        None => list,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A meta-model made of real schemars 1.2 output (draft 2020-12, the
    /// deserialize contract): see `fixture.md` for the Rust types.
    pub(super) fn fixture() -> Value {
        serde_json::from_str(include_str!("fixture.json")).unwrap()
    }

    pub(super) fn model(defs: Value) -> Value {
        json!({ "protocolVersion": 1, "methods": [], "notifications": [], "$defs": defs })
    }

    fn decls(defs: Value) -> Vec<Decl> {
        Model::from_json(&model(defs)).decls
    }

    #[test]
    fn names() {
        assert_eq!(snake("packer/openProject"), "open_project");
        assert_eq!(snake("initialize"), "initialize");
        assert_eq!(snake("$/cancelRequest"), "cancel_request");
        assert_eq!(snake("packer/parseHTTPResponse"), "parse_http_response");
        assert_eq!(snake("packer/getURL"), "get_url");
        assert_eq!(snake("packer/v2Thing"), "v2_thing");
        assert_eq!(pascal("snapshotPublished"), "SnapshotPublished");
        assert_eq!(pascal("content-type"), "ContentType");
    }

    #[test]
    fn unions_flatten_and_put_null_last() {
        let u = union(vec![Ty::Null, Ty::Union(vec![Ty::Str, Ty::Int]), Ty::Str]);
        assert_eq!(u, Ty::Union(vec![Ty::Str, Ty::Int, Ty::Null]));
        assert_eq!(union(vec![Ty::Unknown, Ty::Null]), Ty::Unknown);
    }

    #[test]
    fn a_flattened_tagged_enum_becomes_one_object_per_variant_with_the_common_fields() {
        let decls = Model::from_json(&fixture()).decls;
        let names: Vec<&str> = decls.iter().map(|d| d.name.as_str()).collect();
        let at = names.iter().position(|n| *n == "Event").unwrap();
        assert_eq!(
            names[at..at + 5],
            ["Event", "EventQueued", "EventProgress", "EventSnapshotPublished", "EventWatchRestored"]
        );
        let Body::Object(published) = &decls[at + 3].body else { panic!("not an object") };
        let props: Vec<&str> = published.props.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            props,
            ["projectId", "seq", "kind", "generation"],
            "common fields, then the tag, then the newtype's"
        );
        assert!(published.props.iter().all(|p| p.required));
    }

    #[test]
    fn flattened_enums_side_by_side_multiply() {
        let decls = Model::from_json(&fixture()).decls;
        let two = decls.iter().find(|d| d.name == "TwoFlat").unwrap();
        let Body::Alias(Ty::Union(variants)) = &two.body else { panic!("not a union: {two:?}") };
        assert_eq!(variants.len(), 8);
        assert_eq!(variants[0], Ty::Ref("TwoFlatQueuedX".into()));
    }

    #[test]
    #[should_panic(expected = "definition `Odd`: the keyword `not` is not supported: {\"not\":{\"type\":\"string\"}}")]
    fn an_unknown_keyword_panics_with_the_definition_and_fragment() {
        decls(json!({ "Odd": { "type": "object", "properties": { "x": { "not": { "type": "string" } } } } }));
    }

    #[test]
    #[should_panic(expected = "definition `Odd`: a $ref that names no key of $defs")]
    fn a_dangling_ref_panics() {
        decls(json!({ "Odd": { "$ref": "#/$defs/Missing" } }));
    }

    #[test]
    #[should_panic(expected = "the generated type name `AB` is already taken")]
    fn a_generated_name_never_shadows_a_definition() {
        decls(json!({
            "A": { "type": "object", "properties": { "b": { "type": "object", "properties": {} } } },
            "AB": { "type": "string" }
        }));
    }

    #[test]
    #[should_panic(expected = "params of")]
    fn a_method_naming_no_definition_panics() {
        let mut m = model(json!({}));
        m["methods"] = json!([{ "name": "x", "params": "Nope", "result": null, "lane": false, "cancellable": false }]);
        Model::from_json(&m);
    }
}
