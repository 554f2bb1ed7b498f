#!/usr/bin/env python3
"""transformers' side of Scripts/bench-135m.sh: for a save_pretrained folder of any family (AutoModelForCausalLM),
on --threads threads (2): load time, prefill of a PROMPT-token prompt and KV-cached decoding of N tokens in fp32 and bf16
(medians of ROUNDS), peak memory, and the time of a fine-tuning step (AdamW, batch B x T tokens, fp32 and bf16
autocast) -- the same work `gpt bench --inference --checkpoint` and `gpt train --init-from` time.

    python Scripts/hf_family_speed.py DIR [--prompt 500] [--tokens 100] [--rounds 3] [--batch 4] [--block 256] [--threads 2]

On a machine loaded by other work, PyTorch's OpenMP threads wait on each other: 2 threads ran 4-7x slower than 1 on
a loaded 2-core VM; compare only on a quiet machine, or say which.
"""
import argparse
import resource
import statistics
import time

import torch
from transformers import AutoModelForCausalLM

parser = argparse.ArgumentParser()
parser.add_argument("folder")
parser.add_argument("--prompt", type=int, default=500)
parser.add_argument("--tokens", type=int, default=100)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--batch", type=int, default=4)
parser.add_argument("--block", type=int, default=256)
parser.add_argument("--steps", type=int, default=3)
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

start = time.perf_counter()
model = AutoModelForCausalLM.from_pretrained(args.folder, dtype=torch.float32).eval()
print(f"transformers load: {time.perf_counter() - start:.2f} s")
vocab = model.config.vocab_size
prompt = torch.tensor([[(i * 7919) % vocab for i in range(args.prompt)]])
one = torch.tensor([[1]])


def decode(n):
    """KV-cached greedy decoding of n tokens after one prompt token, timed without that first forward."""
    with torch.no_grad():
        out = model(one, use_cache=True)
        cache, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        t0 = time.perf_counter()
        for _ in range(n):
            out = model(token, past_key_values=cache, use_cache=True)
            cache, token = out.past_key_values, out.logits[:, -1].argmax(-1, keepdim=True)
        return n / (time.perf_counter() - t0)


def prefill():
    with torch.no_grad():
        t0 = time.perf_counter()
        model(prompt, use_cache=True)
        return args.prompt / (time.perf_counter() - t0)


for dtype in (torch.float32, torch.bfloat16):
    model = model.to(dtype)
    prefill(), decode(5)  # warm-up
    rates = [(prefill(), decode(args.tokens)) for _ in range(args.rounds)]
    name = str(dtype).removeprefix("torch.")
    print(f"transformers inference precision={name} prefill_tok_per_s={statistics.median(r[0] for r in rates):.1f} "
          f"decode_tok_per_s={statistics.median(r[1] for r in rates):.1f} (medians of {args.rounds}) "
          f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")

model = model.to(torch.float32).train()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
batch = torch.randint(0, vocab, (args.batch, args.block + 1))
for name, autocast in (("fp32", False), ("bf16 autocast", True)):
    times = []
    for step in range(args.steps + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            loss = model(batch[:, :-1], labels=batch[:, :-1]).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    print(f"transformers fine-tuning step ({name}, batch {args.batch} x {args.block}): "
          f"{statistics.median(times[1:]):.2f} s (median of {args.steps} after one warm-up) "
          f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")
