#!/usr/bin/env python3
"""Forward+backward throughput of cipherlora's engine against PyTorch+peft, side by side in one
run: same model (the SmolLM2 GGUF, dequantized to fp32 by both), same [B, T] batch of random
tokens, LoRA r=8 on all seven projections, same thread count.

    .venv/bin/python bench/engine_bench.py --batch 4 --seq-len 256 --threads 2
"""
import argparse
import json
import os
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def torch_tokens_per_s(gguf, B, T, steps, warmup, threads, rank):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM
    torch.set_num_threads(threads)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name,
                                                 dtype=torch.float32)
    model = get_peft_model(model, LoraConfig(
        r=rank, lora_alpha=2 * rank, lora_dropout=0.0, task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                        "down_proj"]))
    model.train()
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (B, T), generator=g)

    def step():
        model.zero_grad(set_to_none=True)
        model(input_ids=ids, labels=ids).loss.backward()

    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    secs = (time.perf_counter() - t0) / steps
    return B * T / secs, secs, f"torch {torch.__version__}, {torch.get_num_threads()} threads"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path,
                    default=REPO / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--lora-r", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    a = ap.parse_args()

    ours = json.loads(subprocess.run(
        [str(REPO / "build" / "engine_bench"), "--model", str(a.model), "--batch", str(a.batch),
         "--seq-len", str(a.seq_len), "--steps", str(a.steps), "--warmup", str(a.warmup),
         "--lora-r", str(a.lora_r), "--threads", str(a.threads), "--json"],
        check=True, capture_output=True, text=True).stdout)
    tps, secs, info = torch_tokens_per_s(a.model, a.batch, a.seq_len, a.steps, a.warmup,
                                         a.threads, a.lora_r)
    print(f"model {a.model.name}, batch {a.batch}x{a.seq_len}, LoRA r={a.lora_r} on all 7 "
          f"projections, {a.threads} threads, forward+backward, mean of {a.steps} steps")
    print(f"  cipherlora     {ours['tokens_per_s']:9.1f} tokens/s  ({ours['step_s']:.3f} s/step; "
          f"{ours['gflops']:.0f} GFLOP/s = {100 * ours['gflops'] / ours['sgemm_gflops']:.0f}% of "
          f"the {ours['sgemm_gflops']:.0f} GFLOP/s 2048^3 SGEMM; GEMM: {ours['gemm']})")
    print(f"  PyTorch+peft   {tps:9.1f} tokens/s  ({secs:.3f} s/step; {info})")
    print(f"  ratio          {ours['tokens_per_s'] / tps:9.2f}x")


if __name__ == "__main__":
    main()
