//! Knowing, without building, that a build has nothing to do.
//!
//! After every successful build the packer records a digest of everything
//! that decides the packs' bytes (the build's inputs) beside what `stat`
//! says of each pack it left in place (`.packer/build.<target>.last`, one per target). A later build
//! whose inputs hash the same, and whose packs `stat` exactly as recorded,
//! would lay out the same tables of contents and write nothing: it ends
//! there, with the packs as they are, at the cost of one hash over the
//! registry instead of a cache key per asset and a read of every table of
//! contents. It is the early cutoff of build systems (ninja's log, Bazel's
//! action cache) applied to the whole build.
//!
//! The record is only ever a shortcut to the answer the full build gives:
//! missing, damaged, racy (a pack modified within a moment of being
//! recorded) or stale, it is ignored and the build runs in full. A clean
//! build never uses it.

use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::pack;
use super::process::processor;
use crate::project::disk::sandbox::{FileStat, Sandbox};
use crate::project::disk::statcache;
use crate::project::format::manifest::{Manifest, Target};
use crate::project::model::Kind;
use crate::project::model::{Asset, Diagnostic};
use crate::protocol::model::{BuildResult, PackInfo};

/// The record of target `target`'s last build.
fn file(target: &str) -> String {
    format!("build.{target}.last")
}

/// The digest of a build's inputs.
pub type Inputs = [u8; 32];

/// Hashes everything that decides the packs' bytes: the formats and
/// processors of this packer, the manifest's build settings and packs, and
/// each asset in id order (its id, path, kind, content and settings).
/// Tags and metadata are not in a pack, so they are not inputs.
pub fn inputs(manifest: &Manifest, target: &Target, assets: &[Arc<Asset>]) -> Inputs {
    let mut h = blake3::Hasher::new();
    field(&mut h, b"studio-packer/build-inputs/v3");
    field(&mut h, target.name.as_bytes());
    field(&mut h, target.profile.as_str().as_bytes());
    field(&mut h, format!("pack@{} zstd@{}", pack::VERSION, manifest.zstd_level).as_bytes());
    field(&mut h, manifest.output.as_bytes());
    for kind in Kind::ALL {
        let (name, version) = processor(kind);
        field(&mut h, format!("{name}@{version}").as_bytes());
    }
    // What decides a texture's bytes besides its own settings: the import
    // rules, the target names a `format` names, the encoders' fingerprint.
    field(&mut h, &super::texture::fingerprint());
    h.update(&(manifest.rules.len() as u64).to_le_bytes());
    for rule in &manifest.rules {
        h.update(&(rule.patterns.len() as u64).to_le_bytes());
        for pattern in &rule.patterns {
            field(&mut h, pattern.as_bytes());
        }
        field(&mut h, &serde_json::to_vec(&rule.settings).expect("settings serialise"));
    }
    h.update(&(manifest.packs.len() as u64).to_le_bytes());
    for def in &manifest.packs {
        field(&mut h, def.name.as_bytes());
        h.update(&[u8::from(def.holds_everything())]);
        h.update(&(def.include.len() as u64).to_le_bytes());
        for include in &def.include {
            field(&mut h, include.as_bytes());
        }
        // What `roots` reach is the assets' (their hashes below say what
        // they reference); the patterns are the manifest's.
        h.update(&(def.roots.len() as u64).to_le_bytes());
        for root in &def.roots {
            field(&mut h, root.as_bytes());
        }
    }
    // The assets in chunks hashed on all cores, then the chunks' digests in order.
    let chunks: Vec<[u8; 32]> = assets
        .par_chunks(4096)
        .map(|chunk| {
            let mut h = blake3::Hasher::new();
            for a in chunk {
                let e = &a.entry;
                field(&mut h, e.id.as_bytes());
                field(&mut h, e.path.as_bytes());
                h.update(&[e.kind.code()]);
                h.update(e.hash.as_bytes());
                h.update(&e.size.to_le_bytes());
                if e.settings.is_empty() {
                    field(&mut h, b"{}");
                } else {
                    field(&mut h, &serde_json::to_vec(&e.settings).expect("settings serialise"));
                }
            }
            h.finalize().into()
        })
        .collect();
    h.update(&(assets.len() as u64).to_le_bytes());
    for chunk in &chunks {
        h.update(chunk);
    }
    h.finalize().into()
}

