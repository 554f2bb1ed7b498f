#!/usr/bin/env python3
"""Writes Tests/LanguageModelsTests/Fixtures/gguf/reference.gguf with llama.cpp's own Python writer (gguf-py,
`pip install gguf`): one metadata key of every type the exporter writes, and tensors stored as f32, f16 and bf16,
with values chosen to exercise rounding (ties, subnormals, the top of f16's range).

GGUFTests encodes the same keys and tensors with the package's writer and expects the same bytes, and also
decodes this file with the test's own reader of the format.

    python Scripts/make_gguf_fixtures.py
"""
import json
from pathlib import Path

import numpy as np
import gguf

OUT = Path(__file__).resolve().parent.parent / "Tests/LanguageModelsTests/Fixtures/gguf"


def values(count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(count).astype(np.float32)
    # Rounding cases: exact halfway points for bf16 and f16, a subnormal f16, the largest f16, tiny and negative zero.
    special = np.array([1.0 + 2**-8, 1.0 + 3 * 2**-8, 1.0 + 2**-11, 6e-6, 65504.0, -0.0, 1e-30, -3.0], dtype=np.float32)
    v[: min(count, len(special))] = special[:count]
    return v


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "reference.gguf"
    writer = gguf.GGUFWriter(path, arch="gpt2")  # general.architecture first
    writer.add_uint32("general.alignment", 32)
    writer.add_uint32("gpt2.block_count", 2)
    writer.add_int32("test.int32", -7)
    writer.add_float32("gpt2.attention.layer_norm_epsilon", 1e-5)
    writer.add_bool("tokenizer.ggml.add_bos_token", False)
    writer.add_bool("test.true", True)
    writer.add_string("general.name", "swift-gpt ✓")
    writer.add_array("tokenizer.ggml.tokens", ["Ċ", "Ġ", "a", "Ã©", "<|endoftext|>"])
    writer.add_array("tokenizer.ggml.token_type", [1, 1, 1, 1, 3])
    writer.add_array("tokenizer.ggml.merges", ["Ã ©"])

    matrix = values(3 * 5, 1).reshape(3, 5)         # [rows, columns]: ne = [5, 3]
    vector = values(7, 2)
    half = values(4 * 6, 3).reshape(4, 6)
    brain = values(2 * 9, 4).reshape(2, 9)
    writer.add_tensor("blk.0.attn_qkv.weight", matrix)
    writer.add_tensor("blk.0.attn_norm.bias", vector)
    writer.add_tensor("token_embd.weight", half.astype(np.float16))
    writer.add_tensor("output.weight", gguf.quants.quantize(brain, gguf.GGMLQuantizationType.BF16),
                      raw_dtype=gguf.GGMLQuantizationType.BF16)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    inputs = {name: {"shape": list(t.shape), "values": [float(x) for x in t.reshape(-1)]}
              for name, t in [("matrix", matrix), ("vector", vector), ("half", half), ("brain", brain)]}
    (OUT / "inputs.json").write_text(json.dumps(inputs, indent=1))
    print(f"wrote {path} ({path.stat().st_size} bytes) and inputs.json")


if __name__ == "__main__":
    main()
