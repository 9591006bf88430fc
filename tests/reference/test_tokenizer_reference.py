"""cipherlora's tokenizer against Hugging Face on the real SmolLM2-135M-Instruct GGUF, through the
CLI: `$CIPHERLORA_TOKENIZE_BIN tokenize --model <gguf> --text=<text>` prints the ids separated by
spaces (default binary: <repo>/build/cipherlora). Skips when that binary or its `tokenize` command
does not exist yet.

    .venv/bin/python -m pytest tests/reference/test_tokenizer_reference.py

Ids must equal SmolLM2's real tokenizer (Digits + ByteLevel, assembled from the GGUF vocab and
merges). transformers' own GGUF loader builds ByteLevel without Digits; it must agree everywhere
except where whitespace meets a number character. The same texts, and render_chatml against
apply_chat_template, are checked without the CLI by tests/cpp/tokenizer/smollm2_reference_test.cc
(see make_tokenizer_cases.py).
"""

import os
import subprocess
import unicodedata

import pytest

import make_tokenizer_cases as cases

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("CIPHERLORA_TOKENIZE_BIN", os.path.join(REPO, "build", "cipherlora"))
GGUF = cases.DEFAULT_GGUF


def _cli_has_tokenize():
    if not os.access(BIN, os.X_OK):
        return False
    result = subprocess.run([BIN, "--help"], capture_output=True, text=True, timeout=60)
    return "tokenize" in result.stdout + result.stderr


pytestmark = [
    pytest.mark.skipif(not os.path.exists(GGUF), reason=f"no model file at {GGUF}"),
    pytest.mark.skipif(not _cli_has_tokenize(), reason=f"{BIN} has no 'tokenize' command yet"),
]


def cli_ids(text):
    result = subprocess.run(
        [BIN, "tokenize", "--model", GGUF, f"--text={text}"], capture_output=True, timeout=120
    )
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return [int(t) for t in result.stdout.split()]


@pytest.fixture(scope="module")
def spec():
    return cases.read_gguf_tokenizer(GGUF)


@pytest.fixture(scope="module")
def smollm2(spec):
    return cases.smollm2_reference_tokenizer(spec)


@pytest.fixture(scope="module")
def transformers_tok():
    return cases.transformers_gguf_tokenizer(GGUF)


def _chat_texts():
    tok = cases.transformers_gguf_tokenizer(GGUF)
    return [tok.apply_chat_template(m, tokenize=False, add_generation_prompt=g) for m, g in cases.CONVERSATIONS]


# A process argument cannot hold NUL, and the CLI takes an empty --text as missing; the C++
# reference test covers both.
TEXTS = [t for t in cases.HAND_TEXTS if t and "\x00" not in t] + cases.fuzz_texts(10)
TEXTS.append(cases.long_document().replace("\x00", ""))


@pytest.mark.parametrize("text", TEXTS, ids=range(len(TEXTS)))
def test_ids_match_smollm2(text, smollm2):
    assert cli_ids(text) == smollm2.encode(text).ids


def test_chatml_ids_match_smollm2(smollm2):
    for text in _chat_texts():
        assert cli_ids(text) == smollm2.encode(text).ids, text


def _number_after_whitespace(text):
    return any(a.isspace() and unicodedata.category(b)[0] == "N" for a, b in zip(text, text[1:]))


def test_transformers_gguf_loader_differs_only_at_whitespace_before_numbers(smollm2, transformers_tok):
    differing = [t for t in TEXTS if smollm2.encode(t).ids != transformers_tok.encode(t)]
    assert differing, "expected a few texts where Digits splitting matters"
    assert all(_number_after_whitespace(t) for t in differing), differing


def test_cpp_reference_suite_against_generated_cases(tmp_path):
    """Runs the env-gated C++ tests (tests/cpp/tokenizer/smollm2_reference_test.cc) on cases made
    now from Hugging Face: ids of ~200 texts and chats, render_chatml against apply_chat_template,
    the tokenizer.json loader, and the encoding speed check. They must run, not skip."""
    import sys
    from conftest import binary
    subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "make_tokenizer_cases.py"),
                    "--gguf", GGUF, "--out", str(tmp_path)], check=True, capture_output=True, timeout=600)
    env = {**os.environ,
           "CIPHERLORA_TOKENIZER_SPEC": str(tmp_path / "spec.json"),
           "CIPHERLORA_TOKENIZER_CASES": str(tmp_path / "cases.json"),
           "CIPHERLORA_TOKENIZER_JSON": str(tmp_path / "hf" / "tokenizer.json")}
    proc = subprocess.run([str(binary("tokenizer_tests")), "--gtest_filter=Smollm2Reference.*"],
                          capture_output=True, text=True, timeout=600, env=env)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "SKIPPED" not in out and "[  PASSED  ]" in out, out
