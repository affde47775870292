"""Python values keep their dlt types: datetime, date, time, Decimal, UUID and bytes; pyarrow
tables and batches and pandas frames go through the Arrow path."""

import datetime as dt
import uuid
from decimal import Decimal

import pyarrow as pa
import pandas as pd

import dltrs as dlt
from conftest import query


def test_python_types_keep_their_dlt_types():
    when = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    item = {
        "aware": when,
        "naive": dt.datetime(2024, 5, 6, 7, 8, 9),
        "day": dt.date(2024, 5, 6),
        "clock": dt.time(7, 8, 9, 500000),
        "price": Decimal("12.3400"),
        "id": uuid.UUID("6f1c4c7e-2f51-4a8e-9d5e-8b3c2a1f0e9d"),
        "blob": b"\x00\x01\xff",
        "big": 2**70,
        "ratio": 0.1,
        "flag": True,
        "nothing": None,
        "nested": {"at": dt.date(2020, 1, 1)},
        "tags": ("a", "b"),
    }
    pipeline = dlt.pipeline(pipeline_name="types", destination="duckdb")
    pipeline.run([item], table_name="values")
    columns = pipeline.default_schema.tables["values"]["columns"]
    types = {name: c["data_type"] for name, c in columns.items()}
    assert types["aware"] == "timestamp"
    assert types["naive"] == "timestamp"
    assert types["day"] == "date"
    assert types["clock"] == "time"
    assert types["price"] == "decimal"
    assert types["id"] == "text"
    assert types["blob"] == "binary"
    assert types["big"] == "wei"
    assert types["ratio"] == "double"
    assert types["flag"] == "bool"
    assert types["nested__at"] == "date"
    row = query(
        "types.duckdb",
        "SELECT aware, naive, day, clock, price, id, blob, ratio, flag, nested__at FROM types_dataset.values",
    )[0]
    assert row[0] == when
    assert row[1].replace(tzinfo=None) == dt.datetime(2024, 5, 6, 7, 8, 9)
    assert row[2] == dt.date(2024, 5, 6)
    assert row[3] == dt.time(7, 8, 9, 500000)
    assert row[4] == Decimal("12.34")
    assert row[5] == "6f1c4c7e-2f51-4a8e-9d5e-8b3c2a1f0e9d"
    assert row[6] == b"\x00\x01\xff"
    assert row[7] == 0.1 and row[8] is True and row[9] == dt.date(2020, 1, 1)
    assert query("types.duckdb", "SELECT value FROM types_dataset.values__tags ORDER BY _dlt_list_idx") == [("a",), ("b",)]


def test_pyarrow_tables_batches_and_pandas_frames_load_as_arrow():
    table = pa.table({"id": [1, 2, 3], "name": ["a", "b", None], "at": pa.array([dt.datetime(2024, 1, 1)] * 3, pa.timestamp("us", "UTC"))})
    pipeline = dlt.pipeline(pipeline_name="arrow_in", destination="duckdb")
    pipeline.run(table, table_name="from_table")
    pipeline.run(table.to_batches()[0], table_name="from_batch")
    frame = pd.DataFrame({"id": [10, 20], "score": [1.5, 2.5]})
    pipeline.run(frame, table_name="from_frame")

    @dlt.resource(name="mixed")
    def mixed():
        yield table
        yield {"id": 4, "name": "d"}

    pipeline.run(mixed())
    db = "arrow_in.duckdb"
    assert query(db, "SELECT count(*), sum(id) FROM arrow_in_dataset.from_table") == [(3, 6)]
    assert query(db, "SELECT count(*) FROM arrow_in_dataset.from_batch") == [(3,)]
    assert query(db, "SELECT sum(score) FROM arrow_in_dataset.from_frame") == [(4.0,)]
    assert query(db, "SELECT count(*), sum(id) FROM arrow_in_dataset.mixed") == [(4, 10)]
    types = {n: c["data_type"] for n, c in pipeline.default_schema.tables["from_table"]["columns"].items()}
    assert types["at"] == "timestamp" and types["id"] == "bigint"
    got = pipeline.dataset().from_frame.arrow()
    assert sorted(got.column("id").to_pylist()) == [10, 20]
