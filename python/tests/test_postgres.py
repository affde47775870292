"""The same API into PostgreSQL (127.0.0.1:5432, trust auth): a fresh dataset per test, read
back through `dataset()` and `sql_client()`, the password never shown."""

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest

import dltrs as dlt
from dltrs.exceptions import PipelineStepFailed

PASSWORD = "s3cret-Pw"
URL = f"postgresql://root:{PASSWORD}@127.0.0.1:5432/test"


@pytest.fixture
def dataset():
    name = "py_" + uuid.uuid4().hex[:10]
    yield name
    pipeline = dlt.pipeline(pipeline_name="pg_cleanup", destination=dlt.destinations.postgres(URL), dataset_name=name)
    try:
        pipeline.sql_client().execute_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    except PipelineStepFailed:
        pass


def test_a_run_into_postgres_reads_back_typed(dataset):
    pipeline = dlt.pipeline(pipeline_name="to_pg", destination=dlt.destinations.postgres(URL), dataset_name=dataset)
    rows = [
        {"id": i, "at": dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=i), "day": dt.date(2024, 1, 1 + i),
         "price": Decimal(f"{i}.25"), "blob": bytes([i]), "tags": [f"t{i}"], "meta": {"k": i}}
        for i in range(3)
    ]
    info = pipeline.run(rows, table_name="items", write_disposition="merge", primary_key="id")
    assert info.row_counts == {"items": 3, "items__tags": 3}
    assert PASSWORD not in str(info) and PASSWORD not in json.dumps(info.asdict())
    assert PASSWORD not in str(pipeline.last_trace)
    table = pipeline.dataset().items.arrow()
    assert sorted(table.column("id").to_pylist()) == [0, 1, 2]
    frame = pipeline.dataset().items.df().sort_values("id")
    assert list(frame["price"]) == [Decimal("0.25"), Decimal("1.25"), Decimal("2.25")]
    assert frame["at"].iloc[1] == dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone.utc)
    assert list(frame["meta__k"]) == [0, 1, 2]
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT count(*) FROM items__tags") == [(3,)]
        assert client.execute_sql("SELECT day FROM items WHERE id = 2") == [(dt.date(2024, 1, 3),)]
        assert client.execute_sql("SELECT blob FROM items WHERE id = 1") == [(b"\x01",)]
    # a bad query names what PostgreSQL said, without the password
    with pytest.raises(PipelineStepFailed) as failed:
        pipeline.sql_client().execute_sql("SELECT nope FROM items")
    assert "nope" in str(failed.value) and PASSWORD not in str(failed.value)
    # merged again: still three rows, updated
    pipeline.run([dict(rows[0], price=Decimal("9.50"))], table_name="items", write_disposition="merge", primary_key="id")
    assert pipeline.sql_client().execute_sql("SELECT price FROM items WHERE id = 0") == [(Decimal("9.50"),)]


def test_a_refused_connection_is_a_clear_error_without_the_password(dataset):
    pipeline = dlt.pipeline(
        pipeline_name="pg_refused",
        destination=dlt.destinations.postgres(f"postgresql://root:{PASSWORD}@127.0.0.1:1/test"),
        dataset_name=dataset,
    )
    with pytest.raises(PipelineStepFailed) as failed:
        pipeline.run([{"id": 1}], table_name="items")
    message = str(failed.value)
    assert PASSWORD not in message
    assert "127.0.0.1" in message


def test_credentials_come_from_the_configuration_layers(dataset, monkeypatch, workdir):
    # dlt's environment variable, then the project's .dltrs/secrets.toml
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", URL)
    pipeline = dlt.pipeline(pipeline_name="pg_env", destination="postgres", dataset_name=dataset)
    assert pipeline.run([{"id": 1}], table_name="items").row_counts == {"items": 1}
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS")
    (workdir / ".dltrs").mkdir()
    (workdir / ".dltrs" / "secrets.toml").write_text(
        '[destination.postgres.credentials]\nhost = "127.0.0.1"\nusername = "root"\n'
        f'password = "{PASSWORD}"\ndatabase = "test"\n'
    )
    pipeline = dlt.pipeline(pipeline_name="pg_toml", destination="postgres", dataset_name=dataset)
    info = pipeline.run([{"id": 2}], table_name="items")
    assert info.row_counts == {"items": 1}
    assert PASSWORD not in str(info)
    assert pipeline.sql_client().execute_sql("SELECT count(*) FROM items") == [(2,)]
