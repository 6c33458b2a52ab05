#![allow(clippy::too_many_arguments, clippy::type_complexity, clippy::identity_op)]
mod img;
mod isa;
mod ktxcheck;

use std::time::Instant;

use ctt::encoders::Encoder;
use ctt::{
    AlphaMode, ColorSpace, Container, ConvertSettings, Format, FormatDesc, ImageRef, PipelineOutput,
    Quality, SurfaceRef, TargetFormat, TextureKind,
};
use img::Rgba8;

fn pool(n: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap()
}

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Encode a pre-made mip chain (RGBA8 levels) with ctt::convert, mipmap = false.
fn ctt_encode(levels: &[Rgba8], srgb: bool, target: Format, enc: Encoder, q: Quality, container: Container) -> Result<Vec<u8>, ctt::Error> {
    let surfaces: Vec<SurfaceRef> = levels
        .iter()
        .map(|l| SurfaceRef { data: &l.px, width: l.w, height: l.h, depth: 1, stride: l.w * 4, slice_stride: 0 })
        .collect();
    let image = ImageRef {
        surfaces: vec![surfaces],
        kind: TextureKind::Texture2D,
        desc: FormatDesc {
            format: if srgb { Format::R8G8B8A8_SRGB } else { Format::R8G8B8A8_UNORM },
            color_space: if srgb { ColorSpace::Srgb } else { ColorSpace::Linear },
            alpha: AlphaMode::Straight,
        },
    };
    let out = ctt::convert(
        image,
        ConvertSettings {
            format: Some(TargetFormat::Compressed { format: target, encoder: enc }),
            container,
            quality: q,
            mipmap: false,
            allow_discarding_alpha: true,
            ..Default::default()
        },
    )?;
    match out {
        PipelineOutput::Encoded(b) => Ok(b),
        PipelineOutput::Raw(_) => unreachable!(),
    }
}

/// Decode one level of blocks with the image-rs `dds` crate (pure Rust, independent).
fn dds_decode(data: &[u8], w: u32, h: u32, f: dds::Format) -> Vec<u8> {
    let mut out = vec![0u8; (w * h * 4) as usize];
    let view = dds::ImageViewMut::new(&mut out, dds::Size::new(w, h), dds::ColorFormat::RGBA_U8).unwrap();
    let mut r = data;
    dds::decode(&mut r, view, f, &dds::DecodeOptions::default()).unwrap();
    out
}

fn vk(f: Format) -> u32 {
    f.value()
}

struct Case {
    name: &'static str,
    fmt: Format,
    srgb: bool,
    dds: Option<dds::Format>,
    chans: &'static [usize],
    enc: fn() -> Encoder,
}

fn auto() -> Encoder {
    Encoder::Auto
}

