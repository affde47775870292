"""The workshop's flows with `import dltrs as dlt`: a paginated REST API read by a Python
generator from a local HTTP server, loaded with replace, then merged on `record_hash` (the
flow dlt 1.31 fails once a ride has child rows), an incremental resource over two runs, and the
result read back with DuckDB."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from urllib.request import urlopen

import pytest

import dltrs as dlt
from conftest import query

PAGE_SIZE = 1000


def ride(i, fare=None, updated=1):
    return {
        "record_hash": f"h{i}",
        "vendor_name": "VTS" if i % 2 else "CMT",
        "trip_distance": i / 10,
        "total_amount": fare if fare is not None else 5 + i % 30,
        "updated_at": f"2024-01-{updated:02d}T00:00:{i % 60:02d}+00:00",
        "coordinates": {"start": {"lat": 40.7 + i / 1e4, "lon": -73.9}, "end": {"lat": 40.8, "lon": -74.0}},
        "passengers": [{"name": f"p{i}", "rating": 4.5}] if i % 3 == 0 else [],
    }


class Api:
    """A paginated API on 127.0.0.1: `/rides?page=N` gives PAGE_SIZE rides, an empty page at
    the end; `since` keeps rides updated at or after it."""

    def __init__(self, rides):
        self.rides = rides
        self.requests = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                args = parse_qs(url.query)
                api.requests.append(self.path)
                page = int(args.get("page", ["1"])[0])
                since = args.get("since", [None])[0]
                rides = [r for r in api.rides if since is None or r["updated_at"] >= since]
                body = json.dumps(rides[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/rides"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api():
    server = Api([ride(i) for i in range(2500)])
    yield server
    server.close()


def paginated_getter(url, **params):
    """The workshop's getter: pages until an empty one."""
    page = 1
    while True:
        query_string = "&".join([f"page={page}"] + [f"{k}={v}" for k, v in params.items()])
        with urlopen(f"{url}?{query_string}") as response:
            data = json.loads(response.read())
        if not data:
            break
        yield data
        page += 1


def test_replace_then_merge_on_record_hash(api):
    @dlt.resource(name="rides", write_disposition="replace")
    def rides():
        yield from paginated_getter(api.url)

    pipeline = dlt.pipeline(pipeline_name="ny_taxi", destination="duckdb", dataset_name="taxi_rides")
    info = pipeline.run(rides())
    assert info.row_counts["rides"] == 2500
    assert info.row_counts["rides__passengers"] == 834
    assert "rides" in str(info)

    db = "ny_taxi.duckdb"
    assert query(db, "SELECT count(*) FROM taxi_rides.rides") == [(2500,)]
    # the same API again: replace keeps one copy
    pipeline.run(rides())
    assert query(db, "SELECT count(*) FROM taxi_rides.rides") == [(2500,)]
    assert query(db, "SELECT count(*) FROM taxi_rides.rides__passengers") == [(834,)]

    # fares change for some rides; the merge replaces them and their children
    api.rides = [ride(i, fare=100.0) if i < 300 else ride(i) for i in range(2600)]
    info = pipeline.run(rides(), write_disposition="merge", primary_key="record_hash")
    assert info.row_counts["rides"] == 2600
    assert query(db, "SELECT count(*) FROM taxi_rides.rides") == [(2600,)]
    assert query(db, "SELECT count(*) FROM taxi_rides.rides WHERE total_amount = 100") == [(300,)]
    assert query(db, "SELECT count(*) FROM taxi_rides.rides__passengers") == [(867,)]
    # nested dicts flattened the way dlt does, snake_case
    columns = {r[0] for r in query(db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'rides'")}
    assert {"coordinates__start__lat", "coordinates__end__lon", "_dlt_id", "_dlt_load_id"} <= columns
    loads = query(db, "SELECT count(*) FROM taxi_rides._dlt_loads WHERE status = 0")
    assert loads == [(3,)]

    # the dataset through the pipeline
    ds = pipeline.dataset()
    frame = ds.rides.df()
    assert len(frame) == 2600
    assert ds["rides__passengers"].arrow().num_rows == 867
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT max(total_amount) FROM rides") == [(100.0,)]
    # no rows still has the columns
    empty = ds.query("SELECT record_hash, total_amount FROM rides WHERE false").df()
    assert list(empty.columns) == ["record_hash", "total_amount"] and len(empty) == 0


def test_an_incremental_resource_loads_only_new_rides_on_the_second_run(api):
    @dlt.resource(name="rides", write_disposition="merge", primary_key="record_hash")
    def rides(updated_at=dlt.sources.incremental("updated_at", initial_value="2024-01-01T00:00:00+00:00")):
        seen.append(updated_at.start_value)
        yield from paginated_getter(api.url, since=updated_at.start_value.replace("+", "%2B"))

    seen = []
    pipeline = dlt.pipeline(pipeline_name="incremental_rides", destination="duckdb", dataset_name="rides")
    info = pipeline.run(rides())
    assert info.row_counts["rides"] == 2500
    assert seen == ["2024-01-01T00:00:00+00:00"]
    state = pipeline.state["sources"]["incremental_rides"]["resources"]["rides"]["incremental"]["updated_at"]
    assert state["last_value"] == "2024-01-01T00:00:59+00:00"

    # new rides, updated later; the boundary rides come again and are recognized
    api.rides = api.rides + [ride(i, updated=2) for i in range(2500, 2700)]
    info = pipeline.run(rides())
    assert seen[1] == "2024-01-01T00:00:59+00:00"
    assert info.row_counts["rides"] == 200
    assert query("incremental_rides.duckdb", "SELECT count(*) FROM rides.rides") == [(2700,)]
    # a pipeline attached by name finds the state where the first left it
    again = dlt.attach("incremental_rides")
    assert again.dataset_name == "rides"
    assert again.state["sources"]["incremental_rides"]["resources"]["rides"]["incremental"]["updated_at"]["last_value"].startswith("2024-01-02")


def test_sources_group_resources_and_keep_their_state():
    @dlt.resource(write_disposition="append")
    def numbers():
        state = dlt.current.resource_state()
        start = state.get("next", 0)
        yield [{"n": n} for n in range(start, start + 10)]
        state["next"] = start + 10

    @dlt.resource(write_disposition="replace")
    def letters():
        yield {"letter": "a"}
        yield {"letter": "b"}

    @dlt.source
    def alphabet():
        return numbers, letters

    pipeline = dlt.pipeline(pipeline_name="alphabet", destination="duckdb")
    pipeline.run(alphabet())
    pipeline.run(alphabet().with_resources("numbers"))
    assert query("alphabet.duckdb", "SELECT min(n), max(n), count(*) FROM alphabet_dataset.numbers") == [(0, 19, 20)]
    assert query("alphabet.duckdb", "SELECT count(*) FROM alphabet_dataset.letters") == [(2,)]
    schema = pipeline.default_schema
    assert {"numbers", "letters"} <= set(schema.tables)
    assert schema.tables["numbers"]["columns"]["n"]["data_type"] == "bigint"
    assert pipeline.last_trace is not None
