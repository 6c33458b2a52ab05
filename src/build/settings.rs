//! An asset's effective settings: the one place they are worked out.
//!
//! The settings a build uses for an asset are its kind's defaults, then the
//! settings of every `[[assets.rules]]` whose patterns match its path, in
//! file order, then the asset's own registry `settings`, key by key (a
//! texture's `format` table key by target: `format.<target>`). Each value
//! keeps where it came from, so that Studio shows the source of a setting
//! without working it out again. A rule's settings apply to the kinds of
//! asset that have them (a rule for `assets/**` that sets `use` leaves the
//! JSON files there alone, and a sound takes only a rule's sound keys); an
//! asset's own settings always apply, and one its kind does not have is a
//! problem. A sound's `targets` table overrides its keys per target
//! (`targets.<target>.<key>`), resolved in [`for_target`].

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::audio::settings as sound;
use super::texture::{self, format::Named, GpuFormat};
use crate::project::format::manifest::{Manifest, Profile, Target};
use crate::project::model::{Asset, Diagnostic, Kind, Severity};
use crate::protocol::model::{EffectiveSetting, SettingSource};

/// A setting that cannot be used, naming its key (`format.desktop`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

/// Whether assets of `kind` read settings at all. Other kinds' settings are
/// kept as written, and only take part in the processing cache's key.
pub fn has_settings(kind: Kind) -> bool {
    matches!(kind, Kind::Image | Kind::Audio)
}

/// The keys assets of `kind` read.
fn keys_of(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Image => texture::SETTING_KEYS,
        Kind::Audio => sound::SETTING_KEYS,
        _ => &[],
    }
}

/// An asset's effective settings by key (`format.<target>` for each target
/// entry of a texture's `format`), each with its source.
pub fn effective(
    manifest: &Manifest,
    kind: Kind,
    path: &str,
    own: &Map<String, Value>,
) -> BTreeMap<String, EffectiveSetting> {
    let mut out: BTreeMap<String, EffectiveSetting> = BTreeMap::new();
    if has_settings(kind) {
        for (key, value) in defaults(kind) {
            out.insert(key.to_string(), EffectiveSetting { value, source: SettingSource::Default });
        }
        for rule in manifest.rules.iter().filter(|r| r.matches(path)) {
            let source = SettingSource::Rule { line: rule.line };
            let mine: Map<String, Value> = rule
                .settings
                .iter()
                .filter(|(k, v)| applies(kind, k, v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            put_all(&mut out, &mine, &source);
        }
    }
    put_all(&mut out, own, &SettingSource::Asset);
    // `mipmaps` follows `use` unless someone set it: a `ui` texture has none.
    let derived = kind == Kind::Image && out.get("mipmaps").is_some_and(|m| m.source == SettingSource::Default);
    if derived {
        let ui = out.get("use").is_some_and(|u| u.value == "ui");
        out.insert("mipmaps".into(), EffectiveSetting { value: Value::Bool(!ui), source: SettingSource::Default });
    }
    out
}

/// Whether a rule's `key = value` applies to assets of `kind`: the kind
/// has the key, and, for a key two kinds share (`quality`: a texture's word,
/// a sound's number), takes the value. So `quality = "high"` over
/// `assets/**` tunes the textures and leaves the sounds alone; a value no
/// kind takes is refused where the rule is read ([`check_rule`]).
fn applies(kind: Kind, key: &str, value: &Value) -> bool {
    if !keys_of(kind).contains(&key) {
        return false;
    }
    let shared = [Kind::Image, Kind::Audio].iter().filter(|k| keys_of(**k).contains(&key)).count() > 1;
    if !shared {
        return true;
    }
    match kind {
        Kind::Audio => sound::read(&mut sound::AudioSettings::default(), key, value).is_ok(),
        _ => {
            let one: Map<String, Value> = std::iter::once((key.to_string(), value.clone())).collect();
            texture::from_settings(&one).is_ok()
        }
    }
}

/// The defaults of a kind, as values.
fn defaults(kind: Kind) -> Vec<(&'static str, Value)> {
    match kind {
        Kind::Image => vec![
            ("use", Value::from("color")),
            ("mipmaps", Value::Bool(true)),
            ("max_size", Value::Null),
            ("quality", Value::from("normal")),
            ("premultiplied_alpha", Value::Bool(false)),
        ],
        Kind::Audio => sound::defaults(),
        _ => Vec::new(),
    }
}

/// Sets every key of `settings`: a texture's `format` table target by
/// target (`format.<target>`), a sound's `targets` table key by key
/// (`targets.<target>.<key>`), so that a rule and the asset can each set
/// one target's one key.
fn put_all(out: &mut BTreeMap<String, EffectiveSetting>, settings: &Map<String, Value>, source: &SettingSource) {
    let mut put = |key: String, value: &Value| {
        out.insert(key, EffectiveSetting { value: value.clone(), source: source.clone() });
    };
    for (key, value) in settings {
        match (key.as_str(), value) {
            ("format", Value::Object(targets)) => {
                for (target, format) in targets {
                    put(format!("format.{target}"), format);
                }
            }
            ("targets", Value::Object(targets)) if targets.values().all(Value::is_object) => {
                for (target, overrides) in targets {
                    for (k, v) in overrides.as_object().into_iter().flatten() {
                        put(format!("targets.{target}.{k}"), v);
                    }
                }
            }
            _ => put(key.clone(), value),
        }
    }
}

/// The effective settings as the settings map a processor reads (a
/// texture's `format` entries, a sound's `targets` entries, as one table
/// again).
pub fn values(effective: &BTreeMap<String, EffectiveSetting>) -> Map<String, Value> {
    let mut map = Map::new();
    for (key, e) in effective {
        if let Some(target) = key.strip_prefix("format.") {
            table(&mut map, "format").insert(target.to_string(), e.value.clone());
        } else if let Some((target, k)) = key.strip_prefix("targets.").and_then(|r| r.split_once('.')) {
            table(table(&mut map, "targets"), target).insert(k.to_string(), e.value.clone());
        } else {
            map.insert(key.clone(), e.value.clone());
        }
    }
    map
}

/// The table `name` of `map`, made (or made a table) if need be.
fn table<'a>(map: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    let entry = map.entry(name).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    match entry {
        Value::Object(t) => t,
        _ => unreachable!("made a table just above"),
    }
}

