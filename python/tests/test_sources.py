"""The engine's own sources from Python, with dlt's names: `rest_api_source(config)`,
`filesystem(...) | read_jsonl()`, `sql_database(credentials, ...)`."""

import json
import uuid

import pytest

import dltrs as dlt
from dltrs.sources.filesystem import filesystem, read_csv, read_jsonl
from dltrs.sources.rest_api import rest_api_source
from dltrs.sources.sql_database import sql_database
from conftest import query
from test_workshop import Api, ride


def test_rest_api_source_with_dlts_config_keys():
    api = Api([ride(i) for i in range(2300)])
    try:
        source = rest_api_source({
            "client": {
                "base_url": api.url.rsplit("/", 1)[0] + "/",
                "paginator": {"type": "page_number", "base_page": 1, "page_param": "page", "total_path": None, "stop_after_empty_page": True},
            },
            "resources": [{"name": "rides", "endpoint": {"path": "rides"}, "write_disposition": "replace", "primary_key": "record_hash"}],
        })
        pipeline = dlt.pipeline(pipeline_name="rest", destination="duckdb")
        info = pipeline.run(source)
        assert info.row_counts["rides"] == 2300
        assert query("rest.duckdb", "SELECT count(DISTINCT record_hash) FROM rest_dataset.rides") == [(2300,)]
    finally:
        api.close()


def test_rest_api_source_refuses_an_unknown_key_by_its_path():
    source = rest_api_source({"client": {"base_url": "http://127.0.0.1:1/", "nope": 1}, "resources": ["x"]})
    pipeline = dlt.pipeline(pipeline_name="rest_bad", destination="duckdb")
    with pytest.raises(ValueError) as failed:
        pipeline.run(source)
    assert "nope" in str(failed.value)


def test_filesystem_files_with_a_reader(workdir):
    (workdir / "data").mkdir()
    for part in range(3):
        with open(workdir / "data" / f"part{part}.jsonl", "w") as f:
            for i in range(100):
                f.write(json.dumps({"id": part * 100 + i, "nested": {"x": i}}) + "\n")
    (workdir / "data" / "table.csv").write_text("id;name\n1;a\n2;b\n")
    pipeline = dlt.pipeline(pipeline_name="files", destination="duckdb")
    info = pipeline.run(filesystem(str(workdir / "data"), file_glob="*.jsonl") | read_jsonl(), table_name="parts")
    assert info.row_counts["parts"] == 300
    info = pipeline.run(filesystem(str(workdir / "data"), file_glob="table.csv") | read_csv(delimiter=";"), table_name="csv_rows")
    assert query("files.duckdb", "SELECT count(*), max(nested__x) FROM files_dataset.parts") == [(300, 99)]
    assert query("files.duckdb", "SELECT name FROM files_dataset.csv_rows ORDER BY id") == [("a",), ("b",)]


def test_sql_database_tables_from_postgres():
    schema = "pysrc_" + uuid.uuid4().hex[:8]
    url = "postgresql://root@127.0.0.1:5432/test"
    admin = dlt.pipeline(pipeline_name="pg_admin", destination=dlt.destinations.postgres(url), dataset_name=schema).sql_client()
    admin.execute_sql(f'CREATE SCHEMA "{schema}"')
    try:
        admin.execute_sql(f'CREATE TABLE "{schema}".users (id bigint PRIMARY KEY, name text, joined date)')
        admin.execute_sql(f"INSERT INTO \"{schema}\".users SELECT g, 'user ' || g, DATE '2024-01-01' + g FROM generate_series(1, 500) g")
        pipeline = dlt.pipeline(pipeline_name="from_pg", destination="duckdb")
        info = pipeline.run(sql_database(url, schema=schema, table_names=["users"]))
        assert info.row_counts["users"] == 500
        columns = pipeline.default_schema.tables["users"]["columns"]
        assert columns["joined"]["data_type"] == "date"
        assert columns["id"].get("primary_key") is True
    finally:
        admin.execute_sql(f'DROP SCHEMA "{schema}" CASCADE')
