#!/usr/bin/env python3
"""Writes gguf-py's dequantization of tensors of a GGUF model to a safetensors file, the
reference that the C++ test GgufRealModel.DequantizationMatchesGgufPyBitExactly compares
GgufFile::read_f32 against bit for bit.

Each tensor is stored under its GGUF name, row-major in the natural order (GGUF dims [d0, d1]
-> shape [d1, d0]). By default: the first 4096 rows of token_embd.weight (Q8_0), every tensor of
block 0 (Q4_1 and F32), blk.29.ffn_down.weight and output_norm.weight. With --all: every tensor of
a type gguf-py can dequantize (about 540 MB for SmolLM2-135M).

    python make_gguf_dequant_reference.py SmolLM2-135M-Instruct.Q4_1.gguf OUT_DIR [--all]
    -> OUT_DIR/gguf_dequant_reference.safetensors
"""
import argparse
import os

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType
from gguf.quants import dequantize
from safetensors.numpy import save_file

DEFAULT_EMBEDDING_ROWS = 4096


def wanted(name: str) -> bool:
    return (name == "token_embd.weight" or name.startswith("blk.0.")
            or name in ("blk.29.ffn_down.weight", "output_norm.weight"))


def make_reference(gguf_path: str, out_dir: str, everything: bool = False) -> str:
    reader = GGUFReader(gguf_path)
    supported = {GGMLQuantizationType.F32, GGMLQuantizationType.F16, GGMLQuantizationType.BF16,
                 GGMLQuantizationType.Q8_0, GGMLQuantizationType.Q4_0, GGMLQuantizationType.Q4_1}
    out = {}
    for t in reader.tensors:
        if t.tensor_type not in supported or not (everything or wanted(t.name)):
            continue
        data = t.data  # numpy view, shape = reversed GGUF dims (quantized: rows of bytes)
        if t.name == "token_embd.weight" and not everything:
            data = data[:DEFAULT_EMBEDDING_ROWS]
        values = np.ascontiguousarray(dequantize(data, t.tensor_type), dtype=np.float32)
        row = int(t.shape[0])  # GGUF dims, fastest-varying first
        out[t.name] = values.reshape(-1, row) if values.ndim > 1 else values
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "gguf_dequant_reference.safetensors")
    save_file(out, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf")
    parser.add_argument("out_dir")
    parser.add_argument("--all", action="store_true", help="every supported tensor, in full")
    args = parser.parse_args()
    print(make_reference(args.gguf, args.out_dir, args.all))


if __name__ == "__main__":
    main()
