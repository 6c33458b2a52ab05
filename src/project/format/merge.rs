//! The three-way merge of registries git asks for (`studio-packer
//! merge-registry %O %A %B %P`): by asset id, field by field, tags as sets.
//!
//! What cannot be merged is never picked silently: each conflict is kept in
//! the merged file as a conflict record (see [`Conflict`]), after the
//! entries, so that the file still parses and names every asset once. The
//! entries hold our side (git's `%A`) wherever the two sides disagree.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::registry::{Conflict, ConflictKind};
use crate::project::model::Entry;

/// A merge: entries with unique ids and paths, and what could not be merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Merged {
    pub entries: Vec<Entry>,
    pub conflicts: Vec<Conflict>,
}

/// A three-way set merge: what either side added, minus what either removed.
fn merge_set(base: &[String], ours: &[String], theirs: &[String]) -> Vec<String> {
    let b: BTreeSet<&String> = base.iter().collect();
    let o: BTreeSet<&String> = ours.iter().collect();
    let t: BTreeSet<&String> = theirs.iter().collect();
    let mut out: Vec<String> = Vec::new();
    for tag in o.union(&t) {
        let removed = b.contains(tag) && (!o.contains(tag) || !t.contains(tag));
        if !removed && !out.contains(tag) {
            out.push((*tag).clone());
        }
    }
    // Kept in ours' order, then theirs' additions in theirs' order.
    let mut ordered: Vec<String> = ours.iter().filter(|t| out.contains(t)).cloned().collect();
    for tag in theirs {
        if out.contains(tag) && !ordered.contains(tag) {
            ordered.push(tag.clone());
        }
    }
    ordered.dedup();
    ordered
}

/// One value three ways: `Err(())` when both sides changed it differently.
fn merge_value<T: PartialEq + Clone>(base: &T, ours: &T, theirs: &T) -> Result<T, ()> {
    if ours == theirs || theirs == base {
        Ok(ours.clone())
    } else if ours == base {
        Ok(theirs.clone())
    } else {
        Err(())
    }
}

