//! The reference graph: which asset names which, in both directions.
//!
//! The edges out of an asset are its file's references (`Asset::references`,
//! read with the file, kept in the stat cache). The graph adds the edges in:
//! one sorted set of (target key, referrer) pairs, so that what names an
//! asset is a range of it (by its id, then by its path), found in
//! O(log n + answer). A target key is a 64-bit hash of the target: a pair
//! is 24 bytes and compares as integers (a set of the targets' strings cost
//! twice the memory, and an open spent most of its time comparing paths
//! with long common prefixes). Two targets may share a key, so a range
//! gives candidates, and whoever needs the exact referrers checks their
//! references ([`Graph::naming`]).
//! It also keeps which referrers hold references to nothing registered, so
//! that the summary's count costs nothing per read.
//!
//! A new generation updates the graph for the assets it touched only
//! ([`Graph::update`]): their own edges, and the referrers of what they
//! were and are (a moved or deleted asset breaks or mends others'
//! references).

use std::collections::BTreeSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use imbl::OrdMap;
use rustc_hash::FxHashSet;

use super::chunked::ChunkedSet;

use crate::project::model::references::{Reference, Target};
use crate::project::model::Asset;

/// The maps a reference is resolved against.
pub struct Maps<'a> {
    pub assets: &'a OrdMap<Arc<str>, Arc<Asset>>,
    pub by_path: &'a OrdMap<Arc<str>, Arc<str>>,
}

impl Maps<'_> {
    /// The id of the registered asset `target` names, if any.
    pub fn resolve(&self, target: &Target) -> Option<Arc<str>> {
        match target {
            Target::Id(id) => self.assets.get_key_value(&**id).map(|(k, _)| k.clone()),
            Target::Path(path) => self.by_path.get(&**path).cloned(),
        }
    }

    /// How many of `asset`'s references name nothing registered.
    fn broken_of(&self, asset: &Asset) -> u32 {
        asset.references.iter().filter(|r| self.resolve(&r.target).is_none()).count() as u32
    }
}

/// An edge into an asset: (the key of what a reference names, the id of
/// the asset whose file holds it).
type Edge = (Key, Arc<str>);

/// A target as the index keys it (see the module's comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key(u64);

impl Key {
    fn of(target: &Target) -> Key {
        let mut h = rustc_hash::FxHasher::default();
        target.hash(&mut h);
        Key(h.finish())
    }
}

/// The edges into each asset, and the broken references, of one generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Graph {
    used_by: ChunkedSet<Edge>,
    /// Referrers with references to nothing registered, and how many.
    broken: OrdMap<Arc<str>, u32>,
    broken_total: usize,
}

/// The set of the strings `keys` hold (hashed, for looking them up).
fn texts<'a>(keys: impl Iterator<Item = &'a Arc<str>>) -> FxHashSet<&'a str> {
    keys.map(|k| &**k).collect()
}

/// An edge as [`Graph::build`] sorts it: the target's key (high half,
/// low half) and the place of its referrer among the referrers in id
/// order. Twelve bytes, compared as integers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Placed([u32; 3]);

impl Placed {
    fn new(key: Key, place: u32) -> Placed {
        Placed([(key.0 >> 32) as u32, key.0 as u32, place])
    }
    fn key(&self) -> Key {
        Key(u64::from(self.0[0]) << 32 | u64::from(self.0[1]))
    }
    fn place(&self) -> usize {
        self.0[2] as usize
    }
}

/// Referrers in id order and where each one's edges start in the
/// vector [`Graph::build`] fills: a part of both, split in halves for
/// the cores.
struct Places<'a, 'm> {
    referrers: &'a [(&'m Arc<str>, &'m Arc<Asset>)],
    /// One more than `referrers`: where each starts, and where the last ends.
    starts: &'a [usize],
    /// The place of `referrers[0]` among all of them.
    first: u32,
}

impl Places<'_, '_> {
    /// Fills `edges` (this part's, from `starts[0]`) with each reference's
    /// key and its referrer's place, and `broken` with each referrer's
    /// references that name nothing.
    fn fill(&self, edges: &mut [Placed], broken: &mut [u32], names_something: &(dyn Fn(&Target) -> bool + Sync)) {
        const SERIAL: usize = 512;
        if self.referrers.len() <= SERIAL {
            let mut at = 0;
            for (i, (_, asset)) in self.referrers.iter().enumerate() {
                let place = self.first + i as u32;
                for r in asset.references.iter() {
                    edges[at] = Placed::new(Key::of(&r.target), place);
                    broken[i] += u32::from(!names_something(&r.target));
                    at += 1;
                }
            }
            return;
        }
        let mid = self.referrers.len() / 2;
        let (left_edges, right_edges) = edges.split_at_mut(self.starts[mid] - self.starts[0]);
        let (left_broken, right_broken) = broken.split_at_mut(mid);
        let left = Places { referrers: &self.referrers[..mid], starts: &self.starts[..=mid], first: self.first };
        let right =
            Places { referrers: &self.referrers[mid..], starts: &self.starts[mid..], first: self.first + mid as u32 };
        rayon::join(
            || left.fill(left_edges, left_broken, names_something),
            || right.fill(right_edges, right_broken, names_something),
        );
    }
}

