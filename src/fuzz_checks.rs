//! The properties that the fuzz targets (`fuzz/`) and the stable property
//! tests (`tests/properties.rs`) check on everything that decodes client
//! input. One copy of each check, so that a crash the fuzzer finds replays
//! under `cargo test` from `fuzz/regressions/`. Built only with `test-hooks`.

use serde_json::value::RawValue;

use crate::protocol::{Request, METHODS};
use crate::transport::codec::{Decoder, Frame, MAX_BODY, MAX_HEADER};
use crate::transport::message::code;

/// Framing: any bytes, delivered in any chunking, decode to the same frames
/// as when delivered at once; the decoder never panics and never holds more
/// than one header block and one body beyond the latest chunk.
///
/// The first byte of `data` chooses the chunk size; the rest is the stream.
pub fn framing(data: &[u8]) {
    let Some((&seed, input)) = data.split_first() else { return };
    let chunk = usize::from(seed % 64) + 1;
    let whole = decode_all(input, input.len().max(1));
    let chunked = decode_all(input, chunk);
    assert_eq!(whole, chunked, "frames depend on how the bytes arrive (chunks of {chunk})");
}

/// Frames (and the end-of-input report) of `input` fed `chunk` bytes at a time.
pub fn decode_all(input: &[u8], chunk: usize) -> Vec<Frame> {
    let mut d = Decoder::new();
    let mut out = Vec::new();
    for piece in input.chunks(chunk) {
        d.extend(piece);
        while let Some(f) = d.next_frame() {
            out.push(f);
        }
        assert!(d.pending() <= MAX_HEADER + 4 + MAX_BODY + piece.len(), "the decoder holds {} bytes", d.pending());
    }
    if let Some(e) = d.finish() {
        out.push(Frame::Invalid(e));
    }
    out
}

/// Params: any JSON as the params of any method decodes to the typed
/// request or to -32602 naming a field; never a panic, never another code.
///
/// The first byte of `data` chooses the method; the rest is the params text.
pub fn params(data: &[u8]) {
    let Some((&m, rest)) = data.split_first() else { return };
    let method = METHODS[usize::from(m) % METHODS.len()].name;
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let Ok(raw) = serde_json::from_str::<Box<RawValue>>(text) else { return };
    params_of(method, &raw);
}

/// The check of [`params`] for one method and one params value.
pub fn params_of(method: &str, raw: &RawValue) {
    if let Err(e) = Request::decode(method, Some(raw)) {
        assert_eq!(e.code, code::INVALID_PARAMS, "{method} {}: {e:?}", raw.get());
        let field = e.data.as_ref().and_then(|d| d.get("field")).and_then(|f| f.as_str());
        assert!(field.is_some_and(|f| !f.is_empty()), "{method} {}: the error names no field: {e:?}", raw.get());
    }
}
