//! LSP base-protocol framing: `Content-Length: N\r\n\r\n` then N bytes.
//!
//! The decoder never gives up on a stream. A bad header block is reported and
//! skipped; a length over [`MAX_BODY`] is reported without allocating it, and
//! the decoder resynchronises on the next line that starts a header. It knows
//! nothing of JSON or of methods: that is the dispatcher's business.

/// Largest message body accepted, in bytes. Larger announced lengths are
/// refused before anything is allocated for them.
pub const MAX_BODY: usize = 64 * 1024 * 1024;
/// Largest header block accepted, in bytes.
pub const MAX_HEADER: usize = 8 * 1024;

/// What the decoder found.
#[derive(Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete body.
    Body(Vec<u8>),
    /// Something that is not a valid frame; the decoder has skipped it.
    Invalid(FrameError),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("header block without a Content-Length header")]
    MissingLength,
    #[error("Content-Length `{0}` is not a non-negative integer")]
    BadLength(String),
    #[error("Content-Length {0} exceeds the maximum message size of {MAX_BODY} bytes")]
    TooLarge(u64),
    #[error("header block longer than {MAX_HEADER} bytes")]
    HeaderTooLong,
    #[error("header line is not `Name: value`: `{0}`")]
    BadHeaderLine(String),
    #[error("stream ended inside a message ({0} bytes unread)")]
    Truncated(usize),
}

/// An incremental decoder: feed bytes with [`Decoder::extend`], take frames
/// with [`Decoder::next_frame`].
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    start: usize,
    /// When set, a too-large body is being skipped: discard bytes up to the
    /// next header start.
    resyncing: bool,
}

impl Decoder {
    pub fn new() -> Self {
        Decoder::default()
    }

    pub fn extend(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start >= self.buf.len() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet decoded.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Call at end of input: reports a message cut short, if any.
    pub fn finish(&mut self) -> Option<FrameError> {
        let rest = &self.buf[self.start..];
        let n = self.pending();
        self.start = self.buf.len();
        if self.resyncing || rest.iter().all(|b| b.is_ascii_whitespace()) {
            None
        } else {
            Some(FrameError::Truncated(n))
        }
    }

    /// The next frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if self.resyncing {
                match find_header_start(&self.buf[self.start..]) {
                    Some(i) => {
                        self.start += i;
                        self.resyncing = false;
                    }
                    None => {
                        // Keep a tail that might be the beginning of a header name.
                        let keep = HEADER_NAME.len().min(self.pending());
                        self.start = self.buf.len() - keep;
                        return None;
                    }
                }
            }
            let avail = &self.buf[self.start..];
            // Tolerate blank lines between messages.
            let skip = avail.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
            if skip > 0 {
                self.start += skip;
                continue;
            }
            let Some(end) = find(avail, b"\r\n\r\n") else {
                if avail.len() > MAX_HEADER {
                    self.resyncing = true;
                    self.start += 1;
                    return Some(Frame::Invalid(FrameError::HeaderTooLong));
                }
                return None;
            };
            if end > MAX_HEADER {
                self.resyncing = true;
                self.start += 1;
                return Some(Frame::Invalid(FrameError::HeaderTooLong));
            }
            let header = &avail[..end];
            let body_start = self.start + end + 4;
            match parse_length(header) {
                Ok(len) => {
                    if self.buf.len() - body_start < len {
                        return None;
                    }
                    let body = self.buf[body_start..body_start + len].to_vec();
                    self.start = body_start + len;
                    return Some(Frame::Body(body));
                }
                Err(e) => {
                    // Skip the bad header; for an oversized body, also skip
                    // whatever follows until something looks like a header.
                    self.start = body_start;
                    if matches!(e, FrameError::TooLarge(_) | FrameError::BadLength(_)) {
                        self.resyncing = true;
                    }
                    return Some(Frame::Invalid(e));
                }
            }
        }
    }
}

const HEADER_NAME: &[u8] = b"content-length:";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Position of the next `Content-Length:` (any case). It need not start a
/// line: after a bad frame, the next header usually follows the unread body
/// directly.
fn find_header_start(hay: &[u8]) -> Option<usize> {
    hay.windows(HEADER_NAME.len()).position(|w| w.eq_ignore_ascii_case(HEADER_NAME))
}

