//! Limits on what one request may hold, enforced while its params are
//! decoded: before anything is planned, and before a list longer than its
//! limit is ever held in memory (a 12 MB frame of four million empty paths
//! is refused after its first 100,000, never held as four million strings).
//! A request over a limit is answered -32602 with `data.field` (the path of
//! the list or string) and `data.limit`. The table is in `protocol/README.md`
//! ("Limits").
//!
//! Params are decoded by serde's derived code, which has no room for
//! per-request state; decoding runs on one thread from start to end, so the
//! request's budget is a thread-local that [`Budget`] sets and clears.

use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Entries of every list of one request together: paths, assetIds, tags,
/// mutations (each mutation of a batch, at any depth), reconcile items, and
/// the members and elements of settings. Registering a freshly imported
/// folder of tens of thousands of files, or moving every asset of a large
/// project in one batch, fits; what does not is not one person's change.
/// Counting the whole tree means a batch of batches cannot multiply it.
pub const MAX_ITEMS: usize = 100_000;
/// Tags given to one asset by one `setMetadata`: a tag is a label a person
/// filters by, and more than a few dozen on one asset is already unusual.
pub const MAX_TAGS: usize = 1_000;
/// Ids (project, asset, operation, change, divergence item), tags,
/// resolutions, setting names and progress tokens: the longest real one is
/// an operation id of 63 bytes, and a tag is at most 64 characters.
pub const MAX_NAME_BYTES: usize = 256;
/// Paths and path filters: Linux's `PATH_MAX`, longer than any file system
/// accepts (the planner already blocks a project path over 1,024 bytes).
pub const MAX_PATH_BYTES: usize = 4_096;
/// Other text: a `listAssets` cursor (a generation and a path) and the
/// reason of an external change, which every client is shown.
pub const MAX_TEXT_BYTES: usize = 8_192;
/// A string anywhere inside a setting's value (processing options, not data).
pub const MAX_SETTING_BYTES: usize = 65_536;

thread_local! {
    /// Entries the request being decoded on this thread may still hold;
    /// `None` outside [`Budget`] (only the per-list limits apply then).
    static LEFT: Cell<Option<usize>> = const { Cell::new(None) };
    /// The limit the error of this decoding was raised for.
    static HIT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The item budget of one request, from `start` until dropped.
pub struct Budget(());

impl Budget {
    pub fn start() -> Budget {
        LEFT.set(Some(MAX_ITEMS));
        HIT.set(None);
        Budget(())
    }

    /// The limit that made this decoding fail, if a limit did.
    pub fn exceeded(&self) -> Option<usize> {
        HIT.get()
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        LEFT.set(None);
        HIT.set(None);
    }
}

fn over<E: de::Error>(limit: usize, message: fmt::Arguments) -> E {
    HIT.set(Some(limit));
    E::custom(message)
}

/// One more entry of some list of the request.
fn charge<E: de::Error>() -> Result<(), E> {
    match LEFT.get() {
        None => Ok(()),
        Some(0) => Err(over(
            MAX_ITEMS,
            format_args!(
                "more than {MAX_ITEMS} entries in one request (paths, assetIds, tags, mutations, items and \
                 settings all count, at any depth); the limit is {MAX_ITEMS}"
            ),
        )),
        Some(n) => {
            LEFT.set(Some(n - 1));
            Ok(())
        }
    }
}

/// A string of at most `MAX` bytes, refused before it is copied.
struct Str<const MAX: usize>(String);

impl<const MAX: usize> From<Str<MAX>> for String {
    fn from(s: Str<MAX>) -> String {
        s.0
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for Str<MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MAX: usize>;
        impl<const MAX: usize> Visitor<'_> for V<MAX> {
            type Value = Str<MAX>;
            // As serde's own, so that a wrong type reads as before.
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Str<MAX>, E> {
                check_len::<E, MAX>(s)?;
                Ok(Str(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Str<MAX>, E> {
                check_len::<E, MAX>(&s)?;
                Ok(Str(s))
            }
        }
        d.deserialize_string(V::<MAX>)
    }
}

fn check_len<E: de::Error, const MAX: usize>(s: &str) -> Result<(), E> {
    if s.len() > MAX {
        return Err(over(MAX, format_args!("a string of {} bytes; the limit is {MAX} bytes", s.len())));
    }
    Ok(())
}

/// A list of at most `MAX` entries, each decoded as `W`, every entry charged
/// to the request's budget as it is read.
struct List<W, T, const MAX: usize>(Vec<T>, PhantomData<W>);

impl<'de, W: Deserialize<'de> + Into<T>, T, const MAX: usize> Deserialize<'de> for List<W, T, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<W, T, const MAX: usize>(PhantomData<(W, T)>);
        impl<'de, W: Deserialize<'de> + Into<T>, T, const MAX: usize> Visitor<'de> for V<W, T, MAX> {
            type Value = List<W, T, MAX>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                List::visit(seq)
            }
        }
        d.deserialize_seq(V::<W, T, MAX>(PhantomData))
    }
}

