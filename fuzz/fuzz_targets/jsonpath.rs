//! Fuzz target `jsonpath`: the checks of `dltrs_fuzz_checks::jsonpath` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dltrs_fuzz_checks::jsonpath(data));
