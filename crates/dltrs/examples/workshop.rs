//! The workshop's example: a nested ride loaded with `replace`, then the same ride, changed
//! (cancelled, new ratings), merged on `record_hash`; then DuckDB shows the result.
//!
//! Run it with `cargo run --release -p dltrs --example workshop`; it writes `workshop.duckdb`
//! in the current directory.

use dltrs::{DuckDb, Pipeline, Resource, WriteDisposition};
use serde_json::json;

fn ride(status: &str, ratings: [f64; 2]) -> serde_json::Value {
    json!({
        "vendor_name": "VTS",
        "record_hash": "b00361a396177a9cb410ff61f20015ad",
        "time": {"pickup": "2009-06-14 23:23:00", "dropoff": "2009-06-14 23:48:00"},
        "Trip_Distance": 17.52,
        "coordinates": {
            "start": {"lon": -73.787442, "lat": 40.641525},
            "end": {"lon": -73.980072, "lat": 40.742963}
        },
        "Rate_Code": null,
        "store_and_forward": null,
        "Payment": {
            "type": "Credit", "amt": 20.5, "surcharge": 0, "mta_tax": null,
            "tip": 9, "tolls": 4.15, "status": status
        },
        "Passenger_Count": 2,
        "passengers": [
            {"name": "John", "rating": ratings[0]},
            {"name": "Jack", "rating": ratings[1]}
        ],
        "Stops": [{"lon": -73.6, "lat": 40.6}, {"lon": -73.5, "lat": 40.5}]
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut pipeline = Pipeline::builder("workshop")
        .destination(DuckDb::new("workshop.duckdb"))
        .build()?;

    // 1. the ride as booked, replacing whatever the table held
    let booked = Resource::new("rides", [ride("booked", [4.9, 3.9])])
        .write_disposition(WriteDisposition::Replace);
    println!("{}", pipeline.run([booked])?);

    // 2. the same ride, cancelled and re-rated, merged on its record hash
    let cancelled = Resource::new("rides", [ride("cancelled", [4.4, 3.6])])
        .write_disposition(WriteDisposition::Merge)
        .merge_key(["record_hash"]);
    println!("{}", pipeline.run([cancelled])?);

    let dataset = pipeline.dataset_name().to_string();
    drop(pipeline);
    let conn = duckdb::Connection::open("workshop.duckdb")?;
    let mut stmt = conn.prepare(&format!(
        "SELECT r.payment__status, p.name, p.rating \
         FROM \"{dataset}\".rides r JOIN \"{dataset}\".rides__passengers p \
         ON p._dlt_root_id = r._dlt_id ORDER BY p._dlt_list_idx"
    ))?;
    let rows = stmt.query_map([], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, f64>(2)?,
        ))
    })?;
    println!("payment__status | passenger | rating");
    for row in rows {
        let (status, name, rating) = row?;
        println!("{status:15} | {name:9} | {rating}");
    }
    Ok(())
}
