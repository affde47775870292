use super::*;
use crate::package::extract::ExtractWriter;
use crate::schema::TableHints;
use arrow_array::Array;

/// Items whose schema keeps changing past the first blocks: a new column late, a type that
/// conflicts (a variant column), a column that is only ever null, a child table that appears
/// late, and lists everywhere.
fn item(i: u64) -> String {
    let conflict = i % 1000 == 999 && i > 31_000;
    let mut fields = vec![
        if conflict {
            format!("\"id\": \"x{i}\"")
        } else {
            format!("\"id\": {i}")
        },
        format!("\"name\": \"n{}\"", i % 7),
        "\"always_null\": null".to_string(),
        format!(
            "\"tags\": [{}]",
            (0..i % 3)
                .map(|t| format!("{{\"t\": {t}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ];
    if i >= 23_456 {
        fields.push(format!("\"late\": \"l{i}\""));
    }
    if conflict {
        fields.push("\"ratio\": 1.5".into());
    }
    if i >= 38_000 {
        fields.push(format!("\"stops\": [{{\"s\": {i}}}]"));
    }
    format!("{{{}}}", fields.join(", "))
}

/// Every value of every table, row by row, without the random ids.
fn contents(package: &NormalizedPackage) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for table in &package.manifest.tables {
        let mut rows = Vec::new();
        for batch in package.batches(table) {
            let batch = batch.unwrap_or_else(|e| panic!("{e}"));
            let schema = batch.schema();
            for row in 0..batch.num_rows() {
                let mut values: Vec<String> = schema
                    .fields()
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| {
                        !matches!(
                            f.name().as_str(),
                            "_dlt_id" | "_dlt_parent_id" | "_dlt_root_id"
                        )
                    })
                    .filter(|(c, _)| !batch.column(*c).is_null(row))
                    .map(|(c, f)| format!("{}={:?}", f.name(), batch.column(c).slice(row, 1)))
                    .collect();
                values.sort();
                rows.push(values.join(","));
            }
        }
        out.push((table.name.clone(), rows));
    }
    out
}

#[test]
fn two_cores_write_what_one_normalizer_writes() {
    let mut results = Vec::new();
    for parallel in [false, true] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let wd = WorkingDir::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let load_id = "1700000000.000001";
        let mut writer =
            ExtractWriter::begin(&wd, load_id, "test").unwrap_or_else(|e| panic!("{e}"));
        writer
            .begin_resource("items", "items", TableHints::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..45_000 {
            writer
                .write_item(item(i).as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let extracted = writer.commit().unwrap_or_else(|e| panic!("{e}"));
        let src = wd.package_dir(Stage::Extracted, load_id);
        let tmp = wd.tmp_dir(Stage::Normalized, load_id);
        fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
        let package = write_package(
            &wd,
            &src,
            &tmp,
            &extracted,
            Schema::new("test"),
            Box::new(crate::SnakeCase::new()),
            crate::NulPolicy::Keep,
            parallel,
            &crate::progress::Progress::new(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        results.push((
            package.schema.to_json_pretty(),
            package.manifest.changes.clone(),
            package.manifest.warnings.clone(),
            package.manifest.items,
            contents(&package),
        ));
    }
    let (sequential, parallel) = (&results[0], &results[1]);
    assert_eq!(sequential.0, parallel.0, "schemas differ");
    assert_eq!(sequential.1, parallel.1, "schema changes differ");
    assert_eq!(sequential.2, parallel.2, "warnings differ");
    assert_eq!(sequential.3, 45_000);
    assert_eq!(sequential.3, parallel.3);
    assert!(
        sequential
            .1
            .iter()
            .any(|c| c.to_string().contains("variant")),
        "{:?}",
        sequential.1
    );
    assert!(
        sequential
            .1
            .iter()
            .any(|c| c.to_string().contains("items__stops"))
    );
    assert!(
        sequential
            .2
            .iter()
            .any(|w| matches!(w, NormalizeWarning::NullOnlyColumn { .. }))
    );
    assert_eq!(sequential.4.len(), parallel.4.len());
    for ((table, rows), (_, other)) in sequential.4.iter().zip(&parallel.4) {
        assert_eq!(rows.len(), other.len(), "{table}");
        for (i, (a, b)) in rows.iter().zip(other).enumerate() {
            assert_eq!(a, b, "{table} row {i}");
        }
    }
}
