//! A KTX2 checker written from the KTX 2.0 spec and the Khronos Data Format spec,
//! sharing no code with the writer (ctt uses the `ktx2` crate's DFD builder).
//! Also runs the `ktx2` crate's Reader for comparison.

fn u32le(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}
fn u64le(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// What we expect for a vkFormat: (block w, block h, bytes per block, DF colour model,
/// transfer (1 linear / 2 sRGB), sample channel ids, sample bit lengths (minus 1)).
pub struct Expect {
    pub bw: u32,
    pub bh: u32,
    pub bytes: u32,
    pub model: u8,
    pub transfer: u8,
    pub samples: Vec<(u32, u8, u8)>, // (bitOffset, bitLength-1, channelType)
}

pub fn expect(vk: u32) -> Option<Expect> {
    let (bw, bh, bytes, model, transfer, samples): (u32, u32, u32, u8, u8, Vec<(u32, u8, u8)>) = match vk {
        // BC1_RGB 131/132, BC1_RGBA 133/134: model BC1A=128; channel COLOR=0, ALPHAPRESENT=1
        131 => (4, 4, 8, 128, 1, vec![(0, 63, 0)]),
        132 => (4, 4, 8, 128, 2, vec![(0, 63, 0)]),
        133 => (4, 4, 8, 128, 1, vec![(0, 63, 1)]),
        134 => (4, 4, 8, 128, 2, vec![(0, 63, 1)]),
        // BC4 139: model 131, one sample RED(0)
        139 => (4, 4, 8, 131, 1, vec![(0, 63, 0)]),
        // BC5 141: model 132, RED(0) bits 0..63, GREEN(1) bits 64..127
        141 => (4, 4, 16, 132, 1, vec![(0, 63, 0), (64, 63, 1)]),
        // BC7 145/146: model 134, one sample COLOR(0)
        145 => (4, 4, 16, 134, 1, vec![(0, 127, 0)]),
        146 => (4, 4, 16, 134, 2, vec![(0, 127, 0)]),
        // ASTC LDR 157..172 : model 162, one sample DATA(0)
        157..=172 => {
            let i = (vk - 157) / 2;
            let dims = [(4, 4), (5, 4), (5, 5), (6, 5), (6, 6), (8, 5), (8, 6), (8, 8)][i as usize];
            let tf = if (vk - 157) % 2 == 1 { 2 } else { 1 };
            (dims.0, dims.1, 16, 162, tf, vec![(0, 127, 0)])
        }
        // R8G8B8A8_UNORM 37 / SRGB 43: model RGBSDA=1, 4 samples R,G,B,A(15)
        37 | 43 => (
            1,
            1,
            4,
            1,
            if vk == 43 { 2 } else { 1 },
            vec![(0, 7, 0), (8, 7, 1), (16, 7, 2), (24, 7, 15)],
        ),
        _ => return None,
    };
    Some(Expect { bw, bh, bytes, model, transfer, samples })
}

/// Returns a list of problems (empty = valid by our checks) and a one-line summary.
pub fn check(b: &[u8], expect_vk: u32, w: u32, h: u32, levels: u32) -> (Vec<String>, String) {
    let mut errs = Vec::new();
    let ident = [0xAB, 0x4B, 0x54, 0x58, 0x20, 0x32, 0x30, 0xBB, 0x0D, 0x0A, 0x1A, 0x0A];
    if b.len() < 80 || b[..12] != ident {
        return (vec!["bad identifier".into()], String::new());
    }
    let vk = u32le(b, 12);
    let type_size = u32le(b, 16);
    let (pw, ph, pd, layers, faces, lc, scheme) = (
        u32le(b, 20),
        u32le(b, 24),
        u32le(b, 28),
        u32le(b, 32),
        u32le(b, 36),
        u32le(b, 40),
        u32le(b, 44),
    );
    let (dfd_off, dfd_len, kvd_off, kvd_len) = (u32le(b, 48), u32le(b, 52), u32le(b, 56), u32le(b, 60));
    let (sgd_off, sgd_len) = (u64le(b, 64), u64le(b, 72));
    if vk != expect_vk {
        errs.push(format!("vkFormat {vk} != {expect_vk}"));
    }
    let Some(e) = expect(vk) else {
        return (vec![format!("no expectation for vk {vk}")], String::new());
    };
    let block_fmt = e.bw > 1;
    if block_fmt && type_size != 1 {
        errs.push(format!("typeSize {type_size} != 1"));
    }
    if (pw, ph, pd, layers, faces) != (w, h, 0, 0, 1) {
        errs.push(format!("dims {pw}x{ph} d{pd} layers{layers} faces{faces}"));
    }
    if lc != levels {
        errs.push(format!("levelCount {lc} != {levels}"));
    }
    if scheme != 0 && scheme != 2 {
        errs.push(format!("scheme {scheme}"));
    }
    if sgd_off != 0 || sgd_len != 0 {
        errs.push("sgd present".into());
    }
    // level index
    let mut lv = Vec::new();
    for i in 0..lc as usize {
        let o = 80 + i * 24;
        lv.push((u64le(b, o), u64le(b, o + 8), u64le(b, o + 16)));
    }
    if dfd_off as usize != 80 + lc as usize * 24 {
        errs.push(format!("dfd offset {dfd_off} not right after level index"));
    }
    // DFD
    let d = &b[dfd_off as usize..(dfd_off + dfd_len) as usize];
    if u32le(d, 0) != dfd_len {
        errs.push("dfdTotalSize != dfdByteLength".into());
    }
    let w0 = u32le(d, 4);
    let (vendor, dtype) = (w0 & 0x1ffff, w0 >> 17);
    let w1 = u32le(d, 8);
    let (version, bsize) = (w1 & 0xffff, w1 >> 16);
    let (model, prim, tf, _flags) = (d[12], d[13], d[14], d[15]);
    let tbd = [d[16], d[17], d[18], d[19]];
    let bytes_plane0 = d[20];
    let nsamples = (bsize as usize - 24) / 16;
    if vendor != 0 || dtype != 0 || version != 2 {
        errs.push(format!("dfd vendor {vendor} type {dtype} version {version}"));
    }
    if bsize as usize != 24 + 16 * e.samples.len() || dfd_len != 4 + bsize {
        errs.push(format!("dfd block size {bsize} for {} samples", e.samples.len()));
    }
    if model != e.model {
        errs.push(format!("colorModel {model} != {}", e.model));
    }
    if prim != 1 {
        errs.push(format!("primaries {prim} != BT709"));
    }
    if tf != e.transfer {
        errs.push(format!("transfer {tf} != {}", e.transfer));
    }
    if tbd != [(e.bw - 1) as u8, (e.bh - 1) as u8, 0, 0] {
        errs.push(format!("texelBlockDimension {tbd:?}"));
    }
    if bytes_plane0 as u32 != e.bytes {
        errs.push(format!("bytesPlane0 {bytes_plane0} != {} (scheme {scheme})", e.bytes));
    }
    for (i, &(off, len, ch)) in e.samples.iter().enumerate().take(nsamples) {
        let s = 24 + 4 + i * 16;
        let sw0 = u32le(d, s);
        let (bit_off, bit_len, chan) = (sw0 & 0xffff, ((sw0 >> 16) & 0xff) as u8, ((sw0 >> 24) & 0x0f) as u8);
        if (bit_off, bit_len, chan) != (off, len, ch) {
            errs.push(format!("sample {i}: ({bit_off},{bit_len},{chan}) != ({off},{len},{ch})"));
        }
        let upper = u32le(d, s + 12);
        let want_upper = if e.bw > 1 { u32::MAX } else { 255 };
        if upper != want_upper {
            errs.push(format!("sample {i} upper {upper:#x} != {want_upper:#x}"));
        }
    }
    // KVD: first key must be sorted; check KTXwriter present
    let kvd = &b[kvd_off as usize..(kvd_off + kvd_len) as usize];
    let mut keys = Vec::new();
    let mut o = 0;
    while o + 4 <= kvd.len() {
        let l = u32le(kvd, o) as usize;
        let kv = &kvd[o + 4..o + 4 + l];
        let k = kv.split(|&c| c == 0).next().unwrap();
        keys.push(String::from_utf8_lossy(k).into_owned());
        o += 4 + l.div_ceil(4) * 4;
    }
    let mut sorted = keys.clone();
    sorted.sort();
    if sorted != keys {
        errs.push("kvd keys not sorted".into());
    }
    // level sizes, alignment, order (smallest mip at lowest offset)
    let align = if scheme == 0 { lcm(e.bytes as u64, 4) } else { 1 };
    let mut prev_end = 0u64;
    let mut prev_off = u64::MAX;
    for (i, &(off, len, ulen)) in lv.iter().enumerate() {
        let lw = (w >> i).max(1);
        let lh = (h >> i).max(1);
        let want = (lw.div_ceil(e.bw) * lh.div_ceil(e.bh) * e.bytes) as u64;
        if ulen != want {
            errs.push(format!("level {i} uncompressedByteLength {ulen} != {want}"));
        }
        if scheme == 0 && len != want {
            errs.push(format!("level {i} byteLength {len} != {want}"));
        }
        if off % align != 0 {
            errs.push(format!("level {i} offset {off} not aligned to {align}"));
        }
        if i > 0 && off >= prev_off {
            errs.push(format!("level {i} not before level {} in file", i - 1));
        }
        prev_off = off;
        prev_end = prev_end.max(off + len);
        if scheme == 2 {
            let raw = zstd::bulk::decompress(&b[off as usize..(off + len) as usize], want as usize + 1)
                .map_err(|e| e.to_string());
            match raw {
                Ok(r) if r.len() as u64 == want => {}
                Ok(r) => errs.push(format!("level {i} inflates to {} != {want}", r.len())),
                Err(e) => errs.push(format!("level {i} zstd: {e}")),
            }
        }
    }
    if prev_end != b.len() as u64 {
        errs.push(format!("file length {} != end of level data {prev_end}", b.len()));
    }
    // the ktx2 crate's own validation
    match ktx2::Reader::new(b) {
        Ok(r) => {
            if r.levels().len() as u32 != lc {
                errs.push("ktx2::Reader level count differs".into());
            }
        }
        Err(e) => errs.push(format!("ktx2::Reader: {e:?}")),
    }
    let summary = format!(
        "vk={vk} {pw}x{ph} levels={lc} scheme={scheme} model={model} tf={tf} bytesPlane0={bytes_plane0} samples={nsamples} keys={keys:?} size={}",
        b.len()
    );
    (errs, summary)
}

fn lcm(a: u64, b: u64) -> u64 {
    let mut x = a;
    let mut y = b;
    while y != 0 {
        let t = y;
        y = x % y;
        x = t;
    }
    a / x * b
}

/// Level `i` bytes (inflated if zstd).
pub fn level_bytes(b: &[u8], i: usize) -> Vec<u8> {
    let o = 80 + i * 24;
    let (off, len, ulen) = (u64le(b, o) as usize, u64le(b, o + 8) as usize, u64le(b, o + 16) as usize);
    let data = &b[off..off + len];
    if u32le(b, 44) == 2 {
        zstd::bulk::decompress(data, ulen).unwrap()
    } else {
        data.to_vec()
    }
}
