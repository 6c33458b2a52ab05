//! The pack format: what a game loads. Documented for readers in
//! `protocol/pack-format.md`; this module is its one writer and reader.
//!
//! Layout (all integers little-endian):
//! header (16 bytes) | entry data, each at a multiple of 16 | table of
//! contents | footer (64 bytes). The footer, read from the end of the file,
//! locates the table and carries a blake3 checksum of everything before it.
//! The same entries always give the same bytes: entries are sorted by path,
//! identical data is stored once, compression is deterministic.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::binary::Reader;
use crate::project::model::Kind;

pub const MAGIC: &[u8; 8] = b"SPAK\r\n\x1a\n";
pub const END_MAGIC: &[u8; 8] = b"SPAKEND\0";
pub const VERSION: u32 = 2;
pub const HEADER_LEN: u64 = 16;
pub const FOOTER_LEN: u64 = 64;
pub const ALIGN: u64 = 16;

/// How an entry's bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None = 0,
    Zstd = 1,
}

/// What the (decompressed) bytes of an entry are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The processed file's bytes (minified JSON, the WAV file, ...).
    Bytes = 0,
    /// A PNG image.
    Png = 1,
    /// Raw RGBA, 8 bits per channel, `width * height * 4` bytes, rows top to bottom.
    Rgba8 = 2,
    /// A Khronos KTX 2.0 file: a GPU texture with its mip levels.
    Ktx2 = 3,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Bytes => "bytes",
            Format::Png => "png",
            Format::Rgba8 => "rgba8",
            Format::Ktx2 => "ktx2",
        }
    }

    fn from_u8(v: u8) -> Option<Format> {
        [Format::Bytes, Format::Png, Format::Rgba8, Format::Ktx2].into_iter().find(|f| *f as u8 == v)
    }
}

/// What an image entry is: its size and, for a GPU texture, its format and
/// levels. All 0 for an entry that is not an image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Image {
    /// Level 0's size in pixels.
    pub width: u32,
    pub height: u32,
    /// The texture's `VkFormat` (the KTX2 header's `vkFormat`); 0 when not a GPU texture.
    pub vk_format: u32,
    /// Mip levels in the texture; 0 when not a GPU texture.
    pub levels: u32,
}

/// One entry of the table of contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackEntry {
    pub asset_id: String,
    pub path: String,
    pub kind: Kind,
    pub format: Format,
    pub compression: Compression,
    /// zstd level used (0 when not compressed).
    pub level: u8,
    pub image: Image,
    pub offset: u64,
    /// Stored bytes.
    pub length: u64,
    /// Bytes once decompressed.
    pub raw_length: u64,
    /// blake3 of the decompressed bytes.
    pub hash: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{path}: {source}")]
    Io { path: String, source: io::Error },
    #[error("{path}: not a studio-packer pack: {why}")]
    Format { path: String, why: String },
    #[error("{path}: checksum mismatch: the file is damaged")]
    Checksum { path: String },
    #[error("{path}: entry `{entry}` is damaged: {why}")]
    Entry { path: String, entry: String, why: String },
}

/// Where an entry's stored bytes come from when writing.
pub trait EntrySource {
    fn stored_bytes(&self, index: usize) -> io::Result<Vec<u8>>;
}

fn pad(n: u64) -> u64 {
    (ALIGN - n % ALIGN) % ALIGN
}

/// A pack laid out: its entries with their offsets, and what goes where.
pub struct Layout {
    pub entries: Vec<PackEntry>,
    /// The table of contents as it will be stored.
    pub toc: Vec<u8>,
    pub toc_offset: u64,
    /// Per entry, whether its data is written (false for a duplicate).
    writes: Vec<bool>,
}

