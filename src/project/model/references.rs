//! References between assets: how one is written in a file, and where.
//!
//! In JSON and TOML data, a string value `"asset:<id>"` names an asset by
//! id and `"asset:<path>"` (a path from the project root, told apart by its
//! `/`) by path. In a glTF file, every relative `uri` of `buffers` and
//! `images` names a file relative to the glTF's own folder. Keys are never
//! references; neither is a string that merely contains `asset:`.
//!
//! Finding them is a function of the file's bytes alone, so what the packer
//! found is kept with what else reading the file gave (the stat cache), and
//! a change to one file re-reads that file's references only. The byte
//! range of each string literal is kept while the text is at hand, for the
//! rewrites a move or `replaceReferences` makes.

use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// What a reference in data starts with.
pub const SCHEME: &str = "asset:";

/// The most references kept of one file: a file with more is a problem of
/// its own, and its first ones are kept (bounded memory per asset).
pub const MAX_PER_FILE: usize = 10_000;

/// A file's references as the packer keeps them; most files have none, and
/// share one empty list (an `Arc` of an empty slice is an allocation each).
pub fn shared(found: Vec<Reference>) -> Arc<[Reference]> {
    static NONE: std::sync::LazyLock<Arc<[Reference]>> = std::sync::LazyLock::new(|| Arc::from([]));
    if found.is_empty() {
        NONE.clone()
    } else {
        found.into()
    }
}

/// What a reference names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Target {
    /// An asset id: survives every move.
    Id(Arc<str>),
    /// A path from the project root, normalised (no `.`, no `..` left
    /// inside the root; one that climbs out keeps its leading `..`).
    Path(Arc<str>),
}

impl Target {
    pub fn as_str(&self) -> &str {
        match self {
            Target::Id(s) | Target::Path(s) => s,
        }
    }
}

/// A reference as the packer keeps it: what it names and where it is
/// written in the referring file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reference {
    pub target: Target,
    /// Where the value sits in the file's tree, as a JSON pointer (RFC 6901;
    /// for TOML, over the same tree of tables and arrays).
    pub pointer: Arc<str>,
    /// 1-based line of the string's opening quote.
    pub line: u32,
    /// 1-based column (in characters) of the opening quote.
    pub column: u32,
}

/// A reference found in a file's text, with what a rewrite needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub reference: Reference,
    /// The byte range of the string literal, quotes included.
    pub span: Range<usize>,
    /// How it is written, so that a rewrite writes the new target alike.
    pub form: Form,
}

/// How a reference is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `"asset:…"` in JSON.
    JsonString,
    /// `"asset:…"` in TOML (a basic string; literal strings are rewritten as basic).
    TomlString,
    /// A glTF `uri`, relative to the glTF file's folder and percent-encoded.
    GltfUri,
}

/// The file formats references are read from, by extension (`None`: the
/// file holds none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Json,
    Toml,
    Gltf,
}

impl Syntax {
    pub fn of_extension(ext: &str) -> Option<Syntax> {
        match ext {
            "json" => Some(Syntax::Json),
            "toml" => Some(Syntax::Toml),
            "gltf" => Some(Syntax::Gltf),
            _ => None,
        }
    }
}

/// The references in a file at `path` (project-relative; a glTF's URIs are
/// relative to its folder). `Err` when the text does not parse: the file's
/// own diagnostic says so, and it has no references until it does.
pub fn find(bytes: &[u8], syntax: Syntax, path: &str) -> Result<Vec<Found>, String> {
    find_in(bytes, syntax, path).map(|(found, _)| found)
}

