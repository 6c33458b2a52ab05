//! KTX 2.0 files: the writer for cooked textures, and readers that accept a
//! KTX2 or DDS *source* whose blocks are passed through without re-encoding.
//!
//! Written from the KTX 2.0 and Khronos Data Format 1.3 specifications; the
//! header and level index use the `ktx2` crate's types, the data format
//! descriptor (DFD) is written here from a table so that each field is
//! visible (tests check it with a checker that shares no code with this).
//! No supercompression: packs already zstd-compress their entries.

use super::format::GpuFormat;

const VERSION_STRING: &str = concat!("studio-packer ", env!("CARGO_PKG_VERSION"));

/// A texture's stored levels, level 0 first, each `format.level_bytes` long.
#[derive(Clone, Debug)]
pub struct Levels {
    pub format: GpuFormat,
    pub srgb: bool,
    /// Level 0 size (the logical size, not rounded to blocks).
    pub width: u32,
    pub height: u32,
    pub data: Vec<Vec<u8>>,
}

/// KHR_DF colour models, channel ids and flags used below.
mod df {
    pub const MODEL_RGBSDA: u8 = 1;
    pub const MODEL_BC1A: u8 = 128;
    pub const MODEL_BC3: u8 = 130;
    pub const MODEL_BC4: u8 = 131;
    pub const MODEL_BC5: u8 = 132;
    pub const MODEL_BC7: u8 = 134;
    pub const MODEL_ASTC: u8 = 162;
    pub const PRIMARIES_BT709: u8 = 1;
    pub const TRANSFER_LINEAR: u8 = 1;
    pub const TRANSFER_SRGB: u8 = 2;
    pub const FLAG_ALPHA_PREMULTIPLIED: u8 = 1;
    /// Sample qualifier: the channel is linear even in an sRGB format (alpha).
    pub const QUALIFIER_LINEAR: u8 = 0x10;
    pub const CHANNEL_ALPHA: u8 = 15;
}

/// One DFD sample: (bit offset, bit length, channel id | qualifiers, upper).
type Sample = (u16, u8, u8, u32);

/// The colour model and samples of a format, per the Khronos Data Format spec.
fn dfd_model(format: GpuFormat, srgb: bool) -> (u8, Vec<Sample>) {
    let alpha_q = if srgb { df::QUALIFIER_LINEAR } else { 0 };
    let block = u32::MAX;
    match format {
        // BC1 without punch-through alpha: one COLOR (0) sample.
        GpuFormat::Bc1 => (df::MODEL_BC1A, vec![(0, 64, 0, block)]),
        // BC3: alpha block first, then colour.
        GpuFormat::Bc3 => (df::MODEL_BC3, vec![(0, 64, df::CHANNEL_ALPHA | alpha_q, block), (64, 64, 0, block)]),
        GpuFormat::Bc4 => (df::MODEL_BC4, vec![(0, 64, 0, block)]),
        // BC5: RED (0) then GREEN (1).
        GpuFormat::Bc5 => (df::MODEL_BC5, vec![(0, 64, 0, block), (64, 64, 1, block)]),
        GpuFormat::Bc7 => (df::MODEL_BC7, vec![(0, 128, 0, block)]),
        GpuFormat::Astc4x4 | GpuFormat::Astc6x6 | GpuFormat::Astc8x8 => (df::MODEL_ASTC, vec![(0, 128, 0, block)]),
        GpuFormat::Rgba8 => (
            df::MODEL_RGBSDA,
            vec![(0, 8, 0, 255), (8, 8, 1, 255), (16, 8, 2, 255), (24, 8, df::CHANNEL_ALPHA | alpha_q, 255)],
        ),
    }
}

