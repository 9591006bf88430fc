"""The trainer's exact-math pieces against their references: AdamW against torch.optim.AdamW
(single-tensor, foreach and fused variants), gradient clipping against
torch.nn.utils.clip_grad_norm_, learning-rate schedules against transformers'
get_{constant,linear,cosine}_schedule_with_warmup driving LambdaLR, and the epoch shuffle
against an independent Python implementation of the algorithm documented in src/train/shuffle.h.
The C++ side runs through tests/tools/optim_probe."""
import json

import numpy as np
import pytest
import torch
from transformers import (get_constant_schedule_with_warmup, get_cosine_schedule_with_warmup,
                          get_linear_schedule_with_warmup)

from conftest import run

SCHEDULES = {
    "constant": lambda opt, warmup, total: get_constant_schedule_with_warmup(opt, warmup),
    "linear": get_linear_schedule_with_warmup,
    "cosine": get_cosine_schedule_with_warmup,
}


def probe(tmp_path, spec: dict) -> dict:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return json.loads(run("optim_probe", path).stdout)


def random_spec(seed: int, schedule: str, clip: bool) -> dict:
    """A few tensors of odd sizes (one whose gradient is zero at first, like LoRA's A while B is
    still zero), gradients of varying scale so that clipping engages on some steps only."""
    rng = np.random.default_rng(seed)
    sizes = [1, 37, 300, int(rng.integers(2, 80))]
    steps = int(rng.integers(6, 10))
    params = [rng.normal(size=n).astype(np.float32) for n in sizes]
    grads = []
    for s in range(steps):
        scale = float(rng.choice([1e-3, 0.05, 0.3, 2.0]))
        g = [(rng.normal(size=n) * scale).astype(np.float32) for n in sizes]
        if s < 2:
            g[3][:] = 0.0
        grads.append(g)
    return {
        "params": [p.tolist() for p in params],
        "grads": [[g.tolist() for g in step] for step in grads],
        "lr": float(rng.choice([1e-4, 2e-4, 1e-3, 5e-2])),
        "schedule": schedule,
        "warmup_steps": int(rng.integers(0, 4)),
        "total_steps": steps + int(rng.integers(-2, 3)),
        "betas": [float(rng.choice([0.9, 0.8, 0.3])), float(rng.choice([0.999, 0.95]))],
        "eps": float(rng.choice([1e-8, 1e-6])),
        "weight_decay": float(rng.choice([0.0, 0.01, 0.1])),
        "max_grad_norm": float(rng.choice([0.5, 1.0])) if clip else 0.0,
    }


def torch_run(spec: dict, variant: str) -> dict:
    """The same run as Hugging Face's Trainer does it: clip, read the lr, step, step the
    scheduler."""
    params = [torch.tensor(p, dtype=torch.float32, requires_grad=True) for p in spec["params"]]
    kwargs = {"foreach": False}
    if variant == "foreach":
        kwargs = {"foreach": True}
    elif variant == "fused":
        kwargs = {"fused": True}
    opt = torch.optim.AdamW(params, lr=spec["lr"], betas=tuple(spec["betas"]), eps=spec["eps"],
                            weight_decay=spec["weight_decay"], **kwargs)
    sched = SCHEDULES[spec["schedule"]](opt, spec["warmup_steps"], spec["total_steps"])
    out = {"params": [], "grad_norms": [], "lrs": []}
    for step_grads in spec["grads"]:
        for p, g in zip(params, step_grads):
            p.grad = torch.tensor(g, dtype=torch.float32)
        if spec["max_grad_norm"] > 0:
            norm = torch.nn.utils.clip_grad_norm_(params, spec["max_grad_norm"])
        else:
            norm = torch.linalg.vector_norm(torch.cat([p.grad for p in params]).double())
        out["grad_norms"].append(float(norm))
        out["lrs"].append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        out["params"].append([p.detach().numpy().copy() for p in params])
    return out


def compare(ours: dict, ref: dict):
    assert len(ours["lrs"]) == len(ref["lrs"])
    np.testing.assert_allclose(ours["lrs"], ref["lrs"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(ours["grad_norms"], ref["grad_norms"], rtol=1e-6, atol=0)
    for step, (mine, theirs) in enumerate(zip(ours["params"], ref["params"])):
        for t, (a, b) in enumerate(zip(mine, theirs)):
            np.testing.assert_allclose(np.asarray(a, dtype=np.float32), b, rtol=1e-6, atol=1e-7,
                                       err_msg=f"step {step + 1}, tensor {t}")


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
@pytest.mark.parametrize("clip", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_torch_adamw_clipping_and_hf_schedules(tmp_path, schedule, clip, seed):
    spec = random_spec(seed * 10 + len(schedule) + clip, schedule, clip)
    compare(probe(tmp_path, spec), torch_run(spec, "single"))


@pytest.mark.parametrize("variant", ["foreach", "fused"])
def test_matches_torch_foreach_and_fused_variants(tmp_path, variant):
    spec = random_spec(99, "cosine", True)
    compare(probe(tmp_path, spec), torch_run(spec, variant))


def test_lr_exactly_as_hf_on_long_schedules(tmp_path):
    """Learning rates alone, over many steps and awkward warmup/total pairs."""
    for schedule in SCHEDULES:
        for warmup, total, steps in [(0, 1, 3), (3, 100, 110), (7, 13, 20), (5, 5, 8), (10, 4, 12)]:
            spec = {"params": [[0.0]], "grads": [[[0.0]]] * steps, "lr": 3e-4,
                    "schedule": schedule, "warmup_steps": warmup, "total_steps": total,
                    "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                    "max_grad_norm": 0.0}
            np.testing.assert_allclose(probe(tmp_path, spec)["lrs"],
                                       torch_run(spec, "single")["lrs"], rtol=1e-12, atol=0,
                                       err_msg=f"{schedule} warmup {warmup} total {total}")


def test_resumed_run_is_bit_identical(tmp_path):
    spec = random_spec(5, "linear", True)
    straight = probe(tmp_path, spec)
    resumed = probe(tmp_path, dict(spec, resume_at=3))
    assert resumed == straight
    compare(straight, torch_run(spec, "single"))


# Independent implementation of src/train/shuffle.h's documented algorithm.
MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15


def splitmix64_mix(state: int) -> int:
    z = (state + GAMMA) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def epoch_permutation(n: int, seed: int, epoch: int) -> list:
    state = splitmix64_mix(splitmix64_mix(seed) ^ (epoch & MASK))

    def below(bound: int) -> int:
        nonlocal state
        while True:
            r = splitmix64_mix(state)
            state = (state + GAMMA) & MASK
            if r >= (1 << 64) % bound:
                return r % bound

    perm = list(range(n))
    for i in range(n - 1, 0, -1):
        j = below(i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm


def test_epoch_permutation_matches_python(tmp_path):
    rng = np.random.default_rng(1)
    cases = [[0, 1, 0], [1, 2, 3], [10, 0, 0], [10, 0, 1], [10, 42, 0], [16, 12345, 3],
             [20, 2024, 7], [257, MASK, 5]]
    cases += [[int(rng.integers(2, 500)), int(rng.integers(0, 1 << 63)) * 2 + 1,
               int(rng.integers(0, 50))] for _ in range(20)]
    spec = {"params": [], "grads": [], "lr": 1e-3, "schedule": "constant", "warmup_steps": 0,
            "total_steps": 1, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
            "max_grad_norm": 0.0, "permutations": cases}
    got = probe(tmp_path, spec)["permutations"]
    for case, perm in zip(cases, got):
        assert perm == epoch_permutation(*case), case