impl Graph {
    /// The graph of every asset at once (a project's open).
    /// On every core: it is on the path of a project's open.
    pub fn build(maps: &Maps<'_>) -> Graph {
        use rayon::prelude::*;
        // Resolved by hashing, once each: a look-up in the ordered maps
        // compares paths that share long prefixes, for every reference.
        // A path named in a file read from the stat cache is the very
        // string of the asset's path (the cache's file holds each string
        // once, and an open shares it): found by its address, with no
        // text hashed or compared. Any other (a file read anew, a path
        // naming nothing) by its text, in a set made the first time one
        // is asked for.
        let address = |s: &str| s.as_ptr() as usize;
        let (ids, path_at) = rayon::join(
            || texts(maps.assets.keys()),
            || maps.by_path.keys().map(|k| address(k)).collect::<FxHashSet<usize>>(),
        );
        let paths = std::sync::OnceLock::new();
        let names_something = |t: &Target| match t {
            Target::Id(id) => ids.contains(&**id),
            Target::Path(path) => {
                path_at.contains(&address(path)) || paths.get_or_init(|| texts(maps.by_path.keys())).contains(&**path)
            }
        };
        // In id order, and where each one's edges start.
        let mut referrers: Vec<(&Arc<str>, &Arc<Asset>)> = Vec::new();
        let mut starts: Vec<usize> = vec![0];
        for (id, asset) in maps.assets.iter().filter(|(_, a)| !a.references.is_empty()) {
            referrers.push((id, asset));
            starts.push(starts[starts.len() - 1] + asset.references.len());
        }
        // One pass over the references, on every core: each one's key
        // with its referrer's place in `referrers` (so that sorting them
        // compares integers only: by place is by id), and each referrer's
        // broken references. Every target is read once.
        let mut edges = vec![Placed::default(); starts[referrers.len()]];
        let mut broken_of = vec![0u32; referrers.len()];
        let places = Places { referrers: &referrers, starts: &starts, first: 0 };
        places.fill(&mut edges, &mut broken_of, &names_something);
        drop((ids, path_at, paths, starts));
        let (mut broken, mut broken_total) = (OrdMap::new(), 0);
        for ((id, _), n) in referrers.iter().zip(&broken_of) {
            if *n > 0 {
                broken.insert(Arc::clone(id), *n);
                broken_total += *n as usize;
            }
        }
        edges.par_sort_unstable();
        edges.dedup();
        // The set made straight from the sorted places: no vector of every
        // edge with its id.
        let used_by = ChunkedSet::from_sorted_by(edges, |e| (e.key(), Arc::clone(referrers[e.place()].0)));
        Graph { used_by, broken, broken_total }
    }

