//! WAV files the packer writes: 16-bit PCM, and the RIFF framing IMA ADPCM
//! shares with it.

/// A sample in -1..1 as 16-bit PCM: rounded, clipped at full scale.
pub fn to_i16(s: f32) -> i16 {
    (s * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

/// A WAV file's `fmt ` chunk.
pub struct Fmt<'a> {
    /// The format tag: 1 PCM, 0x11 IMA ADPCM.
    pub tag: u16,
    pub channels: u16,
    pub rate: u32,
    pub byte_rate: u32,
    pub block_align: u16,
    pub bits: u16,
    /// The extension after `cbSize` (empty: none, and no `cbSize`).
    pub extra: &'a [u8],
}

/// A RIFF WAVE file: the `fmt ` chunk, a `fact` chunk with the frame count
/// when `fact` is given (compressed formats need it), then `data`.
/// `data` must be under 4 GiB, as RIFF's sizes are: [`super::cook`] bounds
/// a sound to far less.
pub fn riff(fmt: &Fmt<'_>, fact: Option<u32>, data: &[u8]) -> Vec<u8> {
    let fmt_len = 16 + if fmt.extra.is_empty() { 0 } else { 2 + fmt.extra.len() };
    let fact_len = if fact.is_some() { 12 } else { 0 };
    let pad = data.len() % 2;
    let total = 4 + (8 + fmt_len) + fact_len + 8 + data.len() + pad;
    let mut out = Vec::with_capacity(8 + total);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&(fmt_len as u32).to_le_bytes());
    out.extend_from_slice(&fmt.tag.to_le_bytes());
    out.extend_from_slice(&fmt.channels.to_le_bytes());
    out.extend_from_slice(&fmt.rate.to_le_bytes());
    out.extend_from_slice(&fmt.byte_rate.to_le_bytes());
    out.extend_from_slice(&fmt.block_align.to_le_bytes());
    out.extend_from_slice(&fmt.bits.to_le_bytes());
    if !fmt.extra.is_empty() {
        out.extend_from_slice(&(fmt.extra.len() as u16).to_le_bytes());
        out.extend_from_slice(fmt.extra);
    }
    if let Some(frames) = fact {
        out.extend_from_slice(b"fact");
        out.extend_from_slice(&4u32.to_le_bytes());
        out.extend_from_slice(&frames.to_le_bytes());
    }
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out.resize(out.len() + pad, 0);
    out
}

/// 16-bit PCM, interleaved.
pub fn pcm16(planes: &[Vec<f32>], rate: u32) -> Vec<u8> {
    let channels = planes.len();
    let frames = planes.first().map_or(0, Vec::len);
    let mut data = Vec::with_capacity(frames * channels * 2);
    for i in 0..frames {
        for p in planes {
            data.extend_from_slice(&to_i16(p[i]).to_le_bytes());
        }
    }
    let align = (channels * 2) as u16;
    let fmt = Fmt {
        tag: 1,
        channels: channels as u16,
        rate,
        byte_rate: rate * u32::from(align),
        block_align: align,
        bits: 16,
        extra: &[],
    };
    riff(&fmt, None, &data)
}
