//! Textures: a source image (PNG, JPEG, ... or an already-compressed KTX2 or
//! DDS) cooked into a KTX2 file of GPU blocks for one target's profile.
//!
//! The pipeline is decode -> choose the format -> optional `max_size`
//! downscale -> mip chain ([`mips`], linear light, premultiplied) -> encode
//! each level ([`encode`], pinned encoders, cancellable strips) -> KTX2
//! ([`ktx`]). KTX2 and DDS sources are passed through: their blocks are
//! rewrapped, never re-encoded.
//!
//! The same source and settings give the same bytes on every x86_64 machine
//! and for any thread count (see [`encode`]); [`fingerprint`] lets a cache key
//! notice when a different build of the encoders would not.

pub mod encode;
pub mod format;
pub mod ktx;
pub mod mips;

// The KTX2 spec checker is shared with the integration tests (tests/textures.rs).
#[cfg(test)]
#[path = "../../../tests/common/ktxcheck.rs"]
mod ktxcheck;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::Value;

pub use format::{GpuFormat, Named, Profile, Quality, Use};
use mips::{Filter, Rgba8Image};

/// Bumped whenever this module's output bytes change for the same input.
pub const VERSION: u32 = 1;

/// The encoder crates whose bytes end up in a cooked texture, for cache keys.
pub const ENCODERS: &str =
    "ctt-intel-texture-compressor 0.6.1 ispc-sse4; ctt-bc7f 0.6.1; ctt-astcenc 0.6.1 sse2; ktx2 0.5.0; dds 0.2.0";

/// A texture asset's settings (the project's per-asset `settings` keys).
#[derive(Clone, Debug, PartialEq)]
pub struct TextureSettings {
    pub use_: Use,
    /// Build the full mip chain (never for `ui`).
    pub mipmaps: bool,
    /// Largest side of level 0; a larger source is downscaled.
    pub max_size: Option<u32>,
    pub quality: Quality,
    /// Store colour multiplied by alpha (for `color`, `ui` and `linear`;
    /// normals and masks are data, not colour, and are stored as they are).
    pub premultiplied_alpha: bool,
    /// Per target name, the format that target uses instead of its profile's default.
    pub format: BTreeMap<String, GpuFormat>,
}

impl Default for TextureSettings {
    fn default() -> Self {
        TextureSettings {
            use_: Use::Color,
            mipmaps: true,
            max_size: None,
            quality: Quality::Normal,
            premultiplied_alpha: false,
            format: BTreeMap::new(),
        }
    }
}

/// A setting that cannot be used, naming its key (`format.desktop`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

/// The keys [`from_settings`] accepts.
pub const SETTING_KEYS: &[&str] = &["use", "mipmaps", "max_size", "quality", "premultiplied_alpha", "format"];

/// Largest `max_size` accepted (the largest 2D texture any current GPU takes).
const MAX_SIZE_LIMIT: u64 = 16384;

