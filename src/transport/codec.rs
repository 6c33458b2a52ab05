//! LSP base-protocol framing: `Content-Length: N\r\n\r\n` then N bytes.
//!
//! The decoder never gives up on a stream. A header block ends at its first
//! blank line, whatever its line endings, so that a malformed block is still
//! one block. A bad block is reported once, and the decoder then skips from
//! its end to the next `Content-Length:`: the body a bad block announced (or
//! failed to announce) cannot be trusted, and reading it as the next header
//! block would desynchronise every message after it. A block over
//! [`MAX_HEADER`] is reported at once and its end is then looked for without
//! buffering it. A length over [`MAX_BODY`] is reported without allocating
//! it. It knows nothing of JSON or of methods: that is the dispatcher's
//! business.

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
    #[error("two Content-Length headers disagree ({0}, then {1})")]
    ConflictingLengths(u64, u64),
    #[error("header line ends with a bare LF; header lines must end with CRLF")]
    BareLineFeed,
    #[error("header line ends with a bare CR; header lines must end with CRLF")]
    BareCarriageReturn,
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
    skip: Skip,
}

/// What the decoder is discarding, after a bad header block. Each state keeps
/// at most a header name's worth of bytes, so buffering stays bounded.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Nothing: decoding.
    #[default]
    Nothing,
    /// The rest of a header line that ran past [`MAX_HEADER`], up to its line
    /// ending. A `Content-Length:` met first ends the skip: a header name
    /// cannot start mid-line, so it is a message sent after junk that never
    /// ended its line.
    OverlongLine,
    /// The rest of an overlong header block, up to its blank line.
    RestOfBlock(LinePos),
    /// Whatever followed a bad header block, up to the next `Content-Length:`.
    ToHeader,
}

/// Where [`Skip::RestOfBlock`] is in a line, carried from one chunk to the
/// next, so that it finds the blank line [`read_header`] would find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinePos {
    /// In a line's text.
    Text,
    /// Just after a CR that ends a line's text (a CRLF if an LF follows).
    Cr,
    /// At the start of a line.
    LineStart,
    /// Just after a CR that starts a blank line.
    BlankCr,
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
        // What is being skipped was already reported.
        if self.skip != Skip::Nothing || rest.iter().all(|b| b.is_ascii_whitespace()) {
            None
        } else {
            Some(FrameError::Truncated(n))
        }
    }

    /// The next frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            let avail = &self.buf[self.start..];
            match self.skip {
                Skip::Nothing => {}
                Skip::OverlongLine => {
                    let eol = avail.iter().position(|&b| b == b'\r' || b == b'\n');
                    match (find_header_start(&avail[..eol.unwrap_or(avail.len())]), eol) {
                        (Some(i), _) => {
                            self.start += i;
                            self.skip = Skip::Nothing;
                        }
                        (None, Some(i)) => {
                            self.start += i;
                            self.skip = Skip::RestOfBlock(LinePos::Text);
                        }
                        (None, None) => {
                            self.keep_tail(HEADER_NAME.len() - 1);
                            return None;
                        }
                    }
                    continue;
                }
                Skip::RestOfBlock(mut pos) => {
                    match end_of_block(&mut pos, avail) {
                        Some(i) => {
                            self.start += i;
                            self.skip = Skip::ToHeader;
                        }
                        None => {
                            self.start = self.buf.len();
                            self.skip = Skip::RestOfBlock(pos);
                            return None;
                        }
                    }
                    continue;
                }
                Skip::ToHeader => match find_header_start(avail) {
                    Some(i) => {
                        self.start += i;
                        self.skip = Skip::Nothing;
                        continue;
                    }
                    None => {
                        // Keep a tail that might be the beginning of a header name.
                        self.keep_tail(HEADER_NAME.len());
                        return None;
                    }
                },
            }
            // Tolerate blank lines between messages.
            let blank = avail.iter().take_while(|b| matches!(b, b'\r' | b'\n')).count();
            if blank > 0 {
                self.start += blank;
                continue;
            }
            if avail.is_empty() {
                return None;
            }
            match read_header(avail) {
                Header::Incomplete => return None,
                Header::Good { end, len } => {
                    let body_start = self.start + end;
                    if self.buf.len() - body_start < len {
                        return None;
                    }
                    let body = self.buf[body_start..body_start + len].to_vec();
                    self.start = body_start + len;
                    return Some(Frame::Body(body));
                }
                Header::Bad { end, error } => {
                    // Whatever follows a bad block (a body of unknown length,
                    // or nothing) is skipped up to the next header.
                    self.start += end;
                    self.skip = Skip::ToHeader;
                    return Some(Frame::Invalid(error));
                }
                Header::TooLong { end } => {
                    self.start += end;
                    self.skip = Skip::OverlongLine;
                    return Some(Frame::Invalid(FrameError::HeaderTooLong));
                }
            }
        }
    }

    /// Discards what is buffered but the last `n` bytes.
    fn keep_tail(&mut self, n: usize) {
        self.start = self.buf.len() - n.min(self.pending());
    }
}

