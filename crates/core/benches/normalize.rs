//! Parse + normalize throughput on ride records shaped like `../shared/bench/gen_rides.py`.
//!
//! `DLTRS_BENCH_FILE=/tmp/rides100k.jsonl cargo bench -p dltrs-core --bench normalize`
//! measures that file; without it, a built-in sample of the same shape is used.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use divan::counter::BytesCount;
use dltrs_core::{RelationalNormalizer, Schema};

fn main() {
    divan::main();
}

/// The input: the file named by `DLTRS_BENCH_FILE`, or 2,000 generated rides.
fn input() -> Vec<u8> {
    if let Ok(path) = std::env::var("DLTRS_BENCH_FILE") {
        return std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    let mut out = String::new();
    for i in 0..2_000u32 {
        out.push_str(&format!(
            concat!(
                r#"{{"vendor_name":"VTS","record_hash":"{:032x}","time":{{"pickup":"2009-06-14 23:{:02}:00","dropoff":"2009-06-14 23:48:00"}},"#,
                r#""Trip_Distance":{}.52,"coordinates":{{"start":{{"lon":-73.787442,"lat":40.641525}},"end":{{"lon":-73.980072,"lat":40.742963}}}},"#,
                r#""Rate_Code":null,"store_and_forward":null,"Payment":{{"type":"Credit","amt":20.5,"surcharge":0,"mta_tax":null,"tip":9,"tolls":4.15,"status":"booked"}},"#,
                r#""Passenger_Count":2,"passengers":[{{"name":"John","rating":4.9}},{{"name":"Jack","rating":3.9}}],"Stops":[{{"lon":-73.6,"lat":40.6}},{{"lon":-73.5,"lat":40.5}}]}}"#,
                "\n"
            ),
            i,
            i % 60,
            i % 30
        ));
    }
    out.into_bytes()
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn parse_and_normalize(bencher: divan::Bencher) {
    let data = input();
    bencher.counter(BytesCount::new(data.len())).bench(|| {
        let mut n = RelationalNormalizer::new(Schema::new("rides"), "1700000000.1");
        let mut rows = 0;
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            n.push_json("rides", line).unwrap();
            if n.buffered_rows() >= 50_000 {
                rows += n.flush().unwrap().batches.len();
            }
        }
        rows += n.flush().unwrap().batches.len();
        divan::black_box(rows)
    });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn parse_only(bencher: divan::Bencher) {
    let data = input();
    bencher.counter(BytesCount::new(data.len())).bench(|| {
        let mut count = 0usize;
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            count += usize::from(dltrs_core::json::parse(line).is_ok());
        }
        divan::black_box(count)
    });
}

#[divan::bench(sample_count = 10, sample_size = 1)]
fn validate_only(bencher: divan::Bencher) {
    let data = input();
    bencher.counter(BytesCount::new(data.len())).bench(|| {
        let mut count = 0usize;
        for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            count += usize::from(dltrs_core::json::validate(line).is_ok());
        }
        divan::black_box(count)
    });
}

/// The whole normalize step of the pipeline: an extracted package in, Arrow IPC files out, on
/// every core (blocks normalized beside each other, IPC written on its own thread).
#[divan::bench(sample_count = 5, sample_size = 1)]
fn normalize_package(bencher: divan::Bencher) {
    use dltrs_core::package::{ExtractWriter, WorkingDir, normalize};
    let data = input();
    bencher
        .counter(BytesCount::new(data.len()))
        .with_inputs(|| {
            let dir = tempfile::tempdir().unwrap();
            let wd = WorkingDir::open(dir.path()).unwrap();
            let mut writer = ExtractWriter::begin(&wd, "1700000000.1", "rides").unwrap();
            writer
                .begin_resource("rides", "rides", Default::default())
                .unwrap();
            for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                writer.write_item(line).unwrap();
            }
            writer.commit().unwrap();
            (dir, wd)
        })
        .bench_values(|(dir, wd)| {
            let package = normalize(
                &wd,
                "1700000000.1",
                Schema::new("rides"),
                Box::new(dltrs_core::SnakeCase::new()),
                dltrs_core::NulPolicy::Keep,
                &dltrs_core::progress::Progress::new(),
            )
            .unwrap();
            divan::black_box((dir, package.manifest.items))
        });
}
