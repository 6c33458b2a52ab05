//! One RGBA8 level -> GPU blocks, in strips of whole block rows.
//!
//! Determinism: every encoder is called through an entry point pinned to one
//! instruction set, declared here by hand. The crates' own wrappers dispatch
//! on the CPU (cpuid / `is_x86_feature_detected!`), and their AVX2/AVX-512
//! variants use FMA, so the same source would give different bytes on
//! different machines (docs/textures-probe/README.md, "Determinism across
//! CPUs"). The pinned choices have no FMA and no reciprocal approximations:
//! ISPC texcomp `*_ispc_sse4` (BC1/BC4/BC5/BC7 high), bc7f (plain C++, BC7
//! fast/normal) and astcenc's `astcenc_sse2_*` (ASTC). A renamed symbol in a
//! new crate version fails the link, which is why the crates are pinned with `=`.
//!
//! Cancel: one encoder call on a large level can run for a minute (ASTC
//! thorough on noise), so a level is cut into strips of whole block rows, of
//! a pixel budget weighted by the encoder's cost, and the cancel flag is read
//! before each strip. Every encoder is block-independent, so the bytes do not
//! depend on the strip size or the thread count (tested below).

use std::sync::Mutex;

use ctt_astcenc::bindings as astc;
use ctt_intel_texture_compressor::bc7 as ispc_bc7;
use ctt_intel_texture_compressor::bindings::kernel::{bc7_enc_settings, rgba_surface};
use rayon::prelude::*;

use super::format::{GpuFormat, Quality, Use};
use super::mips::Rgba8Image;

/// The encode was stopped by the cancel flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// What the encoder is told about the level besides its pixels.
#[derive(Clone, Copy, Debug)]
pub struct EncodeParams {
    pub format: GpuFormat,
    /// The sRGB variant (ASTC then uses its sRGB profile).
    pub srgb: bool,
    pub use_: Use,
    pub quality: Quality,
    /// Some texel has alpha < 255: BC7 high and ASTC then weigh alpha.
    pub has_alpha: bool,
    /// Source channel count, for masks: 1 and 2 get one/two-channel ASTC swizzles.
    pub channels: u8,
}

mod pinned {
    //! Entry points declared by hand so that no CPU dispatch happens.
    use super::astc::{
        astcenc_config, astcenc_context, astcenc_error, astcenc_image, astcenc_profile, astcenc_swizzle,
    };
    use super::{bc7_enc_settings, rgba_surface};

    unsafe extern "C" {
        // ISPC texcomp kernels (prebuilt archives in ctt-intel-texture-compressor-prebuilt).
        pub fn CompressBlocksBC1_ispc_sse4(src: *mut rgba_surface, dst: *mut u8);
        pub fn CompressBlocksBC4_ispc_sse4(src: *mut rgba_surface, dst: *mut u8);
        pub fn CompressBlocksBC5_ispc_sse4(src: *mut rgba_surface, dst: *mut u8);
        pub fn CompressBlocksBC7_ispc_sse4(src: *mut rgba_surface, dst: *mut u8, settings: *mut bc7_enc_settings);

        // astcenc built by ctt-astcenc with its symbols renamed per ISA.
        pub fn astcenc_sse2_config_init(
            profile: astcenc_profile,
            block_x: u32,
            block_y: u32,
            block_z: u32,
            quality: f32,
            flags: u32,
            config: *mut astcenc_config,
        ) -> astcenc_error;
        pub fn astcenc_sse2_context_alloc(
            config: *const astcenc_config,
            thread_count: u32,
            context: *mut *mut astcenc_context,
            parent_context: *const astcenc_context,
        ) -> astcenc_error;
        pub fn astcenc_sse2_context_free(context: *mut astcenc_context);
        pub fn astcenc_sse2_compress_image(
            context: *mut astcenc_context,
            image: *mut astcenc_image,
            swizzle: *const astcenc_swizzle,
            data_out: *mut u8,
            data_len: usize,
            thread_index: u32,
        ) -> astcenc_error;
        pub fn astcenc_sse2_compress_reset(context: *mut astcenc_context) -> astcenc_error;
    }
}

