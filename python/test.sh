#!/usr/bin/env bash
# The Python package's tests: builds the wheel from this checkout with maturin (the release
# profile and the same CARGO_TARGET_DIR as `cargo test --release --workspace`, so DuckDB is not
# compiled again), installs it into a virtualenv outside the checkout and runs pytest.
# Run after `cargo test --release --workspace` (the conformance tests use its
# `conformance-check` binary).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dltrs-target}"
VENV="${DLTRS_VENV:-$HOME/.cache/dltrs-venv}"
bash python/venv.sh
# the same build a user's `pip install .` makes, without pip's copy of the tree
export PATH="$VENV/bin:$PATH"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-build-isolation --force-reinstall --no-deps .
export DLTRS_CONFORMANCE_CHECK="$CARGO_TARGET_DIR/release/conformance-check"
cd python/tests
"$VENV/bin/python" -m pytest -q "$@"
