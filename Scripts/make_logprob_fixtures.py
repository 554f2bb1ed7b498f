"""Per-token log-probabilities of prompts under the tiny GPT-2 of make_hf_fixtures.py, computed by transformers:
the golden values of prompt scoring (`scoreTokens`, `echo` with `logprobs` on /v1/completions).

Each token after the first gets log_softmax(logits)[token] of the position before it and the `top` most likely
tokens there. A prompt longer than the model's 32 positions is scored in windows of 32 tokens that slide by
`stride` (Hugging Face's strided perplexity): the first window scores its tokens 1..31, each later window ends
`stride` tokens further on and scores only the tokens no window scored yet, each with at least 32 - stride tokens
before it.

Usage: /tmp/torchref/bin/python Scripts/make_logprob_fixtures.py     (needs torch and transformers)
Reads Tests/LanguageModelsTests/Fixtures/hf_gpt2/tied, writes hf_gpt2/logprobs.json.
"""
import json, os
import torch
from transformers import GPT2LMHeadModel

folder = os.path.join(os.path.dirname(__file__), "..", "Tests", "LanguageModelsTests", "Fixtures", "hf_gpt2")
model = GPT2LMHeadModel.from_pretrained(os.path.join(folder, "tied")).eval()
window = model.config.n_positions
top = 3


def score(ids, stride):
    """[None, (logprob, [(token, logprob)] * top), ...] for every token of `ids`."""
    out = [None] * len(ids)
    end = 0
    while end < len(ids):
        new_end = min(len(ids), window if end == 0 else end + stride)
        start = max(0, new_end - window)
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([ids[start:new_end]])).logits[0].double(), dim=-1)
        for position in range(max(1, end), new_end):
            row = logprobs[position - 1 - start]
            values, tokens = torch.topk(row, top)
            out[position] = {"logprob": row[ids[position]].item(),
                             "top": [[int(t), v.item()] for t, v in zip(tokens, values)]}
        end = new_end
    return out


generator = torch.Generator().manual_seed(11)
cases = []
for length, stride in [(12, 16), (70, 16), (45, 1)]:
    ids = torch.randint(0, model.config.vocab_size, (length,), generator=generator).tolist()
    cases.append({"ids": ids, "stride": stride, "top": top, "scores": score(ids, stride)})
with open(os.path.join(folder, "logprobs.json"), "w") as f:
    json.dump({"window": window, "cases": cases}, f)
print("wrote", os.path.join(folder, "logprobs.json"))