    /// This graph after the assets `touched` changed (added, removed,
    /// moved, re-read): `before` are the maps this graph was made for,
    /// `after` the new ones.
    pub fn update<'a>(
        &self,
        before: &Maps<'_>,
        after: &Maps<'_>,
        touched: impl IntoIterator<Item = &'a Arc<str>>,
    ) -> Graph {
        let mut g = self.clone();
        // Targets whose resolution may have changed: each touched asset's
        // id, and its path before and after.
        let mut targets: BTreeSet<Target> = BTreeSet::new();
        let mut referrers: BTreeSet<Arc<str>> = BTreeSet::new();
        for id in touched {
            let old = before.assets.get(&**id);
            let new = after.assets.get(&**id);
            if let (Some(o), Some(n)) = (old, new) {
                if Arc::ptr_eq(o, n) {
                    continue;
                }
            }
            targets.insert(Target::Id(id.clone()));
            if let Some(old) = old {
                targets.insert(Target::Path(old.entry.path.clone()));
                for r in old.references.iter() {
                    g.used_by.remove(&(Key::of(&r.target), id.clone()));
                }
            }
            if let Some(new) = new {
                targets.insert(Target::Path(new.entry.path.clone()));
                for r in new.references.iter() {
                    g.used_by.insert((Key::of(&r.target), id.clone()));
                }
            }
            referrers.insert(id.clone());
        }
        // Candidates are enough here: a referrer counted again is counted right.
        for t in &targets {
            referrers.extend(g.referrers(t));
        }
        for id in referrers {
            let n = after.assets.get(&*id).map_or(0, |a| after.broken_of(a));
            let was = if n > 0 { g.broken.insert(id, n) } else { g.broken.remove(&*id) };
            g.broken_total = g.broken_total + n as usize - was.unwrap_or(0) as usize;
        }
        g
    }

    /// The ids of the assets whose files may name `target`, in id order:
    /// every one that does, and (rarely) one that names another target with
    /// the same key. For candidates whose references are checked anyway.
    pub fn referrers<'a>(&'a self, target: &Target) -> impl Iterator<Item = Arc<str>> + 'a {
        let key = Key::of(target);
        self.used_by
            .range_from((key, Arc::<str>::from("")))
            .take_while(move |(k, _)| *k == key)
            .map(|(_, id)| id.clone())
    }

    /// The ids of the assets whose files name `target`, exactly, in id order.
    pub fn naming<'a>(&'a self, maps: &'a Maps<'_>, target: &'a Target) -> impl Iterator<Item = Arc<str>> + 'a {
        self.referrers(target)
            .filter(move |id| maps.assets.get(&**id).is_some_and(|a| a.references.iter().any(|r| r.target == *target)))
    }

    /// Every reference, in other files, to the asset `id` at `path`: the
    /// referrer's id and the reference, by referrer then file order.
    pub fn used_by(&self, maps: &Maps<'_>, id: &str, path: &str) -> Vec<(Arc<Asset>, Reference)> {
        let mut out = Vec::new();
        self.each_use(maps, id, path, |referrer, r| out.push((referrer.clone(), r.clone())));
        out
    }

    /// How many references in other files name the asset `id` at `path`
    /// (what [`Graph::used_by`] lists, counted without copying).
    pub fn used_by_count(&self, maps: &Maps<'_>, id: &str, path: &str) -> usize {
        let mut n = 0;
        self.each_use(maps, id, path, |_, _| n += 1);
        n
    }

    fn each_use(&self, maps: &Maps<'_>, id: &str, path: &str, mut each: impl FnMut(&Arc<Asset>, &Reference)) {
        let mut ids: Vec<Arc<str>> = self.referrers(&Target::Id(id.into())).collect();
        ids.extend(self.referrers(&Target::Path(path.into())));
        ids.sort();
        ids.dedup();
        // Other files only: an asset naming itself does not use itself.
        ids.retain(|r| &**r != id);
        for rid in ids {
            let Some(referrer) = maps.assets.get(&*rid) else { continue };
            for r in referrer.references.iter().filter(|r| maps.resolve(&r.target).as_deref() == Some(id)) {
                each(referrer, r);
            }
        }
    }

    /// References in the project that name nothing registered.
    pub fn broken_total(&self) -> usize {
        self.broken_total
    }

    /// How many of `id`'s references name nothing registered.
    pub fn broken_of(&self, id: &str) -> u32 {
        self.broken.get(id).copied().unwrap_or(0)
    }

    /// The assets with broken references, in id order.
    pub fn with_broken(&self) -> impl Iterator<Item = &Arc<str>> {
        self.broken.keys()
    }

    /// Whether another asset names the asset `id` at `path`.
    pub fn is_used(&self, maps: &Maps<'_>, id: &str, path: &str) -> bool {
        let (by_id, by_path) = (Target::Id(id.into()), Target::Path(path.into()));
        self.naming(maps, &by_id).any(|r| &*r != id) || self.naming(maps, &by_path).any(|r| &*r != id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::ContentHash;
    use crate::project::model::{Entry, Kind, Metadata, Observed};

    fn asset(id: &str, path: &str, refs: &[Target]) -> Arc<Asset> {
        let entry = Entry {
            id: id.into(),
            path: path.into(),
            kind: Kind::Data,
            hash: ContentHash::of(b""),
            size: 0,
            tags: Vec::new(),
            settings: Default::default(),
        };
        let references: Vec<Reference> = refs
            .iter()
            .enumerate()
            .map(|(i, t)| Reference { target: t.clone(), pointer: format!("/{i}").into(), line: 1, column: 1 })
            .collect();
        let observed = Observed {
            hash: ContentHash::of(b""),
            size: 0,
            metadata: Arc::new(Metadata::default()),
            problems: Box::default(),
            references: references.into(),
        };
        Arc::new(Asset::from_observation(entry, Some(observed)))
    }

    #[derive(Clone, Default)]
    struct World {
        assets: OrdMap<Arc<str>, Arc<Asset>>,
        by_path: OrdMap<Arc<str>, Arc<str>>,
    }

    impl World {
        fn maps(&self) -> Maps<'_> {
            Maps { assets: &self.assets, by_path: &self.by_path }
        }
        fn put(&mut self, a: Arc<Asset>) {
            self.remove(a.id());
            self.by_path.insert(a.entry.path.clone(), a.entry.id.clone());
            self.assets.insert(a.entry.id.clone(), a);
        }
        fn remove(&mut self, id: &str) {
            if let Some(old) = self.assets.remove(id) {
                self.by_path.remove(old.path());
            }
        }
    }

    /// A reproducible stream of numbers below `n` (xorshift).
    fn below(mut seed: u64) -> impl FnMut(usize) -> usize {
        move |n| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        }
    }

    #[test]
    fn updating_for_what_changed_gives_the_graph_built_from_scratch() {
        // A small world changed at random, step by step: moves, deletes,
        // new assets, re-read files. After every step the graph updated
        // for the touched assets is the one built anew.
        let ids = ["a", "b", "c", "d", "e", "f"];
        let paths = ["p/1", "p/2", "p/3", "p/4", "p/5", "p/6", "p/7"];
        let mut next = below(0x2545_f491_4f6c_dd1du64);
        let mut world = World::default();
        let mut graph = Graph::build(&world.maps());
        for _ in 0..2_000 {
            let before = world.clone();
            let mut touched: Vec<Arc<str>> = Vec::new();
            for _ in 0..1 + next(3) {
                let id = ids[next(ids.len())];
                touched.push(id.into());
                if next(4) == 0 {
                    world.remove(id);
                    continue;
                }
                let path = paths[next(paths.len())];
                if world.by_path.get(path).is_some_and(|other| &**other != id) {
                    continue;
                }
                let refs: Vec<Target> = (0..next(4))
                    .map(|_| match next(2) {
                        0 => Target::Id(ids[next(ids.len())].into()),
                        _ => Target::Path(paths[next(paths.len())].into()),
                    })
                    .collect();
                world.put(asset(id, path, &refs));
            }
            graph = graph.update(&before.maps(), &world.maps(), &touched);
            assert_eq!(graph, Graph::build(&world.maps()));
        }
        assert!(graph.broken_total() > 0 || !world.assets.is_empty());
    }

    #[test]
    fn a_large_graph_is_built_as_its_edges_one_by_one() {
        // Enough referrers for the build to split them between cores and
        // to cut its edges into many runs; checked against the edges and
        // broken counts taken one reference at a time.
        let mut next = below(0x9e37_79b9_7f4a_7c15u64);
        let mut world = World::default();
        // Some paths named by the very string of the asset's path (as an
        // open shares them), some by a copy, some naming nothing.
        let mut paths: Vec<Arc<str>> = Vec::new();
        for i in 0..3_000 {
            let refs: Vec<Target> = (0..next(6))
                .map(|_| match next(4) {
                    0 => Target::Id(format!("a{}", next(3_300)).into()),
                    1 if !paths.is_empty() => Target::Path(paths[next(paths.len())].clone()),
                    _ => Target::Path(format!("p/{}", next(3_300)).into()),
                })
                .collect();
            let a = asset(&format!("a{i}"), &format!("p/{i}"), &refs);
            paths.push(a.entry.path.clone());
            world.put(a);
        }
        let g = Graph::build(&world.maps());
        let mut edges = BTreeSet::new();
        let mut broken = std::collections::BTreeMap::new();
        for (id, a) in world.assets.iter() {
            for r in a.references.iter() {
                edges.insert((Key::of(&r.target), id.clone()));
                if world.maps().resolve(&r.target).is_none() {
                    *broken.entry(id.clone()).or_insert(0u32) += 1;
                }
            }
        }
        assert!(edges.len() > 5_000 && !broken.is_empty());
        assert!(g.used_by.iter().eq(edges.iter()));
        assert!(g.broken.iter().map(|(k, v)| (k.clone(), *v)).eq(broken.clone()));
        assert_eq!(g.broken_total, broken.values().map(|n| *n as usize).sum::<usize>());
    }

    #[test]
    fn what_names_an_asset_is_found_by_its_id_and_by_its_path() {
        let mut world = World::default();
        world.put(asset("level", "levels/1.json", &[Target::Id("hero".into()), Target::Path("s/jump.wav".into())]));
        world.put(asset("hero", "sprites/hero.png", &[]));
        world.put(asset("jump", "s/jump.wav", &[]));
        world.put(asset("menu", "ui/menu.toml", &[Target::Id("gone".into()), Target::Path("sprites/hero.png".into())]));
        let g = Graph::build(&world.maps());
        let named: Vec<(String, Arc<str>)> = g
            .used_by(&world.maps(), "hero", "sprites/hero.png")
            .into_iter()
            .map(|(a, r)| (a.id().to_string(), r.pointer))
            .collect();
        assert_eq!(named, vec![("level".to_string(), "/0".into()), ("menu".to_string(), "/1".into())]);
        assert_eq!((g.broken_total(), g.broken_of("menu"), g.broken_of("level")), (1, 1, 0));
        let maps = world.maps();
        assert!(g.is_used(&maps, "jump", "s/jump.wav") && !g.is_used(&maps, "level", "levels/1.json"));
    }
}