/// The DFD: its total size, then one Basic descriptor block.
fn dfd(format: GpuFormat, srgb: bool, premultiplied: bool) -> Vec<u8> {
    let (model, samples) = dfd_model(format, srgb);
    let block_size = 24 + 16 * samples.len() as u32;
    let (bw, bh) = format.block_size();
    let mut d = Vec::with_capacity(4 + block_size as usize);
    d.extend_from_slice(&(4 + block_size).to_le_bytes());
    // vendorId 0 (Khronos) | descriptorType 0 (basic) << 17.
    d.extend_from_slice(&0u32.to_le_bytes());
    // versionNumber 2 (KDF 1.3) | descriptorBlockSize << 16.
    d.extend_from_slice(&(2 | (block_size << 16)).to_le_bytes());
    let transfer = if srgb { df::TRANSFER_SRGB } else { df::TRANSFER_LINEAR };
    let flags = if premultiplied { df::FLAG_ALPHA_PREMULTIPLIED } else { 0 };
    d.extend_from_slice(&[model, df::PRIMARIES_BT709, transfer, flags]);
    d.extend_from_slice(&[(bw - 1) as u8, (bh - 1) as u8, 0, 0]);
    // bytesPlane0..7: one plane of block_bytes.
    d.extend_from_slice(&[format.block_bytes() as u8, 0, 0, 0, 0, 0, 0, 0]);
    for (offset, bits, channel, upper) in samples {
        let word0 = u32::from(offset) | (u32::from(bits - 1) << 16) | (u32::from(channel) << 24);
        d.extend_from_slice(&word0.to_le_bytes());
        d.extend_from_slice(&0u32.to_le_bytes()); // samplePosition0..3
        d.extend_from_slice(&0u32.to_le_bytes()); // sampleLower
        d.extend_from_slice(&upper.to_le_bytes());
    }
    d
}

/// Key/value data: only `KTXwriter`.
fn kvd() -> Vec<u8> {
    let mut kv = b"KTXwriter\0".to_vec();
    kv.extend_from_slice(VERSION_STRING.as_bytes());
    kv.push(0);
    let mut out = (kv.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&kv);
    out.resize(out.len().next_multiple_of(4), 0);
    out
}

fn lcm(a: u64, b: u64) -> u64 {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x * b
}

/// Writes a 2D KTX2 file. Level data is stored smallest level first (so a
/// streaming reader gets a low-resolution image early), each level aligned to
/// lcm(block bytes, 4); the level index lists level 0 first.
pub fn write_ktx2(levels: &Levels, premultiplied: bool) -> Vec<u8> {
    let n = levels.data.len();
    let dfd = dfd(levels.format, levels.srgb, premultiplied);
    let kvd = kvd();
    let dfd_offset = ktx2::Header::LENGTH + n * ktx2::LevelIndex::LENGTH;
    let kvd_offset = dfd_offset + dfd.len();
    let align = lcm(u64::from(levels.format.block_bytes()), 4);
    let mut offsets = vec![0u64; n];
    let mut end = (kvd_offset + kvd.len()) as u64;
    for i in (0..n).rev() {
        end = end.next_multiple_of(align);
        offsets[i] = end;
        end += levels.data[i].len() as u64;
    }
    let header = ktx2::Header {
        format: ktx2::Format::new(levels.format.vk_format(levels.srgb)),
        type_size: 1,
        pixel_width: levels.width,
        pixel_height: levels.height,
        pixel_depth: 0,
        layer_count: 0,
        face_count: 1,
        level_count: n as u32,
        supercompression_scheme: None,
        index: ktx2::Index {
            dfd_byte_offset: dfd_offset as u32,
            dfd_byte_length: dfd.len() as u32,
            kvd_byte_offset: kvd_offset as u32,
            kvd_byte_length: kvd.len() as u32,
            sgd_byte_offset: 0,
            sgd_byte_length: 0,
        },
    };
    let mut out = Vec::with_capacity(end as usize);
    out.extend_from_slice(&header.as_bytes());
    for (data, &offset) in levels.data.iter().zip(&offsets) {
        let len = data.len() as u64;
        let entry = ktx2::LevelIndex { byte_offset: offset, byte_length: len, uncompressed_byte_length: len };
        out.extend_from_slice(&entry.as_bytes());
    }
    out.extend_from_slice(&dfd);
    out.extend_from_slice(&kvd);
    for i in (0..n).rev() {
        out.resize(offsets[i] as usize, 0);
        out.extend_from_slice(&levels.data[i]);
    }
    out
}

