"""The filesystem destination from Python: `dltrs.destinations.filesystem(bucket_url, ...)`
into a local folder and into moto's S3 server, read back by DuckDB and pyarrow."""

import glob
import os
import socket

import boto3
import duckdb
import pyarrow.parquet as pq
import pytest

import dltrs as dlt
from dltrs.exceptions import PipelineStepFailed


def rides(start, n):
    for i in range(start, start + n):
        yield {"id": i, "vendor": f"v{i % 3}", "stops": [{"at": i}, {"at": i + 1}]}


def test_parquet_in_a_local_folder_with_dlts_layout(tmp_path):
    bucket = tmp_path / "lake"
    pipeline = dlt.pipeline(
        pipeline_name="fs_local",
        destination=dlt.destinations.filesystem(str(bucket), loader_file_format="parquet"),
        dataset_name="rides_data",
    )
    info = pipeline.run(rides(0, 100), table_name="rides")
    assert not info.has_failed_jobs
    files = sorted(glob.glob(str(bucket / "rides_data" / "rides" / "*.parquet")))
    assert len(files) == 1
    load_id = info.loads_ids[0]
    assert os.path.basename(files[0]).startswith(load_id + ".")
    table = pq.read_table(files[0])
    assert table.num_rows == 100
    assert duckdb.sql(
        f"SELECT count(*) FROM read_parquet('{bucket}/rides_data/rides__stops/*.parquet')"
    ).fetchall() == [(200,)]
    assert os.path.exists(bucket / "rides_data" / "_dlt_loads" / f"fs_local__{load_id}.jsonl")


def test_jsonl_is_the_default_and_merge_is_refused(tmp_path):
    bucket = tmp_path / "lake"
    pipeline = dlt.pipeline(
        pipeline_name="fs_jsonl",
        destination=dlt.destinations.filesystem(str(bucket)),
        dataset_name="d",
    )
    pipeline.run(rides(0, 10), table_name="rides")
    assert len(glob.glob(str(bucket / "d" / "rides" / "*.jsonl.gz"))) == 1
    with pytest.raises(PipelineStepFailed, match="cannot merge"):
        pipeline.run(rides(0, 10), table_name="rides", write_disposition="merge", primary_key="id")


@pytest.fixture
def moto_endpoint():
    """moto's S3 server as a process of its own (in this process, a reader that holds the GIL
    while it waits for the server, as `deltalake` does, would wait forever)."""
    import subprocess
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.time() < deadline, "moto_server did not start"
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.kill()
    server.wait()


def test_s3_with_credentials_that_never_show(tmp_path, moto_endpoint):
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        aws_access_key_id="k",
        aws_secret_access_key="s",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="py-lake")
    secret = "py-secret-never-printed"
    destination = dlt.destinations.filesystem(
        "s3://py-lake/raw",
        credentials={
            "aws_access_key_id": "k",
            "aws_secret_access_key": secret,
            "region_name": "us-east-1",
            "endpoint_url": moto_endpoint,
        },
        loader_file_format="parquet",
    )
    pipeline = dlt.pipeline(pipeline_name="fs_s3", destination=destination, dataset_name="d")
    info = pipeline.run(rides(0, 25), table_name="rides")
    assert secret not in str(info)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="py-lake", Prefix="raw/d/rides/")["Contents"]]
    assert len(keys) == 1 and keys[0].endswith(".parquet")
    local = tmp_path / "r.parquet"
    s3.download_file("py-lake", keys[0], str(local))
    assert pq.read_table(local).num_rows == 25

    # a missing bucket: a clear error, no secret
    bad = dlt.pipeline(
        pipeline_name="fs_s3_missing",
        destination=dlt.destinations.filesystem(
            "s3://no-such-bucket/raw",
            credentials={
                "aws_access_key_id": "k",
                "aws_secret_access_key": secret,
                "region_name": "us-east-1",
                "endpoint_url": moto_endpoint,
            },
        ),
        dataset_name="d",
    )
    with pytest.raises(PipelineStepFailed) as failed:
        bad.run(rides(0, 1), table_name="rides")
    assert "no-such-bucket" in str(failed.value)
    assert secret not in str(failed.value)