/// Texels per strip for cheap encoders; costly ones get half. Measured
/// (release, one core, 1024² with per-texel noise, the slow case), the
/// slowest strip is then ~0.25 s (ISPC BC7 slow, ASTC thorough), and a
/// cancel raised in the middle of an ASTC 4x4 `high` cook on 2 threads
/// returned within 0.24 s.
const STRIP_PIXELS: u64 = 64 * 1024;

/// From this cost per texel on, strips get half the texels.
const COSTLY: u64 = 4000;

/// Rough cost of a whole cook (decode, mips, encode of every level) per
/// level-0 texel, in nanoseconds on one core of the probe machine: the
/// geometric mean of a smooth and a noisy 1024² image (noise costs ASTC
/// 2-5x, others little). For progress weights and strip sizes, not promises.
pub(super) fn cost_per_pixel(format: GpuFormat, quality: Quality) -> u64 {
    use GpuFormat::*;
    use Quality::*;
    match (format, quality) {
        (Rgba8 | Bc3, _) => 25,
        (Bc1 | Bc4 | Bc5, _) => 50,
        (Bc7, Fast) => 120,
        (Bc7, Normal) => 380,
        (Bc7, High) => 10_500,
        (Astc4x4, Fast) => 700,
        (Astc4x4, Normal) => 2_700,
        (Astc4x4, High) => 8_300,
        (Astc6x6, Fast) => 380,
        (Astc6x6, Normal) => 1_500,
        (Astc6x6, High) => 6_100,
        (Astc8x8, Fast) => 240,
        (Astc8x8, Normal) => 1_100,
        (Astc8x8, High) => 5_800,
    }
}

/// Block rows per strip: the texel budget for the encoder's cost, never below one row.
fn strip_block_rows(width: u32, format: GpuFormat, quality: Quality) -> u32 {
    let (bw, bh) = format.block_size();
    let budget = if cost_per_pixel(format, quality) >= COSTLY { STRIP_PIXELS / 2 } else { STRIP_PIXELS };
    let row_pixels = u64::from(width.div_ceil(bw) * bw) * u64::from(bh);
    (budget / row_pixels.max(1)).clamp(1, u64::from(u32::MAX)) as u32
}

/// Encodes levels with one set of parameters; holds what is worth keeping
/// from one level to the next (astcenc's contexts, whose tables cost
/// milliseconds to build).
pub struct LevelEncoder {
    p: EncodeParams,
    astc: Option<Astc>,
}

impl LevelEncoder {
    /// # Panics
    /// If `p.format` is BC3, which is never encoded (passthrough only).
    pub fn new(p: EncodeParams) -> Self {
        assert!(p.format != GpuFormat::Bc3, "BC3 is passthrough-only");
        LevelEncoder { p, astc: p.format.is_astc().then(|| Astc::new(p)) }
    }

    /// Encodes one level; output is `format.level_bytes(w, h)` bytes in
    /// block-row order. Runs on the current rayon pool; reads `cancel`
    /// before each strip.
    pub fn encode(&self, img: &Rgba8Image, cancel: &(dyn Fn() -> bool + Sync)) -> Result<Vec<u8>, Cancelled> {
        let rows = strip_block_rows(img.width, self.p.format, self.p.quality);
        self.encode_in_strips(img, rows, cancel)
    }