fn cases() -> Vec<Case> {
    use ctt::encoders::astcenc::{AstcencSettings, AstcencUsage, NormalSwizzle};
    fn astc_normal() -> Encoder {
        Encoder::Astcenc(AstcencSettings { usage: AstcencUsage::NormalMap { swizzle: NormalSwizzle::Bc5Compat }, ..Default::default() })
    }
    let _ = astc_normal;
    vec![
        Case { name: "bc7-srgb", fmt: Format::BC7_SRGB_BLOCK, srgb: true, dds: Some(dds::Format::BC7_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "bc7-unorm", fmt: Format::BC7_UNORM_BLOCK, srgb: false, dds: Some(dds::Format::BC7_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "bc5-unorm", fmt: Format::BC5_UNORM_BLOCK, srgb: false, dds: Some(dds::Format::BC5_UNORM), chans: &[0, 1], enc: auto },
        Case { name: "bc5-snorm", fmt: Format::BC5_SNORM_BLOCK, srgb: false, dds: None, chans: &[0, 1], enc: auto },
        Case { name: "bc4-unorm", fmt: Format::BC4_UNORM_BLOCK, srgb: false, dds: Some(dds::Format::BC4_UNORM), chans: &[0], enc: auto },
        Case { name: "bc1-rgb-srgb", fmt: Format::BC1_RGB_SRGB_BLOCK, srgb: true, dds: Some(dds::Format::BC1_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "bc1-rgb-unorm", fmt: Format::BC1_RGB_UNORM_BLOCK, srgb: false, dds: Some(dds::Format::BC1_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "bc1-rgba-srgb", fmt: Format::BC1_RGBA_SRGB_BLOCK, srgb: true, dds: Some(dds::Format::BC1_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "bc3-srgb", fmt: Format::BC3_SRGB_BLOCK, srgb: true, dds: Some(dds::Format::BC3_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "astc4x4-srgb", fmt: Format::ASTC_4x4_SRGB_BLOCK, srgb: true, dds: Some(dds::Format::ASTC_4X4_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "astc4x4-unorm", fmt: Format::ASTC_4x4_UNORM_BLOCK, srgb: false, dds: Some(dds::Format::ASTC_4X4_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "astc6x6-srgb", fmt: Format::ASTC_6x6_SRGB_BLOCK, srgb: true, dds: Some(dds::Format::ASTC_6X6_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "astc8x8-srgb", fmt: Format::ASTC_8x8_SRGB_BLOCK, srgb: true, dds: Some(dds::Format::ASTC_8X8_UNORM), chans: &[0, 1, 2], enc: auto },
        Case { name: "astc4x4-normal", fmt: Format::ASTC_4x4_UNORM_BLOCK, srgb: false, dds: Some(dds::Format::ASTC_4X4_UNORM), chans: &[0, 1], enc: astc_normal },
    ]
}

fn cmd_formats() {
    println!("compiled-in encoders (priority order):");
    for e in ctt::encoders::compiled_in_encoders() {
        println!("  {:8} {:?}", e.name, e.supported_formats.iter().map(|f| f.value()).collect::<Vec<_>>());
    }
    let grad = img::gradient(256, 256);
    let sphere = img::normal_sphere(256, 256);
    let odd = img::gradient(300, 200);
    std::fs::create_dir_all("out").unwrap();
    for c in cases() {
        let resolved = ctt::encoders::resolve_auto_encoder(c.fmt).map(|e| format!("{e:?}"));
        let normal = c.name.contains("normal") || c.name.starts_with("bc5");
        let src = if normal { &sphere } else { &grad };
        let levels = img::mip_chain(src, c.srgb, normal);
        let t = Instant::now();
        let res = ctt_encode(&levels, c.srgb, c.fmt, (c.enc)(), Quality::Basic, Container::ktx2());
        let dt = secs(t);
        match res {
            Err(e) => println!("{:15} vk={} auto={resolved:?}: ERROR {e}", c.name, vk(c.fmt)),
            Ok(bytes) => {
                let (errs, _sum) = ktxcheck::check(&bytes, vk(c.fmt), 256, 256, levels.len() as u32);
                let mut q = String::new();
                if let Some(df) = c.dds {
                    let l0 = ktxcheck::level_bytes(&bytes, 0);
                    let mut dec = dds_decode(&l0, 256, 256, df);
                    if c.name == "astc4x4-normal" {
                        // gggr (Bc5Compat): Y in RGB, X in A -> back to x,y in R,G
                        for p in dec.chunks_exact_mut(4) {
                            let (x, y) = (p[3], p[1]);
                            p[0] = x;
                            p[1] = y;
                        }
                    }
                    if normal {
                        q = format!("angle={:.2}deg psnrRG={:.2}", img::normal_angle_err(&src.px, &dec), img::psnr(&src.px, &dec, c.chans));
                    } else {
                        q = format!("psnr={:.2}dB", img::psnr(&src.px, &dec, c.chans));
                    }
                }
                println!(
                    "{:15} vk={} enc={} {:.3}s {} ktx2-check={}",
                    c.name,
                    vk(c.fmt),
                    resolved.as_deref().unwrap_or("-").split('(').next().unwrap(),
                    dt,
                    q,
                    if errs.is_empty() { "ok".to_string() } else { format!("{errs:?}") }
                );
                // odd size with zstd
                let ol = img::mip_chain(&odd, c.srgb, false);
                let b2 = ctt_encode(&ol, c.srgb, c.fmt, (c.enc)(), Quality::Basic, Container::ktx2_zstd(19)).unwrap();
                let (e2, s2) = ktxcheck::check(&b2, vk(c.fmt), 300, 200, ol.len() as u32);
                println!("    300x200 zstd: {} {}", if e2.is_empty() { "ok" } else { "FAIL" }, if e2.is_empty() { s2 } else { format!("{e2:?}") });
                std::fs::write(format!("out/{}.ktx2", c.name), &bytes).unwrap();
                std::fs::write(format!("out/{}-300x200-zstd.ktx2", c.name), &b2).unwrap();
            }
        }
    }
}

fn bytes_of(o: &[u64]) -> Vec<u8> {
    bytemuck::cast_slice(o).to_vec()
}

fn cmp(name: &str, outs: &[(String, Vec<u8>)], block: usize) {
    let base = &outs[0].1;
    let mut line = format!("{name:34}");
    for (n, o) in &outs[1..] {
        let diff = base.chunks(block).zip(o.chunks(block)).filter(|(a, b)| a != b).count();
        line += &format!(" {}:{}", n, if diff == 0 { "same".to_string() } else { format!("{diff}/{} blocks differ", base.len() / block) });
    }
    println!("{line}   (vs {})", outs[0].0);
}

fn cmd_isa() {
    let imgs = [("noise", img::noise(256, 256, 7, false)), ("noise+alpha", img::noise(256, 256, 9, true)), ("gradient", img::gradient(256, 256))];
    for (iname, im) in &imgs {
        let blocks = img::to_blocks(im, 0, im.h / 4);
        let nb = (blocks.len() / 16) as u32;
        for (qn, p) in [("basic", ctt_bc7enc_rdo::params_init_basic(true)), ("slow", ctt_bc7enc_rdo::params_init_slow(true))] {
            let mut outs = vec![];
            let mut dispatched = vec![0u64; nb as usize * 2];
            ctt_bc7enc_rdo::compress_blocks(&mut dispatched, &blocks, &p);
            outs.push(("dispatch".to_string(), bytes_of(&dispatched)));
            for (n, init, f) in isa::bc7e::variants() {
                let mut o = vec![0u64; nb as usize * 2];
                unsafe {
                    init();
                    f(nb, o.as_mut_ptr(), blocks.as_ptr(), &p);
                }
                outs.push((n.to_string(), bytes_of(&o)));
            }
            cmp(&format!("bc7e {qn} {iname}"), &outs, 16);
        }
        // ISPC texcomp kernels
        use ctt_intel_texture_compressor::bindings::kernel::{bc7_enc_settings, rgba_surface};
        let s7 = ctt_intel_texture_compressor::bc7::alpha_basic_settings();
        let mk7 = || bc7_enc_settings {
            mode_selection: s7.mode_selection,
            refineIterations: s7.refine_iterations.map(|v| v as i32),
            skip_mode2: s7.skip_mode2,
            fastSkipThreshold_mode1: s7.fast_skip_threshold_mode1 as i32,
            fastSkipThreshold_mode3: s7.fast_skip_threshold_mode3 as i32,
            fastSkipThreshold_mode7: s7.fast_skip_threshold_mode7 as i32,
            mode45_channel0: s7.mode45_channel0 as i32,
            refineIterations_channel: s7.refine_iterations_channel as i32,
            channels: s7.channels,
        };
        for (fname, ch, bpb) in [("bc1", 4usize, 8usize), ("bc4", 1, 8), ("bc5", 2, 16), ("bc7", 4, 16)] {
            let (data, w, h) = img::padded(im, 4, 4, ch);
            let n = (w / 4 * h / 4) as usize * bpb;
            let mut outs = vec![];
            for (i, name) in isa::itc::NAMES.iter().enumerate() {
                let mut o = vec![0u8; n];
                let mut surf = rgba_surface { ptr: data.as_ptr() as *mut u8, width: w as i32, height: h as i32, stride: (w as usize * ch) as i32 };
                unsafe {
                    match fname {
                        "bc1" => isa::itc::bc1()[i](&mut surf, o.as_mut_ptr()),
                        "bc4" => isa::itc::bc4()[i](&mut surf, o.as_mut_ptr()),
                        "bc5" => isa::itc::bc5()[i](&mut surf, o.as_mut_ptr()),
                        _ => {
                            let mut s = mk7();
                            isa::itc::bc7()[i](&mut surf, o.as_mut_ptr(), &mut s)
                        }
                    }
                }
                outs.push((name.to_string(), o));
            }
            cmp(&format!("ispc {fname} {iname}"), &outs, bpb);
        }
        // astcenc variants
        use ctt_astcenc::bindings::*;
        let id = astcenc_swizzle { r: astcenc_swz_ASTCENC_SWZ_R, g: astcenc_swz_ASTCENC_SWZ_G, b: astcenc_swz_ASTCENC_SWZ_B, a: astcenc_swz_ASTCENC_SWZ_A };
        for (bw, bh) in [(4u32, 4u32), (6, 6), (8, 8)] {
            for (qn, q) in [("medium", 60.0f32), ("thorough", 98.0)] {
                if (bw, qn) == (8, "thorough") {
                    continue;
                }
                let mut outs = vec![];
                for v in isa::astc::variants() {
                    let (o, _) = isa::astc::compress(&v, &im.px, im.w, im.h, bw, bh, true, q, 0, id);
                    outs.push((v.name.to_string(), o));
                }
                cmp(&format!("astcenc {bw}x{bh} {qn} srgb {iname}"), &outs, 16);
            }
        }
    }
}

fn cmd_threads(size: u32) {
    let noise = if std::env::var("IMG").as_deref() == Ok("fbm") { img::fbm(size, size, 1) } else { img::noise(size, size, 1, false) };
    println!("image: {}", std::env::var("IMG").unwrap_or("white noise".into()));
    let t = Instant::now();
    let lv = img::mip_chain(&noise, true, false);
    println!("our mip chain {size}^2 ({} levels): {:.3}s", lv.len(), secs(t));
    let lvl = img::mip_chain(&noise, false, false);
    let ncpu = std::thread::available_parallelism().unwrap().get();
    for (name, fmt, srgb, q) in [
        ("BC7 sRGB basic", Format::BC7_SRGB_BLOCK, true, Quality::Basic),
        ("BC7 sRGB fast", Format::BC7_SRGB_BLOCK, true, Quality::Fast),
        ("BC7 sRGB slow", Format::BC7_SRGB_BLOCK, true, Quality::Slow),
        ("BC5 basic", Format::BC5_UNORM_BLOCK, false, Quality::Basic),
        ("BC4 basic", Format::BC4_UNORM_BLOCK, false, Quality::Basic),
        ("BC1 RGBA sRGB basic", Format::BC1_RGBA_SRGB_BLOCK, true, Quality::Basic),
        ("ASTC4x4 sRGB basic(medium)", Format::ASTC_4x4_SRGB_BLOCK, true, Quality::Basic),
        ("ASTC6x6 sRGB basic(medium)", Format::ASTC_6x6_SRGB_BLOCK, true, Quality::Basic),
        ("ASTC8x8 sRGB basic(medium)", Format::ASTC_8x8_SRGB_BLOCK, true, Quality::Basic),
        ("ASTC4x4 sRGB fast(35)", Format::ASTC_4x4_SRGB_BLOCK, true, Quality::Fast),
    ] {
        let levels = if srgb { &lv } else { &lvl };
        let mut res = vec![];
        for n in [1, ncpu] {
            let p = pool(n);
            let mut best = f64::MAX;
            let mut out = vec![];
            for _ in 0..2 {
                let t = Instant::now();
                out = p.install(|| ctt_encode(levels, srgb, fmt, Encoder::Auto, q, Container::ktx2()).unwrap());
                best = best.min(secs(t));
            }
            res.push((n, best, out));
        }
        println!(
            "{name:28} {size}^2+mips: 1 thread {:.3}s, {} threads {:.3}s, speedup {:.2}x, bytes identical: {}",
            res[0].1,
            res[1].0,
            res[1].1,
            res[0].1 / res[1].1,
            res[0].2 == res[1].2
        );
    }
}

/// Encode block rows [r0, r0+n) of one level with a direct backend call.
fn enc_rows(kind: &str, im: &Rgba8, r0: u32, n: u32, q: f32, flags: u32) -> Vec<u8> {
    match kind {
        "bc7e" => {
            let blocks = img::to_blocks(im, r0, n);
            let p = if q > 50.0 { ctt_bc7enc_rdo::params_init_slow(true) } else { ctt_bc7enc_rdo::params_init_basic(true) };
            let mut o = vec![0u64; blocks.len() / 16 * 2];
            ctt_bc7enc_rdo::compress_blocks(&mut o, &blocks, &p);
            bytes_of(&o)
        }
        "ispc-bc7" | "ispc-bc1" | "ispc-bc5" => {
            let ch = if kind == "ispc-bc5" { 2 } else { 4 };
            let (data, w, _h) = img::padded(im, 4, 4, ch);
            let stride = w as usize * ch;
            let slice = &data[(r0 * 4) as usize * stride..((r0 + n) * 4) as usize * stride];
            use ctt_intel_texture_compressor as itc;
            match kind {
                "ispc-bc7" => itc::bc7::compress_blocks(&itc::bc7::alpha_basic_settings(), &itc::RgbaSurface::new(slice, w, n * 4, stride as u32)),
                "ispc-bc1" => itc::bc1::compress_blocks(&itc::RgbaSurface::new(slice, w, n * 4, stride as u32)),
                _ => itc::bc5::compress_blocks(&itc::RgSurface::new(slice, w, n * 4, stride as u32)),
            }
        }
        k if k.starts_with("astc") => {
            let b: u32 = k[4..5].parse().unwrap();
            let y0 = r0 * b;
            let y1 = ((r0 + n) * b).min(im.h);
            let sub = &im.px[(y0 * im.w * 4) as usize..(y1 * im.w * 4) as usize];
            let srgb = flags & 0x8000_0000 != 0;
            let cfg = ctt_astcenc::config_init(
                if srgb { ctt_astcenc::Profile::LdrSrgb } else { ctt_astcenc::Profile::Ldr },
                b,
                b,
                1,
                ctt_astcenc::Preset::Custom(q),
                ctt_astcenc::Flags::from_bits_truncate(flags & 0xff) | ctt_astcenc::Flags::SELF_DECOMPRESS_ONLY,
            )
            .unwrap();
            let mut ctx = ctt_astcenc::Context::new(&cfg).unwrap();
            let mut data = sub.as_ptr() as *mut std::ffi::c_void;
            let mut im2 = ctt_astcenc::bindings::astcenc_image { dim_x: im.w, dim_y: y1 - y0, dim_z: 1, data_type: 0, data: &mut data };
            let mut out = vec![0u8; (im.w.div_ceil(b) * (y1 - y0).div_ceil(b) * 16) as usize];
            let swz = if flags & 1 != 0 { ctt_astcenc::Swizzle::RRRG } else { ctt_astcenc::Swizzle::IDENTITY };
            ctx.compress(&mut im2, swz, &mut out).unwrap();
            out
        }
        _ => unreachable!(),
    }
}

fn cmd_tiles() {
    let noise = img::noise(512, 520, 3, true);
    let sphere = img::normal_sphere(512, 520);
    for (kind, q, flags, im) in [
        ("bc7e", 0.0, 0, &noise),
        ("ispc-bc7", 0.0, 0, &noise),
        ("ispc-bc1", 0.0, 0, &noise),
        ("ispc-bc5", 0.0, 0, &sphere),
        ("astc4", 60.0, 0x8000_0000u32, &noise),
        ("astc6", 60.0, 0x8000_0000, &noise),
        ("astc8", 60.0, 0x8000_0000, &noise),
        ("astc4 +USE_ALPHA_WEIGHT", 60.0, 0x8000_0004, &noise),
        ("astc4 normal(MAP_NORMAL,rrrg)", 60.0, 1, &sphere),
    ] {
        let k = kind.split(' ').next().unwrap();
        let b = if k.starts_with("astc") { k[4..5].parse::<u32>().unwrap() } else { 4 };
        let rows = im.h.div_ceil(b);
        let t = Instant::now();
        let whole = enc_rows(k, im, 0, rows, q, flags);
        let tw = secs(t);
        let mut tiled = vec![];
        let tile_rows = 4;
        let t = Instant::now();
        let mut r = 0;
        while r < rows {
            let n = tile_rows.min(rows - r);
            tiled.extend(enc_rows(k, im, r, n, q, flags));
            r += n;
        }
        let tt = secs(t);
        let diff = whole.chunks(16).zip(tiled.chunks(16)).filter(|(a, b)| a != b).count();
        println!(
            "{kind:32} {}x{}: whole {:.3}s, in {}-block-row tiles {:.3}s, identical: {} ({diff} of {} 16-byte chunks differ)",
            im.w,
            im.h,
            tw,
            tile_rows,
            tt,
            whole == tiled,
            whole.len() / 16
        );
    }
}

fn cmd_big() {
    let im = if std::env::var("IMG").as_deref() == Ok("fbm") { img::fbm(4096, 4096, 5) } else { img::noise(4096, 4096, 5, false) };
    println!("image: {}", std::env::var("IMG").unwrap_or("white noise".into()));
    let ncpu = std::thread::available_parallelism().unwrap().get();
    println!("4096^2 noise, level 0 only; strip = 4096 x 64 px (16 block rows = 1/64 of the level)");
    for (kind, q, flags, label) in [
        ("bc7e", 0.0, 0u32, "BC7 bc7e basic"),
        ("bc7e", 99.0, 0, "BC7 bc7e slow"),
        ("ispc-bc7", 0.0, 0, "BC7 ispc alpha_basic"),
        ("astc4", 60.0, 0x8000_0000, "ASTC4x4 medium(60)"),
        ("astc4", 98.0, 0x8000_0000, "ASTC4x4 thorough(98)"),
        ("astc6", 98.0, 0x8000_0000, "ASTC6x6 thorough(98)"),
        ("astc8", 98.0, 0x8000_0000, "ASTC8x8 thorough(98)"),
    ] {
        let b = if kind.starts_with("astc") { kind[4..5].parse::<u32>().unwrap() } else { 4 };
        let rows = 64 / b;
        let t = Instant::now();
        let _ = enc_rows(kind, &im, 0, rows, q, flags);
        let strip = secs(t);
        let full = strip * 4096.0 / (rows * b) as f64;
        println!("{label:26} one strip {:.3}s -> whole level 0 ~{:.1}s on 1 core (~{:.1}s on {ncpu} cores); a 1-block-row tile ~{:.3}s", strip, full, full / ncpu as f64, strip / rows as f64);
    }
    if std::env::args().any(|a| a == "--full") {
        let p = pool(ncpu);
        for (label, fmt, q) in [("BC7 sRGB Slow", Format::BC7_SRGB_BLOCK, Quality::Slow), ("ASTC4x4 sRGB Slow(thorough)", Format::ASTC_4x4_SRGB_BLOCK, Quality::Slow)] {
            let t = Instant::now();
            let out = p.install(|| ctt_encode(std::slice::from_ref(&im), true, fmt, Encoder::Auto, q, Container::ktx2()).unwrap());
            println!("ctt::convert {label} 4096^2 level 0 only, {ncpu} threads, ONE call: {:.1}s ({} bytes)", secs(t), out.len());
        }
    }
}

fn cmd_mips() {
    use fast_image_resize as fr;
    let chk = img::checker(256, 256);
    let lv = img::mip_chain(&chk, true, false);
    let last = lv.last().unwrap();
    println!("checkerboard 256^2 sRGB, our linear box chain: {} levels, 1x1 = {:?} (expect ~188), level1 px0 = {:?}", lv.len(), &last.px[..4], &lv[1].px[..4]);
    // the naive way for contrast
    let naive = (255u32 + 0) / 2;
    println!("  averaging encoded sRGB values instead would give {naive}");
    // ctt's own mipmap=true on the same input (Triangle filter, its own linearisation)
    let image = ImageRef {
        surfaces: vec![vec![SurfaceRef { data: &chk.px, width: 256, height: 256, depth: 1, stride: 1024, slice_stride: 0 }]],
        kind: TextureKind::Texture2D,
        desc: FormatDesc { format: Format::R8G8B8A8_SRGB, color_space: ColorSpace::Srgb, alpha: AlphaMode::Opaque },
    };
    if let Ok(PipelineOutput::Raw(r)) = ctt::convert(image, ConvertSettings { container: Container::Raw, mipmap: true, format: Some(TargetFormat::Uncompressed(Format::R8G8B8A8_SRGB)), ..Default::default() }) {
        let l = r.surfaces[0].last().unwrap();
        println!("  ctt mipmap=true (Triangle): {} levels, 1x1 = {:?}", r.surfaces[0].len(), &l.data[..4]);
    }
    let odd = img::gradient(300, 200);
    let ol = img::mip_chain(&odd, true, false);
    println!("300x200 chain sizes: {:?}", ol.iter().map(|l| (l.w, l.h)).collect::<Vec<_>>());
    let n = img::normal_sphere(64, 64);
    let nl = img::mip_chain(&n, false, true);
    let lens: Vec<f32> = nl.iter().map(|l| {
        let p = &l.px[(l.px.len() / 8) * 4..][..4];
        let v = [p[0] as f32 / 127.5 - 1.0, p[1] as f32 / 127.5 - 1.0, p[2] as f32 / 127.5 - 1.0];
        (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
    }).collect();
    println!("normal sphere 64^2 renormalised chain, |n| at a sample pixel per level: {lens:?}");
    // timing of our scalar box chain vs fast_image_resize
    let big = img::noise(4096, 4096, 2, true);
    let t = Instant::now();
    let lin = img::to_linear(&big, true);
    let t_lin = secs(t);
    let t = Instant::now();
    let mut cur = lin.clone();
    let mut n_lv = 1;
    while cur.w > 1 || cur.h > 1 {
        cur = img::downsample(&cur);
        n_lv += 1;
    }
    let t_box = secs(t);
    println!("4096^2 RGBA: sRGB->linear f32 {:.3}s; scalar box chain ({n_lv} levels) {:.3}s", t_lin, t_box);
    // fast_image_resize: determinism across CPU extension levels, and speed
    let src_bytes: Vec<u8> = bytemuck::cast_slice(&lin.px).to_vec();
    let src = fr::images::ImageRef::new(4096, 4096, &src_bytes, fr::PixelType::F32x4).unwrap();
    let mut results = vec![];
    for (name, ext) in [("none", fr::CpuExtensions::None), ("sse4.1", fr::CpuExtensions::Sse4_1), ("avx2", fr::CpuExtensions::Avx2)] {
        for (fname, alg) in [("Box", fr::ResizeAlg::Convolution(fr::FilterType::Box)), ("Bilinear", fr::ResizeAlg::Convolution(fr::FilterType::Bilinear)), ("Lanczos3", fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))] {
            let mut dst = fr::images::Image::new(2048, 2048, fr::PixelType::F32x4);
            let mut rz = fr::Resizer::new();
            unsafe { rz.set_cpu_extensions(ext) };
            let t = Instant::now();
            rz.resize(&src, &mut dst, &fr::ResizeOptions::new().resize_alg(alg).use_alpha(false)).unwrap();
            let dt = secs(t);
            results.push((name, fname, dt, dst.buffer().to_vec()));
        }
    }
    for fname in ["Box", "Bilinear", "Lanczos3"] {
        let r: Vec<_> = results.iter().filter(|r| r.1 == fname).collect();
        println!(
            "fast_image_resize {fname:8} F32x4 4096->2048: none {:.3}s sse4.1 {:.3}s avx2 {:.3}s; none==sse4.1: {}, none==avx2: {}",
            r[0].2, r[1].2, r[2].2, r[0].3 == r[1].3, r[0].3 == r[2].3
        );
    }
    // our box vs fir box on the same level
    let ours = img::downsample(&lin);
    let ours_b: Vec<u8> = bytemuck::cast_slice(&ours.px).to_vec();
    let fir_box = &results.iter().find(|r| r.0 == "none" && r.1 == "Box").unwrap().3;
    let maxd = bytemuck::cast_slice::<u8, f32>(&ours_b).iter().zip(bytemuck::cast_slice::<u8, f32>(fir_box)).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    println!("our box vs fast_image_resize Box(none): max abs diff {maxd:e}");
}

fn main() {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    let size: u32 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(1024);
    match cmd.as_str() {
        "formats" => cmd_formats(),
        "isa" => cmd_isa(),
        "threads" => cmd_threads(size),
        "tiles" => cmd_tiles(),
        "big" => cmd_big(),
        "mips" => cmd_mips(),
        "pin" => cmd_pin(size),
        "zstd" => cmd_zstd(),
        "decode" => cmd_decode(),
        "cancel" => cmd_cancel(),
        "roundtrip" => cmd_roundtrip(),
        "passthrough" => cmd_passthrough(),
        _ => eprintln!("usage: texprobe formats|isa|threads [size]|tiles|big [--full]|mips"),
    }
}

fn bc7_settings(s: ctt_intel_texture_compressor::bc7::EncodeSettings) -> ctt_intel_texture_compressor::bindings::kernel::bc7_enc_settings {
    ctt_intel_texture_compressor::bindings::kernel::bc7_enc_settings {
        mode_selection: s.mode_selection,
        refineIterations: s.refine_iterations.map(|v| v as i32),
        skip_mode2: s.skip_mode2,
        fastSkipThreshold_mode1: s.fast_skip_threshold_mode1 as i32,
        fastSkipThreshold_mode3: s.fast_skip_threshold_mode3 as i32,
        fastSkipThreshold_mode7: s.fast_skip_threshold_mode7 as i32,
        mode45_channel0: s.mode45_channel0 as i32,
        refineIterations_channel: s.refine_iterations_channel as i32,
        channels: s.channels,
    }
}

/// Speed and quality of each encoder when pinned to one ISA vs dispatched (1 thread).
pub fn cmd_pin(size: u32) {
    use ctt_intel_texture_compressor::bindings::kernel::rgba_surface;
    use ctt_intel_texture_compressor::bc7 as ib7;
    let imgs = [("noise", img::noise(size, size, 11, false)), ("gradient", img::gradient(size, size)), ("fbm", img::fbm(size, size, 4))];
    let only = std::env::var("IMG").ok();
    for (iname, im) in &imgs {
        if only.as_deref().is_some_and(|o| o != *iname) {
            continue;
        }
        println!("--- {iname} {size}^2, level 0, 1 thread");
        let blocks = img::to_blocks(im, 0, im.h / 4);
        let nb = (blocks.len() / 16) as u32;
        let report = |label: &str, dt: f64, out: &[u8], f: dds::Format, ch: &[usize]| {
            let dec = dds_decode(out, im.w, im.h, f);
            println!("{label:40} {:7.3}s  psnr {:6.2} dB", dt, img::psnr(&im.px, &dec, ch));
        };
        // bc7e
        for (qn, p) in [("basic", ctt_bc7enc_rdo::params_init_basic(true)), ("slow", ctt_bc7enc_rdo::params_init_slow(true))] {
            let mut o = vec![0u64; nb as usize * 2];
            let t = Instant::now();
            ctt_bc7enc_rdo::compress_blocks(&mut o, &blocks, &p);
            report(&format!("bc7e {qn} dispatched(avx512)"), secs(t), &bytes_of(&o), dds::Format::BC7_UNORM, &[0, 1, 2]);
            for (n, init, f) in isa::bc7e::variants().into_iter().filter(|v| v.0 == "sse4") {
                let t = Instant::now();
                unsafe {
                    init();
                    f(nb, o.as_mut_ptr(), blocks.as_ptr(), &p)
                };
                report(&format!("bc7e {qn} pinned {n}"), secs(t), &bytes_of(&o), dds::Format::BC7_UNORM, &[0, 1, 2]);
            }
        }
        // ISPC BC7
        for (qn, s) in [("opaque_basic", ib7::opaque_basic_settings()), ("opaque_slow", ib7::opaque_slow_settings()), ("alpha_basic", ib7::alpha_basic_settings()), ("alpha_slow", ib7::alpha_slow_settings())] {
            for i in [0usize, 1, 4] {
                let mut o = vec![0u8; nb as usize * 16];
                let mut surf = rgba_surface { ptr: im.px.as_ptr() as *mut u8, width: im.w as i32, height: im.h as i32, stride: (im.w * 4) as i32 };
                let mut st = bc7_settings(s);
                let t = Instant::now();
                unsafe { isa::itc::bc7()[i](&mut surf, o.as_mut_ptr(), &mut st) };
                report(&format!("ispc bc7 {qn} {}", isa::itc::NAMES[i]), secs(t), &o, dds::Format::BC7_UNORM, &[0, 1, 2]);
            }
        }
        // bc7f
        let raw: Vec<u8> = bytemuck::cast_slice(&blocks).to_vec();
        for (qn, fl) in [("default", ctt_bc7f_flags::DEFAULT), ("partially_analytical", ctt_bc7f_flags::PARTIAL), ("non_analytical", ctt_bc7f_flags::NON)] {
            let mut o = vec![0u8; nb as usize * 16];
            let t = Instant::now();
            ctt_bc7f::compress_blocks_into(&raw, &mut o, fl);
            report(&format!("bc7f {qn} (plain C++)"), secs(t), &o, dds::Format::BC7_UNORM, &[0, 1, 2]);
        }
        // ISPC BC1 / BC4 / BC5
        for (fname, ch, bpb, f, chans) in [("bc1", 4usize, 8usize, dds::Format::BC1_UNORM, &[0usize, 1, 2][..]), ("bc4", 1, 8, dds::Format::BC4_UNORM, &[0][..]), ("bc5", 2, 16, dds::Format::BC5_UNORM, &[0, 1][..])] {
            let (data, w, h) = img::padded(im, 4, 4, ch);
            for i in [1usize, 4] {
                let mut o = vec![0u8; (w / 4 * h / 4) as usize * bpb];
                let mut surf = rgba_surface { ptr: data.as_ptr() as *mut u8, width: w as i32, height: h as i32, stride: (w as usize * ch) as i32 };
                let t = Instant::now();
                unsafe {
                    match fname {
                        "bc1" => isa::itc::bc1()[i](&mut surf, o.as_mut_ptr()),
                        "bc4" => isa::itc::bc4()[i](&mut surf, o.as_mut_ptr()),
                        _ => isa::itc::bc5()[i](&mut surf, o.as_mut_ptr()),
                    }
                }
                report(&format!("ispc {fname} {}", isa::itc::NAMES[i]), secs(t), &o, f, chans);
            }
        }
        // astcenc
        use ctt_astcenc::bindings::*;
        let id = astcenc_swizzle { r: astcenc_swz_ASTCENC_SWZ_R, g: astcenc_swz_ASTCENC_SWZ_G, b: astcenc_swz_ASTCENC_SWZ_B, a: astcenc_swz_ASTCENC_SWZ_A };
        for (bw, f) in [(4u32, dds::Format::ASTC_4X4_UNORM), (6, dds::Format::ASTC_6X6_UNORM), (8, dds::Format::ASTC_8X8_UNORM)] {
            for (qn, q) in [("fast(10)", 10.0f32), ("medium(60)", 60.0), ("thorough(98)", 98.0)] {
                if size > 512 && q > 90.0 && bw == 4 && *iname == "noise" {
                    // still run: it is the figure we need
                }
                for v in isa::astc::variants().into_iter().filter(|v| v.name != "sse41") {
                    let t = Instant::now();
                    let (o, alloc) = isa::astc::compress(&v, &im.px, im.w, im.h, bw, bw, true, q, 0, id);
                    let dt = secs(t);
                    report(&format!("astcenc {bw}x{bw} {qn} {} (ctx {:.3}s)", v.name, alloc), dt, &o, f, &[0, 1, 2]);
                }
            }
        }
    }
}

mod ctt_bc7f_flags {
    pub const DEFAULT: u32 = ctt_bc7f::bindings::cPackBC7FlagDefault;
    pub const PARTIAL: u32 = ctt_bc7f::bindings::cPackBC7FlagDefaultPartiallyAnalytical;
    pub const NON: u32 = ctt_bc7f::bindings::cPackBC7FlagDefaultNonAnalytical;
}

/// Our own block encoding (pinned ISA, tiled) + ctt's KTX2 writer through the
/// compressed passthrough path (input format == target format).
pub fn cmd_passthrough() {
    use ctt_intel_texture_compressor::bindings::kernel::rgba_surface;
    let src = img::gradient(300, 200);
    let levels = img::mip_chain(&src, true, false);
    for (fmt, name) in [(Format::BC1_RGB_SRGB_BLOCK, "bc1-rgb-srgb(ispc sse4)"), (Format::BC7_SRGB_BLOCK, "bc7-srgb(ispc sse4)")] {
        let mut enc: Vec<(Vec<u8>, u32, u32)> = vec![];
        for l in &levels {
            let (data, w, h) = img::padded(l, 4, 4, 4);
            let bpb = if fmt == Format::BC7_SRGB_BLOCK { 16 } else { 8 };
            let mut o = vec![0u8; (w / 4 * h / 4) as usize * bpb];
            let mut surf = rgba_surface { ptr: data.as_ptr() as *mut u8, width: w as i32, height: h as i32, stride: (w * 4) as i32 };
            unsafe {
                if bpb == 8 {
                    isa::itc::CompressBlocksBC1_ispc_sse4(&mut surf, o.as_mut_ptr());
                } else {
                    let mut s = bc7_settings(ctt_intel_texture_compressor::bc7::opaque_basic_settings());
                    isa::itc::CompressBlocksBC7_ispc_sse4(&mut surf, o.as_mut_ptr(), &mut s);
                }
            }
            enc.push((o, l.w, l.h));
        }
        let surfaces: Vec<SurfaceRef> = enc
            .iter()
            .map(|(d, w, h)| SurfaceRef { data: d, width: *w, height: *h, depth: 1, stride: w.div_ceil(4) * (d.len() as u32 / (w.div_ceil(4) * h.div_ceil(4))), slice_stride: 0 })
            .collect();
        let image = ImageRef { surfaces: vec![surfaces], kind: TextureKind::Texture2D, desc: FormatDesc { format: fmt, color_space: ColorSpace::Srgb, alpha: AlphaMode::Opaque } };
        let t = Instant::now();
        let out = ctt::convert(image, ConvertSettings { container: Container::ktx2_zstd(19), ..Default::default() });
        match out {
            Ok(PipelineOutput::Encoded(b)) => {
                let (errs, sum) = ktxcheck::check(&b, fmt.value(), 300, 200, levels.len() as u32);
                println!("passthrough {name}: {:.4}s {} {}", secs(t), if errs.is_empty() { "ok" } else { "FAIL" }, if errs.is_empty() { sum } else { format!("{errs:?}") });
                let l0 = ktxcheck::level_bytes(&b, 0);
                let df = if fmt == Format::BC7_SRGB_BLOCK { dds::Format::BC7_UNORM } else { dds::Format::BC1_UNORM };
                let dec = dds_decode(&l0, 300, 200, df);
                println!("    level0 psnr vs source (dds decode): {:.2} dB", img::psnr(&src.px, &dec, &[0, 1, 2]));
                std::fs::write(format!("out/passthrough-{}.ktx2", fmt.value()), &b).unwrap();
            }
            Ok(_) => unreachable!(),
            Err(e) => println!("passthrough {name}: ERROR {e}"),
        }
    }
}

/// Does ctt's f32 pipeline (sRGB8 -> linear f32 -> sRGB8, SIMD-dispatched kernels)
/// return our bytes unchanged?
pub fn cmd_roundtrip() {
    // RGBA32F linear input -> BC7 sRGB / ASTC 4x4 sRGB via ctt::convert (ctt does the OETF)
    let g = img::gradient(256, 256);
    let lin = img::to_linear(&g, true);
    let f32bytes: Vec<u8> = bytemuck::cast_slice(&lin.px).to_vec();
    for (fmt, df) in [(Format::BC7_SRGB_BLOCK, dds::Format::BC7_UNORM), (Format::ASTC_4x4_SRGB_BLOCK, dds::Format::ASTC_4X4_UNORM)] {
        let image = ImageRef {
            surfaces: vec![vec![SurfaceRef { data: &f32bytes, width: 256, height: 256, depth: 1, stride: 256 * 16, slice_stride: 0 }]],
            kind: TextureKind::Texture2D,
            desc: FormatDesc { format: Format::R32G32B32A32_SFLOAT, color_space: ColorSpace::Linear, alpha: AlphaMode::Opaque },
        };
        let r = ctt::convert(image, ConvertSettings { format: Some(TargetFormat::Compressed { format: fmt, encoder: Encoder::Auto }), output_color_space: Some(ColorSpace::Srgb), container: Container::ktx2(), ..Default::default() });
        match r {
            Ok(PipelineOutput::Encoded(b)) => {
                let (errs, _) = ktxcheck::check(&b, fmt.value(), 256, 256, 1);
                let dec = dds_decode(&ktxcheck::level_bytes(&b, 0), 256, 256, df);
                println!("RGBA32F linear -> {fmt:?} via ctt::convert(output_color_space=Srgb): ktx {} psnr vs sRGB source {:.2} dB", if errs.is_empty() { "ok" } else { "FAIL" }, img::psnr(&g.px, &dec, &[0, 1, 2]));
            }
            Ok(_) => unreachable!(),
            Err(e) => println!("RGBA32F -> {fmt:?}: ERROR {e}"),
        }
    }
    let mut px = vec![];
    for v in 0..=255u8 {
        for a in [255u8, 128, 0] {
            px.extend_from_slice(&[v, 255 - v, v / 2, a]);
        }
    }
    let w = (px.len() / 4) as u32;
    for (alpha, label) in [(AlphaMode::Opaque, "opaque"), (AlphaMode::Straight, "straight")] {
        let image = ImageRef {
            surfaces: vec![vec![SurfaceRef { data: &px, width: w, height: 1, depth: 1, stride: w * 4, slice_stride: 0 }]],
            kind: TextureKind::Texture2D,
            desc: FormatDesc { format: Format::R8G8B8A8_SRGB, color_space: ColorSpace::Srgb, alpha },
        };
        let sw = ctt::Swizzle([ctt::SwizzleChannel::R, ctt::SwizzleChannel::G, ctt::SwizzleChannel::B, ctt::SwizzleChannel::A]);
        let out = ctt::convert(image, ConvertSettings { format: Some(TargetFormat::Uncompressed(Format::R8G8B8A8_SRGB)), container: Container::Raw, swizzle: Some(sw), ..Default::default() }).unwrap();
        if let PipelineOutput::Raw(r) = out {
            let o = &r.surfaces[0][0].data;
            let diff = o.iter().zip(&px).filter(|(a, b)| a != b).count();
            let maxd = o.iter().zip(&px).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            println!("ctt sRGB8 round trip ({label} alpha): {diff} of {} bytes changed, max diff {maxd}", px.len());
        }
    }
}

/// Tile = whole block rows, about `px_budget` pixels. Encodes one level with a
/// pinned-ISA entry point on a rayon pool; a cancel flag is checked before each tile.
fn encode_tiled(kind: &str, im: &Rgba8, px_budget: u32, cancel: &std::sync::atomic::AtomicBool) -> Option<Vec<u8>> {
    use rayon::prelude::*;
    use std::sync::atomic::Ordering;
    let b = if kind.starts_with("astc") { kind[4..5].parse::<u32>().unwrap() } else { 4 };
    let rows = im.h.div_ceil(b);
    let rows_per_tile = (px_budget / (im.w * b)).max(1);
    let tiles: Vec<(u32, u32)> = (0..rows).step_by(rows_per_tile as usize).map(|r| (r, rows_per_tile.min(rows - r))).collect();
    let parts: Vec<Option<Vec<u8>>> = tiles
        .par_iter()
        .map(|&(r0, n)| {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            Some(enc_tile_pinned(kind, im, r0, n, b))
        })
        .collect();
    let mut out = vec![];
    for p in parts {
        out.extend(p?);
    }
    Some(out)
}

fn enc_tile_pinned(kind: &str, im: &Rgba8, r0: u32, n: u32, b: u32) -> Vec<u8> {
    use ctt_astcenc::bindings::*;
    use ctt_intel_texture_compressor::bindings::kernel::rgba_surface;
    let y0 = r0 * b;
    let y1 = ((r0 + n) * b).min(im.h);
    let sub = Rgba8 { w: im.w, h: y1 - y0, px: im.px[(y0 * im.w * 4) as usize..(y1 * im.w * 4) as usize].to_vec() };
    match kind {
        "ispc-bc7-slow" | "ispc-bc7-basic" => {
            let (data, w, h) = img::padded(&sub, 4, 4, 4);
            let mut o = vec![0u8; (w / 4 * h / 4) as usize * 16];
            let mut surf = rgba_surface { ptr: data.as_ptr() as *mut u8, width: w as i32, height: h as i32, stride: (w * 4) as i32 };
            let s = if kind.ends_with("slow") { ctt_intel_texture_compressor::bc7::alpha_slow_settings() } else { ctt_intel_texture_compressor::bc7::alpha_basic_settings() };
            let mut s = bc7_settings(s);
            unsafe { isa::itc::CompressBlocksBC7_ispc_sse4(&mut surf, o.as_mut_ptr(), &mut s) };
            o
        }
        _ => {
            let id = astcenc_swizzle { r: astcenc_swz_ASTCENC_SWZ_R, g: astcenc_swz_ASTCENC_SWZ_G, b: astcenc_swz_ASTCENC_SWZ_B, a: astcenc_swz_ASTCENC_SWZ_A };
            let q = if kind.ends_with("thorough") { 98.0 } else { 60.0 };
            isa::astc::compress(&isa::astc::variants()[0], &sub.px, sub.w, sub.h, b, b, true, q, 0, id).0
        }
    }
}

pub fn cmd_cancel() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let ncpu = std::thread::available_parallelism().unwrap().get();
    let im = Arc::new(img::noise(4096, 4096, 5, false));
    // 1) determinism of the tiled, pinned path across thread counts (1024^2 level)
    let small = img::fbm(1024, 1024, 9);
    for kind in ["ispc-bc7-basic", "astc4-medium", "astc6-medium"] {
        let never = AtomicBool::new(false);
        let mut outs = vec![];
        for n in [1, ncpu] {
            let t = Instant::now();
            let o = pool(n).install(|| encode_tiled(kind, &small, 65536, &never)).unwrap();
            outs.push((n, secs(t), o));
        }
        println!("{kind:16} fbm 1024^2 level 0, pinned+tiled: 1 thread {:.3}s, {} threads {:.3}s, identical: {}", outs[0].1, outs[1].0, outs[1].1, outs[0].2 == outs[1].2);
    }
    // 2) cancel latency in the middle of a 4096^2 high-quality encode
    for (kind, budget) in [("ispc-bc7-slow", 65536u32), ("astc4-thorough", 65536), ("astc8-thorough", 65536)] {
        let cancel = Arc::new(AtomicBool::new(false));
        let (c2, im2) = (cancel.clone(), im.clone());
        let k = kind.to_string();
        let t0 = Instant::now();
        let h = std::thread::spawn(move || pool(ncpu).install(|| encode_tiled(&k, &im2, budget, &c2)));
        std::thread::sleep(std::time::Duration::from_secs(3));
        let tc = Instant::now();
        cancel.store(true, Ordering::Relaxed);
        let r = h.join().unwrap();
        println!(
            "{kind:16} 4096^2 white noise, tiles of ~{budget} px on {ncpu} threads: cancelled after {:.1}s, returned {:.3}s after the cancel ({})",
            tc.duration_since(t0).as_secs_f64(),
            secs(tc),
            if r.is_none() { "cancelled" } else { "finished first" }
        );
    }
}

pub fn cmd_decode() {
    let na = img::noise(64, 64, 5, true);
    let enc = enc_rows("ispc-bc1", &na, 0, 16, 0.0, 0);
    let dec = dds_decode(&enc, 64, 64, dds::Format::BC1_UNORM);
    println!("ispc BC1 on an image with alpha: decoded alpha values = {:?}", dec.chunks(4).map(|p| p[3]).collect::<std::collections::BTreeSet<_>>());
    let blocks = img::to_blocks(&na, 0, 16);
    let raw: Vec<u8> = bytemuck::cast_slice(&blocks).to_vec();
    let o = ctt_bc7f::compress_blocks(&raw, ctt_bc7f_flags::NON);
    let dec = dds_decode(&o, 64, 64, dds::Format::BC7_UNORM);
    println!("bc7f non-analytical on noise+alpha 64^2: psnr RGB {:.2} dB, A {:.2} dB", img::psnr(&na.px, &dec, &[0, 1, 2]), img::psnr(&na.px, &dec, &[3]));
    let mut o = vec![0u64; blocks.len() / 8];
    ctt_bc7enc_rdo::compress_blocks(&mut o, &blocks, &ctt_bc7enc_rdo::params_init_basic(true));
    let dec = dds_decode(&bytes_of(&o), 64, 64, dds::Format::BC7_UNORM);
    println!("bc7e basic on noise+alpha 64^2:            psnr RGB {:.2} dB, A {:.2} dB", img::psnr(&na.px, &dec, &[0, 1, 2]), img::psnr(&na.px, &dec, &[3]));
    let o = enc_rows("ispc-bc7", &na, 0, 16, 0.0, 0);
    let dec = dds_decode(&o, 64, 64, dds::Format::BC7_UNORM);
    println!("ispc bc7 alpha_basic on noise+alpha 64^2:  psnr RGB {:.2} dB, A {:.2} dB", img::psnr(&na.px, &dec, &[0, 1, 2]), img::psnr(&na.px, &dec, &[3]));
    let im = img::fbm(1024, 1024, 3);
    for (kind, f) in [("bc7e", dds::Format::BC7_UNORM), ("astc4", dds::Format::ASTC_4X4_UNORM), ("astc8", dds::Format::ASTC_8X8_UNORM)] {
        let b = if kind.starts_with("astc") { kind[4..5].parse::<u32>().unwrap() } else { 4 };
        let enc = enc_rows(kind, &im, 0, 1024u32.div_ceil(b), 60.0, 0x8000_0000);
        let t = Instant::now();
        let dec = dds_decode(&enc, 1024, 1024, f);
        println!("dds 0.2.0 decode {kind} 1024^2 -> RGBA8: {:.3}s (psnr {:.2} dB)", secs(t), img::psnr(&im.px, &dec, &[0, 1, 2]));
    }
}

pub fn cmd_zstd() {
    let im = img::fbm(1024, 1024, 3);
    for (kind, label) in [("bc7e", "BC7"), ("astc4", "ASTC4x4")] {
        let enc = enc_rows(kind, &im, 0, 256, 60.0, 0x8000_0000);
        for lvl in [1, 3, 9, 19] {
            let t = Instant::now();
            let c = zstd::bulk::compress(&enc, lvl).unwrap();
            println!("zstd level {lvl:2} on {label} 1024^2 level 0 ({} B): {:.3}s -> {} B ({:.1}%)", enc.len(), secs(t), c.len(), 100.0 * c.len() as f64 / enc.len() as f64);
        }
    }
}
