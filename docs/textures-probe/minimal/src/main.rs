use std::time::Instant;
fn main() {
    let (w, h) = (256u32, 256u32);
    let mut s = 99u64;
    let px: Vec<u8> = (0..w * h * 4).map(|i| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; if i % 4 == 3 { 255 } else { (s as u8) / 4 + 100 } }).collect();
    let surf = ctt_intel_texture_compressor::RgbaSurface::new(&px, w, h, w * 4);
    let t = Instant::now();
    let o1 = ctt_intel_texture_compressor::bc7::compress_blocks(&ctt_intel_texture_compressor::bc7::alpha_basic_settings(), &surf);
    println!("ispc bc7 basic 256^2: {:.3}s", t.elapsed().as_secs_f64());
    let cfg = ctt_astcenc::config_init(ctt_astcenc::Profile::LdrSrgb, 4, 4, 1, ctt_astcenc::Preset::Medium, ctt_astcenc::Flags::empty()).unwrap();
    let mut ctx = ctt_astcenc::Context::new(&cfg).unwrap();
    let mut data = px.as_ptr() as *mut std::ffi::c_void;
    let mut img = ctt_astcenc::bindings::astcenc_image { dim_x: w, dim_y: h, dim_z: 1, data_type: 0, data: &mut data };
    let mut out = vec![0u8; (w / 4 * h / 4 * 16) as usize];
    let t = Instant::now();
    ctx.compress(&mut img, ctt_astcenc::Swizzle::IDENTITY, &mut out).unwrap();
    println!("astcenc 4x4 medium 256^2: {:.3}s", t.elapsed().as_secs_f64());
    // blocks for bc7f
    let mut blocks = vec![];
    for by in 0..h / 4 { for bx in 0..w / 4 { for y in 0..4 { let o = (((by * 4 + y) * w + bx * 4) * 4) as usize; blocks.extend_from_slice(&px[o..o + 16]); } } }
    let t = Instant::now();
    let o3 = ctt_bc7f::compress_blocks(&blocks, ctt_bc7f::bindings::cPackBC7FlagDefaultNonAnalytical);
    println!("bc7f non-analytical 256^2: {:.3}s", t.elapsed().as_secs_f64());
    let fnv = |d: &[u8]| d.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    println!("hashes: ispc-bc7 {:016x} astcenc {:016x} bc7f {:016x}", fnv(&o1), fnv(&out), fnv(&o3));
}
