"""A tiny GPT-2 whose tokenizer has ChatML's special tokens added past its vocabulary, as a fine-tuned chat model is
saved: transformers adds `<|im_start|>` and `<|im_end|>` to a byte-level BPE (Fixtures/hf_tokenizer/tokenizer.json,
400 tokens), `resize_token_embeddings` gives them embedding rows (402), and `save_pretrained` writes config.json,
model.safetensors, tokenizer.json, tokenizer_config.json (and whatever else this transformers writes).

Golden values, all from transformers: the ids of a ChatML prompt (the special tokens matched whole), the greedy
continuation of `model.generate(do_sample=False)`, and the margin between the two best logits at each greedy step
(so a test knows the choice is not a tie).

Usage: /tmp/torchref/bin/python Scripts/make_hf_chat_fixtures.py [OUT_DIR]
OUT_DIR defaults to Tests/LanguageModelsTests/Fixtures/hf_gpt2_chat.
"""
import json, os, sys
import torch
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
fixtures = os.path.join(root, "Tests", "LanguageModelsTests", "Fixtures")
out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(fixtures, "hf_gpt2_chat")
os.makedirs(out, exist_ok=True)

tokenizer = PreTrainedTokenizerFast(tokenizer_file=os.path.join(fixtures, "hf_tokenizer", "tokenizer.json"))
base = len(tokenizer)
tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
tokenizer.pad_token, tokenizer.eos_token = "<|im_end|>", "<|im_end|>"

torch.manual_seed(int(os.environ.get("SEED", 11)))
config = GPT2Config(vocab_size=base, n_positions=96, n_embd=16, n_layer=2, n_head=2, resid_pdrop=0, embd_pdrop=0,
                    attn_pdrop=0)
model = GPT2LMHeadModel(config)
model.resize_token_embeddings(len(tokenizer))
model.config.bos_token_id, model.config.eos_token_id, model.config.pad_token_id = None, tokenizer.eos_token_id, tokenizer.eos_token_id
model.generation_config.bos_token_id = None
model.generation_config.eos_token_id = model.generation_config.pad_token_id = tokenizer.eos_token_id

prompt = ("<|im_start|>system\nYou are a poet.<|im_end|>\n<|im_start|>user\nTo be, or not to be?<|im_end|>\n"
          "<|im_start|>assistant\n")
# A few hundred steps on one conversation, so that greedy decoding answers it and ends with <|im_end|>, a token whose
# embedding row exists only once the vocabulary was resized.
conversation = torch.tensor([tokenizer(prompt + "That is the question.<|im_end|>\n")["input_ids"]])
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
model.train()
for step in range(300):
    loss = model(conversation, labels=conversation).loss
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
model.eval()
model.save_pretrained(out, safe_serialization=True)
tokenizer.save_pretrained(out)
ids = tokenizer(prompt)["input_ids"]
with torch.no_grad():
    generated = model.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False,
                               output_scores=True, return_dict_in_generate=True)
greedy = generated.sequences[0, len(ids):].tolist()
margins = [float((s[0].topk(2).values[0] - s[0].topk(2).values[1])) for s in generated.scores]
expected = {"prompt": prompt, "prompt_ids": ids, "greedy": greedy, "margins": margins,
            "vocab_size": model.config.vocab_size
            "im_start": tokenizer.convert_tokens_to_ids("<|im_start|>"), "im_end": tokenizer.convert_tokens_to_ids("<|im_end|>")}
with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
print("loss", loss.item(), "wrote", out, "prompt", len(ids), "tokens; greedy", greedy, "min margin", min(margins))
