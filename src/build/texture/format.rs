//! What a texture becomes on the GPU: the profiles, uses and qualities a
//! project names, the block formats they map to, and the one table that picks
//! a format when a target does not name one.
//!
//! Names are the wire names (`"desktop"`, `"astc-6x6"`, ...): settings files
//! and results use exactly these strings, and every parse error lists them.

use std::fmt;

/// A family of GPUs a target builds for: it decides which formats exist.
/// The manifest's own type (`[[build.targets]] profile`), not a copy.
pub use crate::project::format::manifest::Profile;

/// What the pixels mean: decides the transfer function, the mip filter and
/// the channels an encoder spends its bits on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Use {
    /// sRGB colour (albedo, sprites).
    Color,
    /// Linear data stored as colour (e.g. a linear-space tint or flow map).
    Linear,
    /// Tangent-space normal map (XYZ in RGB as `v * 0.5 + 0.5`).
    Normal,
    /// Independent data channels (roughness, AO, height...).
    Mask,
    /// Interface art: sRGB colour, drawn 1:1, so no mips by default.
    Ui,
}

/// Encoder effort: trades cook time for quality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Quality {
    Fast,
    Normal,
    High,
}

/// A GPU storage format. sRGB-ness is not part of it: it follows from the use
/// (see [`default_format`] and [`srgb_for`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GpuFormat {
    /// BC1 (RGB, 4 bpp). The encoder ignores alpha: decoded alpha is always 255.
    Bc1,
    /// BC3 (RGBA, 8 bpp): only ever passed through from a DDS/KTX2 source, never encoded.
    Bc3,
    /// BC4 (one channel, 4 bpp).
    Bc4,
    /// BC5 (two channels, 8 bpp): normal maps store X in R and Y in G.
    Bc5,
    /// BC7 (RGBA, 8 bpp).
    Bc7,
    /// ASTC 4x4 (8 bpp). Normal maps use the `gggr` layout: X in A, Y in G.
    Astc4x4,
    /// ASTC 6x6 (3.56 bpp).
    Astc6x6,
    /// ASTC 8x8 (2 bpp).
    Astc8x8,
    /// Uncompressed RGBA8.
    Rgba8,
}

/// A type with a fixed set of wire names.
pub trait Named: Copy + 'static {
    /// Every value, in the order errors list them.
    const ALL: &'static [Self];
    /// What the parse error calls the thing ("profile", "format", ...).
    const WHAT: &'static str;
    fn name(self) -> &'static str;
}

/// Parses a wire name; the error lists the allowed names.
pub fn parse<T: Named>(s: &str) -> Result<T, String> {
    T::ALL
        .iter()
        .copied()
        .find(|v| v.name() == s)
        .ok_or_else(|| format!("unknown {} {s:?}; allowed: {}", T::WHAT, names(T::ALL)))
}

/// The wire names of `values`, comma-separated (for error messages).
pub fn names<T: Named>(values: &[T]) -> String {
    values.iter().map(|v| v.name()).collect::<Vec<_>>().join(", ")
}

impl Named for Profile {
    const ALL: &'static [Self] = Profile::ALL;
    const WHAT: &'static str = "profile";
    fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Named for Use {
    const ALL: &'static [Self] = &[Use::Color, Use::Linear, Use::Normal, Use::Mask, Use::Ui];
    const WHAT: &'static str = "use";
    fn name(self) -> &'static str {
        match self {
            Use::Color => "color",
            Use::Linear => "linear",
            Use::Normal => "normal",
            Use::Mask => "mask",
            Use::Ui => "ui",
        }
    }
}

impl Named for Quality {
    const ALL: &'static [Self] = &[Quality::Fast, Quality::Normal, Quality::High];
    const WHAT: &'static str = "quality";
    fn name(self) -> &'static str {
        match self {
            Quality::Fast => "fast",
            Quality::Normal => "normal",
            Quality::High => "high",
        }
    }
}

impl Named for GpuFormat {
    const ALL: &'static [Self] = &[
        GpuFormat::Bc1,
        GpuFormat::Bc3,
        GpuFormat::Bc4,
        GpuFormat::Bc5,
        GpuFormat::Bc7,
        GpuFormat::Astc4x4,
        GpuFormat::Astc6x6,
        GpuFormat::Astc8x8,
        GpuFormat::Rgba8,
    ];
    const WHAT: &'static str = "format";
    fn name(self) -> &'static str {
        match self {
            GpuFormat::Bc1 => "bc1",
            GpuFormat::Bc3 => "bc3",
            GpuFormat::Bc4 => "bc4",
            GpuFormat::Bc5 => "bc5",
            GpuFormat::Bc7 => "bc7",
            GpuFormat::Astc4x4 => "astc-4x4",
            GpuFormat::Astc6x6 => "astc-6x6",
            GpuFormat::Astc8x8 => "astc-8x8",
            GpuFormat::Rgba8 => "rgba8",
        }
    }
}

