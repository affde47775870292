"""dlt's merge strategies from Python: the dict form of `write_disposition` and the
`hard_delete` / `dedup_sort` column hints, on DuckDB."""

import dltrs as dlt
from conftest import query


def test_upsert_insert_only_hard_delete_and_dedup_sort():
    pipeline = dlt.pipeline(pipeline_name="strategies", destination="duckdb", dataset_name="d")

    def rows(sql):
        return query("strategies.duckdb", sql)

    upsert = {"disposition": "merge", "strategy": "upsert"}
    pipeline.run([{"id": 1, "v": "a"}, {"id": 2, "v": "b"}], table_name="u", write_disposition=upsert, primary_key="id")
    pipeline.run([{"id": 2, "v": "B"}, {"id": 3, "v": "c"}], table_name="u", write_disposition=upsert, primary_key="id")
    assert rows("SELECT id, v FROM d.u ORDER BY id") == [(1, "a"), (2, "B"), (3, "c")]

    insert_only = {"disposition": "merge", "strategy": "insert-only"}
    pipeline.run([{"id": 1, "v": "a"}], table_name="i", write_disposition=insert_only, primary_key="id")
    pipeline.run([{"id": 1, "v": "x"}, {"id": 2, "v": "b"}], table_name="i", write_disposition=insert_only, primary_key="id")
    assert rows("SELECT id, v FROM d.i ORDER BY id") == [(1, "a"), (2, "b")]

    @dlt.resource(
        write_disposition="merge",
        primary_key="id",
        columns={"gone": {"hard_delete": True, "data_type": "bool"}, "seq": {"dedup_sort": "desc"}},
    )
    def events(batch):
        yield from batch

    pipeline.run(events([{"id": 1, "seq": 1, "v": "a"}, {"id": 2, "seq": 1, "v": "b"}]))
    pipeline.run(events([
        {"id": 1, "seq": 2, "v": "low"},
        {"id": 1, "seq": 7, "v": "high"},
        {"id": 2, "seq": 3, "v": "b", "gone": True},
    ]))
    assert rows("SELECT id, v FROM d.events ORDER BY id") == [(1, "high")]
