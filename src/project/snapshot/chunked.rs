//! A persistent sorted set stored as shared chunks: the reference graph's
//! edges into assets (300,000 of them in a large project).
//!
//! An `imbl::OrdSet` of them took about twice the memory of the elements
//! (14 MB for 300,000 edges of 24 bytes, this set 7 MB) and is built one
//! insert at a time; this set holds
//! its elements in sorted runs of at most [`CHUNK`] (each an `Arc`, shared
//! between generations until one of them changes it), found through an
//! ordered map of their first elements. Built from a sorted vector in one
//! pass; an insert or a remove copies one run. Two sets with the same
//! elements are equal whatever their runs.

use std::sync::Arc;

use imbl::OrdMap;

/// The most elements of a run; a run that grows past twice this is split.
const CHUNK: usize = 128;

#[derive(Debug, Clone)]
pub struct ChunkedSet<T: Ord + Clone> {
    /// The runs by their first element: each sorted, non-empty, and every
    /// element of a run less than the first of the next.
    runs: OrdMap<T, Arc<Vec<T>>>,
    len: usize,
}

impl<T: Ord + Clone> Default for ChunkedSet<T> {
    fn default() -> Self {
        ChunkedSet { runs: OrdMap::new(), len: 0 }
    }
}

impl<T: Ord + Clone> PartialEq for ChunkedSet<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<T: Ord + Clone> ChunkedSet<T> {
    /// The set of `items`, sorted and without duplicates already.
    #[cfg(test)]
    pub fn from_sorted(items: Vec<T>) -> ChunkedSet<T> {
        ChunkedSet::from_sorted_by(items, T::clone)
    }

    /// The set of `items` (sorted, without duplicates) each made into an
    /// element by `element`, which keeps their order.
    pub fn from_sorted_by<U>(mut items: Vec<U>, mut element: impl FnMut(&U) -> T) -> ChunkedSet<T> {
        let len = items.len();
        // Taken off the end, and the vector shrunk as it goes: the runs
        // and the vector together never hold much more than the elements
        // once (at 300,000 edges, both whole would be 11 MB at an open's peak).
        let mut runs = Vec::with_capacity(len.div_ceil(CHUNK));
        let mut shrunk_at = len;
        while !items.is_empty() {
            let start = (items.len() - 1) / CHUNK * CHUNK;
            let run: Vec<T> = items[start..].iter().map(&mut element).collect();
            items.truncate(start);
            runs.push((run[0].clone(), Arc::new(run)));
            if shrunk_at - items.len() >= 16 * 1024 {
                items.shrink_to_fit();
                shrunk_at = items.len();
            }
        }
        let set = ChunkedSet { runs: runs.into_iter().rev().collect(), len };
        debug_assert!(set.iter().zip(set.iter().skip(1)).all(|(a, b)| a < b), "sorted, distinct elements");
        set
    }

    /// The first element of the run that holds `item`, or would.
    fn run_of(&self, item: &T) -> Option<T> {
        let below = self.runs.range(..=item.clone()).next_back().map(|(k, _)| k.clone());
        below.or_else(|| self.runs.keys().next().cloned())
    }

    /// Adds `item`; answers whether it was new.
    pub fn insert(&mut self, item: T) -> bool {
        let Some(first) = self.run_of(&item) else {
            self.runs.insert(item.clone(), Arc::new(vec![item]));
            self.len = 1;
            return true;
        };
        let mut run = self.runs.remove(&first).expect("a run's first element keys it");
        let inserted = match run.binary_search(&item) {
            Ok(_) => false,
            Err(at) => {
                Arc::make_mut(&mut run).insert(at, item);
                true
            }
        };
        self.len += usize::from(inserted);
        if run.len() > 2 * CHUNK {
            let tail = Arc::make_mut(&mut run).split_off(CHUNK);
            self.runs.insert(tail[0].clone(), Arc::new(tail));
        }
        self.runs.insert(run[0].clone(), run);
        inserted
    }

    /// Removes `item`; answers whether it was there.
    pub fn remove(&mut self, item: &T) -> bool {
        let Some(first) = self.run_of(item) else { return false };
        let Some(at) = self.runs.get(&first).and_then(|run| run.binary_search(item).ok()) else { return false };
        let mut run = self.runs.remove(&first).expect("found above");
        Arc::make_mut(&mut run).remove(at);
        if !run.is_empty() {
            self.runs.insert(run[0].clone(), run);
        }
        self.len -= 1;
        true
    }

    /// The elements from the first one not less than `from`, in order.
    pub fn range_from(&self, from: T) -> impl Iterator<Item = &T> + '_ {
        let start = self.run_of(&from);
        let runs = start.into_iter().flat_map(move |first| self.runs.range(first..).map(|(_, run)| run));
        runs.flat_map(move |run| {
            let skip = run.partition_point(|x| *x < from);
            run[skip..].iter()
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.runs.values().flat_map(|run| run.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Random inserts and removes, checked against `BTreeSet` after each.
    #[test]
    fn behaves_as_an_ordered_set() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let initial: BTreeSet<u32> = (0..1000).map(|_| (next() % 5000) as u32).collect();
        let mut model = initial.clone();
        let mut set = ChunkedSet::from_sorted(initial.into_iter().collect());
        let before = set.clone();
        for step in 0..20_000 {
            let x = (next() % 5000) as u32;
            if next() % 3 == 0 {
                assert_eq!(set.remove(&x), model.remove(&x), "step {step}");
            } else {
                assert_eq!(set.insert(x), model.insert(x), "step {step}");
            }
            if step % 997 == 0 {
                assert!(set.iter().copied().eq(model.iter().copied()), "step {step}");
                let from = (next() % 5000) as u32;
                assert!(set.range_from(from).copied().eq(model.range(from..).copied()), "from {from}");
            }
        }
        assert_eq!(set.len, model.len());
        assert!(set.iter().copied().eq(model.iter().copied()));
        // Below every element, and above.
        assert!(set.range_from(0).copied().eq(model.iter().copied()));
        assert_eq!(set.range_from(u32::MAX).count(), 0);
        // The set it was made from is untouched, and equality ignores runs.
        assert_ne!(before, set);
        let rebuilt = ChunkedSet::from_sorted(model.iter().copied().collect());
        assert_eq!(rebuilt, set);
        // Runs stay bounded.
        assert!(set.runs.values().all(|r| !r.is_empty() && r.len() <= 2 * CHUNK));
    }

    #[test]
    fn an_empty_set_takes_its_first_element() {
        let mut set = ChunkedSet::default();
        assert!(!set.remove(&3));
        assert!(set.insert(3) && !set.insert(3));
        assert!(set.insert(1));
        assert_eq!(set.iter().copied().collect::<Vec<_>>(), vec![1, 3]);
        assert!(set.remove(&1) && set.remove(&3) && set.len == 0);
        assert_eq!(set.range_from(0).count(), 0);
    }
}
