"""Shared fixtures of the reference tests: the cipherlora binaries, the real SmolLM2 GGUF, and
Hugging Face's tokenizer and model loaded from that same file (transformers dequantizes GGUF)."""
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("CIPHERLORA_BUILD", REPO / "build"))
GGUF = Path(os.environ.get("CIPHERLORA_MODEL", REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"))


def binary(name: str) -> Path:
    path = BUILD / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run scripts/build.sh first")
    return path


def run(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs a cipherlora program and returns the completed process (stdout/stderr as text)."""
    proc = subprocess.run([str(binary(name)), *map(str, args)], capture_output=True, text=True,
                          timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{name} {' '.join(map(str, args))} failed: {proc.stderr.strip()}")
    return proc


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    if not GGUF.exists():
        pytest.fail(f"{GGUF} is missing: run scripts/setup.sh first")
    return GGUF


@pytest.fixture(scope="session")
def hf_tokenizer(gguf_path):
    """SmolLM2's real Hugging Face tokenizer (its tokenizer.json pre-tokenizes with Digits +
    ByteLevel), assembled from the GGUF vocabulary, merges and chat template. transformers' own
    GGUF loader omits the Digits step; see test_tokenizer_reference.py."""
    from transformers import PreTrainedTokenizerFast
    import make_tokenizer_cases as cases
    spec = cases.read_gguf_tokenizer(str(gguf_path))
    tokens = spec["tokens"]
    return PreTrainedTokenizerFast(
        tokenizer_object=cases.smollm2_reference_tokenizer(spec),
        bos_token=tokens[spec["bos_id"]], eos_token=tokens[spec["eos_id"]],
        unk_token=tokens[spec["unk_id"]], pad_token=tokens[spec["pad_id"]],
        chat_template=spec["chat_template"])


@pytest.fixture(scope="session")
def hf_model(gguf_path):
    import torch
    from transformers import AutoModelForCausalLM
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name,
                                                 dtype=torch.float32)
    model.eval()
    return model
