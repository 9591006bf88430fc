"""Hugging Face folders (config.json + safetensors + tokenizer.json) against transformers: a small
random Llama saved by `save_pretrained` in fp32 / fp16 / bf16, single-file or sharded, tied or
untied head, must give transformers' per-example losses through `cipherlora eval`."""
import json

import pytest
import torch

from conftest import run
from examples import RECORDS, build_example, write_jsonl


@pytest.fixture(params=[("float32", None, True), ("bfloat16", "300KB", False),
                        ("float16", None, False)],
                ids=["f32-tied", "bf16-sharded-untied", "f16-untied"])
def hf_folder(request, tmp_path, hf_tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM
    dtype, shard, tied = request.param
    cfg = LlamaConfig(vocab_size=len(hf_tokenizer), hidden_size=64, intermediate_size=96,
                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      max_position_embeddings=256, rms_norm_eps=1e-6, rope_theta=5000.0,
                      tie_word_embeddings=tied, bos_token_id=hf_tokenizer.bos_token_id,
                      eos_token_id=hf_tokenizer.eos_token_id)
    torch.manual_seed(3)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():
        for p in model.parameters():  # larger weights than the default init: a non-trivial model
            p.normal_(0.0, 0.08)
    folder = tmp_path / "model"
    kw = {"max_shard_size": shard} if shard else {}
    model.to(getattr(torch, dtype)).save_pretrained(folder, **kw)
    hf_tokenizer.save_pretrained(folder)
    # The reference reads back what was saved, upcast to fp32 as cipherlora does.
    ref = LlamaForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    if shard:
        assert (folder / "model.safetensors.index.json").exists()
    return folder, ref


def test_eval_on_hf_folder_matches_transformers(tmp_path, hf_folder, hf_tokenizer):
    folder, ref = hf_folder
    data = tmp_path / "data.jsonl"
    write_jsonl(data)
    ours = json.loads(run("cipherlora", "eval", "--model", folder, "--data", data,
                          "--json").stdout)
    with torch.no_grad():
        for i, (r, ex) in enumerate(zip(RECORDS, ours["examples"])):
            ids, labels = build_example(hf_tokenizer, r)
            loss = ref(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss.item()
            assert ex["loss"] == pytest.approx(loss, rel=1e-4), f"example {i}"


def test_tokenize_from_tokenizer_json_matches_gguf(hf_folder, gguf_path):
    folder, _ = hf_folder
    for text in ["Hello  42 worlds!", "<|im_start|>user\nnaïve 東京 2026<|im_end|>", "a\n\n\n b"]:
        a = run("cipherlora", "tokenize", "--model", folder, f"--text={text}").stdout
        b = run("cipherlora", "tokenize", "--model", gguf_path, f"--text={text}").stdout
        assert a == b, text


def test_info_reports_folder_config(hf_folder):
    folder, ref = hf_folder
    info = json.loads(run("cipherlora", "info", "--model", folder, "--json").stdout)
    assert info["format"] == "huggingface"
    assert info["layers"] == 2 and info["hidden_size"] == 64 and info["kv_heads"] == 2
    assert info["parameters"] == sum(p.numel() for p in ref.parameters())
