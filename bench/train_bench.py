#!/usr/bin/env python3
"""Training throughput of `cipherlora train` against PyTorch + peft, side by side in one run:
the same model (SmolLM2 GGUF, fp32), the same data (text lines of at least 256 tokens, truncated
to 256), batch 4 x 256, LoRA r=8 on all seven projections, AdamW, the same threads. Rows: PyTorch,
`--mode clear` (fp32, the reference), `--mode clear --base-precision bf16`, `--mode quantized` and
`--mode encrypted` (in-process worker; fewer steps, --encrypted-steps, as it is slow).
Figures are the mean tokens/s over the steps after the first (warm-up) step.

Each row also reports the model FLOP/s it reaches (the same FLOP count for every trainer, as
bench/engine_bench.cc's step_flops counts it) as a fraction of the machine's fp32 peak, measured
as the 2048^3 SGEMM rate of `build/gemm_bench --square` (the better of one run before and one
after the trainers). bf16 rows can exceed 100%: the bf16 units do twice the work of fp32 FMAs.

    .venv/bin/python bench/train_bench.py --steps 6 --threads 2
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "reference"))
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


def make_data(path, tok, n, seq_len):
    """n text lines of at least seq_len tokens each (deterministic pseudo-prose)."""
    words = ("the clinic patient nurse protocol sample record vaccine schedule morning ward "
             "doctor result test hand hygiene audit pharmacy form phone desk visit").split()
    lines, state = [], 12345
    for _ in range(n):
        out = []
        while len(tok(" ".join(out)).input_ids) < seq_len + 8:
            for _ in range(32):
                state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
                out.append(words[(state >> 33) % len(words)])
        lines.append(json.dumps({"text": " ".join(out) + "."}))
    path.write_text("\n".join(lines) + "\n")


def step_flops(info, B, T, targets, rank=8):
    """Model FLOPs of one training step (forward + backward), counted as engine_bench.cc does:
    the frozen linears forward and their input gradients (2 x 2 x params per token), the LM head
    on every target token (forward and input gradient), causal attention (7 products of
    B x heads x T(T+1)/2 x head_dim) and LoRA (6 x r x (in + out) per token and projection)."""
    D, F, L, V = info["hidden_size"], info["intermediate_size"], info["layers"], info["vocab_size"]
    Q, KV, hd = info["heads"] * info["head_dim"], info["kv_heads"] * info["head_dim"], info["head_dim"]
    N = B * T
    shapes = [(Q, D), (KV, D), (KV, D), (D, Q), (F, D), (F, D), (D, F)]  # q k v o gate up down
    linear = 2.0 * N * sum(o * i for o, i in shapes)
    attn = 7.0 * B * info["heads"] * (T * (T + 1) / 2) * hd * 2.0
    lora = sum(6.0 * N * rank * (o + i) for o, i in shapes)
    head = 2.0 * targets * V * D
    parts = {"linears": L * 2 * linear, "head": 2 * head, "attention": L * attn, "lora": L * lora}
    return sum(parts.values()), parts


def sgemm_peak(threads):
    """The 2048^3 SGEMM rate of build/gemm_bench --square, in GFLOP/s."""
    out = subprocess.run([str(REPO / "build" / "gemm_bench"), "--square", "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"([\d.]+) GFLOP/s", out.splitlines()[-1]).group(1))


def torch_tokens_per_s(gguf, tok, data, B, T, steps, threads):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                 dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                             target_modules=TARGETS, task_type="CAUSAL_LM"))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=2e-4)
    texts = [json.loads(l)["text"] for l in data.read_text().splitlines()]
    rates = []
    for s in range(steps):
        batch = texts[(s * B) % len(texts):(s * B) % len(texts) + B]
        ids = torch.tensor([tok(t).input_ids[:T] for t in batch])
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=ids).loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        rates.append(B * T / (time.perf_counter() - t0))
    return sum(rates[1:]) / len(rates[1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path,
                    default=REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--encrypted-steps", type=int, default=3,
                    help="steps of --mode encrypted (slow); 0 skips it")
    a = ap.parse_args()
    B, T = 4, 256
    import make_tokenizer_cases as cases
    from transformers import PreTrainedTokenizerFast
    tok = PreTrainedTokenizerFast(tokenizer_object=cases.smollm2_reference_tokenizer(
        cases.read_gguf_tokenizer(str(a.model))))
    info = json.loads(subprocess.run([str(REPO / "build" / "cipherlora"), "info", "--model",
                                      str(a.model), "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    flops, parts = step_flops(info, B, T, targets=B * (T - 1))  # truncated rows: no EOS target
    peaks = [sgemm_peak(a.threads)]
    runs = {"clear": ["--mode", "clear"],
            "clear --base-precision bf16": ["--mode", "clear", "--base-precision", "bf16"],
            "quantized": ["--mode", "quantized"]}
    if a.encrypted_steps > 1:
        runs["encrypted"] = ["--mode", "encrypted"]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.jsonl"
        make_data(data, tok, B * a.steps, T)
        ours = {}
        for i, (name, flags) in enumerate(runs.items()):
            out = Path(tmp) / f"run{i}"
            subprocess.run([str(REPO / "build" / "cipherlora"), "--threads", str(a.threads),
                            "train", "--model", str(a.model), "--data", str(data), "--out",
                            str(out), *flags, "--batch-size", str(B), "--seq-len", str(T),
                            "--max-steps",
                            str(a.encrypted_steps if name == "encrypted" else a.steps),
                            "--lora-r", "8", "--lora-alpha", "16",
                            "--lora-targets", "all", "--save-every", "0"],
                           check=True, capture_output=True)
            log = [json.loads(l) for l in open(out / "train_log.jsonl")]
            rates = [r["tokens_per_s"] for r in log if "tokens_per_s" in r][1:]
            ours[name] = sum(rates) / len(rates)
        theirs = torch_tokens_per_s(a.model, tok, data, B, T, a.steps, a.threads)
    peaks.append(sgemm_peak(a.threads))
    peak = max(peaks)

    def flop_rate(tokens_per_s):
        gflops = flops / (B * T) * tokens_per_s / 1e9
        return f"{gflops:6.1f} GFLOP/s = {100 * gflops / peak:3.0f}% of fp32 peak"

    print(f"training, batch {B}x{T}, LoRA r=8 on all 7 projections, AdamW, {a.threads} threads, "
          f"mean of steps 2..{a.steps}")
    print(f"  model FLOPs per step {flops / 1e12:.3f} T (frozen linears fwd + input grad "
          f"{parts['linears'] / 1e9:.0f} G, LM head {parts['head'] / 1e9:.0f} G, attention "
          f"{parts['attention'] / 1e9:.0f} G, LoRA {parts['lora'] / 1e9:.0f} G); fp32 peak = "
          f"2048^3 SGEMM {peak:.1f} GFLOP/s (build/gemm_bench --square, best of "
          f"{' and '.join(f'{p:.1f}' for p in peaks)})")
    print(f"  {'PyTorch + peft (fp32)':52s} {theirs:8.1f} tokens/s  {'':16s}  "
          f"{flop_rate(theirs)}")
    for name, rate in ours.items():
        print(f"  {'cipherlora train --mode ' + name:52s} {rate:8.1f} tokens/s  "
              f"({rate / theirs:.2f}x PyTorch)  {flop_rate(rate)}")


if __name__ == "__main__":
    main()
