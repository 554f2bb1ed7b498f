#!/usr/bin/env python3
"""Checks a `gpt export --format hf` folder (GPT-2, or a family: llama, mistral, qwen2, qwen3, nanochat) with Hugging
Face's own code: AutoTokenizer encodes a text into as many tokens as `gpt eval` scores, and AutoModelForCausalLM
scores them with the loss `gpt eval` reports (the same windows: consecutive blocks of the model's context, each
predicting its next tokens, every token after the first scored once).

Usage: Scripts/check_hf_export.py GPT EXPORT_DIR CHECKPOINT_DIR TEXT_FILE
  GPT             the gpt binary (e.g. .build/release/gpt)
  EXPORT_DIR      what `gpt export --checkpoint CHECKPOINT_DIR --format hf --out EXPORT_DIR` wrote
  TEXT_FILE       a UTF-8 text the model's tokenizer encodes
Needs torch and transformers (Scripts/setup-pytorch.sh). Exits 1 when the ids differ or the losses differ by more
than 1e-4.
"""
import re
import subprocess
import sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedTokenizerFast

gpt, export, checkpoint, text_file = sys.argv[1:5]
text = open(text_file, encoding="utf-8").read()

try:
    tokenizer = AutoTokenizer.from_pretrained(export)
except (ValueError, OSError, KeyError) as error:  # a family folder without tokenizer_config.json (a model trained here)
    print(f"AutoTokenizer: {str(error)[:120]}; reading tokenizer.json with PreTrainedTokenizerFast")
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=f"{export}/tokenizer.json")
ids = tokenizer(text, add_special_tokens=False)["input_ids"]
print(f"AutoTokenizer: {len(ids)} tokens for {len(text)} characters; first ids {ids[:12]}")

model = AutoModelForCausalLM.from_pretrained(export, torch_dtype=torch.float32).eval()
print(f"transformers loaded {type(model).__name__} (model_type {model.config.model_type})")
block = getattr(model.config, "n_positions", None) or model.config.max_position_embeddings
total, scored = 0.0, 0
with torch.no_grad():
    for start in range(0, max(0, len(ids) - 1), block):
        x = torch.tensor([ids[start:start + block]])
        y = torch.tensor([ids[start + 1:start + block + 1]])
        x = x[:, :y.shape[1]]
        logits = model(x).logits[0]
        total += torch.nn.functional.cross_entropy(logits, y[0], reduction="sum").item()
        scored += y.shape[1]
hf_loss = total / scored

out = subprocess.run([gpt, "eval", "--checkpoint", checkpoint, "--data", text_file], capture_output=True, text=True)
match = re.search(r"loss ([0-9.]+) nats/token", out.stdout)
counted = re.search(r": (\d+) tokens", out.stdout)
if not match or not counted:
    sys.exit(f"gpt eval failed: {out.stderr.strip()}")
gpt_loss, gpt_tokens = float(match.group(1)), int(counted.group(1))
print(f"transformers loss {hf_loss:.6f} over {scored} tokens; gpt eval {gpt_loss:.6f} over {gpt_tokens} tokens; "
      f"difference {abs(hf_loss - gpt_loss):.2e}")
sys.exit(0 if gpt_tokens == scored and abs(hf_loss - gpt_loss) <= 1e-4 else 1)
