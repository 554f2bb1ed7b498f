"""Fixtures for reading nanoGPT's own files without Python: checkpoints saved exactly as nanoGPT's train.py saves
them (torch.save of {model, optimizer, model_args, iter_num, best_val_loss, config}) from nanoGPT's own GPT class,
a meta.pkl as its prepare.py writes it, and the logits nanoGPT's model computes for a fixed sequence.

Three checkpoints: a character model (vocab 65), the same shape with a padded vocabulary (vocab 72 for the 65
characters of meta.pkl, as nanoGPT pads 50257 to 50304), and a torch.compile'd state dict ("_orig_mod." names).

Usage: python Scripts/make_nanogpt_fixtures.py /path/to/nanoGPT   (a clone of karpathy/nanoGPT; needs torch)
Writes Tests/LanguageModelsTests/Fixtures/nanogpt_ckpt/.
"""
import json, os, pickle, sys
import torch

nanogpt = os.path.abspath(sys.argv[1])
sys.path.insert(0, nanogpt)
from model import GPT, GPTConfig  # nanoGPT's own model.py

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "LanguageModelsTests", "Fixtures", "nanogpt_ckpt")
os.makedirs(out, exist_ok=True)
chars = sorted(set(open(os.path.join(os.path.dirname(__file__), "..", "Sources", "LanguageModels", "Resources",
                                     "tinyshakespeare.txt"), encoding="utf-8").read()))
assert len(chars) == 65
meta = {"vocab_size": len(chars), "itos": {i: c for i, c in enumerate(chars)}, "stoi": {c: i for i, c in enumerate(chars)}}
with open(os.path.join(out, "meta.pkl"), "wb") as f:
    pickle.dump(meta, f)  # as data/shakespeare_char/prepare.py writes it

ids = [chars.index(c) for c in "ROMEO:\nWhat light"]
expected = {"ids": ids}
for name, vocab, compiled in [("char", 65, False), ("padded", 72, False), ("compiled", 65, True)]:
    torch.manual_seed(1337)
    model_args = dict(n_layer=2, n_head=2, n_embd=16, block_size=32, bias=True, vocab_size=vocab, dropout=0.0)
    model = GPT(GPTConfig(**model_args))
    with torch.no_grad():  # move the weights off their initial values (zero biases, unit gains) so every one is tested
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.eval()
    optimizer = model.configure_optimizers(0.1, 1e-3, (0.9, 0.99), "cpu")
    state = model.state_dict()
    if compiled:
        state = {"_orig_mod." + k: v for k, v in state.items()}
    checkpoint = {"model": state, "optimizer": optimizer.state_dict(), "model_args": model_args, "iter_num": 7,
                  "best_val_loss": torch.tensor(4.2), "config": {"dataset": "shakespeare_char", "compile": compiled}}
    torch.save(checkpoint, os.path.join(out, f"{name}.pt"))
    with torch.no_grad():
        logits, _ = model(torch.tensor([ids]), torch.tensor([ids]))  # targets: logits at every position
    expected[name] = logits[0, :, :65].flatten().tolist()
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
print("wrote", out)