fn parse_length(header: &[u8]) -> Result<usize, FrameError> {
    let mut length = None;
    for line in header.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let text = String::from_utf8_lossy(line);
        let Some((name, value)) = text.split_once(':') else {
            return Err(FrameError::BadHeaderLine(text.chars().take(80).collect()));
        };
        if name.trim().eq_ignore_ascii_case("content-length") {
            let value = value.trim();
            let n: u64 = value.parse().map_err(|_| FrameError::BadLength(value.chars().take(40).collect()))?;
            if n > MAX_BODY as u64 {
                return Err(FrameError::TooLarge(n));
            }
            length = Some(n as usize);
        }
        // Other headers (Content-Type) are allowed and ignored, as in LSP.
    }
    length.ok_or(FrameError::MissingLength)
}

/// Frames a body for the wire.
pub fn encode(body: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(body.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Frame> {
        let mut d = Decoder::new();
        d.extend(input);
        let mut out = Vec::new();
        while let Some(f) = d.next_frame() {
            out.push(f);
        }
        out
    }

    fn framed(body: &str) -> Vec<u8> {
        let mut v = Vec::new();
        encode(body.as_bytes(), &mut v);
        v
    }

    #[test]
    fn decodes_consecutive_frames_byte_by_byte() {
        let input = [framed("{\"a\":1}"), framed("{}")].concat();
        let mut d = Decoder::new();
        let mut got = Vec::new();
        for b in &input {
            d.extend(std::slice::from_ref(b));
            while let Some(f) = d.next_frame() {
                got.push(f);
            }
        }
        assert_eq!(got, vec![Frame::Body(b"{\"a\":1}".to_vec()), Frame::Body(b"{}".to_vec())]);
    }

    #[test]
    fn missing_length_then_recovers() {
        let input = [b"Content-Type: x\r\n\r\n".to_vec(), framed("{}")].concat();
        assert_eq!(frames(&input), vec![Frame::Invalid(FrameError::MissingLength), Frame::Body(b"{}".to_vec())]);
    }

    #[test]
    fn bad_and_huge_lengths_resync() {
        let input = [b"Content-Length: abc\r\n\r\n{}".to_vec(), framed("{}")].concat();
        let f = frames(&input);
        assert!(matches!(f[0], Frame::Invalid(FrameError::BadLength(_))));
        assert_eq!(f[1], Frame::Body(b"{}".to_vec()));

        let input = [b"Content-Length: 99999999999\r\n\r\n{\"junk\":1}\r\n".to_vec(), framed("{}")].concat();
        let f = frames(&input);
        assert_eq!(f[0], Frame::Invalid(FrameError::TooLarge(99_999_999_999)));
        assert_eq!(f[1], Frame::Body(b"{}".to_vec()));
        assert_eq!(f.len(), 2);

        let f = frames(b"Content-Length: -5\r\n\r\n");
        assert!(matches!(f[0], Frame::Invalid(FrameError::BadLength(_))));
    }

    #[test]
    fn truncated_body_is_reported_at_end() {
        let mut d = Decoder::new();
        d.extend(b"Content-Length: 10\r\n\r\n{\"a\"");
        assert_eq!(d.next_frame(), None);
        assert_eq!(d.finish(), Some(FrameError::Truncated(26)));
    }

    #[test]
    fn endless_header_is_bounded() {
        let mut d = Decoder::new();
        d.extend(&vec![b'x'; MAX_HEADER + 10]);
        assert_eq!(d.next_frame(), Some(Frame::Invalid(FrameError::HeaderTooLong)));
        assert_eq!(d.next_frame(), None);
        assert!(d.pending() <= HEADER_NAME.len());
        d.extend(&framed("{}"));
        assert_eq!(d.next_frame(), Some(Frame::Body(b"{}".to_vec())));
    }

    #[test]
    fn an_announced_length_is_never_allocated_ahead_of_the_bytes() {
        let mut d = Decoder::new();
        d.extend(b"Content-Length: 60000000\r\n\r\n{\"a\":");
        assert_eq!(d.next_frame(), None);
        assert!(d.buf.capacity() < 4096, "buffer grew to {}", d.buf.capacity());
    }
}