    pub(super) fn encode_in_strips(
        &self,
        img: &Rgba8Image,
        rows_per_strip: u32,
        cancel: &(dyn Fn() -> bool + Sync),
    ) -> Result<Vec<u8>, Cancelled> {
        let p = self.p;
        let (bw, bh) = p.format.block_size();
        let blocks_x = img.width.div_ceil(bw) as usize;
        let block_rows = img.height.div_ceil(bh);
        let rows_per_strip = rows_per_strip.clamp(1, block_rows.max(1));
        let strip_bytes = blocks_x * rows_per_strip as usize * p.format.block_bytes() as usize;
        let mut out = vec![0u8; p.format.level_bytes(img.width, img.height) as usize];
        out.par_chunks_mut(strip_bytes).enumerate().try_for_each(|(i, dst)| {
            if cancel() {
                return Err(Cancelled);
            }
            let row0 = i as u32 * rows_per_strip;
            let rows = rows_per_strip.min(block_rows - row0);
            let y0 = row0 * bh;
            let y1 = ((row0 + rows) * bh).min(img.height);
            match &self.astc {
                Some(astc) => astc.encode(img, y0, y1, dst),
                None => encode_strip(img, p, y0, rows * bh, dst),
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// Encodes one level (see [`LevelEncoder::encode`]).
pub fn encode_level(
    img: &Rgba8Image,
    p: EncodeParams,
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<u8>, Cancelled> {
    LevelEncoder::new(p).encode(img, cancel)
}

/// Byte offset of row `y` (in usize: a large level overflows u32 arithmetic).
fn row_start(img: &Rgba8Image, y: u32) -> usize {
    y as usize * img.width as usize * 4
}

/// Copies rows `y0..y0 + h` (past the bottom: the last row again) with the
/// width padded to whole 4-texel blocks by repeating the last column, keeping
/// the channels `ch` of each texel: the ISPC kernels take whole blocks only.
fn padded_rows(img: &Rgba8Image, y0: u32, h: u32, ch: &[usize]) -> (Vec<u8>, u32) {
    let pw = img.width.div_ceil(4) * 4;
    let mut buf = Vec::with_capacity((pw * h) as usize * ch.len());
    for y in y0..y0 + h {
        let sy = y.min(img.height - 1);
        let row = &img.pixels[row_start(img, sy)..row_start(img, sy + 1)];
        for x in 0..pw {
            let o = (x.min(img.width - 1) * 4) as usize;
            buf.extend(ch.iter().map(|&c| row[o + c]));
        }
    }
    (buf, pw)
}

fn encode_strip(img: &Rgba8Image, p: EncodeParams, y0: u32, h: u32, dst: &mut [u8]) {
    match p.format {
        GpuFormat::Rgba8 => {
            let start = row_start(img, y0);
            dst.copy_from_slice(&img.pixels[start..start + dst.len()]);
        }
        GpuFormat::Bc1 => ispc(img, y0, h, &[0, 1, 2, 3], 8, dst, |s, d| {
            // SAFETY: `s` describes a live buffer of whole 4x4 blocks (stride = width * 4)
            // and `d` holds 8 bytes per block, as the kernel expects.
            unsafe { pinned::CompressBlocksBC1_ispc_sse4(s, d) }
        }),
        GpuFormat::Bc4 => ispc(img, y0, h, &[0], 8, dst, |s, d| {
            // SAFETY: as for BC1, with one byte per texel and 8 bytes per block.
            unsafe { pinned::CompressBlocksBC4_ispc_sse4(s, d) }
        }),
        GpuFormat::Bc5 => ispc(img, y0, h, &[0, 1], 16, dst, |s, d| {
            // SAFETY: as for BC1, with two bytes per texel (R, G) and 16 bytes per block.
            unsafe { pinned::CompressBlocksBC5_ispc_sse4(s, d) }
        }),
        GpuFormat::Bc7 if p.quality == Quality::High => {
            let preset = if p.has_alpha { ispc_bc7::alpha_slow_settings() } else { ispc_bc7::opaque_slow_settings() };
            let mut settings = bc7_settings(preset);
            ispc(img, y0, h, &[0, 1, 2, 3], 16, dst, |s, d| {
                // SAFETY: as for BC1, 16 bytes per block; the kernel only reads `settings`.
                unsafe { pinned::CompressBlocksBC7_ispc_sse4(s, d, &mut settings) }
            })
        }
        GpuFormat::Bc7 => {
            let flags = match p.quality {
                Quality::Fast => ctt_bc7f::bindings::cPackBC7FlagDefault,
                _ => ctt_bc7f::bindings::cPackBC7FlagDefaultNonAnalytical,
            };
            ctt_bc7f::compress_blocks_into(&gather_blocks(img, y0, h), dst, flags);
        }
        GpuFormat::Bc3 | GpuFormat::Astc4x4 | GpuFormat::Astc6x6 | GpuFormat::Astc8x8 => {
            unreachable!("handled by the caller")
        }
    }
}

fn ispc(
    img: &Rgba8Image,
    y0: u32,
    h: u32,
    ch: &[usize],
    block_bytes: usize,
    dst: &mut [u8],
    kernel: impl FnOnce(*mut rgba_surface, *mut u8),
) {
    let (buf, pw) = padded_rows(img, y0, h, ch);
    let mut surface = rgba_surface {
        ptr: buf.as_ptr() as *mut u8,
        width: pw as i32,
        height: h as i32,
        stride: (pw as usize * ch.len()) as i32,
    };
    // The kernels write one block per 4x4 texels of the surface: `dst` must hold exactly that.
    assert_eq!(dst.len(), (pw / 4 * (h / 4)) as usize * block_bytes, "strip output size");
    kernel(&mut surface, dst.as_mut_ptr());
}

/// 16 texels (64 bytes) per 4x4 block, blocks in row order, edges replicated (bc7f's input).
fn gather_blocks(img: &Rgba8Image, y0: u32, h: u32) -> Vec<u8> {
    let (buf, pw) = padded_rows(img, y0, h, &[0, 1, 2, 3]);
    let mut out = Vec::with_capacity(buf.len());
    for by in 0..h / 4 {
        for bx in 0..pw / 4 {
            for y in 0..4 {
                let o = (((by * 4 + y) * pw + bx * 4) * 4) as usize;
                out.extend_from_slice(&buf[o..o + 16]);
            }
        }
    }
    out
}

fn bc7_settings(s: ispc_bc7::EncodeSettings) -> bc7_enc_settings {
    let r = s.refine_iterations.map(|v| v as i32);
    bc7_enc_settings {
        mode_selection: s.mode_selection,
        refineIterations: r,
        skip_mode2: s.skip_mode2,
        fastSkipThreshold_mode1: s.fast_skip_threshold_mode1 as i32,
        fastSkipThreshold_mode3: s.fast_skip_threshold_mode3 as i32,
        fastSkipThreshold_mode7: s.fast_skip_threshold_mode7 as i32,
        mode45_channel0: s.mode45_channel0 as i32,
        refineIterations_channel: s.refine_iterations_channel as i32,
        channels: s.channels,
    }
}

/// astcenc (SSE2 build) for one level: one config, a pool of single-thread
/// contexts reused across strips (a context costs tables to allocate).
struct Astc {
    config: astc::astcenc_config,
    swizzle: astc::astcenc_swizzle,
    contexts: Mutex<Vec<AstcContext>>,
}

struct AstcContext(*mut astc::astcenc_context);

// SAFETY: a context is used by one thread at a time (taken out of the pool
// for the length of one strip); astcenc keeps no thread-local state in it.
unsafe impl Send for AstcContext {}

impl Drop for AstcContext {
    fn drop(&mut self) {
        // SAFETY: allocated by astcenc_sse2_context_alloc and freed once.
        unsafe { pinned::astcenc_sse2_context_free(self.0) }
    }
}

fn swz(
    r: astc::astcenc_swz,
    g: astc::astcenc_swz,
    b: astc::astcenc_swz,
    a: astc::astcenc_swz,
) -> astc::astcenc_swizzle {
    astc::astcenc_swizzle { r, g, b, a }
}

impl Astc {
    fn new(p: EncodeParams) -> Self {
        use astc::{
            astcenc_swz_ASTCENC_SWZ_1 as ONE, astcenc_swz_ASTCENC_SWZ_A as A, astcenc_swz_ASTCENC_SWZ_B as B,
            astcenc_swz_ASTCENC_SWZ_G as G, astcenc_swz_ASTCENC_SWZ_R as R,
        };
        let (bw, bh) = p.format.block_size();
        let profile =
            if p.srgb { astc::astcenc_profile_ASTCENC_PRF_LDR_SRGB } else { astc::astcenc_profile_ASTCENC_PRF_LDR };
        let preset = match p.quality {
            Quality::Fast => astc::ASTCENC_PRE_FAST,
            Quality::Normal => astc::ASTCENC_PRE_MEDIUM,
            Quality::High => astc::ASTCENC_PRE_THOROUGH,
        };
        // SELF_DECOMPRESS_ONLY only shrinks the context's tables: we never decompress with it.
        let mut flags = astc::ASTCENC_FLG_SELF_DECOMPRESS_ONLY;
        let swizzle = match p.use_ {
            // Normal maps: X in A, Y in G ("gggr", BC5-compatible for shaders reading .ag).
            Use::Normal => {
                flags |= astc::ASTCENC_FLG_MAP_NORMAL;
                swz(G, G, G, R)
            }
            Use::Mask if p.channels == 1 => swz(R, R, R, ONE),
            // Two-channel masks: first channel in RGB, second in A (read .r and .a).
            Use::Mask if p.channels == 2 => swz(R, R, R, G),
            _ => {
                if p.has_alpha {
                    flags |= astc::ASTCENC_FLG_USE_ALPHA_WEIGHT;
                }
                swz(R, G, B, A)
            }
        };
        // SAFETY: config is plain data that config_init fills in entirely.
        let mut config: astc::astcenc_config = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a config; parameters are known-good constants.
        let status = unsafe { pinned::astcenc_sse2_config_init(profile, bw, bh, 1, preset, flags, &mut config) };
        assert_eq!(status, astc::astcenc_error_ASTCENC_SUCCESS, "astcenc config_init for {p:?}");
        Astc { config, swizzle, contexts: Mutex::new(Vec::new()) }
    }

    fn context(&self) -> AstcContext {
        if let Some(ctx) = self.contexts.lock().expect("astc context pool").pop() {
            return ctx;
        }
        let mut ctx = std::ptr::null_mut();
        // SAFETY: the config was produced by config_init; one thread per context.
        let status = unsafe { pinned::astcenc_sse2_context_alloc(&self.config, 1, &mut ctx, std::ptr::null()) };
        assert_eq!(status, astc::astcenc_error_ASTCENC_SUCCESS, "astcenc context_alloc");
        AstcContext(ctx)
    }

    /// Rows `y0..y1` as an image of their own: astcenc replicates the edge
    /// texels of a partial last block row itself, exactly as for the whole image.
    fn encode(&self, img: &Rgba8Image, y0: u32, y1: u32, dst: &mut [u8]) {
        let ctx = self.context();
        let rows = &img.pixels[row_start(img, y0)..row_start(img, y1)];
        let mut slice = rows.as_ptr() as *mut std::ffi::c_void;
        let mut image = astc::astcenc_image {
            dim_x: img.width,
            dim_y: y1 - y0,
            dim_z: 1,
            data_type: astc::astcenc_type_ASTCENC_TYPE_U8,
            data: &mut slice,
        };
        // SAFETY: `image` points at `(y1 - y0) * width` RGBA8 texels that astcenc only
        // reads; `dst` is exactly the strip's blocks; thread index 0 of a 1-thread context.
        let status = unsafe {
            pinned::astcenc_sse2_compress_image(ctx.0, &mut image, &self.swizzle, dst.as_mut_ptr(), dst.len(), 0)
        };
        assert_eq!(status, astc::astcenc_error_ASTCENC_SUCCESS, "astcenc compress_image");
        // SAFETY: required between two compress_image calls on one context.
        let status = unsafe { pinned::astcenc_sse2_compress_reset(ctx.0) };
        assert_eq!(status, astc::astcenc_error_ASTCENC_SUCCESS, "astcenc compress_reset");
        self.contexts.lock().expect("astc context pool").push(ctx);
    }
}