/// Lays out `entries` (already sorted by path): fills in offsets, storing
/// identical data (same raw hash, compression and level) once.
pub fn layout(mut entries: Vec<PackEntry>) -> Layout {
    let mut offset = HEADER_LEN;
    let mut seen: HashMap<([u8; 32], u8, u8), u64> = HashMap::new();
    let mut writes = Vec::with_capacity(entries.len());
    for e in entries.iter_mut() {
        let key = (e.hash, e.compression as u8, e.level);
        match seen.get(&key) {
            Some(&at) => {
                e.offset = at;
                writes.push(false);
            }
            None => {
                e.offset = offset;
                seen.insert(key, offset);
                offset += e.length + pad(e.length);
                writes.push(true);
            }
        }
    }
    let toc_offset = offset;
    let mut toc = Vec::with_capacity(entries.len() * 128);
    toc.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries.iter() {
        toc.extend_from_slice(&(e.asset_id.len() as u16).to_le_bytes());
        toc.extend_from_slice(e.asset_id.as_bytes());
        toc.extend_from_slice(&(e.path.len() as u16).to_le_bytes());
        toc.extend_from_slice(e.path.as_bytes());
        toc.extend_from_slice(&[e.kind.code(), e.format as u8, e.compression as u8, e.level]);
        toc.extend_from_slice(&e.image.width.to_le_bytes());
        toc.extend_from_slice(&e.image.height.to_le_bytes());
        toc.extend_from_slice(&e.image.vk_format.to_le_bytes());
        toc.extend_from_slice(&e.image.levels.to_le_bytes());
        toc.extend_from_slice(&e.offset.to_le_bytes());
        toc.extend_from_slice(&e.length.to_le_bytes());
        toc.extend_from_slice(&e.raw_length.to_le_bytes());
        toc.extend_from_slice(&e.hash);
    }
    Layout { entries, toc, toc_offset, writes }
}

/// Writes a pack to `out` and returns its checksum and length.
pub fn write(
    out: &mut impl Write,
    layout: &Layout,
    source: &dyn EntrySource,
    cancelled: &dyn Fn() -> bool,
) -> io::Result<([u8; 32], u64)> {
    let Layout { entries, toc, toc_offset, writes } = layout;
    let toc_offset = *toc_offset;
    let mut hasher = blake3::Hasher::new();
    let mut put = |bytes: &[u8], out: &mut dyn Write| -> io::Result<()> {
        hasher.update(bytes);
        out.write_all(bytes)
    };
    let mut header = Vec::with_capacity(HEADER_LEN as usize);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    put(&header, out)?;
    let zeros = [0u8; ALIGN as usize];
    for (i, e) in entries.iter().enumerate() {
        if !writes[i] {
            continue;
        }
        if cancelled() {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "cancelled"));
        }
        let bytes = source.stored_bytes(i)?;
        if bytes.len() as u64 != e.length {
            return Err(io::Error::other(format!("stored data of `{}` changed size", e.path)));
        }
        put(&bytes, out)?;
        put(&zeros[..pad(e.length) as usize], out)?;
    }
    put(toc, out)?;
    let checksum: [u8; 32] = hasher.finalize().into();
    let mut footer = Vec::with_capacity(FOOTER_LEN as usize);
    footer.extend_from_slice(&toc_offset.to_le_bytes());
    footer.extend_from_slice(&(toc.len() as u64).to_le_bytes());
    footer.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    footer.extend_from_slice(&0u32.to_le_bytes());
    footer.extend_from_slice(&checksum);
    footer.extend_from_slice(END_MAGIC);
    out.write_all(&footer)?;
    Ok((checksum, toc_offset + toc.len() as u64 + FOOTER_LEN))
}

/// Writes a pack to a file through a buffer.
pub fn write_file(
    file: &File,
    layout: &Layout,
    source: &dyn EntrySource,
    cancelled: &dyn Fn() -> bool,
) -> io::Result<([u8; 32], u64)> {
    let mut out = BufWriter::with_capacity(1 << 20, crate::fsutil::WriteBehind::new(file));
    let r = write(&mut out, layout, source, cancelled)?;
    out.flush()?;
    Ok(r)
}

/// A pack opened for reading.
pub struct PackReader {
    path: String,
    file: File,
    entries: Vec<PackEntry>,
    by_id: HashMap<String, usize>,
    by_path: HashMap<String, usize>,
    checksum: [u8; 32],
    len: u64,
}

/// A string of the table of contents: its length as a `u16`, then UTF-8.
fn toc_string(r: &mut Reader<'_>) -> Option<String> {
    r.text(|r| r.u16().map(usize::from)).map(str::to_string)
}

/// What a pack's header and footer say, and its table of contents as
/// stored, unparsed: all a build needs to tell whether a pack would change
/// (parsing ten thousand entries into a [`PackReader`] is not needed for that).
pub struct Frame {
    pub toc: Vec<u8>,
    pub toc_offset: u64,
    pub count: u32,
    pub checksum: [u8; 32],
    pub len: u64,
}

