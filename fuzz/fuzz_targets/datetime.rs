//! Fuzz target `datetime`: the checks of `dltrs_fuzz_checks::datetime` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dltrs_fuzz_checks::datetime(data));
