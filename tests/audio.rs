//! Sound over the wire: each input format the packer takes (WAV, FLAC, Ogg
//! Vorbis, MP3), made by the test from generated signals, read at register
//! with its stream facts and its loudness; the loudness checked against a
//! meter other than the packer's (ffmpeg's `ebur128` filter). A file that
//! does not decode is a diagnostic at register, in `check` and in a build.
//! Each input is then built for two targets (Ogg Vorbis for `pc`; IMA
//! ADPCM at 22,050 Hz, mono, for `phone`), and what ships is decoded and
//! measured by ffmpeg: rate, channels, duration, RMS, a sine's frequency,
//! and the loudness `normalize` asked for.
//!
//! Needs `ffmpeg` (scripts/test.sh installs Debian's package): without it
//! these tests fail, saying so.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{Fixture, Server};
use serde_json::{json, Value};
use studio_packer::build::pack::PackReader;

/// A generated signal: interleaved samples in -1..1.
struct Signal {
    name: &'static str,
    rate: u32,
    channels: u16,
    samples: Vec<f32>,
}

impl Signal {
    fn frames(&self) -> u64 {
        (self.samples.len() / usize::from(self.channels)) as u64
    }
}

fn signals() -> Vec<Signal> {
    let tau = std::f64::consts::TAU;
    // A 440 Hz sine at -6 dBFS, mono, two seconds.
    let sine = (0..88_200).map(|i| (0.5 * (tau * 440.0 * f64::from(i) / 44_100.0).sin()) as f32).collect();
    // A logarithmic chirp from 100 Hz to 8 kHz, stereo (the right channel
    // quieter), three seconds.
    let (f0, f1, t) = (100.0f64, 8000.0f64, 3.0f64);
    let k = (f1 / f0).ln() / t;
    let mut chirp = Vec::new();
    for i in 0..144_000 {
        let x = f64::from(i) / 48_000.0;
        let s = 0.6 * (tau * f0 * ((k * x).exp() - 1.0) / k).sin();
        chirp.extend([s as f32, (s * 0.8) as f32]);
    }
    // Stereo noise, a second and a half (a fixed generator: the same bytes every run).
    let mut state = 0x2545_f491_u32;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (f64::from(state) / f64::from(u32::MAX) * 2.0 - 1.0) as f32 * 0.3
    };
    // Low-passed (a six-sample moving average per channel, its first null at
    // 7.35 kHz), so that a target's lower rate keeps its loudness.
    let white: Vec<f32> = (0..2 * 66_155).map(|_| next()).collect();
    let noise = (0..66_150)
        .flat_map(|i| {
            let avg = |c: usize| (0..6).map(|k| white[(i + k) * 2 + c]).sum::<f32>() / 6.0 * 2.0;
            [avg(0), avg(1)]
        })
        .collect();
    // A short effect: a decaying 880 Hz blip, a quarter second, mono at 22,050 Hz.
    let effect = (0..5_512)
        .map(|i| {
            let x = f64::from(i) / 22_050.0;
            (0.9 * (-x * 12.0).exp() * (tau * 880.0 * x).sin()) as f32
        })
        .collect();
    vec![
        Signal { name: "sine", rate: 44_100, channels: 1, samples: sine },
        Signal { name: "chirp", rate: 48_000, channels: 2, samples: chirp },
        Signal { name: "noise", rate: 44_100, channels: 2, samples: noise },
        Signal { name: "effect", rate: 22_050, channels: 1, samples: effect },
    ]
}

fn wav(s: &Signal) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: s.channels,
        sample_rate: s.rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = hound::WavWriter::new(&mut out, spec).unwrap();
    for x in &s.samples {
        w.write_sample((x * 32767.0).round() as i16).unwrap();
    }
    w.finalize().unwrap();
    out.into_inner()
}

