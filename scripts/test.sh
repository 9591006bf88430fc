#!/usr/bin/env bash
# Runs every test: sets up (idempotent), builds, then the C++ unit tests (ctest) and the Python
# reference tests against transformers/peft (pytest). Exit code is non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
export CIPHERLORA_MODEL="$PWD/models/SmolLM2-135M-Instruct.Q4_1.gguf"
(cd build && ctest --output-on-failure --parallel 2)
.venv/bin/python -m pytest -q tests/reference