/// Merges one asset changed on both sides, field by field; settings key by
/// key. Returns the merged entry, or the fields in conflict.
fn merge_entry(base: &Entry, ours: &Entry, theirs: &Entry) -> Result<Entry, Vec<String>> {
    let mut conflicts = Vec::new();
    let path = merge_value(&base.path, &ours.path, &theirs.path).unwrap_or_else(|()| {
        conflicts.push("path".to_string());
        ours.path.clone()
    });
    let kind = merge_value(&base.kind, &ours.kind, &theirs.kind).unwrap_or_else(|()| {
        conflicts.push("kind".to_string());
        ours.kind
    });
    let content = merge_value(&(base.hash, base.size), &(ours.hash, ours.size), &(theirs.hash, theirs.size))
        .unwrap_or_else(|()| {
            conflicts.push("content".to_string());
            (ours.hash, ours.size)
        });
    let keys: BTreeSet<&String> =
        base.settings.keys().chain(ours.settings.keys()).chain(theirs.settings.keys()).collect();
    let mut settings = Map::new();
    for key in keys {
        let get = |m: &Map<String, Value>| m.get(key).cloned();
        match merge_value(&get(&base.settings), &get(&ours.settings), &get(&theirs.settings)) {
            Ok(Some(v)) => {
                settings.insert(key.clone(), v);
            }
            Ok(None) => {}
            Err(()) => {
                conflicts.push(format!("settings.{key}"));
                if let Some(v) = get(&ours.settings) {
                    settings.insert(key.clone(), v);
                }
            }
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    Ok(Entry {
        id: ours.id.clone(),
        path,
        kind,
        hash: content.0,
        size: content.1,
        tags: merge_set(&base.tags, &ours.tags, &theirs.tags),
        settings: settings.into(),
    })
}

/// The fields in which two entries of one id differ, named as in
/// [`Conflict::fields`].
fn differing_fields(a: &Entry, b: &Entry) -> Vec<String> {
    let mut fields = Vec::new();
    if a.path != b.path {
        fields.push("path".to_string());
    }
    if a.kind != b.kind {
        fields.push("kind".to_string());
    }
    if (a.hash, a.size) != (b.hash, b.size) {
        fields.push("content".to_string());
    }
    if a.tags != b.tags {
        fields.push("tags".to_string());
    }
    let keys: BTreeSet<&String> = a.settings.keys().chain(b.settings.keys()).collect();
    fields
        .extend(keys.into_iter().filter(|k| a.settings.get(*k) != b.settings.get(*k)).map(|k| format!("settings.{k}")));
    fields
}

/// Merges `ours` and `theirs`, both descended from `base`.
pub fn merge(base: &[Entry], ours: &[Entry], theirs: &[Entry]) -> Merged {
    let by_id = |entries: &[Entry]| -> HashMap<String, Entry> {
        entries.iter().map(|e| (e.id.to_string(), e.clone())).collect()
    };
    let (b, o, t) = (by_id(base), by_id(ours), by_id(theirs));
    let ids: BTreeSet<&String> = b.keys().chain(o.keys()).chain(t.keys()).collect();
    let mut merged: BTreeMap<String, Entry> = BTreeMap::new();
    let mut conflicts = Vec::new();
    let side = |e: Option<&Entry>| e.cloned().into_iter().collect::<Vec<_>>();
    for id in ids {
        let (be, oe, te) = (b.get(id), o.get(id), t.get(id));
        let chosen = match (be, oe, te) {
            (_, None, None) => None,
            (None, Some(x), None) | (None, None, Some(x)) => Some(x.clone()),
            (Some(base), Some(x), None) | (Some(base), None, Some(x)) if x == base => None,
            (Some(_), Some(_), None) | (Some(_), None, Some(_)) => {
                conflicts.push(Conflict {
                    conflict: ConflictKind::Deleted,
                    fields: Vec::new(),
                    base: side(be),
                    ours: side(oe),
                    theirs: side(te),
                });
                oe.cloned()
            }
            // One id added on both sides (a copied line): whatever differs
            // is in conflict, there being no base to tell who changed it.
            (None, Some(x), Some(y)) => {
                if x == y {
                    Some(x.clone())
                } else {
                    let fields = differing_fields(x, y);
                    conflicts.push(Conflict {
                        conflict: ConflictKind::Field,
                        fields,
                        base: Vec::new(),
                        ours: side(oe),
                        theirs: side(te),
                    });
                    Some(x.clone())
                }
            }
            (Some(base), Some(x), Some(y)) => match merge_entry(base, x, y) {
                Ok(e) => Some(e),
                Err(fields) => {
                    conflicts.push(Conflict {
                        conflict: ConflictKind::Field,
                        fields,
                        base: side(be),
                        ours: side(oe),
                        theirs: side(te),
                    });
                    Some(x.clone())
                }
            },
        };
        if let Some(e) = chosen {
            merged.insert(id.clone(), e);
        }
    }
    // Two assets at one path: ours keeps it; theirs' claimant goes back to
    // ours' version of it (or out, when ours does not have it). Repeated,
    // since going back can free or take another path.
    loop {
        let mut at: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for e in merged.values() {
            at.entry(&e.path).or_default().push(&e.id);
        }
        let Some((path, claimants)) = at.into_iter().find(|(_, ids)| ids.len() > 1) else { break };
        let path = path.to_string();
        let claimants: Vec<String> = claimants.into_iter().map(str::to_string).collect();
        let (keep, lose): (Vec<&String>, Vec<&String>) =
            claimants.iter().partition(|id| o.get(*id).is_some_and(|e| *e.path == *path));
        // Neither side alone put two assets there: keep the smallest id.
        let (keep, lose) =
            if keep.is_empty() { (vec![&claimants[0]], claimants[1..].iter().collect()) } else { (keep, lose) };
        let pick = |map: &HashMap<String, Entry>, ids: &[&String]| -> Vec<Entry> {
            ids.iter().filter_map(|id| map.get(*id).cloned()).collect()
        };
        // Each side: its claimant at the path, then its own version of the
        // other claimants (ours may have theirs' elsewhere, theirs ours'), so
        // that taking a side is taking all of it.
        let ours_side: Vec<Entry> = keep
            .iter()
            .filter_map(|id| merged.get(*id).cloned())
            .chain(lose.iter().filter_map(|id| o.get(*id).filter(|e| *e.path != *path).cloned()))
            .collect();
        let theirs_side: Vec<Entry> = lose
            .iter()
            .filter_map(|id| merged.get(*id).cloned())
            .chain(keep.iter().filter_map(|id| t.get(*id).filter(|e| *e.path != *path).cloned()))
            .collect();
        let all: Vec<&String> = keep.iter().chain(&lose).copied().collect();
        let new_everywhere = all.iter().all(|id| !b.contains_key(*id));
        let same_content =
            ours_side.iter().chain(&theirs_side).filter(|e| *e.path == *path).all(|e| e.hash == ours_side[0].hash);
        let kind =
            if new_everywhere && same_content { ConflictKind::RegisteredTwice } else { ConflictKind::PathClaimed };
        conflicts.push(Conflict {
            conflict: kind,
            fields: Vec::new(),
            base: pick(&b, &all),
            ours: ours_side,
            theirs: theirs_side,
        });
        for id in lose {
            match o.get(id) {
                Some(ours_version) if *ours_version.path != *path => {
                    merged.insert(id.clone(), ours_version.clone());
                }
                _ => {
                    merged.remove(id);
                }
            }
        }
    }
    conflicts.sort_by(|a, b| (a.ids(), a.conflict).cmp(&(b.ids(), b.conflict)));
    Merged { entries: merged.into_values().collect(), conflicts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::ContentHash;
    use crate::project::model::Kind;

    fn e(id: &str, path: &str, content: u8, tags: &[&str]) -> Entry {
        Entry {
            id: id.into(),
            path: path.into(),
            kind: Kind::Text,
            hash: ContentHash::from_bytes([content; 32]),
            size: u64::from(content),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            settings: Default::default(),
        }
    }

    #[test]
    fn changes_to_different_assets_and_fields_merge_and_tags_merge_as_sets() {
        let base =
            vec![e("a", "assets/a.txt", 1, &["x"]), e("b", "assets/b.txt", 2, &[]), e("c", "assets/c.txt", 3, &[])];
        // Ours: moves a, retags b, registers d. Theirs: edits a, retags b, deletes c, registers f.
        let ours = vec![
            e("a", "assets/moved/a.txt", 1, &["x"]),
            e("b", "assets/b.txt", 2, &["ui", "hud"]),
            e("c", "assets/c.txt", 3, &[]),
            e("d", "assets/d.txt", 4, &[]),
        ];
        let theirs = vec![
            e("a", "assets/a.txt", 9, &[]),
            e("b", "assets/b.txt", 2, &["sfx", "ui"]),
            e("f", "assets/f.txt", 6, &[]),
        ];
        let m = merge(&base, &ours, &theirs);
        assert_eq!(m.conflicts, vec![]);
        assert_eq!(
            m.entries,
            vec![
                e("a", "assets/moved/a.txt", 9, &[]),
                e("b", "assets/b.txt", 2, &["ui", "hud", "sfx"]),
                e("d", "assets/d.txt", 4, &[]),
                e("f", "assets/f.txt", 6, &[]),
            ]
        );
    }

    #[test]
    fn settings_merge_key_by_key() {
        let mut base = e("a", "assets/a.png", 1, &[]);
        base.settings.insert("format".into(), Value::from("png"));
        let mut ours = base.clone();
        ours.settings.insert("filter".into(), Value::from("nearest"));
        let mut theirs = base.clone();
        theirs.settings.insert("format".into(), Value::from("rgba8"));
        let m = merge(&[base.clone()], &[ours.clone()], &[theirs.clone()]);
        assert_eq!(m.conflicts, vec![]);
        assert_eq!(m.entries[0].settings.get("format"), Some(&Value::from("rgba8")));
        assert_eq!(m.entries[0].settings.get("filter"), Some(&Value::from("nearest")));
        ours.settings.insert("format".into(), Value::from("png8"));
        let m = merge(&[base], &[ours.clone()], &[theirs]);
        assert_eq!(m.conflicts[0].fields, vec!["settings.format"]);
        assert_eq!(m.entries, vec![ours], "ours stands in the entries");
    }

    #[test]
    fn real_conflicts_are_recorded_and_the_entries_stay_unique() {
        let base = vec![e("a", "assets/a.txt", 1, &[]), e("b", "assets/b.txt", 2, &[]), e("c", "assets/c.txt", 3, &[])];
        // a: moved to two paths. b: deleted by ours, edited by theirs.
        // c and g: both moved/registered to one path.
        let ours =
            vec![e("a", "assets/x.txt", 1, &[]), e("c", "assets/z.txt", 3, &[]), e("n1", "assets/new.txt", 7, &[])];
        let theirs = vec![
            e("a", "assets/y.txt", 1, &[]),
            e("b", "assets/b.txt", 5, &[]),
            e("c", "assets/c.txt", 3, &[]),
            e("g", "assets/z.txt", 8, &[]),
            e("n2", "assets/new.txt", 7, &[]),
        ];
        let m = merge(&base, &ours, &theirs);
        let kinds: Vec<(ConflictKind, Vec<&str>)> = m.conflicts.iter().map(|c| (c.conflict, c.ids())).collect();
        assert_eq!(
            kinds,
            vec![
                (ConflictKind::Field, vec!["a"]),
                (ConflictKind::Deleted, vec!["b"]),
                (ConflictKind::PathClaimed, vec!["c", "g"]),
                (ConflictKind::RegisteredTwice, vec!["n1", "n2"]),
            ]
        );
        assert_eq!(m.conflicts[0].fields, vec!["path"]);
        // The entries: ours wherever the sides disagree, one asset per path.
        assert_eq!(
            m.entries,
            vec![e("a", "assets/x.txt", 1, &[]), e("c", "assets/z.txt", 3, &[]), e("n1", "assets/new.txt", 7, &[])]
        );
        // Each side of the path claim: its claimant, then its own version of
        // the other (theirs still has c where it was).
        assert_eq!(m.conflicts[2].ours, vec![e("c", "assets/z.txt", 3, &[])]);
        assert_eq!(m.conflicts[2].theirs, vec![e("g", "assets/z.txt", 8, &[]), e("c", "assets/c.txt", 3, &[])]);
        assert_eq!(m.conflicts[3].theirs, vec![e("n2", "assets/new.txt", 7, &[])]);
    }

    #[test]
    fn one_id_added_on_both_sides_differently_names_what_differs() {
        let ours = vec![e("a", "assets/a.txt", 1, &["x"])];
        let theirs = vec![e("a", "assets/b.txt", 1, &[])];
        let m = merge(&[], &ours, &theirs);
        assert_eq!(m.conflicts[0].fields, vec!["path", "tags"]);
        assert_eq!(m.entries, ours);
        assert_eq!(merge(&[], &ours, &ours).conflicts, vec![]);
    }

    #[test]
    fn a_side_that_changed_nothing_takes_the_other() {
        let base = vec![e("a", "assets/a.txt", 1, &["t"])];
        let theirs = vec![e("a", "assets/b.txt", 2, &[])];
        assert_eq!(merge(&base, &base, &theirs).entries, theirs);
        assert_eq!(merge(&base, &theirs, &base).entries, theirs);
        assert_eq!(merge(&base, &base, &[]).entries, vec![], "a clean delete");
    }
}
