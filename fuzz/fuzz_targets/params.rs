//! Every method's params, decoded from any JSON into the typed requests.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| studio_packer::fuzz_checks::params(data));
