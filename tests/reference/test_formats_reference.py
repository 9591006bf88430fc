"""cipherlora's model-file readers and writers against the Python reference libraries (gguf-py,
safetensors, transformers). Each test prepares files with one side and checks them with the other
by running one env-gated test of the C++ `formats_tests` binary (tests/cpp/formats/)."""
import os
import subprocess

import numpy as np
import pytest
import torch
from gguf import GGUFReader, GGUFWriter, GGUFValueType, GGMLQuantizationType
from gguf.quants import dequantize, quantize
from safetensors import safe_open
from safetensors.numpy import save_file as save_numpy
from safetensors.torch import load_file as load_torch, save_file as save_torch

from conftest import binary
from make_gguf_dequant_reference import make_reference


def run_gtest(test_name: str, **env: str) -> str:
    """Runs one test of formats_tests with extra environment; it must run and pass, not skip."""
    proc = subprocess.run([str(binary("formats_tests")), f"--gtest_filter={test_name}"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **{k: str(v) for k, v in env.items()}})
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "[  PASSED  ] 1 test" in output and "SKIPPED" not in output, output
    return output


def test_dequantization_matches_gguf_py_on_the_real_model(tmp_path, gguf_path):
    reference = make_reference(str(gguf_path), str(tmp_path))
    run_gtest("GgufRealModel.DequantizationMatchesGgufPyBitExactly",
              CIPHERLORA_SMOLLM2_GGUF=gguf_path, CIPHERLORA_DEQUANT_REFERENCE=reference)
    run_gtest("GgufRealModel.HeaderMatchesSmolLM2", CIPHERLORA_SMOLLM2_GGUF=gguf_path)


# ---- files written by Python, read by C++ (constants mirrored in interop_test.cc) ----

def write_python_gguf(path, expected_path):
    rng = np.random.default_rng(0)
    w = GGUFWriter(str(path), arch="test")
    w.add_custom_alignment(64)
    w.add_uint8("t.u8", 200)
    w.add_int8("t.i8", -5)
    w.add_uint16("t.u16", 60000)
    w.add_int16("t.i16", -30000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 1.5)
    w.add_bool("t.bool", True)
    w.add_string("t.str", "h\u00e9llo")
    w.add_uint64("t.u64", 2**40 + 3)
    w.add_int64("t.i64", -(2**40))
    w.add_float64("t.f64", 0.1)
    w.add_array("t.strs", ["a", "b c", "\u2581x"])
    w.add_array("t.ints", [1, -2, 3])
    w.add_key_value("t.u16s", [7, 65535], GGUFValueType.ARRAY, sub_type=GGUFValueType.UINT16)
    w.add_array("t.floats", [0.5, -0.25])
    w.add_array("t.nested", [[1, 2], [3]])
    w.add_string("t.after_nested", "ok")

    Q = GGMLQuantizationType
    tensors = {"f32": ((3, 64), Q.F32), "f16": ((4, 32), Q.F16), "bf16": ((2, 96), Q.BF16),
               "q8_0": ((5, 64), Q.Q8_0), "q4_0": ((3, 128), Q.Q4_0), "q4_1": ((6, 96), Q.Q4_1),
               "q4_1_3d": ((2, 3, 64), Q.Q4_1), "q8_0_big": ((300, 256), Q.Q8_0)}
    expected = {}
    for name, (shape, qtype) in tensors.items():
        x = rng.standard_normal(shape).astype(np.float32)
        x.reshape(-1)[:32] = 0  # an all-zero first block: scale d = 0
        if qtype == Q.F32:
            w.add_tensor(name, x)
            expected[name] = x
        elif qtype == Q.F16:
            w.add_tensor(name, x.astype(np.float16))
            expected[name] = x.astype(np.float16).astype(np.float32)
        else:
            q = quantize(x, qtype)
            w.add_tensor(name, q, raw_dtype=qtype)
            expected[name] = np.ascontiguousarray(dequantize(q, qtype), dtype=np.float32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    save_numpy(expected, str(expected_path))


def write_python_safetensors(path, expected_path):
    g = torch.Generator().manual_seed(1)
    tensors = {
        "f32": torch.randn(3, 4, generator=g),
        "f16": (torch.randn(5, generator=g) * 1000).to(torch.float16),
        "bf16": (torch.randn(2, 3, generator=g) * 1e-30).to(torch.bfloat16),
        "i64": torch.tensor([-7, 9], dtype=torch.int64),
        "empty": torch.zeros(0, 3),
    }
    save_torch(tensors, str(path), metadata={"format": "pt"})
    save_torch({k: v.float() for k, v in tensors.items() if k != "i64"}, str(expected_path))


def write_hf_checkpoint(folder, expected_path):
    from transformers import LlamaConfig, LlamaForCausalLM
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=128, hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         tie_word_embeddings=False)
    model = LlamaForCausalLM(config).to(torch.bfloat16)
    model.save_pretrained(str(folder), max_shard_size="40KB")
    shards = sorted(p for p in os.listdir(folder) if p.endswith(".safetensors"))
    assert len(shards) > 1 and os.path.exists(folder / "model.safetensors.index.json")
    expected = {}
    for shard in shards:  # what the reference library reads from the same files
        expected.update({k: v.float() for k, v in load_torch(str(folder / shard)).items()})
    save_torch(expected, str(expected_path))


