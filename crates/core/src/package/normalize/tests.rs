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
        let mut feed = Sealed::new(&extracted, &src);
        let package = write_package(
            &wd,
            &mut feed,
            &tmp,
            load_id,
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

/// Writes the same extract twice, one followed by a normalizer as it is written: both
/// packages are the same (entries in manifest order, files in order, whatever order the
/// extract closed them in: interleaved tables, Arrow batches, files rotated).
#[test]
fn a_normalizer_following_the_extract_writes_what_one_after_it_writes() {
    use arrow_array::Int64Array;
    use arrow_schema::{DataType as ArrowType, Field};

    let batch = || {
        let schema = Arc::new(ArrowSchema::new(vec![Field::new(
            "id",
            ArrowType::Int64,
            false,
        )]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3]))])
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let write = |writer: &mut ExtractWriter| {
        writer
            .begin_resource("items", "items", TableHints::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..95_000 {
            let json = item(i);
            if i % 10 == 3 {
                writer.write_item_to("side", json.as_bytes())
            } else {
                writer.write_item(json.as_bytes())
            }
            .unwrap_or_else(|e| panic!("{e}"));
            if i == 50_000 {
                writer
                    .write_batch(&batch())
                    .unwrap_or_else(|e| panic!("{e}"));
            }
        }
        writer
            .begin_resource("nothing", "nothing", TableHints::default())
            .unwrap_or_else(|e| panic!("{e}"));
        writer
            .begin_resource("more", "more", TableHints::default())
            .unwrap_or_else(|e| panic!("{e}"));
        writer
            .write_batch(&batch())
            .unwrap_or_else(|e| panic!("{e}"));
        writer
            .write_item(br#"{"id": 7, "x": [1, 2]}"#)
            .unwrap_or_else(|e| panic!("{e}"));
    };
    let progress = crate::progress::Progress::new();
    let mut results = Vec::new();
    for follow in [false, true] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let wd = WorkingDir::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let load_id = "1700000000.000002";
        let package = std::thread::scope(|scope| {
            let mut writer =
                ExtractWriter::begin(&wd, load_id, "test").unwrap_or_else(|e| panic!("{e}"));
            let following = follow.then(|| {
                let (tx, rx) = mpsc::channel();
                writer.follow(tx);
                let wd = &wd;
                let progress = &progress;
                scope.spawn(move || {
                    normalize_following(
                        wd,
                        load_id,
                        rx,
                        Schema::new("test"),
                        Box::new(crate::SnakeCase::new()),
                        crate::NulPolicy::Keep,
                        progress,
                    )
                })
            });
            write(&mut writer);
            writer.commit().unwrap_or_else(|e| panic!("{e}"));
            match following {
                Some(thread) => thread.join().unwrap_or_else(|_| panic!("panicked")),
                None => normalize(
                    &wd,
                    load_id,
                    Schema::new("test"),
                    Box::new(crate::SnakeCase::new()),
                    crate::NulPolicy::Keep,
                    &progress,
                ),
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
        // sealed, the extracted package gone
        assert!(package.dir.ends_with(load_id));
        assert!(
            wd.packages_in(Stage::Extracted)
                .unwrap_or_default()
                .is_empty()
        );
        results.push((
            package.schema.to_json_pretty(),
            format!("{:?}", package.manifest.roots),
            package.manifest.changes.clone(),
            package.manifest.items,
            contents(&package),
        ));
    }
    let (after, following) = (&results[0], &results[1]);
    assert_eq!(after.0, following.0, "schemas differ");
    assert_eq!(after.1, following.1, "roots differ");
    assert_eq!(after.2, following.2, "changes differ");
    assert_eq!(after.3, 95_000 + 3 + 3 + 1);
    assert_eq!(after.3, following.3);
    assert_eq!(after.4, following.4, "rows differ");
}

/// An extract that ends without its commit leaves the following normalizer nothing to write.
#[test]
fn an_abandoned_extract_leaves_no_normalized_package() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let wd = WorkingDir::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let load_id = "1700000000.000003";
    let progress = crate::progress::Progress::new();
    let (tx, rx) = mpsc::channel();
    {
        let mut writer =
            ExtractWriter::begin(&wd, load_id, "test").unwrap_or_else(|e| panic!("{e}"));
        writer.follow(tx);
        writer
            .begin_resource("items", "items", TableHints::default())
            .unwrap_or_else(|e| panic!("{e}"));
        for i in 0..50_000 {
            writer
                .write_item(item(i).as_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        // dropped: the extract failed
    }
    let result = normalize_following(
        &wd,
        load_id,
        rx,
        Schema::new("test"),
        Box::new(crate::SnakeCase::new()),
        crate::NulPolicy::Keep,
        &progress,
    );
    assert!(
        matches!(result, Err(PackageError::ExtractAbandoned)),
        "{result:?}"
    );
    assert!(
        wd.packages_in(Stage::Normalized)
            .unwrap_or_default()
            .is_empty()
    );
    assert!(
        fs::read_dir(wd.tmp_dir(Stage::Normalized, load_id))
            .map(|mut d| d.next().is_none())
            .unwrap_or(true)
    );
}
