//! Fuzz target `pipeline_toml`: the checks of `dltrs_fuzz_checks::pipeline_toml` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| dltrs_fuzz_checks::pipeline_toml(data));
