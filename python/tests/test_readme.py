"""The README's workshop script runs as written, against a local API."""

import pathlib
import re

from conftest import query
from test_workshop import Api, ride

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def readme_script():
    text = README.read_text()
    section = text[text.index("## Python: `import dltrs as dlt`"):]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert blocks, "the README's Python section has no script"
    return blocks[0]


def test_the_readme_workshop_script_runs(capsys):
    api = Api([ride(i) for i in range(2500)])
    try:
        exec(compile(readme_script(), "README.md", "exec"), {"BASE_URL": api.url, "__name__": "__main__"})
        # run again: the merge keeps one row per ride, the incremental asks from its last value
        exec(compile(readme_script(), "README.md", "exec"), {"BASE_URL": api.url, "__name__": "__main__"})
    finally:
        api.close()
    out = capsys.readouterr().out
    assert "Load package" in out and "rides" in out
    assert query("ny_taxi.duckdb", "SELECT count(*) FROM taxi_rides.rides") == [(2500,)]
    assert any("since=2024-01-01T00%3A00%3A59%2B00%3A00" in r or "since=2024-01-01T00:00:59+00:00" in r for r in api.requests)