/// What is wrong with an asset's effective settings, each problem named by
/// its key and where that key was set.
pub fn problems(manifest: &Manifest, kind: Kind, effective: &BTreeMap<String, EffectiveSetting>) -> Vec<Problem> {
    if !has_settings(kind) {
        return Vec::new();
    }
    let where_set = |key: &str| match effective.get(key).map(|e| &e.source) {
        Some(SettingSource::Rule { line }) => format!(" (set by the rule at packer.toml line {line})"),
        Some(SettingSource::Asset) => " (set in the asset's own settings)".to_string(),
        Some(SettingSource::Default) | None => String::new(),
    };
    let values = values(effective);
    let found = match kind {
        Kind::Audio => sound_problems(&values, &manifest.targets),
        _ => texture_problems(&values, &manifest.targets),
    };
    let mut out: Vec<Problem> = found
        .into_iter()
        .map(|p| Problem { message: format!("{}{}", p.message, where_set(&p.key)), key: p.key })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// An asset's effective settings and the `invalidSetting` errors they
/// give: what `packer/getAsset` shows and what a build refuses.
pub fn of_asset(manifest: &Manifest, asset: &Asset) -> (BTreeMap<String, EffectiveSetting>, Vec<Diagnostic>) {
    let effective = effective(manifest, asset.entry.kind, asset.path(), &asset.entry.settings);
    let diagnostics = problems(manifest, asset.entry.kind, &effective)
        .into_iter()
        .map(|p| {
            let message = format!("`{}`: setting `{}`: {}", asset.path(), p.key, p.message);
            Diagnostic::project(Severity::Error, "invalidSetting", message, Some(asset.path().to_string()))
                .with_asset(Some(asset.id()))
        })
        .collect();
    (effective, diagnostics)
}

/// The settings a processor reads for `asset` built for `target` (a
/// texture's `format` reduced to that target's entry, so that another
/// target's override does not change this target's cache key), or the
/// `invalidSetting` errors that stop it being built.
pub fn for_target(manifest: &Manifest, asset: &Asset, target: &Target) -> Result<Map<String, Value>, Vec<Diagnostic>> {
    let (effective, problems) = of_asset(manifest, asset);
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut values = values(&effective);
    if let Some(Value::Object(formats)) = values.get_mut("format") {
        formats.retain(|name, _| *name == target.name);
        if formats.is_empty() {
            values.remove("format");
        }
    }
    // A sound's overrides for this target replace its keys; other targets'
    // are dropped, so that they do not change this target's cache key.
    if let Some(Value::Object(mut targets)) = values.remove("targets") {
        if let Some(Value::Object(overrides)) = targets.remove(&target.name) {
            values.extend(overrides);
        }
    }
    Ok(values)
}

/// What is wrong with a rule's settings: every key must be a setting of
/// some kind of asset, with a value it takes.
pub fn check_rule(settings: &Map<String, Value>, targets: &[Target]) -> Vec<Problem> {
    // Each kind checks the keys it has; a key is wrong when no kind has it,
    // or when every kind that has it refuses its value.
    let kinds = [Kind::Image, Kind::Audio];
    let found: Vec<Vec<Problem>> = kinds
        .iter()
        .map(|kind| {
            let mine: Map<String, Value> = settings
                .iter()
                .filter(|(k, _)| keys_of(*kind).contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            match kind {
                Kind::Audio => sound_problems(&mine, targets),
                _ => texture_problems(&mine, targets),
            }
        })
        .collect();
    let mut out = Vec::new();
    for key in settings.keys() {
        let having: Vec<usize> = (0..kinds.len()).filter(|i| keys_of(kinds[*i]).contains(&key.as_str())).collect();
        if having.is_empty() {
            let mut all: Vec<&str> = kinds.iter().flat_map(|k| keys_of(*k).iter().copied()).collect();
            all.sort_unstable();
            all.dedup();
            out.push(Problem {
                key: key.clone(),
                message: format!("no kind of asset has this setting; allowed: {}", all.join(", ")),
            });
            continue;
        }
        let refused: Vec<&Problem> = having
            .iter()
            .filter_map(|i| found[*i].iter().find(|p| p.key == *key || p.key.starts_with(&format!("{key}."))))
            .collect();
        if refused.len() == having.len() {
            out.extend(refused.into_iter().cloned());
        }
    }
    out
}

/// A sound's settings checked: the keys and values (by the audio module,
/// which reads them), and each `targets.<target>` table: a declared target,
/// holding keys a sound reads (not `targets` again).
fn sound_problems(settings: &Map<String, Value>, targets: &[Target]) -> Vec<Problem> {
    let mut out: Vec<Problem> = match sound::from_settings(settings) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| Problem { key: e.key, message: e.message }).collect(),
    };
    match settings.get("targets") {
        None => {}
        Some(Value::Object(overrides)) => {
            for (name, table) in overrides {
                let key = format!("targets.{name}");
                if !targets.iter().any(|t| t.name == *name) {
                    let declared: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                    let message = format!("no target `{name}` is declared (the targets are {})", declared.join(", "));
                    out.push(Problem { key, message });
                    continue;
                }
                let Value::Object(table) = table else {
                    out.push(Problem { key, message: "a table of settings for this target is needed".into() });
                    continue;
                };
                let mut s = sound::AudioSettings::default();
                for (k, v) in table {
                    let result = if k == "targets" {
                        Err("targets cannot be nested".to_string())
                    } else {
                        sound::read(&mut s, k, v)
                    };
                    if let Err(message) = result {
                        out.push(Problem { key: format!("{key}.{k}"), message });
                    }
                }
            }
        }
        Some(_) => out.push(Problem {
            key: "targets".into(),
            message: "a table of target name to settings is needed (targets = { mobile = { quality = 0.2 } })".into(),
        }),
    }
    out
}