/// Checks that every level has the size its dimensions imply.
fn check_level_sizes(levels: &Levels) -> Result<(), String> {
    let most = super::mips::level_count(levels.width, levels.height);
    if levels.data.len() as u32 > most {
        return Err(format!(
            "{} levels, a {}x{} texture has at most {most}",
            levels.data.len(),
            levels.width,
            levels.height
        ));
    }
    for (i, data) in levels.data.iter().enumerate() {
        let (w, h) = ((levels.width >> i).max(1), (levels.height >> i).max(1));
        let want = levels.format.level_bytes(w, h);
        if data.len() as u64 != want {
            return Err(format!("level {i} ({w}x{h}) has {} bytes, {} needs {want}", data.len(), levels.format));
        }
    }
    Ok(())
}

/// A KTX2 file checked for what we can carry, its levels still in place.
struct Ktx2View<'a> {
    format: GpuFormat,
    srgb: bool,
    width: u32,
    height: u32,
    zstd: bool,
    reader: ktx2::Reader<&'a [u8]>,
}

/// Checks that `bytes` is a 2D texture (no depth, one layer, one face) of a
/// VkFormat we know, uncompressed or zstd.
fn view_ktx2(bytes: &[u8]) -> Result<Ktx2View<'_>, String> {
    let reader = ktx2::Reader::new(bytes).map_err(|e| format!("not a valid KTX2 file: {e:?}"))?;
    let h = reader.header();
    let vk = h.format.map_or(0, |f| f.value());
    let (format, srgb) = GpuFormat::from_vk_format(vk).ok_or_else(|| {
        format!("vkFormat {vk} is not one we can pass through (BC1/3/4/5/7, ASTC 4x4/6x6/8x8 LDR, RGBA8)")
    })?;
    if h.pixel_height == 0 || h.pixel_depth != 0 {
        return Err(format!(
            "a 2D texture is needed, this one is {}x{}x{}",
            h.pixel_width, h.pixel_height, h.pixel_depth
        ));
    }
    if h.layer_count > 1 {
        return Err(format!("an array of {} layers; one layer is needed", h.layer_count));
    }
    if h.face_count != 1 {
        return Err(format!("{} faces (a cube map); one face is needed", h.face_count));
    }
    let zstd = match h.supercompression_scheme.map(|s| s.value()) {
        None | Some(0) => false,
        Some(2) => true,
        Some(other) => return Err(format!("supercompression scheme {other} is not supported (none or zstd)")),
    };
    let most = super::mips::level_count(h.pixel_width, h.pixel_height);
    if reader.levels().len() as u32 > most {
        return Err(format!(
            "{} levels, a {}x{} texture has at most {most}",
            reader.levels().len(),
            h.pixel_width,
            h.pixel_height
        ));
    }
    Ok(Ktx2View { format, srgb, width: h.pixel_width, height: h.pixel_height, zstd, reader })
}

impl Ktx2View<'_> {
    /// Level `i`'s bytes (inflated), checked against the size its dimensions imply.
    fn level(&self, i: usize) -> Result<Vec<u8>, String> {
        let level = self
            .reader
            .levels()
            .nth(i)
            .ok_or_else(|| format!("level {i} requested, the texture has {}", self.reader.levels().len()))?;
        let data = if self.zstd {
            zstd::bulk::decompress(level.data, level.uncompressed_byte_length as usize)
                .map_err(|e| format!("level {i}: zstd: {e}"))?
        } else {
            level.data.to_vec()
        };
        let (w, h) = ((self.width >> i).max(1), (self.height >> i).max(1));
        let want = self.format.level_bytes(w, h);
        if data.len() as u64 != want {
            return Err(format!("level {i} ({w}x{h}) has {} bytes, {} needs {want}", data.len(), self.format));
        }
        Ok(data)
    }
}