/// Any JSON value inside a setting, its strings bounded and each member or
/// element charged to the budget.
struct SettingValue(Value);

impl From<SettingValue> for Value {
    fn from(v: SettingValue) -> Value {
        v.0
    }
}

impl<'de> Deserialize<'de> for SettingValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SettingValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any valid JSON value")
            }
            fn visit_bool<E>(self, b: bool) -> Result<SettingValue, E> {
                Ok(SettingValue(Value::Bool(b)))
            }
            fn visit_i64<E>(self, n: i64) -> Result<SettingValue, E> {
                Ok(SettingValue(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<SettingValue, E> {
                Ok(SettingValue(n.into()))
            }
            fn visit_f64<E>(self, n: f64) -> Result<SettingValue, E> {
                Ok(SettingValue(Number::from_f64(n).map_or(Value::Null, Value::Number)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<SettingValue, E> {
                check_len::<E, MAX_SETTING_BYTES>(s)?;
                Ok(SettingValue(Value::String(s.to_owned())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<SettingValue, E> {
                check_len::<E, MAX_SETTING_BYTES>(&s)?;
                Ok(SettingValue(Value::String(s)))
            }
            fn visit_unit<E>(self) -> Result<SettingValue, E> {
                Ok(SettingValue(Value::Null))
            }
            fn visit_none<E>(self) -> Result<SettingValue, E> {
                Ok(SettingValue(Value::Null))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<SettingValue, D::Error> {
                SettingValue::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<SettingValue, A::Error> {
                let list = List::<SettingValue, Value, MAX_ITEMS>::visit(seq)?;
                Ok(SettingValue(Value::Array(list.0)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SettingValue, A::Error> {
                Ok(SettingValue(Value::Object(members::<A, MAX_TEXT_BYTES>(map)?)))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de, W: Deserialize<'de> + Into<T>, T, const MAX: usize> List<W, T, MAX> {
    /// The list visitor's loop, for a visitor that has already been given the sequence.
    fn visit<A: SeqAccess<'de>>(mut seq: A) -> Result<Self, A::Error> {
        let mut out = Vec::new();
        while let Some(entry) = seq.next_element::<W>()? {
            charge()?;
            if out.len() == MAX {
                return Err(over(MAX, format_args!("more than {MAX} entries; this list may hold at most {MAX}")));
            }
            out.push(entry.into());
        }
        Ok(List(out, PhantomData))
    }
}

/// An object's members, names of at most `KEY` bytes, each member charged.
fn members<'de, A: MapAccess<'de>, const KEY: usize>(mut map: A) -> Result<Map<String, Value>, A::Error> {
    let mut out = Map::new();
    while let Some(key) = map.next_key::<Str<KEY>>()? {
        let value: SettingValue = map.next_value()?;
        charge()?;
        out.insert(key.0, value.0);
    }
    Ok(out)
}

/// An asset's settings: an object whose names are short, with bounded values.
struct Settings(Map<String, Value>);

impl<'de> Deserialize<'de> for Settings {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Settings;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Settings, A::Error> {
                members::<A, MAX_NAME_BYTES>(map).map(Settings)
            }
        }
        d.deserialize_map(V)
    }
}

// The functions named by `#[serde(deserialize_with = …)]` in the params.
// An `Option` field that uses one also needs `#[serde(default)]`.

/// An id or another short name.
pub fn name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Str::<MAX_NAME_BYTES>::deserialize(d).map(String::from)
}

pub fn opt_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Str<MAX_NAME_BYTES>>::deserialize(d)?.map(String::from))
}

pub fn path<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Str::<MAX_PATH_BYTES>::deserialize(d).map(String::from)
}

pub fn opt_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Str<MAX_PATH_BYTES>>::deserialize(d)?.map(String::from))
}

pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Str::<MAX_TEXT_BYTES>::deserialize(d).map(String::from)
}

pub fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Str<MAX_TEXT_BYTES>>::deserialize(d)?.map(String::from))
}

/// A list of paths (`register`).
pub fn opt_paths<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<List<Str<MAX_PATH_BYTES>, String, MAX_ITEMS>>::deserialize(d)?.map(|l| l.0))
}

/// A list of ids (`assetIds`).
pub fn opt_names<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<List<Str<MAX_NAME_BYTES>, String, MAX_ITEMS>>::deserialize(d)?.map(|l| l.0))
}

