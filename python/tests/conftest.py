"""Each test works in a folder of its own: the DuckDB files (`<pipeline>.duckdb`) in the
current folder, pipelines' working directories under it (DLTRS_PIPELINES_DIR)."""

import os

import pytest


@pytest.fixture(autouse=True)
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLTRS_PIPELINES_DIR", str(tmp_path / "pipelines"))
    return tmp_path


def query(db_file, sql):
    """Rows of `sql` in a DuckDB file, read by DuckDB's own Python package."""
    import duckdb

    conn = duckdb.connect(str(db_file), read_only=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()