/// [`find`], and whether `serde_json` read the whole file as valid JSON
/// on the way (then the file needs no other check that it is JSON).
pub fn find_in(bytes: &[u8], syntax: Syntax, path: &str) -> Result<(Vec<Found>, bool), String> {
    // Most data files name no asset: a scan for the scheme is far cheaper
    // than a parse with positions.
    // (A string may spell the scheme with escapes, `asset\u003a`: a file
    // with any `\u` is parsed.)
    if syntax != Syntax::Gltf
        && memchr::memmem::find(bytes, SCHEME.as_bytes()).is_none()
        && memchr::memmem::find(bytes, b"\\u").is_none()
    {
        return Ok((Vec::new(), false));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not valid UTF-8 at byte {}", e.valid_up_to()))?;
    let (mut found, valid) = match syntax {
        Syntax::Json => match fast_json(text) {
            Ok(Some(found)) => (found, true),
            // Escaped references, or a file serde_json's one pass refuses
            // that is still JSON (nested deeper than 128, a number beyond
            // f64): the tree walk decides, and the file's own check says
            // whether it is JSON (the tree's idea of strict JSON is not
            // exactly serde_json's).
            Ok(None) | Err(_) => (json(text, |s| data_target(s).map(|t| (t, Form::JsonString)))?, false),
        },
        Syntax::Toml => (toml(text)?, false),
        Syntax::Gltf => (gltf(text, path)?, false),
    };
    found.sort_by_key(|f| f.span.start);
    // One more than kept: the caller says when a file names too many.
    found.truncate(MAX_PER_FILE + 1);
    locate(text, &mut found);
    Ok((found, valid))
}

/// The target of a data string: `asset:<id>` or `asset:<path>`.
fn data_target(s: &str) -> Option<Target> {
    let rest = s.strip_prefix(SCHEME)?;
    if rest.is_empty() {
        return None;
    }
    Some(if rest.contains('/') {
        Target::Path(normalise(rest.strip_prefix('/').unwrap_or(rest)))
    } else {
        Target::Id(rest.into())
    })
}

/// `a/./b/../c` as `a/c`; what climbs above the start keeps its `..`.
fn normalise(path: &str) -> Arc<str> {
    // Most paths are written normalised: made straight from the text.
    if !path.split('/').any(|part| matches!(part, "" | "." | "..")) {
        return path.into();
    }
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if out.last().is_some_and(|p| *p != "..") => {
                out.pop();
            }
            _ => out.push(part),
        }
    }
    out.join("/").into()
}

/// Line and column of each reference, in one pass over the text.
fn locate(text: &str, found: &mut [Found]) {
    let (mut line, mut line_start, mut at) = (1u32, 0usize, 0usize);
    for f in found.iter_mut() {
        let start = f.span.start;
        for (i, b) in text.as_bytes()[at..start].iter().enumerate() {
            if *b == b'\n' {
                line += 1;
                line_start = at + i + 1;
            }
        }
        at = start;
        f.reference.line = line;
        f.reference.column = text[line_start..start].chars().count() as u32 + 1;
    }
}

/// A JSON pointer as a walk goes down a tree: one buffer, a step pushed
/// on the way down and popped on the way up (a pointer is only made into
/// a string of its own for a reference: most values are not one).
#[derive(Default)]
struct Pointer(String);

impl Pointer {
    /// Runs `f` one step further down: a key (escaped, `~` as `~0`, `/` as
    /// `~1`) or an index.
    fn key<R>(&mut self, key: &str, f: impl FnOnce(&mut Pointer) -> R) -> R {
        let len = self.0.len();
        self.0.push('/');
        if key.contains(['~', '/']) {
            self.0.push_str(&key.replace('~', "~0").replace('/', "~1"));
        } else {
            self.0.push_str(key);
        }
        let r = f(self);
        self.0.truncate(len);
        r
    }

    fn index<R>(&mut self, i: usize, f: impl FnOnce(&mut Pointer) -> R) -> R {
        use std::fmt::Write;
        let len = self.0.len();
        let _ = write!(self.0, "/{i}");
        let r = f(self);
        self.0.truncate(len);
        r
    }
}

fn found(target: Target, pointer: &Pointer, span: Range<usize>, form: Form) -> Found {
    Found { reference: Reference { target, pointer: shared_pointer(&pointer.0), line: 0, column: 0 }, span, form }
}

/// A pointer's string, shared with the references found before it on this
/// thread that have the same one: pointers repeat from file to file (each
/// level's `/uses/0`), and a string each is an allocation per reference
/// (9 MB at 300,000). At most [`SHARED_POINTERS`] are kept.
fn shared_pointer(pointer: &str) -> Arc<str> {
    thread_local! {
        static KNOWN: std::cell::RefCell<rustc_hash::FxHashMap<Arc<str>, ()>> = Default::default();
    }
    KNOWN.with_borrow_mut(|known| {
        if let Some((shared, ())) = known.get_key_value(pointer) {
            return shared.clone();
        }
        if known.len() >= SHARED_POINTERS {
            known.clear();
        }
        let shared: Arc<str> = pointer.into();
        known.insert(shared.clone(), ());
        shared
    })
}