/// A texture's settings checked: the keys and values (by the texture
/// module, which reads them), and each `format.<target>` against the
/// declared targets and what their profile can load.
fn texture_problems(settings: &Map<String, Value>, targets: &[Target]) -> Vec<Problem> {
    let mut out: Vec<Problem> = match texture::from_settings(settings) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.into_iter().map(|e| Problem { key: e.key, message: e.message }).collect(),
    };
    if let Some(Value::Object(formats)) = settings.get("format") {
        for (name, format) in formats {
            let key = format!("format.{name}");
            if out.iter().any(|p| p.key == key) {
                continue;
            }
            let Some(target) = targets.iter().find(|t| t.name == *name) else {
                let declared: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                out.push(Problem {
                    key,
                    message: format!("no target `{name}` is declared (the targets are {})", declared.join(", ")),
                });
                continue;
            };
            let Some(Ok(f)) = format.as_str().map(texture::format::parse::<GpuFormat>) else { continue };
            let allowed = texture::format::allowed_formats(target.profile);
            if !allowed.contains(&f) {
                out.push(Problem {
                    key,
                    message: format!(
                        "`{}` is not a format a `{}` target loads; allowed: {}",
                        f.name(),
                        target.profile.as_str(),
                        texture::format::names(allowed)
                    ),
                });
            }
        }
    }
    out
}

