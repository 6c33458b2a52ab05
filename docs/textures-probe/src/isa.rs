//! Direct calls into the per-ISA entry points that the prebuilt ISPC archives
//! and ctt-astcenc's per-ISA static libraries export, bypassing their runtime
//! CPU dispatch. Used to measure whether output bytes depend on the ISA.

use ctt_astcenc::bindings as ab;
use ctt_bc7enc_rdo::bindings::bc7e_compress_block_params;
use ctt_intel_texture_compressor::bindings::kernel::{bc7_enc_settings, rgba_surface};

pub mod bc7e {
    use super::*;
    unsafe extern "C" {
        pub fn bc7e_compress_blocks_sse2(n: u32, b: *mut u64, p: *const u32, c: *const bc7e_compress_block_params);
        pub fn bc7e_compress_blocks_sse4(n: u32, b: *mut u64, p: *const u32, c: *const bc7e_compress_block_params);
        pub fn bc7e_compress_blocks_avx(n: u32, b: *mut u64, p: *const u32, c: *const bc7e_compress_block_params);
        pub fn bc7e_compress_blocks_avx2(n: u32, b: *mut u64, p: *const u32, c: *const bc7e_compress_block_params);
        pub fn bc7e_compress_blocks_avx512skx(n: u32, b: *mut u64, p: *const u32, c: *const bc7e_compress_block_params);
        pub fn bc7e_compress_block_init_sse2();
        pub fn bc7e_compress_block_init_sse4();
        pub fn bc7e_compress_block_init_avx();
        pub fn bc7e_compress_block_init_avx2();
        pub fn bc7e_compress_block_init_avx512skx();
    }
    pub type F = unsafe extern "C" fn(u32, *mut u64, *const u32, *const bc7e_compress_block_params);
    pub fn variants() -> Vec<(&'static str, unsafe extern "C" fn(), F)> {
        vec![
            ("sse2", bc7e_compress_block_init_sse2, bc7e_compress_blocks_sse2),
            ("sse4", bc7e_compress_block_init_sse4, bc7e_compress_blocks_sse4),
            ("avx", bc7e_compress_block_init_avx, bc7e_compress_blocks_avx),
            ("avx2", bc7e_compress_block_init_avx2, bc7e_compress_blocks_avx2),
            ("avx512skx", bc7e_compress_block_init_avx512skx, bc7e_compress_blocks_avx512skx),
        ]
    }
}

pub mod itc {
    use super::*;
    macro_rules! decl {
        ($($name:ident),*) => {
            unsafe extern "C" { $( pub fn $name(src: *mut rgba_surface, dst: *mut u8); )* }
        };
    }
    decl!(
        CompressBlocksBC1_ispc_sse2, CompressBlocksBC1_ispc_sse4, CompressBlocksBC1_ispc_avx,
        CompressBlocksBC1_ispc_avx2, CompressBlocksBC1_ispc_avx512skx,
        CompressBlocksBC4_ispc_sse2, CompressBlocksBC4_ispc_sse4, CompressBlocksBC4_ispc_avx,
        CompressBlocksBC4_ispc_avx2, CompressBlocksBC4_ispc_avx512skx,
        CompressBlocksBC5_ispc_sse2, CompressBlocksBC5_ispc_sse4, CompressBlocksBC5_ispc_avx,
        CompressBlocksBC5_ispc_avx2, CompressBlocksBC5_ispc_avx512skx
    );
    macro_rules! decl7 {
        ($($name:ident),*) => {
            unsafe extern "C" { $( pub fn $name(src: *mut rgba_surface, dst: *mut u8, s: *mut bc7_enc_settings); )* }
        };
    }
    decl7!(
        CompressBlocksBC7_ispc_sse2, CompressBlocksBC7_ispc_sse4, CompressBlocksBC7_ispc_avx,
        CompressBlocksBC7_ispc_avx2, CompressBlocksBC7_ispc_avx512skx
    );
    pub type F = unsafe extern "C" fn(*mut rgba_surface, *mut u8);
    pub type F7 = unsafe extern "C" fn(*mut rgba_surface, *mut u8, *mut bc7_enc_settings);
    pub const NAMES: [&str; 5] = ["sse2", "sse4", "avx", "avx2", "avx512skx"];
    pub fn bc1() -> [F; 5] {
        [CompressBlocksBC1_ispc_sse2, CompressBlocksBC1_ispc_sse4, CompressBlocksBC1_ispc_avx, CompressBlocksBC1_ispc_avx2, CompressBlocksBC1_ispc_avx512skx]
    }
    pub fn bc4() -> [F; 5] {
        [CompressBlocksBC4_ispc_sse2, CompressBlocksBC4_ispc_sse4, CompressBlocksBC4_ispc_avx, CompressBlocksBC4_ispc_avx2, CompressBlocksBC4_ispc_avx512skx]
    }
    pub fn bc5() -> [F; 5] {
        [CompressBlocksBC5_ispc_sse2, CompressBlocksBC5_ispc_sse4, CompressBlocksBC5_ispc_avx, CompressBlocksBC5_ispc_avx2, CompressBlocksBC5_ispc_avx512skx]
    }
    pub fn bc7() -> [F7; 5] {
        [CompressBlocksBC7_ispc_sse2, CompressBlocksBC7_ispc_sse4, CompressBlocksBC7_ispc_avx, CompressBlocksBC7_ispc_avx2, CompressBlocksBC7_ispc_avx512skx]
    }
}

