//! `gen_rides N OUT.jsonl [--seed S] [--status booked]`: N nested taxi-ride records, one JSON
//! object per line, formatted as Python's `json.dumps` formats them (about 616 bytes each).
//! The same seed gives the same file; `--status cancelled` gives the same keys with changed
//! values, for merge runs.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha3::Shake128;
use sha3::digest::{ExtendableOutput, Update, XofReader};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let (Some(n), Some(out)) = (
        args.first().and_then(|n| n.parse::<u64>().ok()),
        args.get(1),
    ) else {
        eprintln!("usage: gen_rides N OUT.jsonl [--seed S] [--status booked]");
        return ExitCode::from(2);
    };
    let seed = flag("--seed").and_then(|s| s.parse().ok()).unwrap_or(42);
    let status = flag("--status").unwrap_or_else(|| "booked".into());
    match write(n, out, seed, &status) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen_rides: cannot write {out}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(n: u64, out: &str, seed: u64, status: &str) -> std::io::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(out)?);
    let mut line = String::with_capacity(1024);
    for i in 0..n {
        line.clear();
        record(&mut line, i, &mut rng, status);
        line.push('\n');
        w.write_all(line.as_bytes())?;
    }
    w.flush()
}

/// `x` rounded to `places` decimals, written as Python writes floats (`3.0`, not `3`).
fn float(out: &mut String, x: f64, places: i32) {
    let scale = 10f64.powi(places);
    let text = ((x * scale).round() / scale).to_string();
    out.push_str(&text);
    if !text.contains(['.', 'e', 'E']) {
        out.push_str(".0");
    }
}

fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    rng.random_range(lo..hi)
}

fn pick<'a>(rng: &mut StdRng, choices: &[&'a str]) -> &'a str {
    choices[rng.random_range(0..choices.len())]
}

/// `YYYY-MM-DD HH:MM:SS` of seconds after 2009-06-01 00:00:00 (June has 30 days; the offset
/// stays under 32 days, so the date is June 1 to July 2).
fn timestamp(out: &mut String, seconds: u64) {
    let day = seconds / 86_400;
    let (month, dom) = if day < 30 {
        (6, day + 1)
    } else {
        (7, day - 29)
    };
    let rest = seconds % 86_400;
    out.push_str(&format!(
        "2009-{month:02}-{dom:02} {:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    ));
}

fn record(out: &mut String, i: u64, rng: &mut StdRng, status: &str) {
    let pickup = rng.random_range(0..30 * 86_400u64);
    let dropoff = pickup + rng.random_range(120..7200u64);
    let npass = rng.random_range(0..5u32);
    let nstops = rng.random_range(0..4u32);
    let mut hash = [0u8; 16];
    let mut hasher = Shake128::default();
    hasher.update(i.to_string().as_bytes());
    hasher.finalize_xof().read(&mut hash);

    out.push_str("{\"vendor_name\": \"");
    out.push_str(pick(rng, &["VTS", "CMT", "DDS"]));
    out.push_str("\", \"record_hash\": \"");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out.push_str("\", \"time\": {\"pickup\": \"");
    timestamp(out, pickup);
    out.push_str("\", \"dropoff\": \"");
    timestamp(out, dropoff);
    out.push_str("\"}, \"Trip_Distance\": ");
    float(out, uniform(rng, 0.1, 30.0), 2);
    out.push_str(", \"coordinates\": {");
    for (k, end) in [("start", false), ("end", true)] {
        out.push_str(&format!("\"{k}\": {{\"lon\": "));
        float(out, uniform(rng, -74.1, -73.7), 6);
        out.push_str(", \"lat\": ");
        float(out, uniform(rng, 40.5, 40.9), 6);
        out.push_str(if end { "}" } else { "}, " });
    }
    out.push_str("}, \"Rate_Code\": null, \"store_and_forward\": ");
    out.push_str(pick(rng, &["null", "\"Y\"", "\"N\""]));
    out.push_str(", \"Payment\": {\"type\": \"");
    out.push_str(pick(rng, &["Credit", "Cash"]));
    out.push_str("\", \"amt\": ");
    float(out, uniform(rng, 3.0, 90.0), 2);
    out.push_str(", \"surcharge\": ");
    out.push_str(pick(rng, &["0", "0.5", "1"]));
    out.push_str(", \"mta_tax\": ");
    out.push_str(pick(rng, &["null", "0.5"]));
    out.push_str(", \"tip\": ");
    float(out, uniform(rng, 0.0, 15.0), 2);
    out.push_str(", \"tolls\": ");
    float(out, uniform(rng, 0.0, 6.0), 2);
    out.push_str(", \"status\": \"");
    out.push_str(status);
    out.push_str(&format!(
        "\"}}, \"Passenger_Count\": {npass}, \"passengers\": ["
    ));
    for p in 0..npass {
        if p > 0 {
            out.push_str(", ");
        }
        out.push_str("{\"name\": \"");
        out.push_str(pick(rng, &["John", "Jack", "Ann", "Mia", "Li"]));
        out.push_str("\", \"rating\": ");
        float(out, uniform(rng, 1.0, 5.0), 1);
        out.push('}');
    }
    out.push_str("], \"Stops\": [");
    for s in 0..nstops {
        if s > 0 {
            out.push_str(", ");
        }
        out.push_str("{\"lon\": ");
        float(out, uniform(rng, -74.1, -73.7), 2);
        out.push_str(", \"lat\": ");
        float(out, uniform(rng, 40.5, 40.9), 2);
        out.push('}');
    }
    out.push_str("]}");
}