/// How many pointers one thread keeps to share (a few hundred KB).
const SHARED_POINTERS: usize = 4096;

fn json_ast(text: &str) -> Result<Option<jsonc_parser::ast::Value<'_>>, String> {
    // Strict JSON: what `invalidJson` accepts, nothing more.
    let options = jsonc_parser::ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
    };
    jsonc_parser::parse_to_ast(text, &Default::default(), &options).map(|r| r.value).map_err(|e| e.to_string())
}

/// The references of a JSON data file in one pass of `serde_json`, with no
/// tree built: a string the parser lends from the text (one without
/// escapes) is where it sits in the text, so its span is known exactly.
/// `Ok(None)` when a reference is written with escapes: its span is not
/// known this way, and [`json`] takes the file (rare; five times slower).
fn fast_json(text: &str) -> Result<Option<Vec<Found>>, String> {
    use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::borrow::Cow;

    struct Walk<'w> {
        base: usize,
        at: &'w mut Pointer,
        out: &'w mut Vec<Found>,
        escaped: &'w mut bool,
    }

    impl Walk<'_> {
        fn deeper(&mut self) -> Walk<'_> {
            Walk { base: self.base, at: self.at, out: self.out, escaped: self.escaped }
        }
    }

    impl<'de> DeserializeSeed<'de> for Walk<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Walk<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("JSON")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
            if let Some(t) = data_target(v) {
                // The quotes are one byte each side of the lent text.
                let start = v.as_ptr() as usize - self.base - 1;
                self.out.push(found(t, self.at, start..start + v.len() + 2, Form::JsonString));
            }
            Ok(())
        }
        fn visit_str<E>(self, v: &str) -> Result<(), E> {
            *self.escaped |= data_target(v).is_some();
            Ok(())
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0;
            loop {
                let w = self.deeper();
                let more = w
                    .at
                    .index(i, |at| seq.next_element_seed(Walk { base: w.base, at, out: w.out, escaped: w.escaped }))?;
                if more.is_none() {
                    return Ok(());
                }
                i += 1;
            }
        }
        fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
            while let Some(key) = map.next_key_seed(Key)? {
                let w = self.deeper();
                w.at.key(&key, |at| map.next_value_seed(Walk { base: w.base, at, out: w.out, escaped: w.escaped }))?;
            }
            Ok(())
        }
    }

    /// An object's key, lent by the parser when it has no escapes.
    struct Key;

    impl<'de> DeserializeSeed<'de> for Key {
        type Value = Cow<'de, str>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
            d.deserialize_str(self)
        }
    }

    impl<'de> Visitor<'de> for Key {
        type Value = Cow<'de, str>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a key")
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Borrowed(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
            Ok(Cow::Owned(v.to_string()))
        }
    }

    let (mut at, mut out, mut escaped) = (Pointer::default(), Vec::new(), false);
    let mut de = serde_json::Deserializer::from_str(text);
    let walk = Walk { base: text.as_ptr() as usize, at: &mut at, out: &mut out, escaped: &mut escaped };
    walk.deserialize(&mut de).and_then(|()| de.end()).map_err(|e| e.to_string())?;
    Ok((!escaped).then_some(out))
}

