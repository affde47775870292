"""dlt's hints from Python: declared columns, schema contracts, nesting, source state."""

from decimal import Decimal

import pytest

import dltrs as dlt
from dltrs.exceptions import PipelineStepFailed
from conftest import query


def test_declared_columns_win_over_inference():
    @dlt.resource(columns={"price": {"data_type": "decimal", "precision": 10, "scale": 2}, "code": {"data_type": "text"}})
    def items():
        yield [{"price": 1.5, "code": 7}, {"price": 2, "code": 8}]

    pipeline = dlt.pipeline(pipeline_name="declared")
    pipeline.run(items())
    columns = pipeline.default_schema.tables["items"]["columns"]
    assert columns["price"]["data_type"] == "decimal"
    assert columns["code"]["data_type"] == "text"
    assert query("declared.duckdb", "SELECT price, code FROM declared_dataset.items ORDER BY code") == [
        (Decimal("1.50"), "7"),
        (Decimal("2.00"), "8"),
    ]


def test_a_frozen_contract_refuses_a_new_column_and_loads_nothing():
    pipeline = dlt.pipeline(pipeline_name="frozen")
    pipeline.run([{"id": 1}], table_name="t")

    @dlt.resource(name="t", schema_contract="freeze")
    def more():
        yield {"id": 2, "extra": "x"}

    with pytest.raises(PipelineStepFailed) as failed:
        pipeline.run(more())
    assert failed.value.step == "normalize"
    assert "extra" in str(failed.value)
    assert query("frozen.duckdb", "SELECT count(*) FROM frozen_dataset.t") == [(1,)]
    # discard_row: the row goes, the run goes on
    pipeline.run(more(), schema_contract={"columns": "discard_row"})
    assert query("frozen.duckdb", "SELECT count(*) FROM frozen_dataset.t") == [(1,)]


def test_nesting_is_limited_and_source_state_is_shared():
    @dlt.resource(max_table_nesting=0)
    def flat():
        dlt.current.source_state()["seen"] = dlt.current.source_state().get("seen", 0) + 1
        yield {"id": 1, "nested": {"a": [1, 2]}}

    @dlt.source
    def src():
        return flat

    pipeline = dlt.pipeline(pipeline_name="nesting")
    pipeline.run(src())
    pipeline.run(src())
    assert pipeline.default_schema.tables["flat"]["columns"]["nested"]["data_type"] == "json"
    assert "flat__nested" not in pipeline.default_schema.tables
    assert pipeline.state["sources"]["nesting"]["seen"] == 2