fn ffmpeg(args: &[&str]) -> std::process::Output {
    let out = Command::new("ffmpeg").args(["-hide_banner", "-nostdin", "-y"]).args(args).output().unwrap_or_else(|e| {
        panic!("these tests need ffmpeg (scripts/test.sh installs it from Debian's packages): {e}")
    });
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// The codecs each input format is made with, and what the packer must call it.
const FORMATS: &[(&str, &[&str], &str, &str)] = &[
    ("wav", &[], "wav", "pcm"),
    ("flac", &["-c:a", "flac"], "flac", "flac"),
    ("ogg", &["-c:a", "libvorbis", "-q:a", "5"], "ogg", "vorbis"),
    ("mp3", &["-c:a", "libmp3lame", "-b:a", "192k"], "mp3", "mp3"),
];

/// One input file: where, made from which signal, and what the packer
/// must call its container and codec.
struct Input {
    rel: String,
    signal: Signal,
    format: &'static str,
    codec: &'static str,
}

/// Writes every signal in every format under `assets/sound/` of the fixture.
fn inputs(f: &Fixture) -> Vec<Input> {
    let mut out = Vec::new();
    for (ext, codec_args, format, codec) in FORMATS {
        for signal in signals() {
            let source = format!("assets/sound/{}.wav", signal.name);
            let rel = format!("assets/sound/{}.{ext}", signal.name);
            if *ext == "wav" {
                f.write(&rel, &wav(&signal));
            } else {
                let mut args: Vec<String> = vec!["-i".into(), f.path(&source).display().to_string()];
                args.extend(codec_args.iter().map(|a| a.to_string()));
                args.push(f.path(&rel).display().to_string());
                ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());
            }
            out.push(Input { rel, signal, format, codec });
        }
    }
    out
}