impl Frame {
    /// Checks the header and footer of the pack in `file` and reads its
    /// table of contents (`path` is for messages).
    pub fn read(file: &mut File, path: &Path) -> Result<Frame, PackError> {
        let p = path.display().to_string();
        let io = |source| PackError::Io { path: p.clone(), source };
        let bad = |why: &str| PackError::Format { path: p.clone(), why: why.to_string() };
        let len = file.metadata().map_err(io)?.len();
        if len < HEADER_LEN + 4 + FOOTER_LEN {
            return Err(bad("too short"));
        }
        let mut header = [0u8; HEADER_LEN as usize];
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.read_exact(&mut header).map_err(io)?;
        if &header[..8] != MAGIC {
            return Err(bad("wrong magic"));
        }
        let version = u32::from_le_bytes(header[8..12].try_into().expect("4 bytes"));
        if version != VERSION {
            return Err(bad(&format!("version {version} is not supported (this reader reads {VERSION})")));
        }
        let mut footer = [0u8; FOOTER_LEN as usize];
        file.seek(SeekFrom::Start(len - FOOTER_LEN)).map_err(io)?;
        file.read_exact(&mut footer).map_err(io)?;
        if &footer[56..] != END_MAGIC {
            return Err(bad("wrong end magic (truncated?)"));
        }
        let toc_offset = u64::from_le_bytes(footer[0..8].try_into().expect("8 bytes"));
        let toc_len = u64::from_le_bytes(footer[8..16].try_into().expect("8 bytes"));
        let count = u32::from_le_bytes(footer[16..20].try_into().expect("4 bytes"));
        let checksum: [u8; 32] = footer[24..56].try_into().expect("32 bytes");
        if toc_offset < HEADER_LEN || toc_offset.checked_add(toc_len) != Some(len - FOOTER_LEN) {
            return Err(bad("the table of contents is out of bounds"));
        }
        let mut toc = vec![0u8; toc_len as usize];
        file.seek(SeekFrom::Start(toc_offset)).map_err(io)?;
        file.read_exact(&mut toc).map_err(io)?;
        Ok(Frame { toc, toc_offset, count, checksum, len })
    }
}

impl PackReader {
    /// Opens a pack: checks the header and footer and reads the table of
    /// contents. Does not read entry data (see [`PackReader::verify`]).
    pub fn open(path: &Path) -> Result<PackReader, PackError> {
        let file = File::open(path).map_err(|source| PackError::Io { path: path.display().to_string(), source })?;
        PackReader::from_file(file, path)
    }

    /// Reads a pack from a file already open (`path` is for messages).
    pub fn from_file(mut file: File, path: &Path) -> Result<PackReader, PackError> {
        let p = path.display().to_string();
        let bad = |why: &str| PackError::Format { path: p.clone(), why: why.to_string() };
        let Frame { toc, toc_offset, count, checksum, len } = Frame::read(&mut file, path)?;
        let mut c = Reader::new(&toc);
        if c.u32() != Some(count) {
            return Err(bad("entry counts disagree"));
        }
        let mut entries = Vec::with_capacity(count.min(1 << 20) as usize);
        for _ in 0..count {
            let e = (|| {
                let asset_id = toc_string(&mut c)?;
                let path = toc_string(&mut c)?;
                let kind = Kind::from_code(c.u8()?)?;
                let format = Format::from_u8(c.u8()?)?;
                let compression = match c.u8()? {
                    0 => Compression::None,
                    1 => Compression::Zstd,
                    _ => return None,
                };
                let level = c.u8()?;
                let image = Image { width: c.u32()?, height: c.u32()?, vk_format: c.u32()?, levels: c.u32()? };
                let offset = c.u64()?;
                let length = c.u64()?;
                let raw_length = c.u64()?;
                let hash: [u8; 32] = c.array()?;
                Some(PackEntry {
                    asset_id,
                    path,
                    kind,
                    format,
                    compression,
                    level,
                    image,
                    offset,
                    length,
                    raw_length,
                    hash,
                })
            })()
            .ok_or_else(|| bad("the table of contents is damaged"))?;
            if e.offset < HEADER_LEN || e.offset.checked_add(e.length).is_none_or(|end| end > toc_offset) {
                return Err(bad(&format!("entry `{}` points outside the data", e.path)));
            }
            entries.push(e);
        }
        if !c.is_empty() {
            return Err(bad("trailing bytes in the table of contents"));
        }
        let by_id = entries.iter().enumerate().map(|(i, e)| (e.asset_id.clone(), i)).collect();
        let by_path = entries.iter().enumerate().map(|(i, e)| (e.path.clone(), i)).collect();
        Ok(PackReader { path: p, file, entries, by_id, by_path, checksum, len })
    }

