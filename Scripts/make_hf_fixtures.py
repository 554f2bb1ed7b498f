"""A tiny GPT-2 saved by Hugging Face transformers (save_pretrained: config.json and model.safetensors, Conv1D
weights), and the logits GPT2LMHeadModel computes for a fixed sequence: for `gpt import` of Hugging Face models.

Usage: python Scripts/make_hf_fixtures.py      (needs torch and transformers)
Writes Tests/LanguageModelsTests/Fixtures/hf_gpt2/{tied,untied}/ and expected.json.
"""
import json, os
import torch
from transformers import GPT2Config, GPT2LMHeadModel

out = os.path.join(os.path.dirname(__file__), "..", "Tests", "LanguageModelsTests", "Fixtures", "hf_gpt2")
ids = [3, 17, 42, 8, 60, 1, 29, 33, 12, 5]
expected = {"ids": ids}
for name, tied, activation in [("tied", True, "gelu_new"), ("untied", False, "gelu")]:
    torch.manual_seed(7)
    config = GPT2Config(vocab_size=65, n_positions=32, n_embd=16, n_layer=2, n_head=2, activation_function=activation,
                        tie_word_embeddings=tied, resid_pdrop=0, embd_pdrop=0, attn_pdrop=0)
    model = GPT2LMHeadModel(config)
    with torch.no_grad():  # off their initial values (zero biases, unit gains), so every weight is tested
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    model.eval()
    model.save_pretrained(os.path.join(out, name), safe_serialization=True)
    with torch.no_grad():
        expected[name] = model(torch.tensor([ids])).logits[0].flatten().tolist()
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f)
print("wrote", out)
