//! Fuzz target `csv`: the checks of `dltrs_fuzz_checks::csv` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dltrs_fuzz_checks::csv(data));
