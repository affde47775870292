"""Two threads run two pipelines at once, and other Python threads go on meanwhile: the GIL
is released while the engine works."""

import threading

import dltrs as dlt
from conftest import query


def test_two_threads_two_pipelines():
    results = {}
    ticks = [0]
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks[0] += 1
            stop.wait(0.001)

    def load(name):
        pipeline = dlt.pipeline(pipeline_name=name, destination="duckdb")
        rows = ({"id": i, "name": f"{name}-{i}", "nested": {"x": i}} for i in range(100_000))
        results[name] = pipeline.run(dlt.resource(rows, name="rows")).row_counts["rows"]

    tick = threading.Thread(target=ticker)
    tick.start()
    threads = [threading.Thread(target=load, args=(n,)) for n in ("left", "right")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    tick.join()
    assert results == {"left": 100_000, "right": 100_000}
    assert query("left.duckdb", "SELECT count(*) FROM left_dataset.rows") == [(100_000,)]
    assert query("right.duckdb", "SELECT count(*) FROM right_dataset.rows") == [(100_000,)]
    assert ticks[0] > 50


def test_one_pipeline_object_refuses_a_second_thread_while_it_runs():
    pipeline = dlt.pipeline(pipeline_name="shared", destination="duckdb")
    started = threading.Event()
    release = threading.Event()
    errors = []

    def slow():
        started.set()
        release.wait(5)
        yield {"id": 1}

    worker = threading.Thread(target=lambda: pipeline.run(dlt.resource(slow(), name="rows")))
    worker.start()
    started.wait(5)
    try:
        pipeline.run([{"id": 2}], table_name="rows")
    except RuntimeError as e:
        errors.append(str(e))
    release.set()
    worker.join()
    assert errors and "another thread" in errors[0]