/// Every string value of a JSON document that `target` accepts.
fn json(text: &str, target: impl Fn(&str) -> Option<(Target, Form)>) -> Result<Vec<Found>, String> {
    use jsonc_parser::ast::Value;
    fn walk(v: &Value<'_>, at: &mut Pointer, target: &dyn Fn(&str) -> Option<(Target, Form)>, out: &mut Vec<Found>) {
        match v {
            Value::StringLit(s) => {
                if let Some((t, form)) = target(&s.value) {
                    out.push(found(t, at, s.range.start..s.range.end, form));
                }
            }
            Value::Object(o) => {
                for p in &o.properties {
                    at.key(p.name.as_str(), |at| walk(&p.value, at, target, out));
                }
            }
            Value::Array(a) => {
                for (i, e) in a.elements.iter().enumerate() {
                    at.index(i, |at| walk(e, at, target, out));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Some(root) = json_ast(text)? {
        walk(&root, &mut Pointer::default(), &target, &mut out);
    }
    Ok(out)
}

/// Every string value of a TOML document that names an asset.
fn toml(text: &str) -> Result<Vec<Found>, String> {
    use toml_edit::{Item, Value};
    fn value(v: &Value, at: &mut Pointer, out: &mut Vec<Found>) {
        match v {
            Value::String(s) => {
                if let (Some(t), Some(span)) = (data_target(s.value()), s.span()) {
                    out.push(found(t, at, span, Form::TomlString));
                }
            }
            Value::Array(a) => {
                for (i, e) in a.iter().enumerate() {
                    at.index(i, |at| value(e, at, out));
                }
            }
            Value::InlineTable(t) => {
                for (k, e) in t.iter() {
                    at.key(k, |at| value(e, at, out));
                }
            }
            _ => {}
        }
    }
    fn item(it: &Item, at: &mut Pointer, out: &mut Vec<Found>) {
        match it {
            Item::Value(v) => value(v, at, out),
            Item::Table(t) => {
                for (k, e) in t.iter() {
                    at.key(k, |at| item(e, at, out));
                }
            }
            Item::ArrayOfTables(a) => {
                for (i, t) in a.iter().enumerate() {
                    at.index(i, |at| {
                        for (k, e) in t.iter() {
                            at.key(k, |at| item(e, at, out));
                        }
                    });
                }
            }
            Item::None => {}
        }
    }
    let doc = toml_edit::Document::parse(text).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut at = Pointer::default();
    for (k, e) in doc.iter() {
        at.key(k, |at| item(e, at, &mut out));
    }
    Ok(out)
}

/// The relative `uri` of every buffer and image of a glTF file.
fn gltf(text: &str, path: &str) -> Result<Vec<Found>, String> {
    use jsonc_parser::ast::Value;
    let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    let mut out = Vec::new();
    let Some(Value::Object(root)) = json_ast(text)? else { return Ok(out) };
    for p in &root.properties {
        let list = p.name.as_str();
        if list != "buffers" && list != "images" {
            continue;
        }
        let Value::Array(items) = &p.value else { continue };
        for (i, item) in items.elements.iter().enumerate() {
            let Value::Object(item) = item else { continue };
            for q in &item.properties {
                if let (true, Value::StringLit(s)) = (q.name.as_str() == "uri", &q.value) {
                    if let Some(t) = uri_target(folder, &s.value) {
                        let at = Pointer(format!("/{list}/{i}/uri"));
                        out.push(found(t, &at, s.range.start..s.range.end, Form::GltfUri));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// A glTF URI as a project path: `None` for a data URI, one with a scheme
/// or an absolute path (not a file of the project).
fn uri_target(folder: &str, uri: &str) -> Option<Target> {
    let scheme = uri.split_once(':').is_some_and(|(s, _)| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if uri.is_empty() || scheme || uri.starts_with('/') {
        return None;
    }
    // The reference part only: no query or fragment names a file.
    let uri = uri.split(['?', '#']).next().unwrap_or(uri);
    let decoded = percent_encoding::percent_decode_str(uri).decode_utf8().ok()?;
    let joined = if folder.is_empty() { decoded.into_owned() } else { format!("{folder}/{decoded}") };
    Some(Target::Path(normalise(&joined)))
}

/// How `target` is written as a reference of `form` in a file at `path`
/// (for a glTF URI, relative to its folder and percent-encoded): the
/// literal, quotes included, that replaces the old one.
pub fn literal(form: Form, target: &Target, path: &str) -> String {
    literal_keeping(form, target, path, "")
}

/// [`literal`], with a glTF URI's query or fragment (`suffix`, from its
/// `?` or `#` on) kept after the new path: it is not the file's to drop.
fn literal_keeping(form: Form, target: &Target, path: &str, suffix: &str) -> String {
    // A path is told from an id by its `/`: a file at the root is written `/name`.
    let data = || match target {
        Target::Path(p) if !p.contains('/') => format!("{SCHEME}/{p}"),
        _ => format!("{SCHEME}{}", target.as_str()),
    };
    match form {
        Form::JsonString => serde_json::to_string(&data()).expect("a string"),
        Form::TomlString => toml_edit::Value::from(data()).to_string(),
        Form::GltfUri => {
            let folder = path.rsplit_once('/').map_or("", |(dir, _)| dir);
            let relative = relative_to(folder, target.as_str());
            // RFC 3986 path characters stay as they are.
            const ESCAPED: &percent_encoding::AsciiSet =
                &percent_encoding::NON_ALPHANUMERIC.remove(b'/').remove(b'.').remove(b'-').remove(b'_').remove(b'~');
            let encoded = percent_encoding::utf8_percent_encode(&relative, ESCAPED).to_string();
            serde_json::to_string(&(encoded + suffix)).expect("a string")
        }
    }
}

/// One reference a rewrite changes: where it was, and the literal written
/// before and after (quotes included, exactly as in the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub pointer: Arc<str>,
    pub line: u32,
    pub column: u32,
    pub before: String,
    pub after: String,
}

/// The file's bytes with some references rewritten, and what changed.
/// `bytes` are the file as it is at `read_as`; it will be at `at` (a
/// glTF's URIs are written relative to that folder). `new_target` is asked
/// for each reference as read at `read_as`, and answers what it must name
/// instead, if anything. Nothing else in the file changes, byte for byte.
pub fn rewrite(
    bytes: &[u8],
    syntax: Syntax,
    read_as: &str,
    at: &str,
    mut new_target: impl FnMut(&Reference) -> Option<Target>,
) -> Result<(Vec<u8>, Vec<Change>), String> {
    let found = find(bytes, syntax, read_as)?;
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not valid UTF-8 at byte {}", e.valid_up_to()))?;
    let (mut out, mut changes, mut copied) = (Vec::with_capacity(bytes.len()), Vec::new(), 0);
    for f in found.iter().take(MAX_PER_FILE) {
        let Some(target) = new_target(&f.reference) else { continue };
        let before = &text[f.span.clone()];
        // A URI's query or fragment, as the file had it (the literal is JSON).
        let value = (f.form == Form::GltfUri).then(|| serde_json::from_str::<String>(before).ok()).flatten();
        let suffix = value.as_deref().and_then(|v| v.find(['?', '#']).map(|at| &v[at..])).unwrap_or("");
        let after = literal_keeping(f.form, &target, at, suffix);
        if before == after {
            continue;
        }
        out.extend_from_slice(&bytes[copied..f.span.start]);
        out.extend_from_slice(after.as_bytes());
        copied = f.span.end;
        let r = &f.reference;
        changes.push(Change {
            pointer: r.pointer.clone(),
            line: r.line,
            column: r.column,
            before: before.into(),
            after,
        });
    }
    out.extend_from_slice(&bytes[copied..]);
    Ok((out, changes))
}

/// `to` (from the project root) relative to the folder `from`.
fn relative_to(from: &str, to: &str) -> String {
    let from: Vec<&str> = from.split('/').filter(|s| !s.is_empty()).collect();
    let to: Vec<&str> = to.split('/').collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<&str> = vec![".."; from.len() - common];
    parts.extend(&to[common..]);
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(found: &[Found]) -> Vec<(&str, &str, u32, u32)> {
        found
            .iter()
            .map(|f| (f.reference.target.as_str(), &*f.reference.pointer, f.reference.line, f.reference.column))
            .collect()
    }

    #[test]
    fn json_strings_name_assets_by_id_or_by_path_with_pointer_line_and_column() {
        let text = "{\n  \"name\": \"level 1\",\n  \"sprites\": [\"asset:a-1\", \"asset:assets/ui/a.png\"],\n  \"a/b~c\": {\"snd\": \"asset:/assets/s.wav\"},\n  \"asset:key\": 1,\n  \"note\": \"see asset:a-1\"\n}";
        let found = find(text.as_bytes(), Syntax::Json, "levels/l1.json").unwrap();
        assert_eq!(
            targets(&found),
            vec![
                ("a-1", "/sprites/0", 3, 15),
                ("assets/ui/a.png", "/sprites/1", 3, 28),
                ("assets/s.wav", "/a~1b~0c/snd", 4, 20),
            ]
        );
        assert_eq!(found[0].reference.target, Target::Id("a-1".into()));
        assert_eq!(found[1].reference.target, Target::Path("assets/ui/a.png".into()));
        assert_eq!(&text[found[0].span.clone()], "\"asset:a-1\"");
    }

    #[test]
    fn toml_strings_name_assets_too() {
        let text = "title = \"x\"\n[level]\nsky = \"asset:assets/sky.png\"\n[[spawns]]\nwho = 'asset:hero'\n";
        let found = find(text.as_bytes(), Syntax::Toml, "a.toml").unwrap();
        assert_eq!(targets(&found), vec![("assets/sky.png", "/level/sky", 3, 7), ("hero", "/spawns/0/who", 5, 7)]);
        assert_eq!(&text[found[1].span.clone()], "'asset:hero'");
        assert_eq!(literal(Form::TomlString, &Target::Id("villain".into()), "a.toml"), "\"asset:villain\"");
    }

    #[test]
    fn gltf_uris_are_relative_to_the_models_folder() {
        let text = r#"{"asset": {"version": "2.0"},
 "buffers": [{"uri": "mesh.bin", "byteLength": 4}, {"uri": "data:application/octet-stream;base64,AAAA"}],
 "images": [{"uri": "../textures/brick%20wall.png"}, {"uri": "https://example.com/x.png"}, {"bufferView": 0}]}"#;
        let found = find(text.as_bytes(), Syntax::Gltf, "assets/models/box.gltf").unwrap();
        assert_eq!(
            targets(&found),
            vec![
                ("assets/models/mesh.bin", "/buffers/0/uri", 2, 22),
                ("assets/textures/brick wall.png", "/images/0/uri", 3, 21),
            ]
        );
        let moved = Target::Path("assets/tex/brick wall.png".into());
        assert_eq!(literal(Form::GltfUri, &moved, "assets/models/box.gltf"), "\"../tex/brick%20wall.png\"");
    }

    #[test]
    fn a_rewrite_changes_the_chosen_literals_and_nothing_else() {
        let text =
            "{\n  \"sky\": \"asset:assets/sky.png\",\n  \"hero\": \"asset:h-1\", \"top\": \"asset:/x.json\"\n}\n";
        let (out, changes) = rewrite(text.as_bytes(), Syntax::Json, "l.json", "l.json", |r| match r.target.as_str() {
            "assets/sky.png" => Some(Target::Path("assets/env/sky day.png".into())),
            "h-1" => Some(Target::Id("h-1".into())),
            "x.json" => Some(Target::Path("y.json".into())),
            _ => None,
        })
        .unwrap();
        let expected = "{\n  \"sky\": \"asset:assets/env/sky day.png\",\n  \"hero\": \"asset:h-1\", \"top\": \"asset:/y.json\"\n}\n";
        assert_eq!(String::from_utf8(out).unwrap(), expected);
        let at: Vec<(&str, u32, u32, &str)> =
            changes.iter().map(|c| (&*c.pointer, c.line, c.column, c.after.as_str())).collect();
        assert_eq!(at, vec![("/sky", 2, 10, "\"asset:assets/env/sky day.png\""), ("/top", 3, 31, "\"asset:/y.json\"")]);
        assert_eq!(changes[0].before, "\"asset:assets/sky.png\"");
        // What it wrote reads back as what was asked.
        let again = find(expected.as_bytes(), Syntax::Json, "l.json").unwrap();
        assert_eq!(again[2].reference.target, Target::Path("y.json".into()));
    }

    #[test]
    fn a_moved_gltf_has_its_uris_written_from_its_new_folder() {
        let text = r#"{"buffers": [{"uri": "mesh.bin"}], "images": [{"uri": "tex/a.png"}]}"#;
        let (out, changes) =
            rewrite(text.as_bytes(), Syntax::Gltf, "m/box.gltf", "m/deep/box.gltf", |r| Some(r.target.clone()))
                .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"buffers": [{"uri": "../mesh.bin"}], "images": [{"uri": "../tex/a.png"}]}"#
        );
        assert_eq!(changes.len(), 2);
        let toml = "a = 'asset:hero'\n";
        let (out, _) =
            rewrite(toml.as_bytes(), Syntax::Toml, "a.toml", "a.toml", |_| Some(Target::Id("villain".into()))).unwrap();
        assert_eq!(out, b"a = \"asset:villain\"\n");
    }

    #[test]
    fn a_uris_query_and_fragment_survive_a_rewrite() {
        let text = r#"{"buffers": [{"uri": "mesh%20a.bin?v=2#lod0"}], "images": [{"uri": "a.png#x"}]}"#;
        let found = find(text.as_bytes(), Syntax::Gltf, "m/box.gltf").unwrap();
        assert_eq!(found[0].reference.target, Target::Path("m/mesh a.bin".into()));
        let (out, _) =
            rewrite(text.as_bytes(), Syntax::Gltf, "m/box.gltf", "box.gltf", |r| Some(r.target.clone())).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"buffers": [{"uri": "m/mesh%20a.bin?v=2#lod0"}], "images": [{"uri": "m/a.png#x"}]}"#
        );
    }

    #[test]
    fn the_one_pass_json_reader_finds_what_the_tree_walk_finds() {
        let docs = [
            r#"{"a": "asset:hero", "b": {"c/d~e": ["x", "asset:sprites/a.png", 1, null, true]}, "e": []}"#,
            r#"["asset:/root.txt", {"": "asset:id2"}, [[["asset:deep/x.png"]]], "asset:"]"#,
            r#"{"k": "asset:hero", "k": "asset:villain", "n": -1.5e3, "u": "\u00e9 asset:nope"}"#,
        ];
        for doc in docs {
            let fast = fast_json(doc).unwrap().expect("no reference written with escapes");
            let tree = json(doc, |s| data_target(s).map(|t| (t, Form::JsonString))).unwrap();
            assert_eq!(fast, tree, "{doc}");
        }
        // A reference written with escapes is left to the tree walk.
        assert_eq!(fast_json(r#"{"a": "asset:h\u0065ro"}"#).unwrap(), None);
        assert!(fast_json(r#"{"a": "asset:hero",}"#).is_err());
        // JSON serde_json's one pass refuses but the file's own check
        // accepts (nesting past 128, a number beyond f64): the tree walk
        // still finds its references, and the file is not vouched for.
        let deep = format!("{}\"asset:hero\"{}", "[".repeat(200), "]".repeat(200));
        let huge = r#"{"n": 1e400, "a": "asset:hero"}"#;
        for doc in [deep.as_str(), huge] {
            assert!(fast_json(doc).is_err());
            let (found, vouched) = find_in(doc.as_bytes(), Syntax::Json, "a.json").unwrap();
            assert_eq!((found.len(), vouched), (1, false), "{doc}");
            assert!(serde_json::from_str::<serde::de::IgnoredAny>(doc).is_ok());
        }
    }

    #[test]
    fn a_scheme_spelled_with_escapes_is_found() {
        let found = find(br#"{"a": "asset\u003ahero"}"#, Syntax::Json, "a.json").unwrap();
        assert_eq!(found[0].reference.target, Target::Id("hero".into()));
        let found = find(b"a = \"asset\\u003Ahero\"\n", Syntax::Toml, "a.toml").unwrap();
        assert_eq!(found[0].reference.target, Target::Id("hero".into()));
    }

    #[test]
    fn files_that_do_not_parse_have_no_references_and_say_why() {
        assert!(find(b"{\"a\": \"asset:x\",}", Syntax::Json, "a.json").is_err());
        assert_eq!(find(b"{\"a\": 1,}", Syntax::Json, "a.json").unwrap(), Vec::new());
        assert!(find(b"a = \"asset:x", Syntax::Toml, "a.toml").is_err());
    }

    #[test]
    fn paths_are_normalised_and_climbing_out_is_kept_visible() {
        assert_eq!(data_target("asset:assets/./a/../b.png"), Some(Target::Path("assets/b.png".into())));
        assert_eq!(data_target("asset:../x/y"), Some(Target::Path("../x/y".into())));
        assert_eq!(data_target("asset:"), None);
        assert_eq!(uri_target("m", "../../../x.bin"), Some(Target::Path("../../x.bin".into())));
        assert_eq!(relative_to("a/b", "a/c/d.png"), "../c/d.png");
        assert_eq!(relative_to("", "a/d.png"), "a/d.png");
        // Already normalised (taken as written), and not quite.
        assert_eq!(data_target("asset:assets/a/b.png"), Some(Target::Path("assets/a/b.png".into())));
        assert_eq!(data_target("asset:/assets//a/b.png/"), Some(Target::Path("assets/a/b.png".into())));
        assert_eq!(data_target("asset:a/.hidden/..x"), Some(Target::Path("a/.hidden/..x".into())));
    }

    #[test]
    fn pointers_repeated_across_files_share_one_string() {
        let one = find(br#"{"uses": ["asset:a", "asset:b"]}"#, Syntax::Json, "1.json").unwrap();
        let two = find(br#"{"uses": ["asset:c"]}"#, Syntax::Json, "2.json").unwrap();
        assert_eq!(&*two[0].reference.pointer, "/uses/0");
        assert!(Arc::ptr_eq(&one[0].reference.pointer, &two[0].reference.pointer));
        assert!(!Arc::ptr_eq(&one[0].reference.pointer, &one[1].reference.pointer));
    }
}
