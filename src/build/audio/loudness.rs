//! Loudness as a mixing engineer reads it: integrated loudness (EBU R128 /
//! ITU-R BS.1770-4, gated, in LUFS) and true peak (4x oversampled, in
//! dBTP), measured by the `ebur128` crate on the decoded sound.

use ebur128::{EbuR128, Mode};

/// A sound's loudness. `None` where BS.1770 gives no figure: integrated
/// loudness needs one 400 ms block above the -70 LUFS gate (a click, or
/// silence, has none); true peak of pure silence is minus infinity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
}

/// Measures a sound fed to it block by block.
pub struct Meter {
    meter: EbuR128,
    channels: u32,
}

impl Meter {
    /// `channels` in the order WAV and the decoders give them (L, R, C,
    /// LFE, Ls, Rs…): the meter's default map weighs them as BS.1770 says,
    /// the LFE not at all.
    pub fn new(channels: u16, rate: u32) -> Result<Meter, String> {
        let mut meter = EbuR128::new(u32::from(channels), rate, Mode::I | Mode::TRUE_PEAK)
            .map_err(|e| format!("the loudness meter cannot take {channels} channels at {rate} Hz: {e:?}"))?;
        // The meter's own map knows six channels; 6.1 and 7.1 as WAV orders
        // them (back centre, or back pair, then the side pair at 90 degrees).
        use ebur128::Channel::*;
        let map: Option<&[ebur128::Channel]> = match channels {
            7 => Some(&[Left, Right, Center, Unused, Mp180, Mp090, Mm090]),
            8 => Some(&[Left, Right, Center, Unused, Mp135, Mm135, Mp090, Mm090]),
            _ => None,
        };
        if let Some(map) = map {
            meter.set_channel_map(map).map_err(|e| format!("the loudness meter refused the channel map: {e:?}"))?;
        }
        Ok(Meter { meter, channels: u32::from(channels) })
    }

    /// Adds one planar block (a slice per channel).
    pub fn add(&mut self, planes: &[&[f32]]) {
        // The shapes are the meter's own (checked by the decoder), so this cannot fail.
        let _ = self.meter.add_frames_planar_f32(planes);
    }

    pub fn finish(&self) -> Loudness {
        let finite = |v: f64| Some(v).filter(|v| v.is_finite());
        let integrated = self.meter.loudness_global().ok().and_then(finite).filter(|l| *l > -70.0);
        let peak = (0..self.channels).filter_map(|c| self.meter.true_peak(c).ok()).fold(0.0f64, f64::max);
        let true_peak = finite(20.0 * peak.log10());
        Loudness { integrated_lufs: integrated, true_peak_dbtp: true_peak }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amplitude: f64, rate: u32, seconds: f64) -> Vec<f32> {
        let n = (f64::from(rate) * seconds) as usize;
        (0..n).map(|i| (amplitude * (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin()) as f32).collect()
    }

    #[test]
    fn a_full_scale_1khz_sine_reads_as_bs1770_says() {
        // BS.1770-4's own check: a 0 dBFS 997 Hz sine in one channel reads
        // -3.01 LKFS, so in both channels of a stereo pair 0.0.
        let tone = sine(997.0, 1.0, 48_000, 5.0);
        let mut m = Meter::new(2, 48_000).unwrap();
        for block in tone.chunks(4800) {
            m.add(&[block, block]);
        }
        let l = m.finish();
        let lufs = l.integrated_lufs.unwrap();
        assert!((lufs - 0.0).abs() < 0.1, "{lufs}");
        let peak = l.true_peak_dbtp.unwrap();
        assert!(peak.abs() < 0.1, "{peak}");
        // -20 dBFS is 20 LU quieter.
        let quiet: Vec<f32> = tone.iter().map(|s| s * 0.1).collect();
        let mut m = Meter::new(1, 48_000).unwrap();
        m.add(&[&quiet]);
        let l = m.finish();
        assert!((l.integrated_lufs.unwrap() - (-23.01)).abs() < 0.1, "{l:?}");
        assert!((l.true_peak_dbtp.unwrap() - (-20.0)).abs() < 0.1, "{l:?}");
    }

    #[test]
    fn silence_and_clicks_have_no_integrated_loudness() {
        let mut m = Meter::new(1, 44_100).unwrap();
        m.add(&[&vec![0.0; 44_100]]);
        assert_eq!(m.finish(), Loudness { integrated_lufs: None, true_peak_dbtp: None });
        let click = sine(1000.0, 0.5, 44_100, 0.1);
        let mut m = Meter::new(1, 44_100).unwrap();
        m.add(&[&click]);
        let l = m.finish();
        assert_eq!(l.integrated_lufs, None);
        assert!((l.true_peak_dbtp.unwrap() - (-6.02)).abs() < 0.2, "{l:?}");
    }
}
