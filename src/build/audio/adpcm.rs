//! IMA ADPCM (the IMA/DVI algorithm in Microsoft's WAV block layout,
//! format tag 0x0011): 4 bits a sample, what Godot and many console
//! libraries play without a codec.
//!
//! Each block starts, per channel, with the exact sample and the step index
//! (so a block decodes on its own), then the rest of the block's samples as
//! nibbles, eight at a time per channel. The encoder picks, at each sample,
//! the nibble the decoder will turn into the closest value, tracking the
//! decoder's own state, so errors do not accumulate.

use super::wav::{riff, to_i16, Fmt};

const STEPS: [i32; 89] = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66, 73, 80, 88, 97, 107,
    118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449, 494, 544, 598, 658, 724, 796, 876, 963,
    1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272, 2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894,
    6484, 7132, 7845, 8630, 9493, 10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794,
    32767,
];
const INDEX_ADJUST: [i32; 8] = [-1, -1, -1, -1, 2, 4, 6, 8];

/// Bytes per channel in a block: 1,017 samples each.
const BLOCK_PER_CHANNEL: usize = 512;

/// Samples per channel in one block.
pub fn samples_per_block() -> usize {
    (BLOCK_PER_CHANNEL - 4) * 2 + 1
}

/// The decoder's state for one channel.
#[derive(Clone, Copy, Default)]
struct State {
    predictor: i32,
    index: i32,
}

impl State {
    /// What the decoder does with `nibble`: its new predictor.
    fn decode(&mut self, nibble: u8) -> i32 {
        let step = STEPS[self.index as usize];
        let mut diff = step >> 3;
        if nibble & 4 != 0 {
            diff += step;
        }
        if nibble & 2 != 0 {
            diff += step >> 1;
        }
        if nibble & 1 != 0 {
            diff += step >> 2;
        }
        if nibble & 8 != 0 {
            self.predictor -= diff;
        } else {
            self.predictor += diff;
        }
        self.predictor = self.predictor.clamp(-32768, 32767);
        self.index = (self.index + INDEX_ADJUST[usize::from(nibble & 7)]).clamp(0, 88);
        self.predictor
    }

    /// The nibble whose decoded value is closest to `sample` (ties to the
    /// smaller magnitude), applied.
    fn encode(&mut self, sample: i32) -> u8 {
        let mut best = (u32::MAX, 0u8);
        for nibble in 0..16u8 {
            let mut trial = *self;
            let err = (trial.decode(nibble) - sample).unsigned_abs();
            if err < best.0 {
                best = (err, nibble);
            }
        }
        self.decode(best.1);
        best.1
    }
}

/// The sound as an IMA ADPCM WAV file. The last block is filled with
/// silence; the `fact` chunk holds the true frame count.
pub fn encode_wav(planes: &[Vec<f32>], rate: u32) -> Vec<u8> {
    let channels = planes.len();
    let frames = planes.first().map_or(0, Vec::len);
    let per_block = samples_per_block();
    let sample = |c: usize, i: usize| -> i32 { planes[c].get(i).map_or(0, |s| i32::from(to_i16(*s))) };
    let mut states = vec![State::default(); channels];
    let blocks = frames.div_ceil(per_block);
    let mut data = Vec::with_capacity(blocks * BLOCK_PER_CHANNEL * channels);
    for b in 0..blocks {
        let first = b * per_block;
        // The header: sample 0 exact, and the step index carried over.
        for (c, state) in states.iter_mut().enumerate() {
            state.predictor = sample(c, first);
            data.extend_from_slice(&(state.predictor as i16).to_le_bytes());
            data.push(state.index as u8);
            data.push(0);
        }
        // Then groups of eight samples, channel by channel. The last block is
        // whole, silence after the sound: readers that take whole blocks
        // only (symphonia's) would drop a short one; `fact` says where the
        // sound ends, for those that read it.
        for group in 0..(per_block - 1) / 8 {
            for (c, state) in states.iter_mut().enumerate() {
                let start = first + 1 + group * 8;
                for pair in 0..4 {
                    let lo = state.encode(sample(c, start + pair * 2));
                    let hi = state.encode(sample(c, start + pair * 2 + 1));
                    data.push(lo | (hi << 4));
                }
            }
        }
    }
    let align = (BLOCK_PER_CHANNEL * channels) as u16;
    let byte_rate = (u64::from(rate) * u64::from(align) / per_block as u64) as u32;
    let extra = (per_block as u16).to_le_bytes();
    let fmt = Fmt { tag: 0x11, channels: channels as u16, rate, byte_rate, block_align: align, bits: 4, extra: &extra };
    riff(&fmt, Some(frames as u32), &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_layout_as_the_format_says() {
        let tone: Vec<f32> = (0..3000).map(|i| (i as f32 * 0.05).sin() * 0.5).collect();
        let wav = encode_wav(&[tone.clone(), tone], 22_050);
        // RIFF, fmt (20 bytes: tag 0x11, 2 channels, block align 1024, 4 bits, 1017 samples a block), fact, data.
        assert_eq!(&wav[20..22], &0x11u16.to_le_bytes());
        assert_eq!(&wav[22..24], &2u16.to_le_bytes());
        assert_eq!(&wav[32..34], &1024u16.to_le_bytes());
        assert_eq!(&wav[34..36], &4u16.to_le_bytes());
        assert_eq!(&wav[38..40], &1017u16.to_le_bytes());
        assert_eq!(&wav[40..44], b"fact");
        assert_eq!(&wav[48..52], &3000u32.to_le_bytes());
        assert_eq!(&wav[52..56], b"data");
        assert_eq!(u32::from_le_bytes(wav[56..60].try_into().unwrap()), 3 * 1024, "three whole blocks");
    }
}
