#!/usr/bin/env python3
"""dltrs from Python, the workshop's way: a generator yielding pages of 10k rides parsed from
the harness's JSON Lines with Python's json module, run into DuckDB with `import dltrs as dlt`.
usage: python_load.py FILE.jsonl WORKDIR"""
import json
import os
import sys
import time

import dltrs as dlt


def pages(path):
    page = []
    with open(path, "rb") as f:
        for line in f:
            page.append(json.loads(line))
            if len(page) == 10000:
                yield page
                page = []
    if page:
        yield page


def main():
    path, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    os.chdir(work)
    p = dlt.pipeline(pipeline_name="rides_py", destination=dlt.destinations.duckdb(os.path.join(work, "py.duckdb")),
                     dataset_name="rides", pipelines_dir=os.path.join(work, "pipelines"))
    t0 = time.time()
    info = p.run(dlt.resource(pages(path), name="rides"))
    print(f"seconds {time.time() - t0:.2f} rows {info.row_counts.get('rides')}")


if __name__ == "__main__":
    main()
