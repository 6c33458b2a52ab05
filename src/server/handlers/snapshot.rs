//! Reads answered from one snapshot alone: functions of the snapshot and
//! the typed params to a typed result, as rust-analyzer's handlers are of
//! its analysis snapshot. They cannot see a half-done write, and they
//! cannot change anything.

use std::ops::Bound;
use std::sync::Arc;

use serde_json::json;

use super::{DEFAULT_PAGE, MAX_PAGE};
use crate::project::model::Asset;
use crate::project::snapshot::Snapshot;
use crate::protocol::model::{DiagnosticsResult, DivergenceResult, GetAssetResult, ListAssetsResult, ReferencesResult};
use crate::protocol::{DiagnosticsParams, GetAssetParams, ListAssetsParams, ReferencesParams};
use crate::transport::message::code;
use crate::transport::RpcError;

/// `packer/getAsset`.
pub fn get_asset(snap: &Snapshot, p: &GetAssetParams) -> Result<GetAssetResult, RpcError> {
    let asset = snap.asset_view(find_asset(snap, &p.asset_id)?);
    let (effective_settings, setting_problems) = crate::build::settings::of_asset(&snap.manifest, &asset);
    let cooked = Vec::new();
    let references = snap.reference_counts(&asset);
    Ok(GetAssetResult { generation: snap.generation, asset, effective_settings, setting_problems, cooked, references })
}

/// The most items of each list `packer/references` answers (the counts say how many there are).
pub const MAX_REFERENCES: usize = 1_000;

/// `packer/references`.
pub fn references(snap: &Snapshot, p: &ReferencesParams) -> Result<ReferencesResult, RpcError> {
    let asset = find_asset(snap, &p.asset_id)?;
    let (mut uses, mut used_by) = snap.references_of(asset);
    let counts = snap.reference_counts(asset);
    uses.truncate(MAX_REFERENCES);
    used_by.truncate(MAX_REFERENCES);
    Ok(ReferencesResult {
        generation: snap.generation,
        asset_id: asset.id().to_string(),
        path: asset.path().to_string(),
        uses,
        used_by,
        counts,
    })
}

/// `packer/diagnostics`: the project's, or one asset's.
pub fn diagnostics(snap: &Snapshot, p: &DiagnosticsParams) -> Result<DiagnosticsResult, RpcError> {
    let items = match &p.asset_id {
        Some(id) => snap.asset_view(find_asset(snap, id)?).diagnostics.to_vec(),
        None => snap.diagnostics(),
    };
    Ok(DiagnosticsResult { generation: snap.generation, items })
}

/// `packer/divergence`.
pub fn divergence(snap: &Snapshot) -> DivergenceResult {
    DivergenceResult { generation: snap.generation, state: snap.divergence_state(), items: snap.divergence.clone() }
}

pub fn find_asset<'a>(snap: &'a Snapshot, asset_id: &str) -> Result<&'a Arc<Asset>, RpcError> {
    snap.asset(asset_id).ok_or_else(|| {
        RpcError::invalid_params(
            "assetId",
            format!("no asset has the id `{asset_id}` at generation {}", snap.generation),
        )
    })
}

pub(super) fn page_size(limit: Option<usize>, default: usize, max: usize) -> Result<usize, RpcError> {
    match limit {
        None => Ok(default),
        Some(0) => Err(RpcError::invalid_params("limit", "invalid params: `limit` must be at least 1")),
        Some(n) => Ok(n.min(max)),
    }
}

/// `packer/listAssets`. Cursors are `<generation>:<last path>`; clients
/// treat them as opaque.
pub fn list_assets(snap: &Snapshot, p: &ListAssetsParams) -> Result<ListAssetsResult, RpcError> {
    let limit = page_size(p.limit, DEFAULT_PAGE, MAX_PAGE)?;
    let start = match &p.cursor {
        None => Bound::Unbounded,
        Some(c) => {
            let (generation, last) =
                c.split_once(':').and_then(|(g, rest)| Some((g.parse::<u64>().ok()?, rest))).ok_or_else(|| {
                    RpcError::invalid_params("cursor", format!("`{c}` is not a cursor from packer/listAssets"))
                })?;
            if generation != snap.generation {
                return Err(RpcError::new(
                    code::CONTENT_MODIFIED,
                    format!(
                        "the cursor is for generation {generation}, the project is now at {}: list again",
                        snap.generation
                    ),
                )
                .with_data(json!({ "generation": snap.generation })));
            }
            Bound::Excluded(last)
        }
    };
    let f = &p.filter;
    let text = f.text.as_ref().map(|t| t.to_lowercase());
    let maps = snap.contents.maps();
    let matches = |a: &Asset| {
        f.kind.is_none_or(|k| a.entry.kind == k)
            && f.status.is_none_or(|s| a.status == s)
            && f.path_prefix.as_ref().is_none_or(|pre| a.path().starts_with(pre.as_str()))
            && f.tag.as_ref().is_none_or(|t| a.entry.tags.iter().any(|x| x == t))
            && text.as_ref().is_none_or(|t| a.path().to_lowercase().contains(t.as_str()))
            && f.unused.is_none_or(|unused| unused != snap.contents.graph.is_used(&maps, a.id(), a.path()))
    };
    let mut items = Vec::with_capacity(limit);
    let mut next_cursor = None;
    for (_, id) in snap.contents.by_path.range::<_, str>((start, Bound::Unbounded)) {
        let Some(asset) = snap.contents.assets.get(id) else {
            continue;
        };
        if !matches(asset) {
            continue;
        }
        if items.len() == limit {
            next_cursor = Some(format!("{}:{}", snap.generation, items_last_path(&items)));
            break;
        }
        items.push(snap.asset_view(asset));
    }
    Ok(ListAssetsResult { generation: snap.generation, items, next_cursor })
}

fn items_last_path(items: &[Arc<Asset>]) -> &str {
    items.last().map_or("", |a| a.path())
}
