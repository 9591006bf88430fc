#!/usr/bin/env bash
# The main job: set up, build, and run the default model (SmolLM2-135M-Instruct) end to end —
# model summary, evaluation loss on a small bundled data set, and a short chat generation.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
echo
echo "== model"
build/cipherlora info
echo
echo "== evaluation on examples/sample.jsonl"
build/cipherlora eval --data examples/sample.jsonl
echo
prompt="What is the best way to prevent infections in a clinic?"
echo "== generation (greedy): $prompt"
build/cipherlora generate --chat --max-new-tokens 64 --prompt "$prompt"