def test_cpp_reads_python_written_files(tmp_path):
    write_python_gguf(tmp_path / "py_samples.gguf", tmp_path / "py_gguf_expected.safetensors")
    write_python_safetensors(tmp_path / "py_samples.safetensors",
                             tmp_path / "py_safetensors_expected.safetensors")
    write_hf_checkpoint(tmp_path / "hf_tiny", tmp_path / "hf_expected.safetensors")
    run_gtest("Interop.ReadsPythonWrittenFiles", CIPHERLORA_PY_SAMPLES_DIR=tmp_path)


# ---- files written by C++, read by Python ----

def sample_values(n, start=0):
    i = np.arange(start, start + n, dtype=np.int64)
    return ((i * 37) % 101 - 50).astype(np.float32) * np.float32(0.125)


def sample_values_f16(n):
    """Even i: k/7; odd i: exact ties between two fp16 values (checks ties-to-even)."""
    i = np.arange(n, dtype=np.int64)
    return np.where(i % 2 == 1, 1.0 + (2 * (i // 2) + 1) / 2048.0,
                    ((i * 37) % 101 - 50) / 7.0).astype(np.float32)


def test_python_reads_cpp_written_files(tmp_path):
    run_gtest("Interop.WritesFilesForPython", CIPHERLORA_CPP_SAMPLES_DIR=tmp_path)
    assert not any(p.endswith(".tmp") for p in os.listdir(tmp_path))

    reader = GGUFReader(str(tmp_path / "cpp_samples.gguf"))
    fields = reader.fields

    def scalar(key):
        return fields[key].contents()

    assert scalar("general.architecture") == "llama"
    assert scalar("t.u32") == 7 and fields["t.u32"].types == [GGUFValueType.UINT32]
    assert scalar("t.i32") == -3 and fields["t.i32"].types == [GGUFValueType.INT32]
    assert scalar("t.u64") == 2**40 and fields["t.u64"].types == [GGUFValueType.UINT64]
    assert scalar("t.f32") == 0.25 and fields["t.f32"].types == [GGUFValueType.FLOAT32]
    assert scalar("t.bool") is True
    assert scalar("t.strs") == ["a", "b c"]
    assert scalar("t.ints") == [1, -2, 3]
    assert fields["t.ints"].types == [GGUFValueType.ARRAY, GGUFValueType.INT32]
    tensors = {t.name: t for t in reader.tensors}
    assert list(tensors) == ["f32", "f16"]
    f32, f16 = tensors["f32"], tensors["f16"]
    assert f32.tensor_type == GGMLQuantizationType.F32 and list(f32.shape) == [8, 3]
    assert f16.tensor_type == GGMLQuantizationType.F16 and list(f16.shape) == [32, 2]
    np.testing.assert_array_equal(np.asarray(f32.data).reshape(3, 8),
                                  sample_values(24).reshape(3, 8))
    # Our fp32 -> fp16 rounding must equal numpy's, bit for bit.
    np.testing.assert_array_equal(np.asarray(f16.data).view(np.uint16).reshape(-1),
                                  sample_values_f16(64).astype(np.float16).view(np.uint16))

    st_path = tmp_path / "cpp_samples.safetensors"
    with safe_open(str(st_path), "np") as f:
        assert f.metadata() == {"format": "pt"}
        assert sorted(f.keys()) == ["a", "b"]
        np.testing.assert_array_equal(f.get_tensor("a"), sample_values(4))
        np.testing.assert_array_equal(f.get_tensor("b"), sample_values(6, 100).reshape(2, 3))
    # Byte-identical to what the reference library writes for the same tensors.
    ref_path = tmp_path / "python.safetensors"
    save_numpy({"b": sample_values(6, 100).reshape(2, 3), "a": sample_values(4)}, str(ref_path),
               metadata={"format": "pt"})
    assert st_path.read_bytes() == ref_path.read_bytes()
