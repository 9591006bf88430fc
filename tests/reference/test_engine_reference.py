"""cipherlora's engine against transformers + peft on the real SmolLM2 GGUF: per-example eval
losses, the same with a random LoRA adapter, and the adapter gradients of one batch."""
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from conftest import run
from examples import RECORDS, build_example, padded_batch, write_jsonl

ALL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def reference_losses(model, tok):
    out = []
    with torch.no_grad():
        for r in RECORDS:
            ids, labels = build_example(tok, r)
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss
            out.append((loss.item(), sum(l != -100 for l in labels[1:])))
    return out


def cipherlora_eval(gguf, data, *extra):
    proc = run("cipherlora", "eval", "--model", gguf, "--data", data, "--json", *extra)
    return json.loads(proc.stdout)


def assert_losses_match(ours, ref):
    assert len(ours["examples"]) == len(ref)
    for i, (ex, (loss, n)) in enumerate(zip(ours["examples"], ref)):
        assert ex["tokens"] == n, f"example {i}: {ex['tokens']} target tokens, reference {n}"
        assert ex["loss"] == pytest.approx(loss, rel=1e-4), f"example {i}"
    total = sum(l * n for l, n in ref) / sum(n for _, n in ref)
    assert ours["loss"] == pytest.approx(total, rel=1e-4)
    assert ours["perplexity"] == pytest.approx(np.exp(total), rel=1e-4)


def test_eval_losses_match_transformers(tmp_path, gguf_path, hf_model, hf_tokenizer):
    data = tmp_path / "data.jsonl"
    write_jsonl(data)
    assert_losses_match(cipherlora_eval(gguf_path, data), reference_losses(hf_model, hf_tokenizer))


def test_eval_batching_and_truncation_do_not_change_losses(tmp_path, gguf_path):
    data = tmp_path / "data.jsonl"
    write_jsonl(data)
    one = cipherlora_eval(gguf_path, data, "--batch-size", "1")
    many = cipherlora_eval(gguf_path, data, "--batch-size", "7")
    for a, b in zip(one["examples"], many["examples"]):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)


def make_peft_model(hf_model, rslora, seed):
    from peft import LoraConfig, get_peft_model
    cfg = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=ALL_TARGETS,
                     use_rslora=rslora, task_type="CAUSAL_LM")
    torch.manual_seed(seed)
    model = get_peft_model(hf_model, cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.05)  # non-zero B: the adapter changes the output
    return model


@pytest.fixture(params=[False, True], ids=["lora", "rslora"])
def peft_adapter(request, tmp_path, hf_model):
    model = make_peft_model(hf_model, request.param, seed=1 + request.param)
    folder = tmp_path / "adapter"
    model.save_pretrained(folder)
    yield model, folder
    model.unload()  # restore the shared base model for other tests


def test_eval_with_peft_adapter_matches_peft(tmp_path, gguf_path, peft_adapter, hf_tokenizer):
    model, folder = peft_adapter
    data = tmp_path / "data.jsonl"
    write_jsonl(data)
    ours = cipherlora_eval(gguf_path, data, "--adapter", folder)
    ref = reference_losses(model, hf_tokenizer)
    assert_losses_match(ours, ref)


def test_adapter_gradients_match_torch(tmp_path, gguf_path, peft_adapter, hf_tokenizer):
    model, folder = peft_adapter
    data = tmp_path / "data.jsonl"
    write_jsonl(data)
    out = tmp_path / "grads.safetensors"
    run("grad_dump", "--model", gguf_path, "--adapter", folder, "--data", data, "--out", out)
    ours = load_file(str(out))

    # The reference: one right-padded batch, mean cross-entropy over all its target tokens.
    ids, labels, mask = padded_batch(hf_tokenizer)
    model.zero_grad()
    loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
    loss.backward()
    assert float(ours["loss"][0]) == pytest.approx(loss.item(), rel=1e-4)

    checked = 0
    for name, p in model.named_parameters():
        if "lora_" not in name:
            continue
        key = name.replace(".default", "")
        ref = p.grad.numpy()
        got = ours[key]
        assert got.shape == ref.shape, key
        err = np.linalg.norm(got - ref) / np.linalg.norm(ref)
        assert err < 2e-3, f"{key}: relative error {err:.2e}"
        checked += 1
    assert checked == 2 * 7 * 30
