//! Fuzz target `json_items`: the checks of `dltrs_fuzz_checks::json_items` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dltrs_fuzz_checks::json_items(data));