macro_rules! display_by_name {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    )*};
}
display_by_name!(Profile, Use, Quality, GpuFormat);

impl GpuFormat {
    /// Texel block width and height (1x1 for RGBA8).
    pub fn block_size(self) -> (u32, u32) {
        match self {
            GpuFormat::Bc1 | GpuFormat::Bc3 | GpuFormat::Bc4 | GpuFormat::Bc5 | GpuFormat::Bc7 => (4, 4),
            GpuFormat::Astc4x4 => (4, 4),
            GpuFormat::Astc6x6 => (6, 6),
            GpuFormat::Astc8x8 => (8, 8),
            GpuFormat::Rgba8 => (1, 1),
        }
    }

    /// Bytes per block (per texel for RGBA8).
    pub fn block_bytes(self) -> u32 {
        match self {
            GpuFormat::Bc1 | GpuFormat::Bc4 => 8,
            GpuFormat::Rgba8 => 4,
            _ => 16,
        }
    }

    /// Bytes of one level of `width` x `height` texels: partial edge blocks count whole.
    pub fn level_bytes(self, width: u32, height: u32) -> u64 {
        let (bw, bh) = self.block_size();
        u64::from(width.div_ceil(bw)) * u64::from(height.div_ceil(bh)) * u64::from(self.block_bytes())
    }

    /// Whether Vulkan has an sRGB variant (BC4 and BC5 are data-only).
    pub fn has_srgb(self) -> bool {
        !matches!(self, GpuFormat::Bc4 | GpuFormat::Bc5)
    }

    /// The VkFormat; `srgb` is ignored where no sRGB variant exists. BC1 is
    /// the RGB variant because the encoder writes no punch-through alpha.
    pub fn vk_format(self, srgb: bool) -> u32 {
        let (unorm, srgb_vk) = match self {
            GpuFormat::Bc1 => (131, 132),
            GpuFormat::Bc3 => (137, 138),
            GpuFormat::Bc4 => (139, 139),
            GpuFormat::Bc5 => (141, 141),
            GpuFormat::Bc7 => (145, 146),
            GpuFormat::Astc4x4 => (157, 158),
            GpuFormat::Astc6x6 => (165, 166),
            GpuFormat::Astc8x8 => (171, 172),
            GpuFormat::Rgba8 => (37, 43),
        };
        if srgb {
            srgb_vk
        } else {
            unorm
        }
    }

    /// The format and sRGB-ness of a VkFormat we can carry, for passthrough
    /// sources (BC1 with alpha, 133/134, is carried as it is stored).
    pub fn from_vk_format(vk: u32) -> Option<(GpuFormat, bool)> {
        let found = match vk {
            131 | 133 => (GpuFormat::Bc1, false),
            132 | 134 => (GpuFormat::Bc1, true),
            137 => (GpuFormat::Bc3, false),
            138 => (GpuFormat::Bc3, true),
            139 => (GpuFormat::Bc4, false),
            141 => (GpuFormat::Bc5, false),
            145 => (GpuFormat::Bc7, false),
            146 => (GpuFormat::Bc7, true),
            157 => (GpuFormat::Astc4x4, false),
            158 => (GpuFormat::Astc4x4, true),
            165 => (GpuFormat::Astc6x6, false),
            166 => (GpuFormat::Astc6x6, true),
            171 => (GpuFormat::Astc8x8, false),
            172 => (GpuFormat::Astc8x8, true),
            37 => (GpuFormat::Rgba8, false),
            43 => (GpuFormat::Rgba8, true),
            _ => return None,
        };
        Some(found)
    }

    pub fn is_astc(self) -> bool {
        matches!(self, GpuFormat::Astc4x4 | GpuFormat::Astc6x6 | GpuFormat::Astc8x8)
    }
}

/// Whether a texture of this use is stored with the sRGB transfer in `format`.
pub fn srgb_for(use_: Use, format: GpuFormat) -> bool {
    format.has_srgb() && matches!(use_, Use::Color | Use::Ui)
}