/// Every variable-length input is hashed with its length before it, so that
/// no two different sequences of inputs hash as the same bytes.
fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// One pack as the last build left it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PackRecord {
    /// The pack as the build result described it.
    result: Described,
    /// Relative to the project root.
    path: String,
    stat: FileStat,
    recorded_ns: i64,
}

/// A pack's `PackInfo` less `written` (what the next build says of it):
/// the fields, and so the JSON, records have always had.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Described {
    name: String,
    path: String,
    assets: usize,
    bytes: u64,
    hash: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    inputs: String,
    packs: Vec<PackRecord>,
    /// Units of processing the build had (what a build with nothing to do reuses).
    units: u64,
    /// The build's own warnings (an asset in no pack), which depend only on its inputs.
    diagnostics: Vec<Diagnostic>,
}

/// What a build with nothing to do answers, built from the record.
pub struct UpToDate {
    /// The packs, each as the last build described it, now `written: false`.
    pub packs: Vec<PackInfo>,
    pub units: u64,
    pub bytes_out: u64,
    pub diagnostics: Vec<Diagnostic>,
}

/// The record, if it says that a build of `inputs` would change nothing.
pub fn check(state_dir: &Path, sandbox: &Sandbox, target: &str, inputs: &Inputs) -> Option<UpToDate> {
    let record: Record = serde_json::from_slice(&std::fs::read(state_dir.join(file(target))).ok()?).ok()?;
    if record.inputs != crate::hash::hex(inputs) {
        return None;
    }
    let mut packs = Vec::with_capacity(record.packs.len());
    let mut bytes_out = 0;
    for p in record.packs {
        let meta = sandbox.metadata(&p.path).ok().filter(|m| m.is_file())?;
        let stat = FileStat::of(&meta);
        if stat != p.stat || !statcache::settled(&stat, p.recorded_ns) {
            return None;
        }
        bytes_out += stat.size;
        let Described { name, path, assets, bytes, hash } = p.result;
        packs.push(PackInfo { target: target.to_string(), name, path, assets, bytes, hash, written: false });
    }
    Some(UpToDate { packs, units: record.units, bytes_out, diagnostics: record.diagnostics })
}

