"""An exception in a generator fails the run with its own traceback and loads nothing;
Ctrl-C stops a run within a second and the next run finishes the work."""

import os
import signal
import threading
import time
import traceback

import pytest

import dltrs as dlt
from dltrs.exceptions import PipelineStepFailed
from conftest import query


class Broken(Exception):
    pass


def test_an_exception_in_a_generator_propagates_and_nothing_is_loaded():
    def rides():
        yield [{"id": i} for i in range(5000)]
        raise Broken("the API went away")

    pipeline = dlt.pipeline(pipeline_name="broken", destination="duckdb")
    with pytest.raises(PipelineStepFailed) as failed:
        pipeline.run(dlt.resource(rides(), name="rides"))
    assert failed.value.step == "extract"
    assert isinstance(failed.value.exception, Broken)
    assert isinstance(failed.value.__cause__, Broken)
    frames = traceback.extract_tb(failed.value.__cause__.__traceback__)
    assert any(f.name == "rides" for f in frames), frames
    assert "rides" in str(failed.value) and "the API went away" in str(failed.value)
    assert not pipeline.has_pending_data
    assert not os.path.exists("broken.duckdb") or query(
        "broken.duckdb", "SELECT count(*) FROM information_schema.tables WHERE table_name = 'rides'"
    ) == [(0,)]
    # the next run goes on
    info = pipeline.run(dlt.resource([{"id": 1}], name="rides"))
    assert info.row_counts["rides"] == 1


def test_bad_hints_and_unknown_values_are_clear_errors():
    pipeline = dlt.pipeline(pipeline_name="bad_values", destination="duckdb")
    with pytest.raises(PipelineStepFailed) as failed:
        pipeline.run([{"id": 1, "what": object()}], table_name="things")
    assert "object" in str(failed.value)
    with pytest.raises(ValueError):
        pipeline.run([{"id": 1}], table_name="things", write_disposition="sometimes")


def interrupt_after(seconds):
    timer = threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_ctrl_c_stops_an_extract_within_a_second_and_the_next_run_loads_everything():
    def slow():
        for i in range(100):
            time.sleep(0.05)
            yield {"id": i}

    pipeline = dlt.pipeline(pipeline_name="interrupted", destination="duckdb")
    interrupt_after(0.5)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(dlt.resource(slow(), name="slow"))
    assert time.monotonic() - started < 1.6
    # an interrupted extract leaves no package, and the generator stopped with it
    started = time.monotonic()
    assert not pipeline.has_pending_data
    info = pipeline.run(dlt.resource(({"id": i} for i in range(100)), name="slow"))
    assert info.row_counts["slow"] == 100
    assert time.monotonic() - started < 2


def test_ctrl_c_during_normalize_leaves_the_package_for_the_next_run():
    pipeline = dlt.pipeline(pipeline_name="interrupted_normalize", destination="duckdb")
    rows = [{"id": i, "nested": {"a": i, "b": [i, i + 1]}} for i in range(300_000)]
    pipeline.extract(dlt.resource(rows, name="big"))
    assert pipeline.has_pending_data
    timer = interrupt_after(0.1)
    started = time.monotonic()
    try:
        pipeline.normalize()
    except KeyboardInterrupt:
        assert time.monotonic() - started < 1.6
    timer.cancel()
    # whatever the interrupt stopped, the next run finishes the package exactly once
    info = pipeline.run()
    assert info.row_counts.get("big", 0) == 300_000
    assert query("interrupted_normalize.duckdb", "SELECT count(*) FROM interrupted_normalize_dataset.big") == [(300_000,)]
    assert not pipeline.has_pending_data