/// ffmpeg's EBU R128 meter on a file: (integrated LUFS, true peak dBTP),
/// each to a tenth as it prints them.
fn ffmpeg_loudness(path: &Path) -> (f64, f64) {
    let out = ffmpeg(&["-nostats", "-i", path.to_str().unwrap(), "-af", "ebur128=peak=true", "-f", "null", "-"]);
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = &text[text.rfind("Summary:").expect("ffmpeg printed its summary")..];
    let value = |label: &str| -> f64 {
        let line = summary.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("{summary}"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap_or(f64::NEG_INFINITY)
    };
    (value("I:"), value("Peak:"))
}

fn asset(s: &mut Server, pid: &str, id: &str) -> Value {
    s.call("packer/getAsset", json!({"projectId": pid, "assetId": id}))["asset"].clone()
}

/// Waits until the packer has measured every sound's loudness: the summary
/// counts the sounds pending, and each batch measured publishes a snapshot.
fn all_measured(s: &mut Server, pid: &str) {
    loop {
        let mark = s.mark();
        let summary = s.call("packer/summary", json!({"projectId": pid}));
        if summary["assets"]["loudnessPending"] == 0 {
            return;
        }
        s.wait_for_after(mark, "a snapshot published as sounds are measured", |m| {
            m["method"] == "packer/event" && m["params"]["kind"] == "snapshotPublished"
        });
    }
}

#[test]
fn every_input_format_is_read_at_register_with_its_loudness() {
    let f = Fixture::new(&[]);
    let made = inputs(&f);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = common::register_all(&mut s, &pid, &f);
    all_measured(&mut s, &pid);
    for Input { rel, signal, format, codec } in &made {
        let a = asset(&mut s, &pid, &ids[rel]);
        assert_eq!(a["status"], "ok", "{rel}: {a}");
        let m = &a["metadata"];
        assert_eq!((m["format"].as_str(), m["codec"].as_str()), (Some(*format), Some(*codec)), "{rel}: {m}");
        assert_eq!(m["sampleRate"], signal.rate, "{rel}");
        assert_eq!(m["channels"], signal.channels, "{rel}");
        let lossless = matches!(*codec, "pcm" | "flac");
        assert_eq!(m["bitsPerSample"], if lossless { json!(16) } else { Value::Null }, "{rel}: {m}");
        // Lossless and Vorbis (granule positions) are exact; MP3 to a frame.
        let expected = signal.frames() * 1000 / u64::from(signal.rate);
        let slack = if *codec == "mp3" { 1152 * 1000 / u64::from(signal.rate) + 1 } else { 0 };
        let got = m["durationMs"].as_u64().unwrap();
        assert!(got.abs_diff(expected) <= slack, "{rel}: {got} ms, the source is {expected} ms");

        let (lufs, peak) = ffmpeg_loudness(&f.path(rel));
        if lufs <= -70.0 || signal.name == "effect" {
            // A quarter-second blip has no gated block: BS.1770 gives no figure.
            assert_eq!(m["loudnessLufs"], Value::Null, "{rel}: ffmpeg read {lufs}: {m}");
        } else {
            let ours = m["loudnessLufs"].as_f64().unwrap_or_else(|| panic!("{rel}: {m}"));
            assert!((ours - lufs).abs() <= 0.15, "{rel}: the packer read {ours} LUFS, ffmpeg {lufs}");
        }
        let ours = m["truePeakDbtp"].as_f64().unwrap_or_else(|| panic!("{rel}: {m}"));
        // Two true-peak meters agree on band-limited sound; on white noise,
        // whose energy reaches Nyquist, each oversampling filter finds its
        // own inter-sample peaks (measured: 0.4-0.6 dB apart).
        let tolerance = if signal.name == "noise" { 0.75 } else { 0.15 };
        assert!((ours - peak).abs() <= tolerance, "{rel}: the packer read a true peak of {ours} dBTP, ffmpeg {peak}");
    }
    // A second look reads the stat cache: the same facts, no decoding.
    let before: Vec<Value> = made.iter().map(|i| asset(&mut s, &pid, &ids[&i.rel])["metadata"].clone()).collect();
    assert_eq!(s.shutdown(), 0);
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["assets"]["loudnessPending"], 0, "the figures came from the stat cache: {summary}");
    let after: Vec<Value> = made.iter().map(|i| asset(&mut s, &pid, &ids[&i.rel])["metadata"].clone()).collect();
    assert_eq!(before, after);
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn loudness_is_measured_after_the_sound_is_seen_and_again_when_its_bytes_change() {
    let by_name = |name: &str| signals().into_iter().find(|s| s.name == name).unwrap();
    let (sine, chirp) = (by_name("sine"), by_name("chirp"));
    let f = Fixture::new(&[("assets/sound/a.wav", &wav(&sine)), ("assets/sound/b.wav", &wav(&sine))]);
    // Measuring waits 3 s first, so that the sounds are seen pending.
    let mut s = Server::ready_with_env(&[("STUDIO_PACKER_TEST_MEASURE_DELAY_MS", "3000")]);
    let pid = s.open(&f.root());
    let ids = common::register_all(&mut s, &pid, &f);
    let (a, b) = (ids["assets/sound/a.wav"].clone(), ids["assets/sound/b.wav"].clone());
    let registered = s.call("packer/summary", json!({"projectId": pid}))["generation"].as_u64().unwrap();
    let seen = asset(&mut s, &pid, &a);
    assert_eq!(seen["status"], "ok", "{seen}");
    let m = &seen["metadata"];
    assert_eq!(m["loudnessPending"], true, "{m}");
    assert_eq!((m["loudnessLufs"].clone(), m["truePeakDbtp"].clone()), (Value::Null, Value::Null), "{m}");
    assert_eq!(m["sampleRate"], 44_100, "the stream's facts do not wait: {m}");
    let summary = s.call("packer/summary", json!({"projectId": pid}));
    assert_eq!(summary["assets"]["loudnessPending"], 2, "{summary}");

    // The figures arrive in a snapshot of their own, a state event (no operation).
    let mark = s.mark();
    all_measured(&mut s, &pid);
    let published = s.wait_for_after(mark, "the snapshot with the figures", |m| {
        m["method"] == "packer/event" && m["params"]["kind"] == "snapshotPublished"
    });
    assert!(published["params"]["generation"].as_u64().unwrap() > registered, "{published}");
    assert_eq!(published["params"].get("operationId"), None, "{published}");
    let (lufs, peak) = ffmpeg_loudness(&f.path("assets/sound/a.wav"));
    for id in [&a, &b] {
        let m = asset(&mut s, &pid, id)["metadata"].clone();
        assert_eq!(m.get("loudnessPending"), None, "{m}");
        let ours = (m["loudnessLufs"].as_f64().unwrap(), m["truePeakDbtp"].as_f64().unwrap());
        assert!((ours.0 - lufs).abs() <= 0.15 && (ours.1 - peak).abs() <= 0.15, "{m}: ffmpeg {lufs} {peak}");
    }
    // Figures arriving change nothing a mutation decides on: one that
    // expected the generation from before them applies; a real change
    // since still makes it stale.
    let tag = |tags: &[&str]| json!({"kind": "setMetadata", "assetId": b, "tags": tags});
    let applied = s.call(
        "packer/applyMutation",
        json!({"projectId": pid, "mutation": tag(&["sfx"]), "expectedGeneration": registered}),
    );
    assert_eq!(applied["outcome"], "applied", "{applied}");
    let stale = s.call(
        "packer/applyMutation",
        json!({"projectId": pid, "mutation": tag(&["ui"]), "expectedGeneration": registered}),
    );
    assert_eq!(
        (stale["outcome"].clone(), stale["blockers"][0]["code"].clone()),
        (json!("rejected"), json!("staleGeneration")),
        "{stale}"
    );

    // New bytes: the sound is pending again, then measured as they are.
    let mark = s.mark();
    f.write("assets/sound/a.wav", &wav(&chirp));
    s.wait_for_after(mark, "the look at the changed sound", |m| {
        m["method"] == "packer/event" && m["params"]["kind"] == "divergenceDetected"
    });
    let m = asset(&mut s, &pid, &a)["metadata"].clone();
    assert_eq!((m["loudnessPending"].clone(), m["channels"].clone()), (json!(true), json!(2)), "{m}");
    all_measured(&mut s, &pid);
    let (lufs, peak) = ffmpeg_loudness(&f.path("assets/sound/a.wav"));
    let m = asset(&mut s, &pid, &a)["metadata"].clone();
    let ours = (m["loudnessLufs"].as_f64().unwrap(), m["truePeakDbtp"].as_f64().unwrap());
    assert!((ours.0 - lufs).abs() <= 0.15 && (ours.1 - peak).abs() <= 0.15, "{m}: ffmpeg {lufs} {peak}");
    let untouched = asset(&mut s, &pid, &b)["metadata"].clone();
    assert_ne!(untouched["loudnessLufs"], m["loudnessLufs"], "b still holds the sine");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn a_sound_that_does_not_decode_is_a_diagnostic_at_register_in_check_and_in_the_build() {
    let f = Fixture::new(&[("assets/sound/fake.ogg", b"hello, I am text\n")]);
    let chirp = signals().into_iter().find(|s| s.name == "chirp").unwrap();
    f.write("assets/sound/chirp.wav", &wav(&chirp));
    let (wav_path, flac_path) = (f.path("assets/sound/chirp.wav"), f.path("assets/sound/chirp.flac"));
    ffmpeg(&["-i", wav_path.to_str().unwrap(), "-c:a", "flac", flac_path.to_str().unwrap()]);
    std::fs::remove_file(&wav_path).unwrap();
    let whole = std::fs::read(&flac_path).unwrap();
    f.write("assets/sound/cut.flac", &whole[..whole.len() * 6 / 10]);
    std::fs::remove_file(&flac_path).unwrap();

    let mut s = Server::ready();
    let pid = s.open(&f.root());
    let ids = common::register_all(&mut s, &pid, &f);
    let fake = asset(&mut s, &pid, &ids["assets/sound/fake.ogg"]);
    assert_eq!(fake["status"], "invalid", "{fake}");
    assert_eq!(fake["metadata"], json!({}), "{fake}");
    assert_eq!(fake["diagnostics"][0]["code"], "audioUnreadable", "{fake}");
    assert_eq!(
        fake["diagnostics"][0]["message"].as_str().unwrap(),
        "the file is not WAV, AIFF, FLAC, Ogg or MP3 audio",
        "{fake}"
    );
    let cut = asset(&mut s, &pid, &ids["assets/sound/cut.flac"]);
    assert_eq!(cut["status"], "invalid", "{cut}");
    let message = cut["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("the file is cut short"), "{cut}");
    let build = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(build["outcome"], "failed", "{build}");
    let mut named: Vec<(&str, &str)> = build["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["path"].as_str().unwrap(), d["code"].as_str().unwrap()))
        .collect();
    named.sort();
    assert_eq!(named, [("assets/sound/cut.flac", "audioUnreadable"), ("assets/sound/fake.ogg", "audioUnreadable")]);
    assert_eq!(s.shutdown(), 0);

    let out = Command::new(common::BIN).arg("check").arg(f.root()).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for path in ["assets/sound/cut.flac", "assets/sound/fake.ogg"] {
        assert!(
            text.lines().any(|l| l.contains(path) && l.contains("error[audioUnreadable]")),
            "check names {path}: {text}"
        );
    }
}

// ---- Cooking -----------------------------------------------------------------

const COOK: &str = r#"
[[build.targets]]
name = "pc"
profile = "desktop"

[[build.targets]]
name = "phone"
profile = "mobile"

[[assets.rules]]
match = ["assets/**"]
settings = { codec = "vorbis", quality = 0.5, targets = { phone = { codec = "adpcm", sample_rate = 22050, mono = true } } }

[[assets.rules]]
match = ["assets/sound/effect.*"]
settings = { codec = "pcm" }

[[assets.rules]]
match = ["assets/loud/**"]
settings = { normalize = -16 }
"#;

/// What ffprobe says of a file: (codec name, sample rate, channels).
fn ffprobe(path: &Path) -> (String, u32, u16) {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels", "-of", "json"])
        .arg(path)
        .output()
        .expect("ffprobe (installed with ffmpeg)");
    assert!(out.status.success(), "ffprobe {path:?}: {}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let s = &v["streams"][0];
    (
        s["codec_name"].as_str().unwrap().to_string(),
        s["sample_rate"].as_str().unwrap().parse().unwrap(),
        s["channels"].as_u64().unwrap() as u16,
    )
}

/// The file decoded by ffmpeg, planar f32.
fn ffmpeg_decode(path: &Path, channels: u16) -> Vec<Vec<f32>> {
    let out = ffmpeg(&["-v", "error", "-i", path.to_str().unwrap(), "-f", "f32le", "-acodec", "pcm_f32le", "-"]);
    let samples: Vec<f32> = out.stdout.chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
    let c = usize::from(channels);
    (0..c).map(|ch| samples.iter().skip(ch).step_by(c).copied().collect()).collect()
}

fn rms(planes: &[Vec<f32>]) -> f64 {
    let (sum, n) = planes.iter().flatten().fold((0.0f64, 0usize), |(s, n), x| (s + f64::from(*x).powi(2), n + 1));
    (sum / n as f64).sqrt()
}

/// The frequency (to 0.5 Hz) with the most energy between 40 and 600 Hz,
/// by a plain DFT of the first 16,384 samples.
fn peak_frequency(samples: &[f32], rate: u32) -> f64 {
    let n = samples.len().min(16_384);
    let mut best = (0.0, 0.0);
    for step in 0..1120 {
        let f = 40.0 + f64::from(step) * 0.5;
        let w = std::f64::consts::TAU * f / f64::from(rate);
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, x) in samples[..n].iter().enumerate() {
            re += f64::from(*x) * (w * i as f64).cos();
            im -= f64::from(*x) * (w * i as f64).sin();
        }
        let power = re * re + im * im;
        if power > best.1 {
            best = (f, power);
        }
    }
    best.0
}

/// The project of every input, the chirp also under `assets/loud/`
/// (normalized), built for both targets; returns the fixture, the inputs and
/// each target's entries by path.
fn cooked() -> (Fixture, Vec<Input>, BTreeMap<String, Entries>) {
    let f = Fixture::new(&[]);
    let made = inputs(&f);
    let chirp = made.iter().find(|i| i.rel == "assets/sound/chirp.wav").unwrap();
    f.write("assets/loud/chirp.wav", &wav(&chirp.signal));
    let manifest = std::fs::read_to_string(f.path("packer.toml")).unwrap() + COOK;
    std::fs::write(f.path("packer.toml"), manifest).unwrap();
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    common::register_all(&mut s, &pid, &f);
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    assert_eq!(s.shutdown(), 0);
    let packs = ["pc", "phone"]
        .into_iter()
        .map(|t| (t.to_string(), pack_entries(&f.path(&format!("build/{t}/main.pack")))))
        .collect();
    (f, made, packs)
}

/// A pack's entries: path -> raw bytes.
type Entries = BTreeMap<String, Vec<u8>>;

fn pack_entries(path: &Path) -> Entries {
    let reader = PackReader::open(path).unwrap();
    reader.verify().unwrap();
    reader.entries().iter().map(|e| (e.path.clone(), reader.read(e).unwrap())).collect()
}

#[test]
fn every_input_is_cooked_for_two_targets_and_ffmpeg_reads_what_ships() {
    let (f, made, packs) = cooked();
    let out = tempfile::tempdir().unwrap();
    for input in &made {
        let signal = &input.signal;
        let effect = signal.name == "effect";
        for (target, entries) in &packs {
            let bytes = &entries[&input.rel];
            let file = out.path().join(format!("{target}-{}", input.rel.replace('/', "_")));
            std::fs::write(&file, bytes).unwrap();
            let what = format!("{} for {target}", input.rel);
            let (codec, rate, channels) = ffprobe(&file);
            // pc: Vorbis at the source's rate and channels (the effect: PCM);
            // phone: ADPCM, 22,050 Hz, mono.
            let (want_codec, want_rate, want_channels, frame) = match target.as_str() {
                "pc" if effect => ("pcm_s16le", signal.rate, signal.channels, 0),
                "pc" => ("vorbis", signal.rate, signal.channels, 2048),
                // ADPCM: the last block is whole (1,017 samples), silence after the sound.
                _ => ("adpcm_ima_wav", 22_050, 1, 1017),
            };
            assert_eq!((codec.as_str(), rate, channels), (want_codec, want_rate, want_channels), "{what}");
            assert!(bytes.starts_with(if want_codec == "vorbis" { b"OggS" } else { b"RIFF" }), "{what}");
            let decoded = ffmpeg_decode(&file, channels);
            // Duration: the source's, resampled, within one codec frame (and
            // an MP3 source's own frame of decoder delay).
            let expected = (signal.frames() as f64 * f64::from(rate) / f64::from(signal.rate)).round() as i64;
            let mp3 =
                if input.format == "mp3" { (1152.0 * f64::from(rate) / f64::from(signal.rate)) as i64 } else { 0 };
            let got = decoded[0].len() as i64;
            assert!((got - expected).abs() <= frame + mp3 + 1, "{what}: {got} frames, the source is {expected}");
            // Loudness of the samples: RMS within 1 dB of the source (as
            // downmixed, for a mono target: the mean of the channels).
            let source: Vec<Vec<f32>> = {
                let c = usize::from(signal.channels);
                let planes: Vec<Vec<f32>> =
                    (0..c).map(|ch| signal.samples.iter().skip(ch).step_by(c).copied().collect()).collect();
                if channels == 1 && c > 1 {
                    vec![(0..planes[0].len()).map(|i| planes.iter().map(|p| p[i]).sum::<f32>() / c as f32).collect()]
                } else {
                    planes
                }
            };
            // Over the sound's own length (not a codec's padding after it).
            let n = (expected as usize).min(decoded[0].len());
            let sound: Vec<Vec<f32>> = decoded.iter().map(|p| p[..n].to_vec()).collect();
            let db = 20.0 * (rms(&sound) / rms(&source)).log10();
            eprintln!("{what}: {codec} {rate} Hz x{channels}, {got} frames, RMS {db:+.3} dB");
            assert!(db.abs() <= 1.0, "{what}: RMS {db:+.2} dB from the source");
            if signal.name == "sine" {
                let hz = peak_frequency(&decoded[0], rate);
                assert!((hz - 440.0).abs() <= 1.0, "{what}: the sine peaks at {hz} Hz");
            }
        }
    }
    // normalize = -16: within 0.5 LU, true peak under -1 dBTP, by ffmpeg's meter.
    for (target, entries) in &packs {
        let file = out.path().join(format!("{target}-loud-chirp"));
        std::fs::write(&file, &entries["assets/loud/chirp.wav"]).unwrap();
        let (lufs, peak) = ffmpeg_loudness(&file);
        eprintln!("normalized chirp for {target}: {lufs} LUFS, {peak} dBTP");
        assert!((lufs - -16.0).abs() <= 0.5, "{target}: {lufs} LUFS");
        assert!(peak < -1.0, "{target}: a true peak of {peak} dBTP");
    }
    drop(f);
}

/// Copies the project's files (not `.packer/` nor `build/`) to a new folder.
fn copy_project(from: &Path) -> tempfile::TempDir {
    fn walk(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let name = e.file_name();
            if name == ".packer" || name == "build" {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), &to.join(&name));
            } else {
                std::fs::copy(e.path(), to.join(&name)).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    walk(from, dir.path());
    dir
}

/// Sets the asset at `path`'s own `settings`, then builds; the build's answer, succeeded.
fn set_and_build(s: &mut Server, pid: &str, path: &str, settings: Value) -> Value {
    let list = s.call("packer/listAssets", json!({"projectId": pid, "filter": {"pathPrefix": path}}));
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let r = s.apply(pid, json!({"kind": "setMetadata", "assetId": id, "settings": settings}));
    assert_eq!(r["outcome"], "applied", "{r}");
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    b
}

#[test]
fn two_copies_and_one_worker_give_byte_identical_packs_and_a_setting_recooks_only_its_asset() {
    let (f, made, _) = cooked();
    let pack = |root: &Path, t: &str| std::fs::read(root.join(format!("build/{t}/main.pack"))).unwrap();
    let copy = copy_project(&f.root());
    let root = copy.path().canonicalize().unwrap();
    let mut s = Server::ready_with_env(&[("STUDIO_PACKER_THREADS", "1")]);
    let pid = s.open(&root);
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    for t in ["pc", "phone"] {
        assert!(pack(&root, t) == pack(&f.root(), t), "{t}: one worker on a copy built different bytes");
    }
    // A setting of one sound cooks that sound again for each target, nothing else.
    let b = set_and_build(&mut s, &pid, "assets/sound/sine.wav", json!({"normalize": -20}));
    assert_eq!(b["stats"]["processed"], 2, "{b}");
    assert_eq!(b["stats"]["reused"], 2 * (made.len() + 1) - 2, "{b}");
    // A blip too short for a gated loudness is not normalized, and the build says so.
    let b = set_and_build(&mut s, &pid, "assets/sound/effect.wav", json!({"normalize": -16}));
    let warnings: Vec<&Value> =
        b["diagnostics"].as_array().unwrap().iter().filter(|d| d["code"] == "soundCooked").collect();
    // Both targets cooked it (and wrote the same bytes as before: no pack
    // changed); the two identical warnings are one diagnostic of the build.
    assert_eq!(b["stats"]["processed"], 2, "{b}");
    assert_eq!(warnings.len(), 1, "{b}");
    assert_eq!(warnings[0]["path"], "assets/sound/effect.wav");
    assert!(warnings[0]["message"].as_str().unwrap().contains("no integrated loudness"), "{b}");
    assert_eq!(s.shutdown(), 0);
}

#[test]
fn surround_keeps_each_channel_in_its_place_through_vorbis() {
    // 5.1 in WAV's order (FL FR FC LFE BL BR), each channel its own tone
    // (the LFE's low: libvorbis keeps only the bass of that channel).
    let tones = [310.0, 350.0, 390.0, 80.0, 470.0, 510.0];
    let rate = 48_000u32;
    let mut samples = Vec::new();
    for i in 0..rate {
        for f in tones {
            samples.push((0.3 * (std::f64::consts::TAU * f * f64::from(i) / f64::from(rate)).sin()) as f32);
        }
    }
    let signal = Signal { name: "surround", rate, channels: 6, samples };
    let f = Fixture::new(&[]);
    f.write("assets/surround.wav", &wav(&signal));
    let mut s = Server::ready();
    let pid = s.open(&f.root());
    common::register_all(&mut s, &pid, &f);
    let b = s.call("packer/build", json!({"projectId": pid}));
    assert_eq!(b["outcome"], "succeeded", "{b}");
    assert_eq!(s.shutdown(), 0);
    let entries = pack_entries(&f.path("build/desktop/main.pack"));
    let file = f.path("surround.ogg");
    std::fs::write(&file, &entries["assets/surround.wav"]).unwrap();
    assert_eq!(ffprobe(&file), ("vorbis".to_string(), rate, 6));
    // ffmpeg gives Vorbis 5.1 back in its own order, which is WAV's.
    let decoded = ffmpeg_decode(&file, 6);
    let found: Vec<f64> = decoded.iter().map(|p| peak_frequency(p, rate)).collect();
    for (c, (got, want)) in found.iter().zip(tones).enumerate() {
        assert!((got - want).abs() <= 1.0, "channel {c}: {got} Hz, the source's is {want} Hz ({found:?})");
    }
}
