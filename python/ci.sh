#!/usr/bin/env bash
# CI for the Python package: a fresh venv, build and install the package (sharing the root
# build's target/ through CARGO_TARGET_DIR, so crates compiled by `cargo build --release` at the
# root are reused), run the pytest suite. Called from .ci/run after the Rust tests:
#     bash python/ci.sh
# Exits non-zero on any failure (pytest's exit 5, "no tests ran", included).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_TERM_COLOR=never
venv="$CARGO_TARGET_DIR/python-ci-venv"
start=$(date +%s)

echo "== python: fresh venv ($venv)"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check maturin gymnasium numpy pytest

echo "== python: build the wheel (maturin, release, abi3) and install it"
rm -rf "$CARGO_TARGET_DIR/python-wheels"
"$venv/bin/maturin" build --release --manifest-path python/Cargo.toml --out "$CARGO_TARGET_DIR/python-wheels"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$CARGO_TARGET_DIR"/python-wheels/rlkit-*.whl

echo "== python: rustfmt and clippy of the extension crate"
cargo fmt --manifest-path python/Cargo.toml -- --check
# The same pyo3 configuration file as maturin's build, so pyo3's build script does not rerun.
pyo3_config=("$CARGO_TARGET_DIR"/maturin/pyo3-config-*.txt)
PYO3_CONFIG_FILE="${pyo3_config[0]}" cargo clippy --release --manifest-path python/Cargo.toml -- -D warnings

echo "== python: pytest"
# From the repository root, so that `import rlkit` is the installed wheel, not python/rlkit.
"$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests

echo "python CI passed in $(( $(date +%s) - start )) s"
