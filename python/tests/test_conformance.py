"""Every conformance case of the repository's copy, run through the Python API and compared
with what dlt 1.31 wrote by the Rust suite's canonical dump (`conformance-check`)."""

import json
import os
import pathlib
import subprocess

import pytest

import dltrs as dlt

ROOT = pathlib.Path(__file__).resolve().parents[2] / "testdata" / "conformance"
CASES = sorted((ROOT / "cases").glob("*.json")) + sorted((ROOT / "beyond").glob("*.json"))
CHECK = os.environ.get(
    "DLTRS_CONFORMANCE_CHECK",
    os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/dltrs-target")), "release", "conformance-check"),
)


def test_the_cases_are_there():
    assert len(CASES) >= 20
    assert os.path.exists(CHECK), f"{CHECK}: run `cargo test --release --workspace` first"


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_case_matches_dlt(case):
    spec = json.loads(case.read_text())
    pipeline = dlt.pipeline(pipeline_name="conformance", destination=dlt.destinations.duckdb("cases.duckdb"), dataset_name="data")
    for run in spec["runs"]:
        resource = dlt.resource(run.get("data", []), name=run["table"], max_table_nesting=spec.get("max_table_nesting"))
        pipeline.run(
            resource,
            write_disposition=run["write_disposition"],
            primary_key=run.get("primary_key"),
            merge_key=run.get("merge_key"),
        )
    checked = subprocess.run([CHECK, str(case), "cases.duckdb", "data"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
