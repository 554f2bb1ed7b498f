"""Writes Tests/LanguageModelsTests/Fixtures/muon2026.safetensors: two Muon steps with the 2026 refinements on three
matrices (wide, tall, square), written here in PyTorch after the speedruns' `muon_step_fused` (modded-nanogpt,
nanochat): Nesterov momentum, Polar Express (normalisation by 1.02 x the Frobenius norm + 1e-6, five per-step
coefficient triples), NorMuon (the second moment of the update's mean square along its longer side, beta2 0.95,
rescaled to the update's norm) and cautious weight decay (decay where update and weight share a sign, at the
adjusted rate lr x sqrt(max(1, A/B))). In fp32 (the speedruns orthogonalise in bfloat16), as the Swift optimizer
computes. Variants: "polar" (Polar Express only, plain decay) and "all" (the three).

    python Scripts/make_muon2026_fixtures.py
Needs: torch, safetensors.
"""
import json
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests/LanguageModelsTests/Fixtures"
SHAPES = {"wide": (6, 10), "tall": (12, 5), "square": (8, 8)}
LR, MOMENTUM, WEIGHT_DECAY, BETA2 = 0.02, 0.95, 0.1, 0.95
POLAR_EXPRESS = [
    (8.156554524902461, -22.48329292557795, 15.878769915207462),
    (4.042929935166739, -2.808917465908714, 0.5000178451051316),
    (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
    (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
    (2.3465413258596377, -1.7097828382687081, 0.42323551169305323),
]


def polar_express(u):
    x = u / (u.norm() * 1.02 + 1e-6)
    for a, b, c in POLAR_EXPRESS:
        if u.size(0) > u.size(1):
            gram = x.T @ x
            x = a * x + x @ (b * gram + c * gram @ gram)
        else:
            gram = x @ x.T
            x = a * x + (b * gram + c * gram @ gram) @ x
    return x


def step(p, g, buffer, second, everything):
    buffer.lerp_(g, 1 - MOMENTUM)
    o = polar_express(g.lerp(buffer, MOMENTUM))
    rows, columns = o.shape
    lr = LR * max(1.0, rows / columns) ** 0.5
    if everything:
        dim = 1 if rows >= columns else 0
        mean_square = o.square().mean(dim=dim, keepdim=True)
        n = o.size(dim)
        norm = (mean_square.sum() * n).sqrt()
        second.lerp_(mean_square, 1 - BETA2)
        scale = second.clamp_min(1e-10).rsqrt()
        scaled_norm = ((mean_square * n) * scale.square()).sum().sqrt()
        o = o * (scale * (norm / scaled_norm.clamp_min(1e-10)))
        mask = (o * p) >= 0
        p.sub_(lr * o + lr * WEIGHT_DECAY * p * mask)
    else:
        p.mul_(1 - LR * WEIGHT_DECAY).sub_(lr * o)


def main() -> None:
    torch.manual_seed(0)
    initial = {n: torch.randn(*s) * 0.5 for n, s in SHAPES.items()}
    grads = [{n: torch.randn(*s) for n, s in SHAPES.items()} for _ in range(2)]
    tensors = {f"initial.{n}": p.clone() for n, p in initial.items()}
    tensors.update({f"grad{i + 1}.{n}": g for i, gs in enumerate(grads) for n, g in gs.items()})
    for variant in ("polar", "all"):
        params = {n: p.clone() for n, p in initial.items()}
        buffers = {n: torch.zeros_like(p) for n, p in params.items()}
        seconds = {n: torch.zeros(s[0], 1) if s[0] >= s[1] else torch.zeros(1, s[1]) for n, s in SHAPES.items()}
        for i, gs in enumerate(grads, start=1):
            for n in SHAPES:
                step(params[n], gs[n], buffers[n], seconds[n], variant == "all")
                tensors[f"{variant}.step{i}.{n}"] = params[n].clone()
    settings = dict(lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY, beta2=BETA2)
    save_file({k: v.contiguous() for k, v in tensors.items()}, OUT / "muon2026.safetensors",
              {"settings": json.dumps(settings), "torch": torch.__version__})
    print(f"wrote {OUT / 'muon2026.safetensors'} with torch {torch.__version__}")


if __name__ == "__main__":
    main()
