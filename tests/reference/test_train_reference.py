"""`cipherlora train` against peft + torch: from the same initial adapter, with dropout 0, five
AdamW steps (linear schedule with warm-up, weight decay, gradient clipping) on the same batches
must give the same adapter weights; the adapter train writes must load in peft and give the same
eval loss as `cipherlora eval`."""
import json

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from conftest import run
from examples import RECORDS, build_example, padded_batch, write_jsonl

ALL_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
STEPS, LR, WARMUP, WD, CLIP = 5, 2e-3, 2, 0.01, 1.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train")
    write_jsonl(folder / "data.jsonl")
    return folder


@pytest.fixture(scope="module")
def init_adapter(workdir, hf_model):
    from peft import LoraConfig, get_peft_model
    torch.manual_seed(7)
    model = get_peft_model(hf_model, LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                                                target_modules=ALL_TARGETS,
                                                task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.02)
    folder = workdir / "init"
    model.save_pretrained(folder)
    model.unload()
    return folder


def torch_reference(hf_model, tok, init_folder):
    """Five full-batch steps with torch.optim.AdamW and transformers' linear schedule."""
    from peft import PeftModel
    from transformers import get_linear_schedule_with_warmup
    model = PeftModel.from_pretrained(hf_model, init_folder, is_trainable=True)
    ids, labels, mask = padded_batch(tok)
    params = [p for n, p in model.named_parameters() if "lora_" in n]
    opt = torch.optim.AdamW(params, lr=LR, weight_decay=WD)
    sched = get_linear_schedule_with_warmup(opt, WARMUP, STEPS)
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, CLIP)
        opt.step()
        sched.step()
        losses.append(loss.item())
    weights = {n.replace(".default", ""): p.detach().numpy().copy()
               for n, p in model.named_parameters() if "lora_" in n}
    model.unload()
    return weights, losses


@pytest.fixture(scope="module")
def reference(hf_model, hf_tokenizer, init_adapter):
    return torch_reference(hf_model, hf_tokenizer, init_adapter)


def train(gguf, data, init, out, *extra):
    run("cipherlora", "train", "--model", gguf, "--data", data, "--out", out,
        "--init-adapter", init, "--lr", LR, "--warmup-steps", WARMUP, "--weight-decay", WD,
        "--max-grad-norm", CLIP, "--scheduler", "linear", "--epochs", STEPS, "--seq-len", 512,
        *extra)
    log = [json.loads(l) for l in open(out / "train_log.jsonl")]
    return load_file(str(out / "adapter_model.safetensors")), [r for r in log if "loss" in r]


@pytest.mark.parametrize("batching", [["--batch-size", "8"],
                                      ["--batch-size", "4", "--grad-accum", "2"]],
                         ids=["batch8", "batch4x2"])
def test_five_adamw_steps_match_peft(workdir, gguf_path, init_adapter, reference, batching):
    out = workdir / ("out-" + "-".join(batching[1::2]))
    ours, log = train(gguf_path, workdir / "data.jsonl", init_adapter, out, *batching)
    ref, ref_losses = reference
    assert len(log) == STEPS
    for step, (r, l) in enumerate(zip(log, ref_losses)):
        assert r["loss"] == pytest.approx(l, rel=1e-4), f"step {step + 1}"
    init = load_file(str(init_adapter / "adapter_model.safetensors"))
    assert set(ours) == set(ref)
    for name, w in ref.items():
        # Compare the update each weight received: the initial values dominate the weights.
        delta_ref, delta_ours = w - init[name], ours[name] - init[name]
        err = np.linalg.norm(delta_ours - delta_ref) / np.linalg.norm(delta_ref)
        assert err < 1e-2, f"{name}: relative error of the update {err:.2e}"


def test_trained_adapter_loads_in_peft_with_same_eval_loss(workdir, gguf_path, hf_model,
                                                           hf_tokenizer, init_adapter, reference):
    from peft import PeftModel
    out = workdir / "out-8"  # written by test_five_adamw_steps_match_peft[batch8]
    if not (out / "adapter_config.json").exists():
        train(gguf_path, workdir / "data.jsonl", init_adapter, out, "--batch-size", "8")
    ours = json.loads(run("cipherlora", "eval", "--model", gguf_path, "--adapter", out,
                          "--data", workdir / "data.jsonl", "--json").stdout)
    model = PeftModel.from_pretrained(hf_model, out)
    with torch.no_grad():
        for i, (r, ex) in enumerate(zip(RECORDS, ours["examples"])):
            ids, labels = build_example(hf_tokenizer, r)
            loss = model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss.item()
            assert ex["loss"] == pytest.approx(loss, rel=1e-4), f"example {i}"
    model.unload()