/// Reads a KTX2 source for passthrough: it must be a 2D texture (no depth,
/// one layer, one face) of a VkFormat we know, uncompressed or zstd.
pub fn read_ktx2(bytes: &[u8]) -> Result<Levels, String> {
    let view = view_ktx2(bytes)?;
    let data = (0..view.reader.levels().len()).map(|i| view.level(i)).collect::<Result<_, _>>()?;
    Ok(Levels { format: view.format, srgb: view.srgb, width: view.width, height: view.height, data })
}

/// Reads a DDS source for passthrough (BC1/BC3/BC4/BC5/BC7, a 2D texture
/// with its mips): the same blocks are rewrapped as KTX2. sRGB-ness comes
/// from a DX10 header's DXGI format; a legacy (DX9) header does not say,
/// and `srgb_if_unknown` decides.
pub fn read_dds(bytes: &[u8], srgb_if_unknown: bool) -> Result<Levels, String> {
    use dds::header::{DxgiFormat, Header};
    use dds::DataRegion;
    let decoder = dds::Decoder::new(bytes).map_err(|e| format!("not a readable DDS file: {e}"))?;
    let format = match decoder.format() {
        dds::Format::BC1_UNORM => GpuFormat::Bc1,
        dds::Format::BC3_UNORM => GpuFormat::Bc3,
        dds::Format::BC4_UNORM => GpuFormat::Bc4,
        dds::Format::BC5_UNORM => GpuFormat::Bc5,
        dds::Format::BC7_UNORM => GpuFormat::Bc7,
        other => return Err(format!("DDS format {other:?} cannot be passed through (BC1, BC3, BC4, BC5, BC7)")),
    };
    let (header_len, srgb) = match decoder.header() {
        Header::Dx10(h) => (
            4 + 124 + 20,
            matches!(
                h.dxgi_format,
                DxgiFormat::BC1_UNORM_SRGB | DxgiFormat::BC3_UNORM_SRGB | DxgiFormat::BC7_UNORM_SRGB
            ),
        ),
        Header::Dx9(_) => (4 + 124, srgb_if_unknown && format.has_srgb()),
    };
    let texture = match decoder.layout() {
        dds::DataLayout::Texture(t) => t,
        other => return Err(format!("a 2D texture is needed, this DDS holds {}", layout_name(&other))),
    };
    let mut data = Vec::new();
    for (i, mip) in texture.iter_mips().enumerate() {
        let start = header_len + mip.data_offset() as usize;
        let end = start + mip.data_len() as usize;
        let bytes = bytes.get(start..end).ok_or_else(|| format!("level {i} runs past the end of the file"))?;
        data.push(bytes.to_vec());
    }
    let main = texture.main();
    let levels = Levels { format, srgb, width: main.width(), height: main.height(), data };
    check_level_sizes(&levels)?;
    Ok(levels)
}

fn layout_name(layout: &dds::DataLayout) -> &'static str {
    match layout {
        dds::DataLayout::Texture(_) => "a 2D texture",
        dds::DataLayout::Volume(_) => "a volume (3D) texture",
        dds::DataLayout::TextureArray(_) => "a texture array or cube map",
    }
}

/// Level `level`'s format, size and bytes from a KTX2 file we wrote or accepted.
pub fn level_of(bytes: &[u8], level: u32) -> Result<(GpuFormat, u32, u32, Vec<u8>), String> {
    let view = view_ktx2(bytes)?;
    let data = view.level(level as usize)?;
    Ok((view.format, (view.width >> level).max(1), (view.height >> level).max(1), data))
}
