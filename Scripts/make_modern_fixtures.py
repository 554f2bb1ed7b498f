"""Writes the PyTorch parity fixtures of the modern GPT layout (nanochat's, the modded-nanogpt speedrun's) that the
Swift tests load (run by hand; CI needs no Python): rotary positions (Hugging Face LLaMA's half-split rotate_half),
RMSNorm without gain everywhere (blocks, final, right after the token embedding), QK-norm after the rotary
embedding, ReLU², grouped-query attention with 2 key/value heads for 4 query heads, an untied head, no biases, a
logit soft-cap. Parameter names are this package's (nanoGPT's), so `gpt import --weights modern_weights.safetensors
--config config.json` reads the state dict.

  modern_weights.safetensors   the state dict before the step (metadata: the configuration as JSON)
  modern_io.safetensors        idx, targets (as float), logits, loss
  modern_grads.safetensors     the gradient of every parameter
  modern_step.safetensors      every parameter after one AdamW step (metadata: the optimizer settings)

Usage: python3 Scripts/make_modern_fixtures.py Tests/LanguageModelsTests/Fixtures
Needs: torch, safetensors.
"""
import sys

import torch
import torch.nn as nn
from torch.nn import functional as F

import make_parity_fixtures as parity  # the batch, and the four files written the same way

V, T, L, H, KV, C, B = 13, 8, 2, 4, 2, 16, 3
D, THETA, EPS, CAP = C // H, 10000.0, 1e-5, 2.0


def norm(x):
    return F.rms_norm(x, (x.size(-1),), eps=EPS)


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rotary(t):
    inv_freq = 1.0 / (THETA ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    freqs = torch.outer(torch.arange(t, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)  # (T, D), as LlamaRotaryEmbedding
    return emb.cos(), emb.sin()


class Attention(nn.Module):
    def __init__(s):
        super().__init__()
        s.c_attn = nn.Linear(C, (H + 2 * KV) * D, bias=False)
        s.c_proj = nn.Linear(C, C, bias=False)

    def forward(s, x):
        b, t, _ = x.size()
        q, k, v = s.c_attn(x).split([H * D, KV * D, KV * D], dim=2)
        q, k, v = q.view(b, t, H, D).transpose(1, 2), k.view(b, t, KV, D).transpose(1, 2), v.view(b, t, KV, D).transpose(1, 2)
        cos, sin = rotary(t)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        q, k = norm(q), norm(k)  # QK-norm after the rotary embedding, as nanochat
        k, v = k.repeat_interleave(H // KV, dim=1), v.repeat_interleave(H // KV, dim=1)  # repeat_kv
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return s.c_proj(y.transpose(1, 2).contiguous().view(b, t, C))


class MLP(nn.Module):
    def __init__(s):
        super().__init__()
        s.c_fc, s.c_proj = nn.Linear(C, 4 * C, bias=False), nn.Linear(4 * C, C, bias=False)

    def forward(s, x):
        return s.c_proj(F.relu(s.c_fc(x)).square())


class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.attn, s.mlp = Attention(), MLP()

    def forward(s, x):
        x = x + s.attn(norm(x))
        return x + s.mlp(norm(x))


class ModernGPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.transformer = nn.ModuleDict(dict(wte=nn.Embedding(V, C), h=nn.ModuleList([Block() for _ in range(L)])))
        s.lm_head = nn.Linear(C, V, bias=False)
        for p in s.parameters():  # large enough that the soft-cap and the norms matter
            torch.nn.init.normal_(p, mean=0.0, std=0.3)

    def forward(s, idx, targets):
        x = norm(s.transformer.wte(idx))  # the embedding norm
        for block in s.transformer.h:
            x = block(x)
        logits = s.lm_head(norm(x))
        logits = CAP * torch.tanh(logits / CAP)
        return logits, F.cross_entropy(logits.view(-1, V), targets.view(-1))


CONFIG = dict(format_version=3, model_type="gpt", vocab_size=V, block_size=T, n_layer=L, n_head=H, n_embd=C,
              dropout=0.0, bias=False, attention_bias=False, lm_head_bias=False, activation="relu2", tie_weights=False,
              position_encoding="rope", rope_theta=THETA, norm="rmsnorm", norm_affine=False, norm_eps=EPS,
              qk_norm=True, n_kv_head=KV, embedding_norm=True, logit_softcap=CAP, zero_init_projections=False)


def main(out):
    assert (parity.V, parity.T, parity.B) == (V, T, B), "the shared batch must fit this model"
    torch.manual_seed(2026)
    model = ModernGPT()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}], lr=1e-3, betas=(0.9, 0.99))
    settings = dict(learning_rate=1e-3, beta1=0.9, beta2=0.99, weight_decay=0.1, decay_all=False)
    parity.write("modern", model, optimizer, settings, out, configuration=CONFIG)
    print("wrote modern fixtures to", out, "with torch", torch.__version__)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/LanguageModelsTests/Fixtures")