pub mod astc {
    use super::ab::*;
    macro_rules! decl {
        ($isa:ident, $ci:ident, $ca:ident, $cf:ident, $cc:ident) => {
            unsafe extern "C" {
                pub fn $ci(profile: astcenc_profile, bx: u32, by: u32, bz: u32, q: f32, flags: u32, cfg: *mut astcenc_config) -> astcenc_error;
                pub fn $ca(cfg: *const astcenc_config, threads: u32, ctx: *mut *mut astcenc_context, parent: *const astcenc_context) -> astcenc_error;
                pub fn $cf(ctx: *mut astcenc_context);
                pub fn $cc(ctx: *mut astcenc_context, img: *mut astcenc_image, swz: *const astcenc_swizzle, out: *mut u8, len: usize, thread: u32) -> astcenc_error;
            }
        };
    }
    decl!(sse2, astcenc_sse2_config_init, astcenc_sse2_context_alloc, astcenc_sse2_context_free, astcenc_sse2_compress_image);
    decl!(sse41, astcenc_sse41_config_init, astcenc_sse41_context_alloc, astcenc_sse41_context_free, astcenc_sse41_compress_image);
    decl!(avx2, astcenc_avx2_config_init, astcenc_avx2_context_alloc, astcenc_avx2_context_free, astcenc_avx2_compress_image);

    pub struct Isa {
        pub name: &'static str,
        pub ci: unsafe extern "C" fn(astcenc_profile, u32, u32, u32, f32, u32, *mut astcenc_config) -> astcenc_error,
        pub ca: unsafe extern "C" fn(*const astcenc_config, u32, *mut *mut astcenc_context, *const astcenc_context) -> astcenc_error,
        pub cf: unsafe extern "C" fn(*mut astcenc_context),
        pub cc: unsafe extern "C" fn(*mut astcenc_context, *mut astcenc_image, *const astcenc_swizzle, *mut u8, usize, u32) -> astcenc_error,
    }
    pub fn variants() -> Vec<Isa> {
        vec![
            Isa { name: "sse2", ci: astcenc_sse2_config_init, ca: astcenc_sse2_context_alloc, cf: astcenc_sse2_context_free, cc: astcenc_sse2_compress_image },
            Isa { name: "sse41", ci: astcenc_sse41_config_init, ca: astcenc_sse41_context_alloc, cf: astcenc_sse41_context_free, cc: astcenc_sse41_compress_image },
            Isa { name: "avx2", ci: astcenc_avx2_config_init, ca: astcenc_avx2_context_alloc, cf: astcenc_avx2_context_free, cc: astcenc_avx2_compress_image },
        ]
    }

    /// Compress a tightly packed RGBA8 image with one ISA variant, single thread.
    pub fn compress(isa: &Isa, px: &[u8], w: u32, h: u32, bw: u32, bh: u32, srgb: bool, quality: f32, flags: u32, swz: astcenc_swizzle) -> (Vec<u8>, f64) {
        unsafe {
            let mut cfg: astcenc_config = std::mem::zeroed();
            let prof = if srgb { astcenc_profile_ASTCENC_PRF_LDR_SRGB } else { astcenc_profile_ASTCENC_PRF_LDR };
            assert_eq!((isa.ci)(prof, bw, bh, 1, quality, flags | ASTCENC_FLG_SELF_DECOMPRESS_ONLY, &mut cfg), 0);
            let t0 = std::time::Instant::now();
            let mut ctx = std::ptr::null_mut();
            assert_eq!((isa.ca)(&cfg, 1, &mut ctx, std::ptr::null()), 0);
            let alloc = t0.elapsed().as_secs_f64();
            let mut data = px.as_ptr() as *mut std::ffi::c_void;
            let mut img = astcenc_image { dim_x: w, dim_y: h, dim_z: 1, data_type: astcenc_type_ASTCENC_TYPE_U8, data: &mut data };
            let n = (w.div_ceil(bw) * h.div_ceil(bh) * 16) as usize;
            let mut out = vec![0u8; n];
            assert_eq!((isa.cc)(ctx, &mut img, &swz, out.as_mut_ptr(), n, 0), 0);
            (isa.cf)(ctx);
            (out, alloc)
        }
    }
}