/// The formats a target of `profile` may name in a texture's `format`.
pub fn format_names(profile: Profile) -> Vec<String> {
    let allowed = texture::format::allowed_formats(profile);
    allowed.iter().map(|f| f.name().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(extra: &str) -> Manifest {
        Manifest::parse(&format!("{}{extra}", Manifest::template("t")), "packer.toml").unwrap()
    }

    fn own(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_then_rules_in_order_then_the_asset_each_with_its_source() {
        let m = manifest(concat!(
            "\n[[build.targets]]\nname = \"pc\"\nprofile = \"desktop\"\n",
            "\n[[assets.rules]]\nmatch = [\"assets/ui/**\"]\nsettings = { use = \"ui\", quality = \"high\" }\n",
            "\n[[assets.rules]]\nmatch = [\"assets/**/*.png\"]\nsettings = { quality = \"fast\", format = { pc = \"bc1\" } }\n",
        ));
        let e = effective(&m, Kind::Image, "assets/ui/button.png", &own(json!({"max_size": 256})));
        let got: Vec<(&str, Value, SettingSource)> =
            e.iter().map(|(k, v)| (k.as_str(), v.value.clone(), v.source.clone())).collect();
        let rule = |line| SettingSource::Rule { line };
        assert_eq!(
            got,
            vec![
                ("format.pc", json!("bc1"), rule(19)),
                ("max_size", json!(256), SettingSource::Asset),
                ("mipmaps", json!(false), SettingSource::Default),
                ("premultiplied_alpha", json!(false), SettingSource::Default),
                ("quality", json!("fast"), rule(19)),
                ("use", json!("ui"), rule(15)),
            ]
        );
        assert_eq!(
            values(&e),
            own(json!({"format": {"pc": "bc1"}, "max_size": 256, "mipmaps": false, "premultiplied_alpha": false,
                "quality": "fast", "use": "ui"}))
        );
        assert!(problems(&m, Kind::Image, &e).is_empty());
        // A rule's texture settings leave other kinds alone.
        let data = effective(&m, Kind::Data, "assets/ui/layout.json", &Map::new());
        assert!(data.is_empty());
    }

    #[test]
    fn a_bad_setting_names_its_key_and_where_it_was_set() {
        let m = manifest("\n[[assets.rules]]\nmatch = [\"**\"]\nsettings = { use = \"normal\" }\n");
        let e = effective(&m, Kind::Image, "assets/a.png", &own(json!({"quality": "best", "colour": 1})));
        let p = problems(&m, Kind::Image, &e);
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["colour", "quality"]);
        assert!(p[1].message.contains("fast, normal, high"), "{}", p[1].message);
        assert!(p[1].message.ends_with("(set in the asset's own settings)"), "{}", p[1].message);
        let e = effective(&m, Kind::Image, "assets/a.png", &own(json!({"format": {"phone": "bc7"}})));
        let p = problems(&m, Kind::Image, &e);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, "format.phone");
        assert!(p[0].message.contains("no target `phone`"), "{}", p[0].message);
    }

    #[test]
    fn a_sounds_settings_take_their_kinds_keys_and_each_targets_overrides() {
        let m = manifest(concat!(
            "\n[[build.targets]]\nname = \"pc\"\nprofile = \"desktop\"\n",
            "\n[[build.targets]]\nname = \"phone\"\nprofile = \"mobile\"\n",
            "\n[[assets.rules]]\nmatch = [\"assets/**\"]\n",
            "settings = { use = \"ui\", codec = \"adpcm\", targets = { phone = { sample_rate = 22050, mono = true } } }\n",
            "\n[[assets.rules]]\nmatch = [\"assets/music/**\"]\nsettings = { codec = \"vorbis\", targets = { phone = { quality = 0.2 } } }\n",
        ));
        let mine = own(json!({"targets": {"phone": {"mono": false}}}));
        let e = effective(&m, Kind::Audio, "assets/music/theme.ogg", &mine);
        let got: Vec<(&str, Value, SettingSource)> =
            e.iter().map(|(k, v)| (k.as_str(), v.value.clone(), v.source.clone())).collect();
        let rule = |line| SettingSource::Rule { line };
        assert_eq!(
            got,
            vec![
                ("codec", json!("vorbis"), rule(23)),
                ("mono", json!(false), SettingSource::Default),
                ("normalize", Value::Null, SettingSource::Default),
                ("quality", json!(0.4), SettingSource::Default),
                ("sample_rate", json!("keep"), SettingSource::Default),
                ("targets.phone.mono", json!(false), SettingSource::Asset),
                ("targets.phone.quality", json!(0.2), rule(23)),
                ("targets.phone.sample_rate", json!(22050), rule(19)),
            ],
            "a texture key (`use`) is not a sound's"
        );
        assert!(problems(&m, Kind::Audio, &e).is_empty(), "{:?}", problems(&m, Kind::Audio, &e));
        let entry = crate::project::model::Entry {
            id: "a1".into(),
            path: "assets/music/theme.ogg".into(),
            kind: Kind::Audio,
            hash: crate::hash::ContentHash::of(b""),
            size: 0,
            tags: Vec::new(),
            settings: mine.into(),
        };
        let a = Asset::from_observation(entry, None);
        let [pc, phone] = [&m.targets[0], &m.targets[1]];
        let for_pc = for_target(&m, &a, pc).unwrap();
        assert_eq!(for_pc.get("targets"), None);
        assert_eq!((for_pc["codec"].clone(), for_pc["sample_rate"].clone()), (json!("vorbis"), json!("keep")));
        let for_phone = for_target(&m, &a, phone).unwrap();
        assert_eq!(
            (for_phone["sample_rate"].clone(), for_phone["mono"].clone(), for_phone["quality"].clone()),
            (json!(22050), json!(false), json!(0.2))
        );
        // Bad overrides name their key and where they were set.
        let bad = own(json!({"targets": {"tv": {"mono": true}, "phone": {"codec": "opus", "targets": {}}}}));
        let e = effective(&m, Kind::Audio, "assets/a.wav", &bad);
        let p = problems(&m, Kind::Audio, &e);
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["targets.phone.codec", "targets.phone.targets", "targets.tv"]);
        assert!(p[2].message.contains("no target `tv`"), "{}", p[2].message);
        // A rule's shared key goes to the kinds that take its value.
        let m2 = manifest("\n[[assets.rules]]\nmatch = [\"**\"]\nsettings = { quality = \"high\" }\n");
        assert_eq!(effective(&m2, Kind::Image, "a.png", &Map::new())["quality"].value, json!("high"));
        assert_eq!(effective(&m2, Kind::Audio, "a.wav", &Map::new())["quality"].source, SettingSource::Default);
        // A rule's key is fine when some kind takes its value.
        assert!(check_rule(&own(json!({"quality": 0.5})), &m.targets).is_empty());
        assert!(check_rule(&own(json!({"quality": "high"})), &m.targets).is_empty());
        let p = check_rule(&own(json!({"quality": "best", "loudness": 1})), &m.targets);
        let keys: Vec<&str> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["loudness", "quality", "quality"], "{p:?}");
    }

    #[test]
    fn a_rule_with_a_bad_setting_makes_the_manifest_invalid_at_its_line() {
        let text = format!(
            "{}\n[[assets.rules]]\nmatch = [\"assets/**\"]\nsettings = {{ use = \"colour\" }}\n",
            Manifest::template("t")
        );
        let err = Manifest::parse(&text, "packer.toml").unwrap_err().to_string();
        assert!(err.starts_with("packer.toml:11:1: [[assets.rules]] setting `use`: "), "{err}");
        assert!(err.contains("`use`") && err.contains("color, linear, normal, mask, ui"), "{err}");
        let text = format!(
            "{}\n[[assets.rules]]\nmatch = [\"assets/**\"]\nsettings = {{ format = {{ desktop = \"astc-4x4\" }} }}\n",
            Manifest::template("t")
        );
        let err = Manifest::parse(&text, "packer.toml").unwrap_err().to_string();
        assert!(err.contains("format.desktop") && err.contains("bc7"), "{err}");
    }
}
