//! Criterion micro-benchmarks of the packer's hot paths: decoding frames,
//! publishing a snapshot, serialising the registry, looking an entry up in
//! a pack. `cargo bench --bench hot_paths`. (The whole-program comparison
//! with other tools is `benches/run.sh`.)

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use imbl::OrdMap;

use studio_packer::build::pack::{self, Compression, EntrySource, Format, PackEntry, PackReader};
use studio_packer::project::disk::workspace::inspect_bytes;
use studio_packer::project::format::manifest::Manifest;
use studio_packer::project::format::registry;
use studio_packer::project::model::{Asset, Entry, Kind};
use studio_packer::project::snapshot::graph::{Graph, Maps};
use studio_packer::project::snapshot::{Contents, Snapshot};
use studio_packer::transport::codec::{encode, Decoder, Frame};

fn entry(i: usize) -> Entry {
    Entry {
        id: format!("{:026}", i).into(),
        path: format!("assets/{}/{}/f{i}.json", ["hero", "cave", "door"][i % 3], i / 100).into(),
        kind: Kind::Data,
        hash: studio_packer::hash::ContentHash::of(&i.to_le_bytes()),
        size: 100 + i as u64,
        tags: if i.is_multiple_of(7) { vec!["ui".into()] } else { Vec::new() },
        settings: Default::default(),
    }
}

/// A project of `n` registered assets whose files are all as registered.
fn contents(n: usize) -> Contents {
    let mut assets = OrdMap::new();
    let mut by_path = OrdMap::new();
    for i in 0..n {
        let bytes = format!("{{\"a\":{i}}}");
        let observed = inspect_bytes(bytes.as_bytes(), Kind::Data, "a.json");
        let e = Entry { hash: observed.hash, size: observed.size, ..entry(i) };
        by_path.insert(e.path.clone(), e.id.clone());
        assets.insert(e.id.clone(), Arc::new(Asset::from_observation(e, Some(observed))));
    }
    let graph = Graph::build(&Maps { assets: &assets, by_path: &by_path });
    Contents { assets, by_path, untracked: OrdMap::new(), external: Arc::default(), conflicts: Arc::default(), graph }
}

fn frames(c: &mut Criterion) {
    let mut g = c.benchmark_group("frame decoding");
    for n in [1usize, 1000] {
        let mut bytes = Vec::new();
        for i in 0..n {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":{i},"method":"packer/getAsset","params":{{"projectId":"p-0123456789abcdef","assetId":"a{i}"}}}}"#
            );
            encode(body.as_bytes(), &mut bytes);
        }
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &bytes, |b, bytes| {
            b.iter(|| {
                let mut d = Decoder::new();
                d.extend(bytes);
                let mut count = 0;
                while let Some(Frame::Body(body)) = d.next_frame() {
                    count += black_box(body).len();
                }
                count
            })
        });
    }
    g.finish();
}

fn publication(c: &mut Criterion) {
    let manifest = Arc::new(Manifest::parse(&Manifest::template("bench"), "packer.toml").unwrap());
    let mut g = c.benchmark_group("snapshot publication (one asset changed)");
    for n in [1_000usize, 10_000, 100_000] {
        let base = contents(n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &base, |b, base| {
            b.iter_batched(
                || base.clone(),
                |mut next| {
                    // What an apply of one setMetadata does to the maps, then
                    // the snapshot that publishes it.
                    let id: Arc<str> = format!("{:026}", n / 2).into();
                    let mut a = next.assets[&id].as_ref().clone();
                    a.entry.tags = vec!["changed".into()];
                    next.assets.insert(id, Arc::new(a));
                    Snapshot::new(2, manifest.clone(), next, Arc::new(Vec::new()))
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

fn registry_render(c: &mut Criterion) {
    let mut g = c.benchmark_group("registry serialisation");
    for n in [1_000usize, 10_000, 100_000] {
        let entries: Vec<Entry> = (0..n).map(entry).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &entries, |b, entries| {
            b.iter(|| registry::render(black_box(entries.iter())).len())
        });
    }
    g.finish();
}

struct Zeros;

impl EntrySource for Zeros {
    fn stored_bytes(&self, _index: usize) -> std::io::Result<Vec<u8>> {
        Ok(vec![0u8; 16])
    }
}

fn pack_lookup(c: &mut Criterion) {
    let n = 10_000;
    let entries: Vec<PackEntry> = (0..n)
        .map(|i| {
            let e = entry(i);
            PackEntry {
                asset_id: e.id.to_string(),
                path: e.path.to_string(),
                kind: Kind::Data,
                format: Format::Bytes,
                compression: Compression::None,
                level: 0,
                image: studio_packer::build::pack::Image::default(),
                offset: 0,
                length: 16,
                raw_length: 16,
                hash: *blake3::hash(&(i as u64).to_le_bytes()).as_bytes(),
            }
        })
        .collect();
    let laid = pack::layout(entries);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.pack");
    let file = std::fs::File::create(&path).unwrap();
    pack::write_file(&file, &laid, &Zeros, &|| false).unwrap();
    let reader = PackReader::open(&path).unwrap();
    let ids: Vec<String> = (0..n).step_by(97).map(|i| format!("{:026}", i)).collect();
    c.bench_function("pack lookup by asset id (10,000 entries)", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % ids.len();
            reader.by_id(black_box(&ids[i])).map(|e| e.length)
        })
    });
    c.bench_function("pack open, table of contents (10,000 entries)", |b| {
        b.iter(|| PackReader::open(black_box(&path)).unwrap().entries().len())
    });
}

criterion_group!(benches, frames, publication, registry_render, pack_lookup);
criterion_main!(benches);
