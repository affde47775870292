//! Fuzz target `json_parse`: the checks of `dltrs_fuzz_checks::json_parse` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dltrs_fuzz_checks::json_parse(data));
