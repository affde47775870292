"""dlt's pipeline defaults and lifecycle: names, dev mode, the steps one by one, drop,
sync_destination, attach."""

import os

import pytest

import dltrs as dlt
from dltrs.exceptions import CannotRestorePipelineException
from conftest import query


def test_dlts_defaults_name_the_pipeline_file_and_dataset():
    pipeline = dlt.pipeline()
    # under pytest the script is pytest's: dlt names such a pipeline from it too
    assert pipeline.pipeline_name.startswith("dlt_")
    named = dlt.pipeline(pipeline_name="shop")
    assert named.dataset_name == "shop_dataset"
    named.run([{"id": 1}], table_name="orders")
    assert os.path.exists("shop.duckdb")
    assert query("shop.duckdb", "SELECT count(*) FROM shop_dataset.orders") == [(1,)]


def test_dev_mode_starts_a_fresh_dataset_each_time():
    first = dlt.pipeline(pipeline_name="dev", dev_mode=True)
    assert first.dataset_name.startswith("dev_dataset_")
    first.run([{"id": 1}], table_name="t")
    assert first.state["_local"]["first_run"] is False


def test_the_steps_one_by_one_then_drop_and_sync_destination():
    pipeline = dlt.pipeline(pipeline_name="steps", destination="duckdb", dataset_name="data")

    @dlt.resource(write_disposition="append")
    def numbers():
        state = dlt.current.resource_state()
        state["runs"] = state.get("runs", 0) + 1
        yield [{"n": n} for n in range(5)]

    extracted = pipeline.extract(numbers())
    assert extracted["items"] == {"numbers": 5}
    assert pipeline.has_pending_data
    assert pipeline.normalize() == [extracted["load_id"]]
    info = pipeline.load()
    assert info.loads_ids == [extracted["load_id"]]
    assert not pipeline.has_pending_data
    # the working directory goes; the destination keeps data and state, and gives them back
    pipeline = pipeline.drop()
    assert "sources" not in pipeline.state
    pipeline.sync_destination()
    assert pipeline.state["sources"]["steps"]["resources"]["numbers"]["runs"] == 1
    pipeline.run(numbers())
    assert pipeline.state["sources"]["steps"]["resources"]["numbers"]["runs"] == 2
    assert query("steps.duckdb", "SELECT count(*) FROM data.numbers") == [(10,)]


def test_attach_needs_an_existing_pipeline():
    with pytest.raises(CannotRestorePipelineException):
        dlt.attach("never_ran")
