use super::*;

fn layer(path: &str, text: &str) -> Layer {
    Layer {
        path: PathBuf::from(path),
        table: toml::from_str(text).unwrap_or_default(),
        exists: true,
        secrets: path.ends_with("secrets.toml"),
    }
}

fn config(files: &[(&str, &str)]) -> Config {
    Config {
        pipeline: Some("my_pipe".into()),
        secrets: crate::secret::Secrets::new(),
        explicit: None,
        flags: toml::Table::new(),
        flag_names: Vec::new(),
        files: files.iter().map(|(p, t)| layer(p, t)).collect(),
    }
}

#[test]
fn flags_win_over_every_layer() {
    let c = config(&[(
        "/p/.dltrs/config.toml",
        "[destination.filesystem]\nloader_file_format = \"jsonl\"\nlayout = \"{table_name}/{load_id}\"\n",
    )])
    .with_flag(
        "--loader-file-format",
        &["destination", "filesystem", "loader_file_format"],
        toml::Value::String("parquet".into()),
    );
    let r = c.value(&["destination", "filesystem"], &["loader_file_format"]);
    assert_eq!(r.value, Some(toml::Value::String("parquet".into())));
    assert_eq!(r.origin, Some(Origin::Flag("--loader-file-format".into())));
    // what the flags do not give comes from the layers as before
    let r = c.value(&["destination", "filesystem"], &["layout"]);
    assert_eq!(
        r.value,
        Some(toml::Value::String("{table_name}/{load_id}".into()))
    );
}

#[test]
fn looks_where_dlt_looks_in_dlt_order() {
    let c = config(&[("/p/.dltrs/secrets.toml", "")]);
    let r = c.value(&["destination", "postgres"], &["credentials"]);
    assert_eq!(r.value, None);
    let env: Vec<&str> = r
        .looked
        .iter()
        .filter_map(|l| l.strip_prefix("environment variable "))
        .collect();
    assert_eq!(
        env,
        [
            "MY_PIPE__DESTINATION__POSTGRES__CREDENTIALS",
            "MY_PIPE__DESTINATION__CREDENTIALS",
            "MY_PIPE__CREDENTIALS",
            "DESTINATION__POSTGRES__CREDENTIALS",
            "DESTINATION__CREDENTIALS",
            "CREDENTIALS",
        ]
    );
    assert!(
        r.looked
            .contains(&"`destination.postgres.credentials` in /p/.dltrs/secrets.toml".to_owned())
    );
    let message = r
        .missing("the credentials of destination postgres")
        .to_string();
    assert!(message.contains("MY_PIPE__CREDENTIALS"), "{message}");
    assert!(message.contains("/p/.dltrs/secrets.toml"), "{message}");
}

#[test]
fn project_over_global_pipeline_sections_over_plain_specific_over_short() {
    let c = config(&[
        (
            "/p/.dltrs/secrets.toml",
            "[destination.duckdb]\ncredentials = \"project.duckdb\"",
        ),
        (
            "/home/.dltrs/secrets.toml",
            "[my_pipe.destination.duckdb]\ncredentials = \"global.duckdb\"",
        ),
    ]);
    let r = c.value(&["destination", "duckdb"], &["credentials"]);
    assert_eq!(r.text().as_deref(), Some("project.duckdb"));
    assert_eq!(
        r.origin,
        Some(Origin::File("/p/.dltrs/secrets.toml".into()))
    );

    let c = config(&[(
        "/p/.dltrs/config.toml",
        "credentials = \"short.duckdb\"\n[my_pipe.destination.duckdb]\ncredentials = \"pipe.duckdb\"\n[destination.duckdb]\ncredentials = \"plain.duckdb\"",
    )]);
    let r = c.value(&["destination", "duckdb"], &["credentials"]);
    assert_eq!(r.text().as_deref(), Some("pipe.duckdb"));

    let c = config(&[(
        "/p/.dltrs/config.toml",
        "credentials = \"short.duckdb\"\n[destination]\ncredentials = \"mid.duckdb\"",
    )]);
    let r = c.value(&["destination", "duckdb"], &["credentials"]);
    assert_eq!(r.text().as_deref(), Some("mid.duckdb"));
}

#[test]
fn tables_merge_field_by_field_and_the_explicit_file_sits_over_config_files() {
    let c = config(&[
        (
            "/p/.dltrs/secrets.toml",
            "[sources.api.client.auth]\ntoken = \"tok-from-secrets\"",
        ),
        (
            "/p/.dltrs/config.toml",
            "[sources.api.client]\nbase_url = \"http://config\"\ntimeout = 5",
        ),
    ])
    .with_explicit(
        Path::new("/p/pipeline.toml"),
        toml::from_str("[sources.api]\ntype = \"rest_api\"\n[sources.api.client]\nbase_url = \"http://file\"\nauth = {type = \"bearer\"}")
            .unwrap_or_default(),
    );
    let r = c.table(&["sources", "api"]);
    let expected: toml::Table = toml::from_str(
        "type = \"rest_api\"\n[client]\nbase_url = \"http://file\"\ntimeout = 5\nauth = {type = \"bearer\", token = \"tok-from-secrets\"}",
    )
    .unwrap_or_default();
    assert_eq!(r.value, Some(toml::Value::Table(expected)));
    assert_eq!(
        r.origin,
        Some(Origin::File("/p/pipeline.toml".into())),
        "the highest layer that had something"
    );
    // values of secret-named keys are masked wherever they would show; others are not
    assert_eq!(
        c.secrets()
            .redact("401 for tok-from-secrets at http://config"),
        "401 for *** at http://config"
    );
}

#[test]
fn connection_string_passwords_are_secrets_wherever_they_come_from() {
    let c = config(&[(
        "/p/.dltrs/config.toml",
        "[destination.postgres]\ncredentials = \"postgresql://loader:p%40ss-w0rd@db:5432/x\"",
    )]);
    let _ = c.value(&["destination", "postgres"], &["credentials"]);
    assert_eq!(
        c.secrets().redact("auth failed: p%40ss-w0rd / p@ss-w0rd"),
        "auth failed: *** / ***"
    );
}

#[test]
fn environment_text_becomes_a_number_only_when_it_reads_back_the_same() {
    assert_eq!(env_value("30".into()), toml::Value::Integer(30));
    assert_eq!(env_value("-2".into()), toml::Value::Integer(-2));
    assert_eq!(env_value("0.5".into()), toml::Value::Float(0.5));
    assert_eq!(env_value("true".into()), toml::Value::Boolean(true));
    for text in [
        "007",
        "1e3",
        "30.0",
        "+1",
        "12345678901234567890",
        "True",
        "ghp_x",
    ] {
        assert_eq!(
            env_value(text.into()),
            toml::Value::String(text.into()),
            "{text}"
        );
    }
}
