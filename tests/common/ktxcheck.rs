//! A KTX2 checker written from the KTX 2.0 and Khronos Data Format specs,
//! sharing no code with the writer (ported from docs/textures-probe). Also
//! runs the `ktx2` crate's Reader, which checks bounds but not the DFD.
//!
//! One file for both kinds of test: the texture module's unit tests include
//! it by path (`src/build/texture/mod.rs`), and the integration tests as
//! `common::ktxcheck` (`tests/textures.rs` checks every entry of a built pack).

fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// (bitOffset, bitLength - 1, channelType without qualifiers) of one DFD sample.
type Sample = (u32, u8, u8);

/// What the spec says for a vkFormat.
struct Expect {
    bw: u32,
    bh: u32,
    bytes: u32,
    model: u8,
    transfer: u8,
    samples: Vec<Sample>,
}

fn expect(vk: u32) -> Option<Expect> {
    let (bw, bh, bytes, model, transfer, samples): (u32, u32, u32, u8, u8, Vec<Sample>) = match vk {
        // BC1_RGB 131/132: model BC1A = 128, one COLOR (0) sample.
        131 => (4, 4, 8, 128, 1, vec![(0, 63, 0)]),
        132 => (4, 4, 8, 128, 2, vec![(0, 63, 0)]),
        // BC3 137/138: model 130, ALPHA (15) then COLOR (0).
        137 => (4, 4, 16, 130, 1, vec![(0, 63, 15), (64, 63, 0)]),
        138 => (4, 4, 16, 130, 2, vec![(0, 63, 15), (64, 63, 0)]),
        // BC4 139: model 131, RED (0).
        139 => (4, 4, 8, 131, 1, vec![(0, 63, 0)]),
        // BC5 141: model 132, RED (0) then GREEN (1).
        141 => (4, 4, 16, 132, 1, vec![(0, 63, 0), (64, 63, 1)]),
        // BC7 145/146: model 134, one COLOR (0) sample.
        145 => (4, 4, 16, 134, 1, vec![(0, 127, 0)]),
        146 => (4, 4, 16, 134, 2, vec![(0, 127, 0)]),
        // ASTC LDR 157..172: model 162, one DATA (0) sample.
        157..=172 => {
            let i = (vk - 157) / 2;
            let dims = [(4, 4), (5, 4), (5, 5), (6, 5), (6, 6), (8, 5), (8, 6), (8, 8)][i as usize];
            let tf = if (vk - 157) % 2 == 1 { 2 } else { 1 };
            (dims.0, dims.1, 16, 162, tf, vec![(0, 127, 0)])
        }
        // R8G8B8A8 37/43: model RGBSDA = 1, R, G, B, A (15).
        37 | 43 => (1, 1, 4, 1, if vk == 43 { 2 } else { 1 }, vec![(0, 7, 0), (8, 7, 1), (16, 7, 2), (24, 7, 15)]),
        _ => return None,
    };
    Some(Expect { bw, bh, bytes, model, transfer, samples })
}

fn lcm(a: u64, b: u64) -> u64 {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x * b
}