/// Where the blank line that ends a header block ends in `bytes`, if it does,
/// going on from `pos`; the same line endings as [`read_header`].
fn end_of_block(pos: &mut LinePos, bytes: &[u8]) -> Option<usize> {
    for (i, &b) in bytes.iter().enumerate() {
        *pos = match (*pos, b) {
            (LinePos::BlankCr, b'\n') | (LinePos::LineStart, b'\n') => return Some(i + 1),
            // A bare CR was the blank line.
            (LinePos::BlankCr, _) => return Some(i),
            (LinePos::LineStart | LinePos::Cr, b'\r') => LinePos::BlankCr,
            (LinePos::Text, b'\r') => LinePos::Cr,
            (LinePos::Text | LinePos::Cr, b'\n') => LinePos::LineStart,
            _ => LinePos::Text,
        };
    }
    None
}

const HEADER_NAME: &[u8] = b"content-length:";

/// A header block at the start of the undecoded bytes.
#[derive(Debug)]
enum Header {
    /// Its end has not arrived yet.
    Incomplete,
    /// Valid: `end` bytes of header (blank line included), then a body of `len` bytes.
    Good { end: usize, len: usize },
    /// Invalid: decoding resumes `end` bytes on, at the end of the block.
    Bad { end: usize, error: FrameError },
    /// No blank line within [`MAX_HEADER`] bytes: its end is not waited for
    /// (that would buffer without bound); decoding resumes `end` bytes on,
    /// inside the line that ran over.
    TooLong { end: usize },
}

/// Reads the header block at the start of `avail`, which does not start with
/// a line ending. The block ends at the first blank line; a line ends at CRLF,
/// a bare LF or a bare CR, so that a block with the wrong line endings is
/// recognised as one (bad) block instead of running into the next message.
/// The first problem in byte order is the one reported.
///
/// Every decision depends only on bytes already seen, never on how many have
/// arrived, so that frames do not depend on the chunking.
fn read_header(avail: &[u8]) -> Header {
    // Past what was looked at, and past the start of the line that ran over.
    let too_long = |line: usize| Header::TooLong { end: MAX_HEADER.max(line + 1) };
    let mut line = 0;
    let mut length = None;
    let mut error = None;
    loop {
        let Some(eol) = avail[line..].iter().position(|&b| b == b'\r' || b == b'\n').map(|i| line + i) else {
            return if line < avail.len() && avail.len() > MAX_HEADER { too_long(line) } else { Header::Incomplete };
        };
        if eol > line && eol > MAX_HEADER {
            return too_long(line);
        }
        let (eol_len, bare) = match (avail[eol], avail.get(eol + 1)) {
            (b'\n', _) => (1, Some(FrameError::BareLineFeed)),
            (_, Some(b'\n')) => (2, None),
            (_, Some(_)) => (1, Some(FrameError::BareCarriageReturn)),
            // A CR whose next byte has not arrived: it may start a CRLF.
            (_, None) => return Header::Incomplete,
        };
        if eol > line && error.is_none() {
            error = parse_line(&avail[line..eol], &mut length).err();
        }
        error = error.or(bare);
        let next = eol + eol_len;
        if eol == line {
            return match (error, length) {
                (Some(error), _) => Header::Bad { end: next, error },
                // At most MAX_BODY, so it fits.
                (None, Some(len)) => Header::Good { end: next, len: len as usize },
                (None, None) => Header::Bad { end: next, error: FrameError::MissingLength },
            };
        }
        line = next;
    }
}

