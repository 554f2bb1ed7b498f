"""Writes the PyTorch parity fixtures that the Swift tests load (run by hand; CI needs no Python).

For two small random models, one in the lecture's gpt.py layout (per-head key/query/value, ReLU, untied lm_head
with bias) and one in nanoGPT's model.py layout (packed c_attn, GELU, tied lm_head, no biases), it runs one forward,
one backward and one AdamW step on a fixed batch and saves, per layout:

  <layout>_weights.safetensors   the state dict before the step (metadata: the configuration as JSON)
  <layout>_io.safetensors        idx, targets (as float), logits, loss
  <layout>_grads.safetensors     the gradient of every parameter, by state-dict name
  <layout>_step.safetensors      every parameter after one AdamW step (metadata: the optimizer settings)

Usage: python3 Scripts/make_parity_fixtures.py Tests/LanguageModelsTests/Fixtures
Needs: torch, safetensors.
"""
import json, math, sys
import torch, torch.nn as nn
from torch.nn import functional as F
from safetensors.torch import save_file

V, T, L, H, C, B = 13, 8, 2, 2, 16, 3

# ---------------------------------------------------------------- the lecture's gpt.py (dropout 0)
class Head(nn.Module):
    def __init__(s, hs):
        super().__init__()
        s.key, s.query, s.value = (nn.Linear(C, hs, bias=False) for _ in range(3))
        s.register_buffer("tril", torch.tril(torch.ones(T, T)))
    def forward(s, x):
        _, t, _ = x.shape
        k, q = s.key(x), s.query(x)
        wei = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5
        wei = F.softmax(wei.masked_fill(s.tril[:t, :t] == 0, float("-inf")), dim=-1)
        return wei @ s.value(x)