/// Every problem found in `b` for a texture expected to be `vk`, `w`x`h`, `levels` levels.
pub fn check(b: &[u8], vk_expected: u32, w: u32, h: u32, levels: u32) -> Vec<String> {
    let mut errs = Vec::new();
    let ident = [0xAB, 0x4B, 0x54, 0x58, 0x20, 0x32, 0x30, 0xBB, 0x0D, 0x0A, 0x1A, 0x0A];
    if b.len() < 80 || b[..12] != ident {
        return vec!["bad identifier".into()];
    }
    let vk = u32le(b, 12);
    let type_size = u32le(b, 16);
    let (pw, ph, pd, layers, faces, lc, scheme) =
        (u32le(b, 20), u32le(b, 24), u32le(b, 28), u32le(b, 32), u32le(b, 36), u32le(b, 40), u32le(b, 44));
    let (dfd_off, dfd_len, kvd_off, kvd_len) = (u32le(b, 48), u32le(b, 52), u32le(b, 56), u32le(b, 60));
    let (sgd_off, sgd_len) = (u64le(b, 64), u64le(b, 72));
    if vk != vk_expected {
        errs.push(format!("vkFormat {vk} != {vk_expected}"));
    }
    let Some(e) = expect(vk) else {
        return vec![format!("no expectation for vkFormat {vk}")];
    };
    if type_size != 1 {
        errs.push(format!("typeSize {type_size} != 1"));
    }
    if (pw, ph, pd, layers, faces) != (w, h, 0, 0, 1) {
        errs.push(format!("dims {pw}x{ph} depth {pd} layers {layers} faces {faces}"));
    }
    if lc != levels {
        errs.push(format!("levelCount {lc} != {levels}"));
    }
    if scheme != 0 {
        errs.push(format!("supercompression scheme {scheme} != 0"));
    }
    if sgd_off != 0 || sgd_len != 0 {
        errs.push("supercompression global data present".into());
    }
    let lv: Vec<(u64, u64, u64)> =
        (0..lc as usize).map(|i| 80 + i * 24).map(|o| (u64le(b, o), u64le(b, o + 8), u64le(b, o + 16))).collect();
    if dfd_off as usize != 80 + lc as usize * 24 {
        errs.push(format!("DFD offset {dfd_off} is not right after the level index"));
    }
    let d = &b[dfd_off as usize..(dfd_off + dfd_len) as usize];
    if u32le(d, 0) != dfd_len {
        errs.push("dfdTotalSize != dfdByteLength".into());
    }
    let w0 = u32le(d, 4);
    let (vendor, dtype) = (w0 & 0x1ffff, w0 >> 17);
    let w1 = u32le(d, 8);
    let (version, bsize) = (w1 & 0xffff, w1 >> 16);
    let (model, prim, tf) = (d[12], d[13], d[14]);
    let tbd = [d[16], d[17], d[18], d[19]];
    let bytes_plane0 = d[20];
    if d[21..28].iter().any(|&x| x != 0) {
        errs.push("bytesPlane1..7 not zero".into());
    }
    let nsamples = (bsize as usize).saturating_sub(24) / 16;
    if vendor != 0 || dtype != 0 || version != 2 {
        errs.push(format!("DFD vendor {vendor} type {dtype} version {version}"));
    }
    if bsize as usize != 24 + 16 * e.samples.len() || dfd_len != 4 + bsize {
        errs.push(format!("DFD block size {bsize} for {} samples", e.samples.len()));
    }
    if model != e.model {
        errs.push(format!("colorModel {model} != {}", e.model));
    }
    if prim != 1 {
        errs.push(format!("colorPrimaries {prim} != BT709"));
    }
    if tf != e.transfer {
        errs.push(format!("transferFunction {tf} != {}", e.transfer));
    }
    if tbd != [(e.bw - 1) as u8, (e.bh - 1) as u8, 0, 0] {
        errs.push(format!("texelBlockDimension {tbd:?}"));
    }
    if u32::from(bytes_plane0) != e.bytes {
        errs.push(format!("bytesPlane0 {bytes_plane0} != {}", e.bytes));
    }
    for (i, &(off, len, ch)) in e.samples.iter().enumerate().take(nsamples) {
        let s = 4 + 24 + i * 16;
        let sw0 = u32le(d, s);
        let (bit_off, bit_len, chan) = (sw0 & 0xffff, ((sw0 >> 16) & 0xff) as u8, ((sw0 >> 24) & 0x0f) as u8);
        if (bit_off, bit_len, chan) != (off, len, ch) {
            errs.push(format!("sample {i}: ({bit_off},{bit_len},{chan}) != ({off},{len},{ch})"));
        }
        let (lower, upper) = (u32le(d, s + 8), u32le(d, s + 12));
        let want_upper = if e.bw > 1 { u32::MAX } else { 255 };
        if lower != 0 || upper != want_upper {
            errs.push(format!("sample {i} lower/upper {lower:#x}/{upper:#x}, want 0/{want_upper:#x}"));
        }
    }
    // Key/value data: sorted keys, KTXwriter present.
    let kvd = &b[kvd_off as usize..(kvd_off + kvd_len) as usize];
    let mut keys = Vec::new();
    let mut o = 0;
    while o + 4 <= kvd.len() {
        let l = u32le(kvd, o) as usize;
        let kv = &kvd[o + 4..o + 4 + l];
        keys.push(String::from_utf8_lossy(kv.split(|&c| c == 0).next().unwrap()).into_owned());
        o += 4 + l.div_ceil(4) * 4;
    }
    if !keys.is_sorted() {
        errs.push("KVD keys not sorted".into());
    }
    if !keys.iter().any(|k| k == "KTXwriter") {
        errs.push("no KTXwriter".into());
    }
    // Level sizes, alignment, order (smallest level at the lowest offset).
    let align = lcm(u64::from(e.bytes), 4);
    let mut prev_end = 0u64;
    let mut prev_off = u64::MAX;
    for (i, &(off, len, ulen)) in lv.iter().enumerate() {
        let (lw, lh) = ((w >> i).max(1), (h >> i).max(1));
        let want = u64::from(lw.div_ceil(e.bw) * lh.div_ceil(e.bh) * e.bytes);
        if ulen != want || len != want {
            errs.push(format!("level {i} byteLength {len} / uncompressed {ulen} != {want}"));
        }
        if off % align != 0 {
            errs.push(format!("level {i} offset {off} not aligned to {align}"));
        }
        if i > 0 && off >= prev_off {
            errs.push(format!("level {i} is not stored before level {}", i - 1));
        }
        prev_off = off;
        prev_end = prev_end.max(off + len);
    }
    if prev_end != b.len() as u64 {
        errs.push(format!("file length {} != end of level data {prev_end}", b.len()));
    }
    match ktx2::Reader::new(b) {
        Ok(r) if r.levels().len() as u32 != lc => errs.push("ktx2::Reader level count differs".into()),
        Ok(_) => {}
        Err(e) => errs.push(format!("ktx2::Reader: {e:?}")),
    }
    errs
}
