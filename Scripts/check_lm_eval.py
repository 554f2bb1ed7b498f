"""lm-evaluation-harness's `local-completions` model against a running `gpt serve`: its loglikelihood requests
(`echo`, `logprobs: 1`, `max_tokens: 1`, token-id prompts) answered by the server and parsed by lm-eval itself,
each compared with transformers' log-probability of the continuation and whether it is greedy; and a greedy
`generate_until` compared with transformers' greedy text.

Usage (needs torch, transformers and lm-eval):
  gpt import Tests/LanguageModelsTests/Fixtures/hf_gpt2_chat --out /tmp/ck/chat
  gpt serve --checkpoint /tmp/ck/chat --port 8080 &
  python Scripts/check_lm_eval.py Tests/LanguageModelsTests/Fixtures/hf_gpt2_chat http://127.0.0.1:8080 chat
Prints each check and exits 1 when a log-probability differs by more than 1e-4, greediness differs or the text does.
"""
import sys
import torch
from transformers import AutoTokenizer, GPT2LMHeadModel
from lm_eval.api.instance import Instance
from lm_eval.models.openai_completions import LocalCompletionsAPI

folder, url, name = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
pairs = [("To be, or not to be?", " That is the question."), ("You are a poet.", " To be"),
         ("That is", " the question."), ("To be, or", " not")]
tokenizer = AutoTokenizer.from_pretrained(folder)
model = GPT2LMHeadModel.from_pretrained(folder).eval()


def reference(context, continuation):
    """transformers' log P(continuation | context) and whether every continuation token is the argmax."""
    whole = tokenizer(context + continuation)["input_ids"]
    start = len(tokenizer(context)["input_ids"])
    with torch.no_grad():
        logprobs = torch.log_softmax(model(torch.tensor([whole])).logits[0].double(), dim=-1)
    rows = logprobs[start - 1:len(whole) - 1]
    targets = torch.tensor(whole[start:])
    return rows[torch.arange(len(targets)), targets].sum().item(), bool((rows.argmax(-1) == targets).all())


lm = LocalCompletionsAPI(model=name, base_url=url + "/v1/completions", tokenizer_backend="huggingface",
                         tokenizer=folder, tokenized_requests=True, max_length=model.config.n_positions,
                         num_concurrent=1, batch_size=2)
requests = [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=i) for i, pair in enumerate(pairs)]
answers = lm.loglikelihood(requests)
failed = False
for pair, (logprob, greedy) in zip(pairs, answers):
    expected, expected_greedy = reference(*pair)
    ok = abs(logprob - expected) < 1e-4 and greedy == expected_greedy
    failed |= not ok
    print(f"{'ok ' if ok else 'BAD'} {pair!r}: lm-eval {logprob:.6f} {greedy}, transformers {expected:.6f} {expected_greedy}")

# generate_until: lm-eval sends the context's token ids with `stop` and reads `choices[].text`; greedy, it equals
# transformers' greedy continuation cut at the stop string.
context, until = "That is", ["poet"]
ids = tokenizer(context, return_tensors="pt")["input_ids"]
with torch.no_grad():
    greedy = model.generate(ids, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.eos_token_id)
expected = tokenizer.decode(greedy[0, ids.shape[1]:]).split(until[0])[0]
[text] = lm.generate_until([Instance(request_type="generate_until", doc={}, idx=0,
                                     arguments=(context, {"until": until, "max_gen_toks": 12, "do_sample": False}))])
ok = text == expected
failed |= not ok
print(f"{'ok ' if ok else 'BAD'} generate_until {context!r}: lm-eval {text!r}, transformers {expected!r}")
sys.exit(1 if failed else 0)
