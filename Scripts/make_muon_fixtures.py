"""Writes Tests/LanguageModelsTests/Fixtures/muon.safetensors: two steps of PyTorch's torch.optim.Muon (PyTorch 2.9+) on three
matrices (wide, tall, square), from the same weights and gradients, with its defaults (momentum 0.95, Nesterov,
5 Newton-Schulz steps of (3.4445, -4.775, 2.0315), eps 1e-7, the "original" learning-rate adjustment), lr 0.02 and
weight decay 0.1, and also the same two steps with the Newton-Schulz iteration in fp32 (PyTorch runs it in
bfloat16), which the Swift optimizer computes in.

    python Scripts/make_muon_fixtures.py
Needs: torch (2.9 or later), safetensors.
"""
import json
from pathlib import Path

import torch
import torch.optim._muon as muon
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests/LanguageModelsTests/Fixtures"
SHAPES = {"wide": (6, 10), "tall": (12, 5), "square": (8, 8)}
SETTINGS = dict(lr=0.02, weight_decay=0.1, momentum=0.95, nesterov=True)


def run(fp32: bool) -> dict:
    torch.manual_seed(0)
    params = {n: torch.nn.Parameter(torch.randn(*s) * 0.5) for n, s in SHAPES.items()}
    grads = [{n: torch.randn(*s) for n, s in SHAPES.items()} for _ in range(2)]
    original = muon._zeropower_via_newtonschulz
    if fp32:  # the same iteration, in fp32
        def fp32_zeropower(grad, coefficients, steps, eps):
            a, b, c = coefficients
            x = grad.to(dtype=torch.float32, copy=True)
            if grad.size(0) > grad.size(1):
                x = x.T
            x.div_(x.norm().clamp(min=eps))
            for _ in range(steps):
                gram = x @ x.T
                x = torch.addmm(x, torch.addmm(gram, gram, gram, beta=b, alpha=c), x, beta=a)
            return x.T if grad.size(0) > grad.size(1) else x
        muon._zeropower_via_newtonschulz = fp32_zeropower
    optimizer = torch.optim.Muon(list(params.values()), **SETTINGS)
    out = {f"initial.{n}": p.detach().clone() for n, p in params.items()}
    for step, g in enumerate(grads, start=1):
        for n, p in params.items():
            p.grad = g[n].clone()
            out[f"grad{step}.{n}"] = g[n]
        optimizer.step()
        for n, p in params.items():
            out[f"step{step}.{n}"] = p.detach().clone()
    muon._zeropower_via_newtonschulz = original
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    reference = run(fp32=False)
    fp32 = run(fp32=True)
    tensors = {k: v.contiguous() for k, v in reference.items()}
    tensors.update({f"fp32.{k}": v.contiguous() for k, v in fp32.items() if k.startswith("step")})
    save_file(tensors, OUT / "muon.safetensors", {"settings": json.dumps(SETTINGS), "torch": torch.__version__})
    print(f"wrote {OUT / 'muon.safetensors'} with torch {torch.__version__}")


if __name__ == "__main__":
    main()
