//! Fuzz target `link_header`: the checks of `dltrs_fuzz_checks::link_header` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dltrs_fuzz_checks::link_header(data));