/// Checks one header line (without its line ending), recording a
/// Content-Length in `length`. Other headers (Content-Type) are allowed and
/// ignored, as in LSP.
fn parse_line(line: &[u8], length: &mut Option<u64>) -> Result<(), FrameError> {
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
        match *length {
            // Equal duplicates are harmless; unequal ones leave the body's
            // length unknowable.
            Some(first) if first != n => return Err(FrameError::ConflictingLengths(first, n)),
            _ => *length = Some(n),
        }
    }
    Ok(())
}

/// Position of the next `Content-Length:` (any case). It need not start a
/// line: after a bad frame, the next header usually follows the unread body
/// directly.
fn find_header_start(hay: &[u8]) -> Option<usize> {
    hay.windows(HEADER_NAME.len()).position(|w| w.eq_ignore_ascii_case(HEADER_NAME))
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

    /// Every frame of `input` fed `chunk` bytes at a time, then `finish`.
    fn frames_in_chunks(input: &[u8], chunk: usize) -> Vec<Frame> {
        let mut d = Decoder::new();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            d.extend(piece);
            while let Some(f) = d.next_frame() {
                out.push(f);
            }
        }
        out.extend(d.finish().map(Frame::Invalid));
        out
    }

    /// `bad` is reported once as `error`, and the three valid frames behind
    /// it all decode, whether the bytes arrive at once or one at a time.
    fn recovers(bad: &[u8], error: FrameError) {
        let bodies = [r#"{"id":1}"#, r#"{"id":2}"#, r#"{"id":3}"#];
        let mut input = bad.to_vec();
        for b in bodies {
            input.extend(framed(b));
        }
        let mut want = vec![Frame::Invalid(error)];
        want.extend(bodies.map(|b| Frame::Body(b.as_bytes().to_vec())));
        let shown = String::from_utf8_lossy(bad);
        assert_eq!(frames_in_chunks(&input, input.len()), want, "at once: {shown:?}");
        assert_eq!(frames_in_chunks(&input, 1), want, "byte by byte: {shown:?}");
    }

    const BODY: &str = r#"{"jsonrpc":"2.0","id":9,"method":"x"}"#;

    #[test]
    fn a_block_without_length_but_with_a_body_is_skipped_whole() {
        recovers(format!("Content-Type: x\r\n\r\n{BODY}").as_bytes(), FrameError::MissingLength);
        // A typo of the name: the body it meant to announce is not read as
        // the next header block.
        recovers(format!("Content-Lenght: {}\r\n\r\n{BODY}", BODY.len()).as_bytes(), FrameError::MissingLength);
        recovers(b"Content-Type: x\r\n\r\n", FrameError::MissingLength);
    }

    #[test]
    fn a_line_without_a_colon_is_skipped_with_its_body() {
        let bad = format!("Content-Length {}\r\n\r\n{BODY}", BODY.len());
        recovers(bad.as_bytes(), FrameError::BadHeaderLine(format!("Content-Length {}", BODY.len())));
        let bad = format!("Content-Length: {}\r\ngarbage\r\n\r\n{BODY}", BODY.len());
        recovers(bad.as_bytes(), FrameError::BadHeaderLine("garbage".into()));
    }

    #[test]
    fn bad_and_too_large_lengths_are_skipped_with_their_body() {
        recovers(format!("Content-Length: abc\r\n\r\n{BODY}").as_bytes(), FrameError::BadLength("abc".into()));
        recovers(format!("Content-Length: 67108865\r\n\r\n{BODY}").as_bytes(), FrameError::TooLarge(67_108_865));
    }

    #[test]
    fn lengths_that_disagree_are_an_error_in_either_order() {
        let bad = format!("Content-Length: {}\r\nContent-Length: 2\r\n\r\n{BODY}", BODY.len());
        recovers(bad.as_bytes(), FrameError::ConflictingLengths(BODY.len() as u64, 2));
        let bad = format!("content-length: 2\r\nContent-Length: {}\r\n\r\n{BODY}", BODY.len());
        recovers(bad.as_bytes(), FrameError::ConflictingLengths(2, BODY.len() as u64));
        // Equal duplicates say one thing, and are read.
        let dup = [b"Content-Length: 2\r\ncontent-length: 2\r\n\r\n{}".to_vec(), framed("[]")].concat();
        assert_eq!(frames(&dup), vec![Frame::Body(b"{}".to_vec()), Frame::Body(b"[]".to_vec())]);
    }

    #[test]
    fn line_endings_other_than_crlf_end_their_own_block() {
        recovers(format!("Content-Length: {}\n\n{BODY}", BODY.len()).as_bytes(), FrameError::BareLineFeed);
        recovers(format!("Content-Length: {}\r\n\n{BODY}", BODY.len()).as_bytes(), FrameError::BareLineFeed);
        recovers(format!("Content-Length: {}\n\r\n{BODY}", BODY.len()).as_bytes(), FrameError::BareLineFeed);
        recovers(b"Content-Type: x\nContent-Length: 2\r\n\r\n{}", FrameError::BareLineFeed);
        recovers(format!("Content-Length: {}\r\r{BODY}", BODY.len()).as_bytes(), FrameError::BareCarriageReturn);
        recovers(format!("Content-Length: {}\r\r\n{BODY}", BODY.len()).as_bytes(), FrameError::BareCarriageReturn);
        // The first problem in the block is the one reported.
        recovers(b"Content-Lenght: 2\n\n{}", FrameError::BareLineFeed);
    }

    #[test]
    fn an_overlong_block_with_a_body_is_skipped_to_its_end() {
        let pad = [b"X-Pad: ".to_vec(), vec![b'a'; MAX_HEADER]].concat();
        for ending in ["\r\n\r\n", "\n\n", "\r\r", "\r\n\n", "\r\r\n"] {
            recovers(&[&pad, ending.as_bytes(), BODY.as_bytes()].concat(), FrameError::HeaderTooLong);
        }
        // Its later lines, a Content-Length among them, are its own.
        let rest = format!("\r\nContent-Length: {}\r\nX: {}\r\n\r\n{BODY}", BODY.len(), "b".repeat(MAX_HEADER));
        recovers(&[&pad, rest.as_bytes()].concat(), FrameError::HeaderTooLong);
        // A line that never ends is junk: a message right behind it is read.
        recovers(&pad, FrameError::HeaderTooLong);
        // A block of exactly the limit is still read.
        let pad = MAX_HEADER - "Content-Length: 2\r\nX: ".len();
        let ok = format!("Content-Length: 2\r\nX: {}\r\n\r\n{{}}", "a".repeat(pad));
        assert_eq!(frames(ok.as_bytes()), vec![Frame::Body(b"{}".to_vec())]);
    }

    #[test]
    fn skipping_a_bad_blocks_body_buffers_nothing() {
        let mut d = Decoder::new();
        d.extend(b"Content-Lenght: 1000000\r\n\r\n");
        assert_eq!(d.next_frame(), Some(Frame::Invalid(FrameError::MissingLength)));
        for _ in 0..100 {
            d.extend(&[b'x'; 10_000]);
            assert_eq!(d.next_frame(), None);
            assert!(d.pending() <= HEADER_NAME.len(), "holds {}", d.pending());
        }
        d.extend(&framed("{}"));
        assert_eq!(d.next_frame(), Some(Frame::Body(b"{}".to_vec())));
        assert_eq!(d.finish(), None);
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

        // An overlong block that goes on line after line.
        d.extend(&vec![b'x'; MAX_HEADER + 10]);
        assert_eq!(d.next_frame(), Some(Frame::Invalid(FrameError::HeaderTooLong)));
        for _ in 0..100 {
            d.extend(&[b"\r\nX: ".as_slice(), &[b'y'; 10_000]].concat());
            assert_eq!(d.next_frame(), None);
            assert!(d.pending() <= HEADER_NAME.len(), "holds {}", d.pending());
        }
        d.extend(&[b"\r\n\r\n{}".as_slice(), &framed("[]")].concat());
        assert_eq!(d.next_frame(), Some(Frame::Body(b"[]".to_vec())));
        assert_eq!(d.finish(), None);
    }

    #[test]
    fn an_announced_length_is_never_allocated_ahead_of_the_bytes() {
        let mut d = Decoder::new();
        d.extend(b"Content-Length: 60000000\r\n\r\n{\"a\":");
        assert_eq!(d.next_frame(), None);
        assert!(d.buf.capacity() < 4096, "buffer grew to {}", d.buf.capacity());
    }
}
