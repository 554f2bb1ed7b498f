#!/usr/bin/env python3
"""A stand-in for GPT-2 124M, which cannot be downloaded here: GPT2LMHeadModel(GPT2Config()) with random weights
(seed 0; GPT-2 small's shape: 12 layers, 12 heads, 768 wide, 1024 positions, 50,257 tokens, tied head), saved
with save_pretrained, and a byte-level BPE tokenizer of the same 50,257 tokens (GPT-2's pre-tokenizer, learned
from the text given by Hugging Face tokenizers' trainer, <|endoftext|> last as in GPT-2), saved as tokenizer.json,
vocab.json and merges.txt.

    python Scripts/make_gpt2_124m.py OUT [TEXT ...]    (TEXT default: the bundled tiny shakespeare, which gives
                                                        about 21,500 tokens; name more text for all 50,257)
    gpt import --from hf OUT --out runs/gpt2-124m
"""
import json
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2Config, GPT2LMHeadModel, GPT2TokenizerFast

root = Path(__file__).resolve().parent.parent
out = Path(sys.argv[1])
def is_utf8(path):
    try:
        Path(path).read_text(encoding="utf-8")
        return True
    except (UnicodeDecodeError, OSError):
        return False

# The tokenizers library stops on a file that is not UTF-8 (the standard library has a few): those are left out.
given = sys.argv[2:] or [str(root / "Sources/LanguageModels/Resources/tinyshakespeare.txt")]
texts = [path for path in given if is_utf8(path)]
if len(texts) < len(given):
    print(f"left out {len(given) - len(texts)} files that are not UTF-8 text", file=sys.stderr)
out.mkdir(parents=True, exist_ok=True)

torch.manual_seed(0)
model = GPT2LMHeadModel(GPT2Config())
model.save_pretrained(out, safe_serialization=True)

tokenizer = Tokenizer(models.BPE())
tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tokenizer.decoder = decoders.ByteLevel()
trainer = trainers.BpeTrainer(vocab_size=50256, min_frequency=1, show_progress=False,
                              initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
tokenizer.train(texts, trainer)
tokenizer.add_special_tokens(["<|endoftext|>"])
fast = GPT2TokenizerFast(tokenizer_object=tokenizer, eos_token="<|endoftext|>", bos_token="<|endoftext|>")
fast.save_pretrained(out)
fast.backend_tokenizer.model.save(str(out))  # vocab.json and merges.txt
# GPT-2's vocab.json lists <|endoftext|> as its last id; the BPE model's own file leaves added tokens out.
vocab = json.loads((out / "vocab.json").read_text())
vocab["<|endoftext|>"] = tokenizer.token_to_id("<|endoftext|>")
(out / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
print(f"wrote {out}: {sum(p.numel() for p in model.parameters()):,} parameters, {tokenizer.get_vocab_size():,} tokens")