class MultiHeadAttention(nn.Module):
    def __init__(s):
        super().__init__()
        s.heads = nn.ModuleList([Head(C // H) for _ in range(H)])
        s.proj = nn.Linear(C, C)
    def forward(s, x):
        return s.proj(torch.cat([h(x) for h in s.heads], dim=-1))

class FeedForward(nn.Module):
    def __init__(s):
        super().__init__()
        s.net = nn.Sequential(nn.Linear(C, 4 * C), nn.ReLU(), nn.Linear(4 * C, C), nn.Dropout(0.0))
    def forward(s, x):
        return s.net(x)

class LectureBlock(nn.Module):
    def __init__(s):
        super().__init__()
        s.sa, s.ffwd, s.ln1, s.ln2 = MultiHeadAttention(), FeedForward(), nn.LayerNorm(C), nn.LayerNorm(C)
    def forward(s, x):
        x = x + s.sa(s.ln1(x))
        return x + s.ffwd(s.ln2(x))

class LectureGPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.token_embedding_table, s.position_embedding_table = nn.Embedding(V, C), nn.Embedding(T, C)
        s.blocks = nn.Sequential(*[LectureBlock() for _ in range(L)])
        s.ln_f, s.lm_head = nn.LayerNorm(C), nn.Linear(C, V)
    def forward(s, idx, targets):
        _, t = idx.shape
        x = s.token_embedding_table(idx) + s.position_embedding_table(torch.arange(t))
        logits = s.lm_head(s.ln_f(s.blocks(x)))
        return logits, F.cross_entropy(logits.view(-1, V), targets.view(-1))

# ---------------------------------------------------------------- nanoGPT's model.py (bias=False, dropout 0)
class NanoAttention(nn.Module):
    def __init__(s):
        super().__init__()
        s.c_attn, s.c_proj = nn.Linear(C, 3 * C, bias=False), nn.Linear(C, C, bias=False)
    def forward(s, x):
        b, t, _ = x.size()
        q, k, v = s.c_attn(x).split(C, dim=2)
        q, k, v = (z.view(b, t, H, C // H).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return s.c_proj(y.transpose(1, 2).contiguous().view(b, t, C))

class NanoMLP(nn.Module):
    def __init__(s):
        super().__init__()
        s.c_fc, s.c_proj = nn.Linear(C, 4 * C, bias=False), nn.Linear(4 * C, C, bias=False)
    def forward(s, x):
        return s.c_proj(F.gelu(s.c_fc(x), approximate="tanh"))

class NanoBlock(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln_1, s.attn = nn.LayerNorm(C, bias=False), NanoAttention()
        s.ln_2, s.mlp = nn.LayerNorm(C, bias=False), NanoMLP()
    def forward(s, x):
        x = x + s.attn(s.ln_1(x))
        return x + s.mlp(s.ln_2(x))

class NanoGPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(V, C), wpe=nn.Embedding(T, C),
            h=nn.ModuleList([NanoBlock() for _ in range(L)]), ln_f=nn.LayerNorm(C, bias=False)))
        s.lm_head = nn.Linear(C, V, bias=False)
        s.transformer.wte.weight = s.lm_head.weight  # weight tying, as nanoGPT
        for name, p in s.named_parameters():  # nanoGPT's init, so the numbers have realistic sizes
            if p.dim() == 2:
                torch.nn.init.normal_(p, mean=0.0, std=0.02 if not name.endswith("c_proj.weight") else 0.02 / math.sqrt(2 * L))
    def forward(s, idx, targets):
        _, t = idx.size()
        x = s.transformer.wte(idx) + s.transformer.wpe(torch.arange(t))
        for block in s.transformer.h:
            x = block(x)
        logits = s.lm_head(s.transformer.ln_f(x))
        return logits, F.cross_entropy(logits.view(-1, V), targets.view(-1))

def config(layout):
    base = dict(format_version=1, model_type="gpt", vocab_size=V, block_size=T, n_layer=L, n_head=H, n_embd=C, dropout=0.0)
    if layout == "lecture":
        return dict(base, bias=True, attention_bias=False, lm_head_bias=True, activation="relu", tie_weights=False)
    return dict(base, bias=False, attention_bias=False, lm_head_bias=False, activation="gelu", tie_weights=True)

def write(layout, model, optimizer, settings, out, configuration=None):
    """One forward, backward and optimizer step of `model` on the fixed batch, saved as the four fixture files
    (`configuration`: the config.json to store, by default the layout's)."""
    g = torch.Generator().manual_seed(7)
    idx, targets = torch.randint(0, V, (B, T), generator=g), torch.randint(0, V, (B, T), generator=g)
    # Shared (tied) tensors are saved once, under the token embedding's name, as safetensors requires.
    params = {n: p for n, p in model.named_parameters()}  # named_parameters lists a tied tensor once
    meta = {"config": json.dumps(configuration or config(layout))}
    save_file({n: p.detach().clone().contiguous() for n, p in params.items()}, f"{out}/{layout}_weights.safetensors", meta)
    logits, loss = model(idx, targets)
    loss.backward()
    save_file({"idx": idx.float(), "targets": targets.float(), "logits": logits.detach().contiguous(),
               "loss": loss.detach().reshape(1)}, f"{out}/{layout}_io.safetensors")
    save_file({n: p.grad.contiguous() for n, p in params.items()}, f"{out}/{layout}_grads.safetensors")
    optimizer.step()
    save_file({n: p.detach().contiguous() for n, p in params.items()}, f"{out}/{layout}_step.safetensors",
              {"adamw": json.dumps(settings)})

def main(out):
    torch.manual_seed(1337)
    lecture = LectureGPT()
    settings = dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, weight_decay=0.01, decay_all=True)
    write("lecture", lecture, torch.optim.AdamW(lecture.parameters(), lr=1e-3), settings, out)

    nano = NanoGPT()
    decay = [p for p in nano.parameters() if p.dim() >= 2]
    no_decay = [p for p in nano.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.99))
    write("nanogpt", nano, optimizer, dict(learning_rate=1e-3, beta1=0.9, beta2=0.99, weight_decay=0.1, decay_all=False), out)
    print("wrote fixtures to", out)

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "Tests/LanguageModelsTests/Fixtures")