DLT_SCRIPT = r"""
import json, sys
import dlt
bucket, pipelines = sys.argv[1], sys.argv[2]
p = dlt.pipeline(pipeline_name="compat", destination=dlt.destinations.filesystem(bucket),
                 dataset_name="compat_data", pipelines_dir=pipelines)
p.sync_destination()
restored = {"destination_type": p.state.get("destination_type"),
            "tables": sorted(p.default_schema.data_table_names()),
            "cursor": p.state["sources"]["compat"]["resources"]["rides"]["incremental"]["id"]["last_value"]}
# dlt reads the tables dltrs wrote
restored["rows"] = len(p.dataset().rides.df())
restored["stops"] = len(p.dataset().rides__stops.df())
p.run([{"id": 1000, "vendor": "dlt", "stops": [{"at": 1}]}], table_name="rides")
restored["state_version"] = p.state["_state_version"]
print(json.dumps(restored))
"""


def test_dlt_reads_and_extends_a_bucket_dltrs_wrote_and_dltrs_restores_from_it(tmp_path):
    """Python dlt 1.31's `sync_destination` takes the state and schema dltrs wrote, loads on
    top; a dltrs pipeline on a new machine then restores the state dlt stored last."""
    import json
    import subprocess
    import sys

    venv = os.environ.get("DLTRS_VENV", os.path.expanduser("~/.cache/dltrs-venv"))
    dlt_python = os.path.join(venv + "-dlt", "bin", "python")
    assert os.path.exists(dlt_python), f"{dlt_python}: run `bash python/venv.sh`"
    bucket = tmp_path / "lake"

    @dlt.resource(name="rides")
    def rides_incremental(cursor=dlt.sources.incremental("id")):
        yield from rides(0, 10)

    def dltrs_pipeline(pipelines_dir):
        return dlt.pipeline(
            pipeline_name="compat",
            destination=dlt.destinations.filesystem(str(bucket)),
            dataset_name="compat_data",
            pipelines_dir=str(pipelines_dir),
        )

    dltrs_pipeline(tmp_path / "first").run(rides_incremental())
    out = subprocess.run(
        [dlt_python, "-c", DLT_SCRIPT, str(bucket), str(tmp_path / "dlt_pipelines")],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    restored = json.loads(out.stdout.strip().splitlines()[-1])
    assert restored["destination_type"] == "dlt.destinations.filesystem"
    assert restored["tables"] == ["rides", "rides__stops"]
    assert restored["cursor"] == 9
    assert (restored["rows"], restored["stops"]) == (10, 20)
    # dlt's own load sits beside dltrs's, with its marker
    assert len(os.listdir(bucket / "compat_data" / "_dlt_loads")) == 2
    rows = duckdb.sql(
        f"SELECT count(*) FROM read_json('{bucket}/compat_data/rides/*', format = 'newline_delimited')"
    ).fetchall()
    assert rows == [(11,)]

    # a new machine: dltrs restores what dlt stored last
    again = dltrs_pipeline(tmp_path / "second")
    again.sync_destination()
    assert again.state["_state_version"] == restored["state_version"]


def test_delta_tables_read_by_deltalake_after_appends_replaces_and_merges(tmp_path, moto_endpoint):
    """Every table a Delta table, read back by the `deltalake` package (delta-rs), locally and
    on S3: appends, a replace, a delete-insert merge and an upsert."""
    from deltalake import DeltaTable

    s3 = boto3.client(
        "s3", endpoint_url=moto_endpoint, aws_access_key_id="k",
        aws_secret_access_key="s", region_name="us-east-1",
    )
    s3.create_bucket(Bucket="delta-lake")
    credentials = {
        "aws_access_key_id": "k",
        "aws_secret_access_key": "s",
        "region_name": "us-east-1",
        "endpoint_url": moto_endpoint,
    }
    targets = [
        (str(tmp_path / "lake"), None, lambda t: DeltaTable(str(tmp_path / "lake" / "d" / t))),
        (
            "s3://delta-lake/raw",
            credentials,
            lambda t: DeltaTable(
                f"s3://delta-lake/raw/d/{t}",
                storage_options={
                    "AWS_ACCESS_KEY_ID": "k",
                    "AWS_SECRET_ACCESS_KEY": "s",
                    "AWS_REGION": "us-east-1",
                    "AWS_ENDPOINT_URL": moto_endpoint,
                    "AWS_ALLOW_HTTP": "true",
                    "AWS_S3_ALLOW_UNSAFE_RENAME": "true",
                },
            ),
        ),
    ]
    for index, (url, creds, table) in enumerate(targets):
        pipeline = dlt.pipeline(
            pipeline_name=f"delta{index}",
            destination=dlt.destinations.filesystem(url, credentials=creds, table_format="delta"),
            dataset_name="d",
        )
        pipeline.run(rides(0, 20), table_name="rides")
        pipeline.run(rides(20, 5), table_name="rides")
        assert len(table("rides").to_pyarrow_table()) == 25
        assert len(table("rides__stops").to_pyarrow_table()) == 50
        assert table("rides").version() == 1

        # delete-insert on the primary key: 10..30 arrive, 10..25 replaced, 25..30 new
        changed = [dict(r, vendor="changed") for r in rides(10, 20)]
        pipeline.run(changed, table_name="rides", write_disposition="merge", primary_key="id")
        rows = table("rides").to_pyarrow_table().to_pylist()
        assert len(rows) == 30
        assert sorted(r["id"] for r in rows if r["vendor"] == "changed") == list(range(10, 30))
        assert len(table("rides__stops").to_pyarrow_table()) == 60

        # upsert on another table
        upserts = dlt.resource(
            [{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], name="dims",
            write_disposition={"disposition": "merge", "strategy": "upsert"}, primary_key="id",
        )
        pipeline.run(upserts)
        pipeline.run(dlt.resource(
            [{"id": 2, "v": "B"}, {"id": 3, "v": "c"}], name="dims",
            write_disposition={"disposition": "merge", "strategy": "upsert"}, primary_key="id",
        ))
        dims = sorted((r["id"], r["v"]) for r in table("dims").to_pyarrow_table().to_pylist())
        assert dims == [(1, "a"), (2, "B"), (3, "c")]

        # replace: one commit removing every file and adding the new ones
        pipeline.run(rides(100, 3), table_name="rides", write_disposition="replace")
        assert sorted(r["id"] for r in table("rides").to_pyarrow_table().to_pylist()) == [100, 101, 102]
        assert len(table("rides__stops").to_pyarrow_table()) == 6
        history = table("rides").history()
        assert history[0]["operation"] == "WRITE"


def test_a_resources_table_format_hint_makes_a_delta_table(tmp_path):
    from deltalake import DeltaTable

    bucket = tmp_path / "lake"
    pipeline = dlt.pipeline(
        pipeline_name="hinted",
        destination=dlt.destinations.filesystem(str(bucket)),
        dataset_name="d",
    )

    @dlt.resource(table_format="delta", write_disposition="merge", primary_key="id")
    def dims(start=0):
        yield from ({"id": i, "v": start} for i in range(start, start + 5))

    pipeline.run(dims())
    pipeline.run(dims(3))
    rows = sorted((r["id"], r["v"]) for r in DeltaTable(str(bucket / "d" / "dims")).to_pyarrow_table().to_pylist())
    assert rows == [(0, 0), (1, 0), (2, 0), (3, 3), (4, 3), (5, 3), (6, 3), (7, 3)]
