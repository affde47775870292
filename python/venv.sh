#!/usr/bin/env bash
# The test tools' virtualenv, outside the checkout: maturin and pytest for the Python
# package, moto's S3 server and `deltalake` for the filesystem destination's tests (the Rust
# tests find `moto_server` in it), pyarrow, pandas, duckdb and requests for the checks.
set -euo pipefail
VENV="${DLTRS_VENV:-$HOME/.cache/dltrs-venv}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "maturin>=1.16,<2" pytest pyarrow pandas duckdb requests "moto[server]" boto3 deltalake
# Python dlt 1.31 itself, in a virtualenv of its own (its filesystem extra and moto pin
# different botocores): the compatibility test has dlt read and extend a bucket dltrs wrote
if [ ! -x "$VENV-dlt/bin/python" ]; then
    "$PYTHON" -m venv "$VENV-dlt"
fi
# (sqlglot 28 changed an API dlt 1.31's dataset() calls; pandas for its data frames)
"$VENV-dlt/bin/pip" install --quiet --disable-pip-version-check "dlt[duckdb]==1.31.0" "sqlglot<28" pandas