    pub fn entries(&self) -> &[PackEntry] {
        &self.entries
    }

    pub fn by_id(&self, id: &str) -> Option<&PackEntry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    pub fn by_path(&self, path: &str) -> Option<&PackEntry> {
        self.by_path.get(path).map(|&i| &self.entries[i])
    }

    pub fn checksum(&self) -> [u8; 32] {
        self.checksum
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An entry's decompressed bytes, checked against its hash.
    pub fn read(&self, e: &PackEntry) -> Result<Vec<u8>, PackError> {
        let damaged = |why: String| PackError::Entry { path: self.path.clone(), entry: e.path.clone(), why };
        let mut stored = vec![0u8; e.length as usize];
        let mut f = &self.file;
        f.seek(SeekFrom::Start(e.offset)).map_err(|source| PackError::Io { path: self.path.clone(), source })?;
        f.read_exact(&mut stored).map_err(|source| PackError::Io { path: self.path.clone(), source })?;
        let raw = match e.compression {
            Compression::None => stored,
            Compression::Zstd => zstd::bulk::decompress(&stored, e.raw_length as usize)
                .map_err(|err| damaged(format!("cannot decompress: {err}")))?,
        };
        if raw.len() as u64 != e.raw_length {
            return Err(damaged(format!("{} bytes, the table says {}", raw.len(), e.raw_length)));
        }
        if *blake3::hash(&raw).as_bytes() != e.hash {
            return Err(damaged("content hash mismatch".into()));
        }
        Ok(raw)
    }

    /// Checks the whole file's checksum and every entry's content.
    pub fn verify(&self) -> Result<(), PackError> {
        let mut hasher = blake3::Hasher::new();
        let mut f = &self.file;
        f.seek(SeekFrom::Start(0)).map_err(|source| PackError::Io { path: self.path.clone(), source })?;
        let mut limited = f.take(self.len - FOOTER_LEN);
        io::copy(&mut limited, &mut hasher).map_err(|source| PackError::Io { path: self.path.clone(), source })?;
        if *hasher.finalize().as_bytes() != self.checksum {
            return Err(PackError::Checksum { path: self.path.clone() });
        }
        for e in &self.entries {
            self.read(e)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem(Vec<Vec<u8>>);
    impl EntrySource for Mem {
        fn stored_bytes(&self, i: usize) -> io::Result<Vec<u8>> {
            Ok(self.0[i].clone())
        }
    }

    fn entry(path: &str, raw: &[u8]) -> PackEntry {
        PackEntry {
            asset_id: format!("id-{path}"),
            path: path.into(),
            kind: Kind::Text,
            format: Format::Bytes,
            compression: Compression::None,
            level: 0,
            image: Image::default(),
            offset: 0,
            length: raw.len() as u64,
            raw_length: raw.len() as u64,
            hash: *blake3::hash(raw).as_bytes(),
        }
    }

    #[test]
    fn roundtrip_dedup_and_verify() {
        let raws: Vec<&[u8]> = vec![b"alpha", b"beta!", b"alpha"];
        let entries: Vec<PackEntry> = raws.iter().enumerate().map(|(i, r)| entry(&format!("a/{i}.txt"), r)).collect();
        let laid = layout(entries);
        assert_eq!(laid.writes, vec![true, true, false]);
        let entries = &laid.entries;
        assert_eq!(entries[2].offset, entries[0].offset);
        let mut out = Vec::new();
        let src = Mem(raws.iter().map(|r| r.to_vec()).collect());
        let (_, len) = write(&mut out, &laid, &src, &|| false).unwrap();
        assert_eq!(len, out.len() as u64);
        assert_eq!(entries[1].offset % ALIGN, 0);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.pack");
        std::fs::write(&p, &out).unwrap();
        let r = PackReader::open(&p).unwrap();
        r.verify().unwrap();
        assert_eq!(r.read(r.by_path("a/1.txt").unwrap()).unwrap(), b"beta!");
        assert_eq!(r.read(r.by_id("id-a/2.txt").unwrap()).unwrap(), b"alpha");
        // One flipped byte in the data is found.
        let mut bad = out.clone();
        bad[HEADER_LEN as usize] ^= 1;
        std::fs::write(&p, &bad).unwrap();
        assert!(matches!(PackReader::open(&p).unwrap().verify(), Err(PackError::Checksum { .. })));
        std::fs::write(&p, &out[..out.len() - 3]).unwrap();
        assert!(PackReader::open(&p).is_err());
    }
}
