#!/usr/bin/env python3
"""A stand-in for SmolLM2-135M, which cannot be downloaded here: LlamaForCausalLM with SmolLM2-135M's exact
configuration (30 layers, 576 wide, 9 heads, 3 KV heads, intermediate 1536, 49,152 tokens, tied embeddings,
rope_theta 100,000, 8,192 positions) and random weights (seed 0), saved with save_pretrained in BF16 as the real
checkpoint is stored, with a byte-level BPE learned here (SmolLM2's kind: GPT-2's pre-tokenizer; the real one's
49,152 tokens need more text than tinyshakespeare, so the vocabulary is what the text gives, the embedding keeps
its 49,152 rows) and SmolLM2-Instruct's ChatML template.

    python Scripts/make_smollm2_135m.py OUT [TEXT ...]   (TEXT default: the bundled tiny shakespeare, about 12,700
                                                         tokens; name more text, e.g. 3,000 of Python's own .py
                                                         files, for all 49,152)
    gpt import OUT --out runs/smollm2-135m
"""
import sys
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

root = Path(__file__).resolve().parent.parent
out = Path(sys.argv[1])
def is_utf8(path):
    try:
        Path(path).read_text(encoding="utf-8")
        return True
    except (UnicodeDecodeError, OSError):
        return False


# The tokenizers library stops on a file that is not UTF-8: those are left out.
texts = [p for p in sys.argv[2:] if is_utf8(p)] or [str(root / "Sources/LanguageModels/Resources/tinyshakespeare.txt")]
out.mkdir(parents=True, exist_ok=True)

TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
            "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
            "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
            "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
bpe.train(texts, trainers.BpeTrainer(vocab_size=49152, min_frequency=2, show_progress=False, special_tokens=SPECIAL,
                                     initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|im_start|>", eos_token="<|im_end|>",
                                    unk_token="<|endoftext|>", pad_token="<|im_end|>")
tokenizer.chat_template = TEMPLATE
tokenizer.save_pretrained(out)

config = LlamaConfig(vocab_size=49152, hidden_size=576, intermediate_size=1536, num_hidden_layers=30,
                     num_attention_heads=9, num_key_value_heads=3, max_position_embeddings=8192, rms_norm_eps=1e-5,
                     rope_theta=100000.0, tie_word_embeddings=True, hidden_act="silu", attention_bias=False,
                     mlp_bias=False, bos_token_id=1, eos_token_id=2, pad_token_id=2, head_dim=64)
torch.manual_seed(0)
model = LlamaForCausalLM(config).to(torch.bfloat16)
model.save_pretrained(out, safe_serialization=True)
print(f"wrote {out}: {sum(p.numel() for p in model.parameters()):,} parameters, {bpe.get_vocab_size():,} tokens")