/// The format chosen when a target names none. `channels` is the source's
/// channel count (1 grey, 2 grey+alpha, 3 RGB, 4 RGBA); a mask of one or two
/// channels gets a one- or two-channel format, a wider mask BC7/ASTC 4x4.
/// `has_alpha` is not consulted yet: every default format keeps alpha (BC1,
/// which does not, is used only when a target asks for it).
pub fn default_format(profile: Profile, use_: Use, has_alpha: bool, channels: u8) -> (GpuFormat, bool) {
    let _ = has_alpha;
    let format = match profile {
        Profile::Desktop => match use_ {
            Use::Color | Use::Linear | Use::Ui => GpuFormat::Bc7,
            Use::Normal => GpuFormat::Bc5,
            Use::Mask => match channels {
                1 => GpuFormat::Bc4,
                2 => GpuFormat::Bc5,
                _ => GpuFormat::Bc7,
            },
        },
        Profile::Mobile => match use_ {
            Use::Color | Use::Linear => GpuFormat::Astc6x6,
            Use::Ui | Use::Normal | Use::Mask => GpuFormat::Astc4x4,
        },
        Profile::Uncompressed => GpuFormat::Rgba8,
    };
    (format, srgb_for(use_, format))
}

/// The formats a target of `profile` may name in its `format` override.
pub fn allowed_formats(profile: Profile) -> &'static [GpuFormat] {
    match profile {
        Profile::Desktop => &[GpuFormat::Bc1, GpuFormat::Bc4, GpuFormat::Bc5, GpuFormat::Bc7, GpuFormat::Rgba8],
        Profile::Mobile => &[GpuFormat::Astc4x4, GpuFormat::Astc6x6, GpuFormat::Astc8x8, GpuFormat::Rgba8],
        Profile::Uncompressed => &[GpuFormat::Rgba8],
    }
}

/// The formats we can encode (every format but the passthrough-only BC3).
pub const ENCODABLE: &[GpuFormat] = &[
    GpuFormat::Bc1,
    GpuFormat::Bc4,
    GpuFormat::Bc5,
    GpuFormat::Bc7,
    GpuFormat::Astc4x4,
    GpuFormat::Astc6x6,
    GpuFormat::Astc8x8,
    GpuFormat::Rgba8,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_errors_list_the_allowed_values() {
        for &f in GpuFormat::ALL {
            assert_eq!(parse::<GpuFormat>(f.name()), Ok(f));
        }
        let err = parse::<Quality>("best").unwrap_err();
        assert!(err.contains("fast, normal, high"), "{err}");
    }

    #[test]
    fn default_table() {
        use GpuFormat::*;
        let d = |p, u, ch| default_format(p, u, false, ch);
        assert_eq!(d(Profile::Desktop, Use::Color, 4), (Bc7, true));
        assert_eq!(d(Profile::Desktop, Use::Linear, 4), (Bc7, false));
        assert_eq!(d(Profile::Desktop, Use::Normal, 3), (Bc5, false));
        assert_eq!(d(Profile::Desktop, Use::Mask, 1), (Bc4, false));
        assert_eq!(d(Profile::Desktop, Use::Mask, 2), (Bc5, false));
        assert_eq!(d(Profile::Desktop, Use::Ui, 4), (Bc7, true));
        assert_eq!(d(Profile::Mobile, Use::Color, 4), (Astc6x6, true));
        assert_eq!(d(Profile::Mobile, Use::Ui, 4), (Astc4x4, true));
        assert_eq!(d(Profile::Mobile, Use::Normal, 3), (Astc4x4, false));
        assert_eq!(d(Profile::Mobile, Use::Mask, 1), (Astc4x4, false));
        assert_eq!(d(Profile::Mobile, Use::Linear, 3), (Astc6x6, false));
        assert_eq!(d(Profile::Uncompressed, Use::Color, 4), (Rgba8, true));
        assert_eq!(d(Profile::Uncompressed, Use::Normal, 3), (Rgba8, false));
    }

    #[test]
    fn level_bytes_count_partial_blocks() {
        assert_eq!(GpuFormat::Bc7.level_bytes(300, 200), 75 * 50 * 16);
        assert_eq!(GpuFormat::Bc1.level_bytes(1, 1), 8);
        assert_eq!(GpuFormat::Astc6x6.level_bytes(37, 25), 7 * 5 * 16);
        assert_eq!(GpuFormat::Rgba8.level_bytes(3, 2), 24);
    }

    #[test]
    fn vk_formats_map_back() {
        for &f in GpuFormat::ALL {
            for srgb in [false, true] {
                let srgb = srgb && f.has_srgb();
                assert_eq!(GpuFormat::from_vk_format(f.vk_format(srgb)), Some((f, srgb)));
            }
        }
    }
}