/// Records what a successful build of `inputs` left in place (its result's
/// `packs`, `stats` and `diagnostics`, and `left`: each pack's path with what
/// `stat` said of the file the build compared or wrote). Unsynced, like
/// every cache: lost, the next build only runs in full.
pub fn record(state_dir: &Path, target: &str, inputs: &Inputs, result: &BuildResult, left: &[(String, FileStat)]) {
    let file = state_dir.join(file(target));
    // Whatever happens below, an old record must not outlive this build.
    let _ = std::fs::remove_file(&file);
    let units = result.stats.processed + result.stats.reused;
    let mut packs = Vec::new();
    for p in &result.packs {
        let Some((_, stat)) = left.iter().find(|(rel, _)| *rel == p.path) else { return };
        let described = Described {
            name: p.name.clone(),
            path: p.path.clone(),
            assets: p.assets,
            bytes: p.bytes,
            hash: p.hash.clone(),
        };
        packs.push(PackRecord {
            result: described,
            path: p.path.clone(),
            stat: *stat,
            recorded_ns: statcache::now_ns(),
        });
    }
    let record = Record { inputs: crate::hash::hex(inputs), packs, units, diagnostics: result.diagnostics.clone() };
    let bytes = serde_json::to_vec(&record).expect("a record serialises");
    if let Err(e) = crate::fsutil::replace_unsynced(&file, &bytes) {
        tracing::warn!(error = %e, "cannot record the build; the next one runs in full");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::project::format::manifest::RemoteMode;
    use crate::project::model::Severity;
    use crate::protocol::model::{BuildOutcome, BuildStats, RemoteStats};

    fn main_pack(bytes: u64, written: bool) -> PackInfo {
        let (name, path, hash) = ("main".into(), "build/main.pack".into(), "h".into());
        PackInfo { target: "desktop".into(), name, path, assets: 1, bytes, hash, written }
    }

    fn pack_result(bytes: u64) -> BuildResult {
        let remote = RemoteStats {
            mode: RemoteMode::Off,
            hits: 0,
            misses: 0,
            corrupt: 0,
            uploaded: 0,
            errors: 0,
            bytes_down: 0,
            bytes_up: 0,
        };
        let stats =
            BuildStats { assets: 3, processed: 1, reused: 2, bytes_in: 9, bytes_out: bytes, duration_ms: 5, remote };
        let unpacked = Diagnostic::project(Severity::Warning, "unpacked", "1 asset(s) are in no pack".into(), None);
        BuildResult {
            operation_id: "op-1".into(),
            outcome: BuildOutcome::Succeeded,
            packs: vec![main_pack(bytes, true)],
            stats,
            diagnostics: vec![unpacked],
            targets: Vec::new(),
            unpacked: Vec::new(),
        }
    }

    /// A project folder with one pack, modified long enough ago to be trusted.
    fn project() -> (tempfile::TempDir, Sandbox, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("build/main.pack");
        std::fs::create_dir_all(pack.parent().unwrap()).unwrap();
        std::fs::write(&pack, b"pack").unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(10);
        std::fs::File::options().write(true).open(&pack).unwrap().set_modified(old).unwrap();
        let state = dir.path().join(".packer");
        std::fs::create_dir_all(&state).unwrap();
        let sandbox = Sandbox::open(dir.path()).unwrap();
        (dir, sandbox, state)
    }

    /// The pack as the build would have left it: its stat now.
    fn left(dir: &Path) -> Vec<(String, FileStat)> {
        let meta = std::fs::metadata(dir.join("build/main.pack")).unwrap();
        vec![("build/main.pack".to_string(), FileStat::of(&meta))]
    }

    #[test]
    fn a_recorded_build_is_up_to_date_until_its_inputs_or_a_pack_change() {
        let (dir, sandbox, state) = project();
        let inputs = [7u8; 32];
        assert!(check(&state, &sandbox, "desktop", &inputs).is_none(), "nothing recorded yet");
        record(&state, "desktop", &inputs, &pack_result(4), &left(dir.path()));
        let done = check(&state, &sandbox, "desktop", &inputs).expect("up to date");
        assert_eq!(done.units, 3);
        assert_eq!(done.bytes_out, 4);
        assert_eq!(done.packs, vec![main_pack(4, false)]);
        assert_eq!(done.diagnostics, pack_result(4).diagnostics);
        assert!(check(&state, &sandbox, "desktop", &[8u8; 32]).is_none(), "other inputs");
        // A record is made from what the build saw, not from a later stat:
        // a pack replaced in between is not blessed.
        let seen = left(dir.path());
        std::fs::write(dir.path().join("build/other"), b"pack").unwrap();
        std::fs::rename(dir.path().join("build/other"), dir.path().join("build/main.pack")).unwrap();
        record(&state, "desktop", &inputs, &pack_result(4), &seen);
        assert!(check(&state, &sandbox, "desktop", &inputs).is_none(), "a pack replaced after the build looked at it");
        std::fs::write(dir.path().join("build/main.pack"), b"pack!").unwrap();
        assert!(check(&state, &sandbox, "desktop", &inputs).is_none(), "a pack changed behind the packer's back");
        record(&state, "desktop", &inputs, &pack_result(5), &left(dir.path()));
        assert!(
            check(&state, &sandbox, "desktop", &inputs).is_none(),
            "a pack modified a moment before it was recorded"
        );
        std::fs::remove_file(dir.path().join("build/main.pack")).unwrap();
        assert!(check(&state, &sandbox, "desktop", &inputs).is_none(), "a pack gone");
        std::fs::write(state.join(file("desktop")), b"{").unwrap();
        assert!(check(&state, &sandbox, "desktop", &inputs).is_none(), "a damaged record");
    }

    #[test]
    fn inputs_are_what_decides_the_packs_bytes_and_nothing_else() {
        use crate::project::model::{Entry, Status};
        let manifest = Manifest::parse(&Manifest::template("t"), "packer.toml").unwrap();
        let asset = |f: &dyn Fn(&mut Entry)| {
            let mut entry = Entry {
                id: "01J0000000000000000000000A".into(),
                path: "assets/a.txt".into(),
                kind: Kind::Text,
                hash: crate::hash::ContentHash::of(b"a"),
                size: 1,
                tags: Vec::new(),
                settings: Default::default(),
            };
            f(&mut entry);
            let mut a = Asset::from_observation(entry, None);
            a.status = Status::Ok;
            vec![Arc::new(a)]
        };
        let base = inputs(&manifest, &manifest.targets[0], &asset(&|_| {}));
        assert_eq!(
            inputs(&manifest, &manifest.targets[0], &asset(&|e| e.tags = vec!["ui".into()])),
            base,
            "tags are not in a pack"
        );
        let changes: [&dyn Fn(&mut Entry); 5] = [
            &|e| e.id = "01J0000000000000000000000B".into(),
            &|e| e.path = "assets/b.txt".into(),
            &|e| e.kind = Kind::Binary,
            &|e| e.hash = crate::hash::ContentHash::of(b"b"),
            &|e| {
                e.settings.insert("scale".into(), serde_json::json!(2));
            },
        ];
        for change in changes {
            assert_ne!(inputs(&manifest, &manifest.targets[0], &asset(change)), base);
        }
        let level = Manifest::parse(&format!("{}zstd_level = 9\n", Manifest::template("t")), "packer.toml").unwrap();
        assert_ne!(inputs(&level, &level.targets[0], &asset(&|_| {})), base);
        assert_ne!(inputs(&manifest, &manifest.targets[0], &[]), base);
        let mobile = Target { name: "desktop".into(), profile: crate::project::format::manifest::Profile::Mobile };
        assert_ne!(inputs(&manifest, &mobile, &asset(&|_| {})), base, "the profile decides what images become");
        let renamed = Target { name: "pc".into(), ..manifest.targets[0].clone() };
        assert_ne!(inputs(&manifest, &renamed, &asset(&|_| {})), base, "a target's packs go under its name");

        // Packs and their patterns cannot be shifted into one another.
        let packs = |toml: &str| Manifest::parse(&format!("{}{toml}", Manifest::template("t")), "packer.toml").unwrap();
        let one = packs("\n[[build.packs]]\nname = \"A\"\ninclude = [\"assets/**\", \"B\"]\n");
        let two = packs(
            "\n[[build.packs]]\nname = \"A\"\ninclude = [\"assets/**\"]\n\n[[build.packs]]\nname = \"B\"\ninclude = []\n",
        );
        assert_ne!(inputs(&one, &one.targets[0], &asset(&|_| {})), inputs(&two, &two.targets[0], &asset(&|_| {})));
        let rooted = packs("\n[[build.packs]]\nname = \"A\"\ninclude = [\"assets/**\"]\nroots = [\"B\"]\n");
        let plain = packs("\n[[build.packs]]\nname = \"A\"\ninclude = [\"assets/**\"]\n");
        assert_ne!(
            inputs(&rooted, &rooted.targets[0], &asset(&|_| {})),
            inputs(&plain, &plain.targets[0], &asset(&|_| {})),
            "a pack's roots decide what it holds"
        );
        let ruled = packs("\n[[assets.rules]]\nmatch = [\"assets/**\"]\nsettings = { use = \"ui\" }\n");
        assert_ne!(inputs(&ruled, &ruled.targets[0], &asset(&|_| {})), base, "rules decide textures' settings");
    }
}
