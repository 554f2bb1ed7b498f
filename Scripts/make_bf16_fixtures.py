"""Writes Tests/LanguageModelsTests/Fixtures/bf16.safetensors: PyTorch's rounding of fp32 values to bfloat16 (ties,
the edges of the range, infinities, denormals, random values of every magnitude), each widened back to fp32 (exact),
and one product of bfloat16-rounded operands, summed in float64 by PyTorch, for the bfloat16 kernels to match.

    python Scripts/make_bf16_fixtures.py
Needs: torch, safetensors.
"""
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests/LanguageModelsTests/Fixtures/bf16.safetensors"

torch.manual_seed(0)
edges = torch.tensor([
    0.0, -0.0, 1.0, 1 + 2**-8, 1 + 2**-8 + 2**-20, 1 + 2**-7 + 2**-8, -(1 + 2**-8), 3.0e38, -3.4028234663852886e38,
    float("inf"), float("-inf"), 1e-40, -1e-40, 2**-126, 65504.0, 0.1, 1 / 3,
], dtype=torch.float32)
magnitudes = torch.randn(4096) * torch.pow(10.0, torch.randint(-30, 30, (4096,)).float())
values = torch.cat([edges, magnitudes.float()])
a = torch.randn(37, 70)
b = torch.randn(70, 45)
product = a.bfloat16().double() @ b.bfloat16().double()
save_file({
    "values": values,
    "rounded": values.bfloat16().float(),
    "a": a.contiguous(),
    "b": b.contiguous(),
    "product": product.float().contiguous(),
}, str(OUT))
print(f"wrote {OUT}")
