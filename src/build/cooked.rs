//! What builds cooked of an asset, read back from the local processing
//! cache: each target's texture as `packer/getAsset` reports it, and the
//! picture `packer/thumbnail` draws from it. The cache is the record: an
//! entry is found under the key a build of the current snapshot would use,
//! so what is reported is exactly what the next build would put in a pack
//! (and nothing is reported once the source or a setting changed, until a
//! build cooks it again).

use std::sync::{Arc, Mutex};

use super::cache::{Key, LocalCache, StoredMeta};
use super::{pack, settings, target_part, texture, unit_key};
use crate::project::disk::sandbox::FileStat;
use crate::project::format::manifest::{Manifest, Target};
use crate::project::model::{Asset, Kind};
use crate::project::snapshot::Snapshot;
use crate::protocol::model::{CookedTexture, ThumbnailResult};
use crate::transport::RpcError;

/// The local cache as last read, with what `stat` said of its index then:
/// reloaded only when the index file changed (a build, a prune).
#[derive(Default)]
pub struct CacheView {
    loaded: Mutex<Option<(Option<FileStat>, Arc<LocalCache>)>>,
}

impl CacheView {
    fn cache(&self, state_dir: &std::path::Path) -> Arc<LocalCache> {
        let stat = std::fs::metadata(LocalCache::index_path(state_dir)).ok().map(|m| FileStat::of(&m));
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        match &*loaded {
            Some((seen, cache)) if *seen == stat && stat.is_some() => cache.clone(),
            _ => {
                let cache = Arc::new(LocalCache::open(state_dir));
                *loaded = Some((stat, cache.clone()));
                cache
            }
        }
    }
}

/// The key and stored form of `asset` cooked for `target` with `settings`
/// (as resolved for it), when the cache holds it.
fn lookup(
    cache: &LocalCache,
    manifest: &Manifest,
    asset: &Asset,
    target: &Target,
    settings: &serde_json::Map<String, serde_json::Value>,
) -> Option<(Key, StoredMeta)> {
    let key = unit_key(asset, settings, &target_part(Kind::Image, target), manifest.zstd_level, &[]);
    cache.get(&key).map(|meta| (key, meta))
}

/// Each target's texture of an image asset that a build cooked, in target
/// order (targets not cooked yet are left out); empty for other kinds.
pub fn of_asset(view: &CacheView, state_dir: &std::path::Path, snap: &Snapshot, asset: &Asset) -> Vec<CookedTexture> {
    if asset.entry.kind != Kind::Image {
        return Vec::new();
    }
    let cache = view.cache(state_dir);
    let manifest = &snap.manifest;
    manifest
        .targets
        .iter()
        .filter_map(|t| {
            let settings = settings::for_target(manifest, asset, t).ok()?;
            let (_, meta) = lookup(&cache, manifest, asset, t, &settings)?;
            let (format, srgb) = texture::GpuFormat::from_vk_format(meta.image.vk_format)?;
            Some(CookedTexture {
                target: t.name.clone(),
                profile: t.profile,
                format: texture::format::Named::name(format).to_string(),
                srgb,
                vk_format: meta.image.vk_format,
                width: meta.image.width,
                height: meta.image.height,
                levels: meta.image.levels,
                bytes: meta.raw_length,
                psnr: (meta.psnr_cdb > 0).then(|| f64::from(meta.psnr_cdb) / 100.0),
            })
        })
        .collect()
}

/// The largest thumbnail side.
pub const MAX_THUMBNAIL: u32 = 1024;

/// `packer/thumbnail`: the level of the cooked texture nearest `size`,
/// decoded as the target's GPU would (compression artefacts included), as
/// a PNG no larger than `size` on its longer side.
pub fn thumbnail(
    view: &CacheView,
    state_dir: &std::path::Path,
    snap: &Snapshot,
    asset: &Asset,
    size: u32,
    target: Option<&str>,
) -> Result<ThumbnailResult, RpcError> {
    let manifest = &snap.manifest;
    if asset.entry.kind != Kind::Image {
        let msg = format!("invalid params: `assetId`: `{}` is not an image", asset.path());
        return Err(RpcError::invalid_params("assetId", msg));
    }
    let target = match target {
        None => &manifest.targets[0],
        Some(name) => manifest.target(name).ok_or_else(|| {
            RpcError::invalid_params("target", format!("invalid params: `target`: no target `{name}` in packer.toml"))
        })?,
    };
    let cache = view.cache(state_dir);
    let not_cooked = || {
        RpcError::failed(
            "notCooked",
            format!(
                "`{}` has not been cooked for `{}` as it is now: build that target first",
                asset.path(),
                target.name
            ),
        )
    };
    let settings = settings::for_target(manifest, asset, target).map_err(|problems| {
        let first = problems.first().map_or(String::new(), |d| d.message.clone());
        RpcError::failed("invalidSetting", format!("no build can cook it: {first}"))
    })?;
    let (key, meta) = lookup(&cache, manifest, asset, target, &settings).ok_or_else(not_cooked)?;
    let stored = cache.read_stored(&key, &meta).map_err(|_| not_cooked())?;
    let ktx2 = match meta.compression() {
        pack::Compression::None => stored,
        pack::Compression::Zstd => zstd::bulk::decompress(&stored, meta.raw_length as usize)
            .map_err(|e| RpcError::failed("io", format!("reading the cooked texture: {e}")))?,
    };
    let (w0, h0, levels) = (meta.image.width, meta.image.height, meta.image.levels);
    let level = texture::nearest_level(w0, h0, levels, size);
    let (width, height, rgba) = texture::decode_level(&ktx2, level)
        .map_err(|e| RpcError::failed("io", format!("decoding the texture: {e}")))?;
    let image = image::RgbaImage::from_raw(width, height, rgba)
        .ok_or_else(|| RpcError::internal("a decoded level has the wrong size"))?;
    // Never larger than asked: a texture without a small enough level is
    // scaled down (the level's own texels, filtered for the eye only).
    let image = if width.max(height) > size {
        let scale = f64::from(size) / f64::from(width.max(height));
        let (w, h) = (((f64::from(width) * scale) as u32).max(1), ((f64::from(height) * scale) as u32).max(1));
        image::imageops::resize(&image, w, h, image::imageops::FilterType::Triangle)
    } else {
        image
    };
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| RpcError::internal(format!("encoding the thumbnail: {e}")))?;
    use base64::Engine;
    let (format, _) = texture::GpuFormat::from_vk_format(meta.image.vk_format).ok_or_else(not_cooked)?;
    Ok(ThumbnailResult {
        target: target.name.clone(),
        format: texture::format::Named::name(format).to_string(),
        level,
        width: image.width(),
        height: image.height(),
        png: base64::engine::general_purpose::STANDARD.encode(png.into_inner()),
    })
}
