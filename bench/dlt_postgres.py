#!/usr/bin/env python3
"""The dlt anchor for bench/postgres.sh: a JSONL file of nested records loaded into PostgreSQL
with Python dlt 1.31 (pip install "dlt[postgres]==1.31.0"), as dltrs loads it.
usage: dlt_postgres.py FILE.jsonl WORKDIR POSTGRES_URL DATASET"""
import json
import os
import sys
import time

import dlt

path, work, url, dataset = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
os.chdir(work)
os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"


def records():
    with open(path, "rb") as lines:
        for line in lines:
            yield json.loads(line)


pipeline = dlt.pipeline(
    pipeline_name="rides_pg_bench",
    destination=dlt.destinations.postgres(url),
    dataset_name=dataset,
    pipelines_dir=os.path.join(work, "pipelines"),
)
started = time.time()
pipeline.run(records(), table_name="rides")
print(f"seconds {time.time() - started:.2f}")