pub fn opt_tags<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(Option::<List<Str<MAX_NAME_BYTES>, String, MAX_TAGS>>::deserialize(d)?.map(|l| l.0))
}

pub fn opt_settings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Map<String, Value>>, D::Error> {
    Ok(Option::<Settings>::deserialize(d)?.map(|s| s.0))
}

/// A list of structured entries (`mutations`, `items`), each charged.
pub fn opt_list<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Vec<T>>, D::Error> {
    Ok(Option::<List<T, T, MAX_ITEMS>>::deserialize(d)?.map(|l| l.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct P {
        #[serde(default, deserialize_with = "opt_paths")]
        paths: Option<Vec<String>>,
        #[serde(default, deserialize_with = "opt_tags")]
        tags: Option<Vec<String>>,
        #[serde(default, deserialize_with = "opt_settings")]
        settings: Option<Map<String, Value>>,
    }

    fn decode(text: &str) -> Result<P, (String, Option<usize>)> {
        let budget = Budget::start();
        serde_json::from_str::<P>(text).map_err(|e| (e.to_string(), budget.exceeded()))
    }

    fn strings(n: usize) -> String {
        serde_json::to_string(&vec![""; n]).unwrap()
    }

    #[test]
    fn the_budget_counts_every_list_of_the_request() {
        assert_eq!(decode(&format!(r#"{{"paths":{}}}"#, strings(MAX_ITEMS))).unwrap().paths.unwrap().len(), MAX_ITEMS);
        let (message, limit) = decode(&format!(r#"{{"paths":{}}}"#, strings(MAX_ITEMS + 1))).unwrap_err();
        assert_eq!(limit, Some(MAX_ITEMS));
        assert!(message.contains("the limit is 100000"), "{message}");
        // Tags and settings members draw on the same budget.
        let text = format!(r#"{{"paths":{},"tags":["a"]}}"#, strings(MAX_ITEMS));
        assert_eq!(decode(&text).unwrap_err().1, Some(MAX_ITEMS));
        let text = format!(r#"{{"paths":{},"settings":{{"x":[1,2]}}}}"#, strings(MAX_ITEMS - 2));
        assert_eq!(decode(&text).unwrap_err().1, Some(MAX_ITEMS));
        // Outside a budget only the per-list limits hold.
        let p: P = serde_json::from_str(&format!(r#"{{"paths":{}}}"#, strings(MAX_ITEMS))).unwrap();
        assert_eq!(p.paths.unwrap().len(), MAX_ITEMS);
    }

    #[test]
    fn per_list_and_string_limits() {
        let tags = serde_json::to_string(&vec!["t"; MAX_TAGS + 1]).unwrap();
        assert_eq!(decode(r#"{"tags":["a"]}"#).unwrap().tags.unwrap(), ["a"]);
        let (message, limit) = decode(&format!(r#"{{"tags":{tags}}}"#)).unwrap_err();
        assert_eq!(limit, Some(MAX_TAGS));
        assert!(message.contains("at most 1000"), "{message}");
        let long = "a".repeat(MAX_PATH_BYTES + 1);
        assert_eq!(decode(&format!(r#"{{"paths":["{long}"]}}"#)).unwrap_err().1, Some(MAX_PATH_BYTES));
        let fits = "a".repeat(MAX_PATH_BYTES);
        assert!(decode(&format!(r#"{{"paths":["{fits}"]}}"#)).is_ok());
        let key = "k".repeat(MAX_NAME_BYTES + 1);
        assert_eq!(decode(&format!(r#"{{"settings":{{"{key}":1}}}}"#)).unwrap_err().1, Some(MAX_NAME_BYTES));
        let value = "v".repeat(MAX_SETTING_BYTES + 1);
        let text = format!(r#"{{"settings":{{"k":{{"deep":["{value}"]}}}}}}"#);
        assert_eq!(decode(&text).unwrap_err().1, Some(MAX_SETTING_BYTES));
    }

    #[test]
    fn settings_decode_as_serde_json_does() {
        let text = r#"{"a":1,"b":-2,"c":1.5,"d":null,"e":[true,"x",{"f":[]}],"g":18446744073709551615,"a":3}"#;
        let p = decode(&format!(r#"{{"settings":{text}}}"#)).unwrap();
        let expected: Map<String, Value> = serde_json::from_str(text).unwrap();
        assert_eq!(p.settings.unwrap(), expected);
        assert!(decode(r#"{"settings":[1]}"#).is_err());
        assert!(decode(r#"{"paths":[1]}"#).unwrap_err().0.contains("expected a string"));
    }
}
