//! The Content-Length framing decoder, on any bytes in any chunking.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| studio_packer::fuzz_checks::framing(data));