/// Reads texture settings; every problem is reported, not just the first.
/// `mipmaps` defaults to false for `use = "ui"`, true otherwise.
pub fn from_settings(map: &serde_json::Map<String, Value>) -> Result<TextureSettings, Vec<SettingError>> {
    let mut errors = Vec::new();
    let mut err = |key: &str, message: String| errors.push(SettingError { key: key.to_string(), message });
    let mut s = TextureSettings::default();
    let mut mipmaps = None;
    for (key, value) in map {
        match key.as_str() {
            "use" => match value.as_str().map(format::parse::<Use>) {
                Some(Ok(u)) => s.use_ = u,
                Some(Err(e)) => err(key, e),
                None => err(key, format!("a string is needed; allowed: {}", format::names(Use::ALL))),
            },
            "quality" => match value.as_str().map(format::parse::<Quality>) {
                Some(Ok(q)) => s.quality = q,
                Some(Err(e)) => err(key, e),
                None => err(key, format!("a string is needed; allowed: {}", format::names(Quality::ALL))),
            },
            "mipmaps" => match value.as_bool() {
                Some(b) => mipmaps = Some(b),
                None => err(key, "true or false is needed".into()),
            },
            "premultiplied_alpha" => match value.as_bool() {
                Some(b) => s.premultiplied_alpha = b,
                None => err(key, "true or false is needed".into()),
            },
            "max_size" => match value {
                Value::Null => s.max_size = None,
                v => match v.as_u64() {
                    Some(n @ 1..=MAX_SIZE_LIMIT) => s.max_size = Some(n as u32),
                    _ => err(key, format!("an integer from 1 to {MAX_SIZE_LIMIT} (or null) is needed, not {v}")),
                },
            },
            "format" => match value.as_object() {
                Some(targets) => {
                    for (target, f) in targets {
                        let key = format!("format.{target}");
                        let allowed = format::names(format::ENCODABLE);
                        match f.as_str().map(format::parse::<GpuFormat>) {
                            Some(Ok(f)) if format::ENCODABLE.contains(&f) => {
                                s.format.insert(target.clone(), f);
                            }
                            Some(Ok(f)) => err(&key, format!("{f} is read from sources only; allowed: {allowed}")),
                            Some(Err(_)) | None => err(&key, format!("unknown format {f}; allowed: {allowed}")),
                        }
                    }
                }
                None => err(key, "an object of target name to format is needed".into()),
            },
            _ => err(key, format!("unknown texture setting; allowed: {}", SETTING_KEYS.join(", "))),
        }
    }
    s.mipmaps = mipmaps.unwrap_or(s.use_ != Use::Ui);
    if errors.is_empty() {
        Ok(s)
    } else {
        Err(errors)
    }
}

/// A cooked texture.
#[derive(Clone, Debug)]
pub struct Cooked {
    /// The KTX2 file.
    pub ktx2: Vec<u8>,
    pub format: GpuFormat,
    pub srgb: bool,
    pub vk_format: u32,
    /// Level 0 size (after any `max_size` downscale).
    pub width: u32,
    pub height: u32,
    pub levels: u32,
    /// Things the user should know: downscaled, alpha dropped by BC1, passed through.
    pub warnings: Vec<String>,
    /// Level 0 PSNR in dB of the stored texture against what was encoded
    /// (the channels the format keeps for this use), capped at 100 when
    /// identical; `None` for passthrough and RGBA8.
    pub psnr: Option<f64>,
}

/// Why a cook produced nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CookError {
    #[error("cancelled")]
    Cancelled,
    /// `code` is one of `imageUnreadable`, `invalidSetting`, `textureInvalid`.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
}

fn invalid(code: &'static str, message: String) -> CookError {
    CookError::Invalid { code, message }
}

