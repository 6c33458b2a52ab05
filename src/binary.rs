//! Little-endian reading of the packer's own binary files: packs, the
//! processing cache's index and the stat cache. Every read is bounds-checked;
//! input that is short or damaged gives `None`, never a panic.

/// A position in a byte slice, read forward.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let head = self.buf.get(..n)?;
        self.buf = &self.buf[n..];
        Some(head)
    }

    pub fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    pub fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }

    pub fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_le_bytes)
    }

    pub fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_le_bytes)
    }

    /// UTF-8 text preceded by its length, read by `len` (a `u16` in packs,
    /// a `u32` in the stat cache).
    pub fn text(&mut self, len: fn(&mut Self) -> Option<usize>) -> Option<&'a str> {
        let n = len(self)?;
        std::str::from_utf8(self.take(n)?).ok()
    }

    /// Whether everything has been read.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_in_order_and_refuses_to_run_past_the_end() {
        let mut bytes = vec![7u8];
        bytes.extend_from_slice(&0x0102u16.to_le_bytes());
        bytes.extend_from_slice(&3u32.to_le_bytes());
        bytes.extend_from_slice(b"abc");
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Some(7));
        assert_eq!(r.u16(), Some(0x0102));
        assert_eq!(r.text(|r| r.u32().map(|n| n as usize)), Some("abc"));
        assert!(r.is_empty());
        assert_eq!(r.u64(), None);
        assert_eq!(Reader::new(&[2, 0, b'a']).text(|r| r.u16().map(usize::from)), None);
    }
}
