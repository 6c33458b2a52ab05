//! Stable property tests of the decoders of client input: the same checks as
//! the fuzz targets under `fuzz/` (src/fuzz_checks.rs), driven by proptest,
//! so that they run wherever the test command runs, nightly or not. Every
//! input under `fuzz/seeds/` and `fuzz/regressions/` (crashes the fuzzer
//! once found) is replayed first.
#![cfg(feature = "test-hooks")]

use std::path::Path;

use proptest::prelude::*;
use serde_json::{Map, Value};
use studio_packer::fuzz_checks;
use studio_packer::protocol::method_names;
use studio_packer::transport::codec::Frame;

/// Every file in `fuzz/<kind>/<target>/`.
fn inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(kind).join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

#[test]
fn seeds_and_regressions_replay() {
    let mut n = 0;
    for kind in ["seeds", "regressions"] {
        for (name, data) in inputs(kind, "framing") {
            eprintln!("replaying {name}");
            fuzz_checks::framing(&data);
            n += 1;
        }
        for (name, data) in inputs(kind, "params") {
            eprintln!("replaying {name}");
            fuzz_checks::params(&data);
            n += 1;
        }
    }
    assert!(n >= 20, "the seed corpus is missing ({n} inputs)");
}

/// Pieces a hostile stream is made of: valid frames, broken headers, junk.
fn stream_piece() -> impl Strategy<Value = Vec<u8>> {
    let frame = proptest::collection::vec(any::<u8>(), 0..64).prop_map(|body| {
        let mut v = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        v.extend(body);
        v
    });
    let length = prop_oneof![
        Just("abc".to_string()),
        Just("-1".to_string()),
        Just("99999999999".to_string()),
        Just("67108865".to_string()),
        (0u32..200).prop_map(|n| n.to_string()),
    ];
    let header = (length, any::<bool>(), line_end(), line_end()).prop_map(|(n, lower, eol, blank)| {
        let name = if lower { "content-length" } else { "Content-Length" };
        format!("{name}: {n}{eol}{blank}").into_bytes()
    });
    let two_lengths = (0u32..200, 0u32..200)
        .prop_map(|(a, b)| format!("Content-Length: {a}\r\ncontent-length: {b}\r\n\r\n").into_bytes());
    prop_oneof![
        4 => frame,
        2 => header,
        1 => two_lengths,
        1 => Just(b"Content-Type: x\r\n\r\n".to_vec()),
        1 => Just(b"Content-Lenght: 12\r\n\r\n".to_vec()),
        1 => Just(b"Content-Length 12\r\n\r\n".to_vec()),
        1 => line_end().prop_map(|e| e.as_bytes().to_vec()),
        1 => proptest::collection::vec(any::<u8>(), 0..32),
    ]
}

/// A line ending, mostly the right one.
fn line_end() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just("\r\n"), 1 => Just("\n"), 1 => Just("\r")]
}

/// A header block that is wrong in one of the ways a client gets it wrong,
/// with the body it (perhaps) meant.
fn bad_block() -> impl Strategy<Value = Vec<u8>> {
    let body = "[a-z{}\":, \r\n]{0,40}";
    let form = prop_oneof![
        Just("Content-Type: x\r\n\r\n"),
        Just("Content-Lenght: {n}\r\n\r\n"),
        Just("Content-Length {n}\r\n\r\n"),
        Just("Content-Length: {n}\r\nX-Junk\r\n\r\n"),
        Just("Content-Length: x{n}\r\n\r\n"),
        Just("Content-Length: 99999999999\r\n\r\n"),
        Just("Content-Length: {n}\r\nContent-Length: 1{n}\r\n\r\n"),
        Just("Content-Length: 1{n}\r\nContent-Length: {n}\r\n\r\n"),
        Just("Content-Length: {n}\n\n"),
        Just("Content-Length: {n}\r\n\n"),
        Just("Content-Length: {n}\n\r\n"),
        Just("Content-Type: x\nContent-Length: {n}\r\n\r\n"),
        Just("Content-Length: {n}\r\r"),
    ];
    (form, body).prop_map(|(form, body)| format!("{}{body}", form.replace("{n}", &body.len().to_string())).into_bytes())
}

#[rustfmt::skip]
const WORDS: &[&str] = &[
    "projectId", "assetId", "mutation", "kind", "move", "register", "delete", "unregister", "setMetadata", "batch",
    "reconcile", "mutations", "to", "path", "tags", "filter", "cursor", "limit", "after", "clean", "workDoneToken",
    "operationId", "expectedGeneration", "root", "create", "items", "image", "ok", "../x", "/etc/passwd", "a\0b", "",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z0-9/._-]{0,12}".prop_map(Value::from),
        proptest::sample::select(WORDS).prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((proptest::sample::select(WORDS), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())),
        ]
    })
}

/// Params objects whose keys are mostly the real field names.
fn params_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => proptest::collection::vec((proptest::sample::select(WORDS), json_value()), 0..6)
            .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<Map<_, _>>())),
        1 => json_value(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn framing_is_independent_of_chunking(seed in any::<u8>(), pieces in proptest::collection::vec(stream_piece(), 0..12)) {
        let mut data = vec![seed];
        data.extend(pieces.concat());
        fuzz_checks::framing(&data);
    }

    #[test]
    fn a_bad_header_block_costs_one_error_and_no_later_frame(
        bad in bad_block(),
        bodies in proptest::collection::vec("[ -~]{0,40}", 1..4),
        chunk in 1usize..16,
    ) {
        let mut input = bad.clone();
        for b in &bodies {
            input.extend(format!("Content-Length: {}\r\n\r\n{b}", b.len()).into_bytes());
        }
        let frames = fuzz_checks::decode_all(&input, chunk);
        prop_assert!(matches!(frames[0], Frame::Invalid(_)), "{:?}: {frames:?}", String::from_utf8_lossy(&bad));
        let rest: Vec<Frame> = bodies.iter().map(|b| Frame::Body(b.as_bytes().to_vec())).collect();
        prop_assert_eq!(&frames[1..], &rest[..], "{:?}", String::from_utf8_lossy(&bad));
    }

    #[test]
    fn framing_of_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzz_checks::framing(&data);
    }

    #[test]
    fn params_of_every_method_decode_or_name_a_field(method in proptest::sample::select(method_names()), params in params_value()) {
        let raw = serde_json::value::to_raw_value(&params).unwrap();
        fuzz_checks::params_of(method, &raw);
    }
}