/// Cooks `source_bytes` (a file with extension `ext`) for `target`, whose
/// profile is `profile`. Runs on the current rayon pool; `cancel` is polled
/// between mip levels and encode strips.
pub fn cook(
    source_bytes: &[u8],
    ext: &str,
    settings: &TextureSettings,
    profile: Profile,
    target: &str,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<Cooked, CookError> {
    let ext = ext.trim_start_matches('.').to_ascii_lowercase();
    if ext == "ktx2" || ext == "dds" {
        return passthrough(source_bytes, &ext, settings, profile, target);
    }
    let source = decode_source(source_bytes, &ext, settings.use_)?;
    let (format, srgb) = choose_format(settings, profile, target, source.has_alpha, source.channels)?;
    let mut warnings = Vec::new();
    if format == GpuFormat::Bc1 && source.has_alpha {
        warnings.push("bc1 stores no alpha: the source's transparency is dropped".to_string());
    }
    let filter =
        Filter { use_: settings.use_, source_premultiplied: false, output_premultiplied: settings.premultiplied_alpha };
    let mut base = source.image;
    if let Some(max) = settings.max_size {
        let (w0, h0) = (base.width, base.height);
        let (shrunk, did) = mips::downscale_to_max(base, filter, max);
        base = shrunk;
        if did {
            warnings.push(format!("downscaled from {w0}x{h0} to {}x{} (max_size {max})", base.width, base.height));
        }
    }
    let levels = if settings.mipmaps && settings.use_ != Use::Ui {
        mips::mip_chain(base, filter, &|| !cancel()).ok_or(CookError::Cancelled)?
    } else {
        vec![mips::base_level(base, filter)]
    };
    let params = encode::EncodeParams {
        format,
        srgb,
        use_: settings.use_,
        quality: settings.quality,
        has_alpha: source.has_alpha,
        channels: source.channels,
    };
    let encoder = encode::LevelEncoder::new(params);
    let mut data = Vec::with_capacity(levels.len());
    for level in &levels {
        data.push(encoder.encode(level, cancel).map_err(|_| CookError::Cancelled)?);
    }
    let psnr = level0_psnr(&levels[0], &data[0], params);
    let (width, height) = (levels[0].width, levels[0].height);
    let stored = ktx::Levels { format, srgb, width, height, data };
    Ok(Cooked {
        ktx2: ktx::write_ktx2(&stored, settings.premultiplied_alpha),
        format,
        srgb,
        vk_format: format.vk_format(srgb),
        width,
        height,
        levels: levels.len() as u32,
        warnings,
        psnr,
    })
}

struct Source {
    image: Rgba8Image,
    /// Some texel has alpha below 255.
    has_alpha: bool,
    /// Channels of the source's colour type (1 grey ... 4 RGBA).
    channels: u8,
}

fn decode_source(bytes: &[u8], ext: &str, use_: Use) -> Result<Source, CookError> {
    let unreadable = |e: image::ImageError| invalid("imageUnreadable", format!("cannot decode the {ext} image: {e}"));
    let img = match image::ImageFormat::from_extension(ext) {
        Some(f) => image::load_from_memory_with_format(bytes, f),
        None => image::load_from_memory(bytes),
    }
    .map_err(unreadable)?;
    let channels = img.color().channel_count();
    let mut rgba = img.to_rgba8();
    // A two-channel mask keeps its channels in R and G (grey+alpha decodes to grey in RGB).
    if use_ == Use::Mask && channels == 2 {
        for p in rgba.pixels_mut() {
            p.0 = [p.0[0], p.0[3], 0, 255];
        }
    }
    let (width, height) = rgba.dimensions();
    if width == 0 || height == 0 {
        return Err(invalid("imageUnreadable", format!("the {ext} image is {width}x{height}: it has no texels")));
    }
    let pixels = rgba.into_raw();
    let has_alpha = pixels.chunks_exact(4).any(|p| p[3] != 255);
    Ok(Source { image: Rgba8Image { width, height, pixels }, has_alpha, channels })
}

fn choose_format(
    settings: &TextureSettings,
    profile: Profile,
    target: &str,
    has_alpha: bool,
    channels: u8,
) -> Result<(GpuFormat, bool), CookError> {
    let Some(&f) = settings.format.get(target) else {
        return Ok(format::default_format(profile, settings.use_, has_alpha, channels));
    };
    let allowed = format::allowed_formats(profile);
    if !allowed.contains(&f) {
        return Err(invalid(
            "invalidSetting",
            format!(
                "format.{target}: {f} is not available for the {profile} profile; allowed: {}",
                format::names(allowed)
            ),
        ));
    }
    Ok((f, format::srgb_for(settings.use_, f)))
}

fn passthrough(
    bytes: &[u8],
    ext: &str,
    settings: &TextureSettings,
    profile: Profile,
    target: &str,
) -> Result<Cooked, CookError> {
    let srgb_if_unknown = matches!(settings.use_, Use::Color | Use::Ui);
    let mut levels = if ext == "ktx2" { ktx::read_ktx2(bytes) } else { ktx::read_dds(bytes, srgb_if_unknown) }
        .map_err(|e| invalid("textureInvalid", format!("{ext} source: {e}")))?;
    let f = levels.format;
    if let Some(&wanted) = settings.format.get(target) {
        if wanted != f {
            return Err(invalid(
                "invalidSetting",
                format!(
                    "format.{target}: the {ext} source is already {f} and is passed through; it cannot become {wanted}"
                ),
            ));
        }
    }
    let fits = format::allowed_formats(profile).contains(&f) || (f == GpuFormat::Bc3 && profile == Profile::Desktop);
    if !fits {
        return Err(invalid(
            "textureInvalid",
            format!(
                "the {ext} source is {f}, which the {profile} profile does not take; it takes {}",
                format::names(format::allowed_formats(profile))
            ),
        ));
    }
    if !settings.mipmaps || settings.use_ == Use::Ui {
        levels.data.truncate(1);
    }
    let warnings = vec![format!(
        "{f} blocks passed through from the {ext} source without re-encoding (quality and max_size do not apply)"
    )];
    Ok(Cooked {
        ktx2: ktx::write_ktx2(&levels, false),
        format: f,
        srgb: levels.srgb,
        vk_format: f.vk_format(levels.srgb),
        width: levels.width,
        height: levels.height,
        levels: levels.data.len() as u32,
        warnings,
        psnr: None,
    })
}

/// Which source channel is compared with which decoded channel.
fn compared_channels(p: encode::EncodeParams) -> Vec<(usize, usize)> {
    match (p.format, p.use_) {
        (GpuFormat::Bc4, _) => vec![(0, 0)],
        (GpuFormat::Bc5, _) => vec![(0, 0), (1, 1)],
        // gggr: X in A, Y in G.
        (f, Use::Normal) if f.is_astc() => vec![(0, 3), (1, 1)],
        (f, Use::Mask) if f.is_astc() && p.channels == 1 => vec![(0, 0)],
        (f, Use::Mask) if f.is_astc() && p.channels == 2 => vec![(0, 0), (1, 3)],
        _ => vec![(0, 0), (1, 1), (2, 2)],
    }
}

fn level0_psnr(source: &Rgba8Image, blocks: &[u8], p: encode::EncodeParams) -> Option<f64> {
    if p.format == GpuFormat::Rgba8 {
        return None;
    }
    let decoded = decode_blocks(p.format, source.width, source.height, blocks).ok()?;
    Some(psnr(&source.pixels, &decoded, &compared_channels(p)))
}

/// PSNR over the channel pairs `(a's channel, b's channel)`, capped at 100 dB.
pub(crate) fn psnr(a: &[u8], b: &[u8], channels: &[(usize, usize)]) -> f64 {
    let mut se = 0f64;
    let mut n = 0f64;
    for (pa, pb) in a.chunks_exact(4).zip(b.chunks_exact(4)) {
        for &(ca, cb) in channels {
            let d = f64::from(pa[ca]) - f64::from(pb[cb]);
            se += d * d;
            n += 1.0;
        }
    }
    if se == 0.0 {
        return 100.0;
    }
    (10.0 * (255.0f64 * 255.0 / (se / n)).log10()).min(100.0)
}

/// Blocks -> RGBA8 with the `dds` crate, which shares no code with the encoders.
/// sRGB data is returned as stored (no transfer applied).
fn decode_blocks(format: GpuFormat, width: u32, height: u32, blocks: &[u8]) -> Result<Vec<u8>, String> {
    let dds_format = match format {
        GpuFormat::Rgba8 => return Ok(blocks.to_vec()),
        GpuFormat::Bc1 => dds::Format::BC1_UNORM,
        GpuFormat::Bc3 => dds::Format::BC3_UNORM,
        GpuFormat::Bc4 => dds::Format::BC4_UNORM,
        GpuFormat::Bc5 => dds::Format::BC5_UNORM,
        GpuFormat::Bc7 => dds::Format::BC7_UNORM,
        GpuFormat::Astc4x4 => dds::Format::ASTC_4X4_UNORM,
        GpuFormat::Astc6x6 => dds::Format::ASTC_6X6_UNORM,
        GpuFormat::Astc8x8 => dds::Format::ASTC_8X8_UNORM,
    };
    let mut out = vec![0u8; width as usize * height as usize * 4];
    let view = dds::ImageViewMut::new(&mut out, dds::Size::new(width, height), dds::ColorFormat::RGBA_U8)
        .ok_or("decode buffer size")?;
    dds::decode(&mut &blocks[..], view, dds_format, &dds::DecodeOptions::default()).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Level `level` of a KTX2 texture as RGBA8 (for thumbnails): returns its
/// size and texels. Normal maps and masks come out as stored (BC5: X, Y in
/// R, G; ASTC normals: Y in RGB, X in A; BC4: grey).
pub fn decode_level(ktx2: &[u8], level: u32) -> Result<(u32, u32, Vec<u8>), String> {
    let (format, w, h, data) = ktx::level_of(ktx2, level)?;
    Ok((w, h, decode_blocks(format, w, h, &data)?))
}

/// The smallest level whose larger side is still at least `size` (level 0
/// when the texture is smaller than `size`), for picking a thumbnail source.
pub fn nearest_level(width: u32, height: u32, levels: u32, size: u32) -> u32 {
    let side = |l: u32| width.checked_shr(l).unwrap_or(0).max(height.checked_shr(l).unwrap_or(0)).max(1);
    (0..levels.max(1)).take_while(|&l| side(l) >= size).last().unwrap_or(0)
}

/// An estimate of the work to cook a `width` x `height` texture (with its
/// mip chain), in nanoseconds of one core of the probe machine: comparable
/// across formats and qualities, for progress weights, not a promise.
pub fn pixel_cost(width: u32, height: u32, format: GpuFormat, quality: Quality) -> u64 {
    u64::from(width) * u64::from(height) * encode::cost_per_pixel(format, quality)
}

/// The work of cooking a `width` x `height` source with `settings` for
/// `target`, in [`pixel_cost`] units, before the source is read (its format
/// as an RGBA source would get it): what a build's progress is weighted by.
pub fn work(width: u32, height: u32, settings: &TextureSettings, profile: Profile, target: &str) -> u64 {
    let format = choose_format(settings, profile, target, true, 4).map_or(GpuFormat::Bc7, |(f, _)| f);
    let (mut w, mut h) = (width.max(1), height.max(1));
    if let Some(max) = settings.max_size {
        let scale = f64::from(max) / f64::from(w.max(h));
        if scale < 1.0 {
            w = ((f64::from(w) * scale) as u32).max(1);
            h = ((f64::from(h) * scale) as u32).max(1);
        }
    }
    pixel_cost(w, h, format, settings.quality)
}

/// A hash of this build's encoders' output: a small fixed image encoded with
/// every format, quality and swizzle path, plus its mip chains. Put it in
/// cache keys: a build whose compiler or flags change the bytes then misses
/// the cache instead of serving bytes it would not produce. Computed once.
pub fn fingerprint() -> [u8; 32] {
    static FINGERPRINT: OnceLock<[u8; 32]> = OnceLock::new();
    *FINGERPRINT.get_or_init(compute_fingerprint)
}

fn compute_fingerprint() -> [u8; 32] {
    let probe = fingerprint_probe();
    let mut hasher = blake3::Hasher::new();
    hasher.update(&VERSION.to_le_bytes());
    hasher.update(ENCODERS.as_bytes());
    for use_ in [Use::Color, Use::Normal] {
        let f = Filter { use_, source_premultiplied: false, output_premultiplied: false };
        for level in mips::mip_chain(probe.clone(), f, &|| true).expect("never cancelled") {
            hasher.update(&level.pixels);
        }
    }
    let never = || false;
    for &format in format::ENCODABLE {
        for &quality in Quality::ALL {
            let mut cases = vec![(Use::Color, true, 4), (Use::Color, false, 3)];
            if format.is_astc() {
                cases.extend([(Use::Normal, false, 3), (Use::Mask, false, 1), (Use::Mask, false, 2)]);
            }
            for (use_, has_alpha, channels) in cases {
                let srgb = format::srgb_for(use_, format);
                let p = encode::EncodeParams { format, srgb, use_, quality, has_alpha, channels };
                let blocks = encode::encode_level(&probe, p, &never).expect("never cancelled");
                hasher.update(&blocks);
            }
        }
    }
    *hasher.finalize().as_bytes()
}

/// 20x14 (partial blocks for every block size) of hashed noise with varying alpha.
fn fingerprint_probe() -> Rgba8Image {
    let (width, height) = (20u32, 14u32);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut pixels = Vec::with_capacity((width * height * 4) as usize);
    for i in 0..width * height {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let b = state.to_le_bytes();
        // Smooth-ish colour with noise, alpha ramping across the image.
        pixels.extend_from_slice(&[
            b[0] / 2 + (i % width * 6) as u8,
            b[1] / 4 + 60,
            b[2],
            (i * 255 / (width * height)) as u8,
        ]);
    }
    Rgba8Image { width, height, pixels }
}
