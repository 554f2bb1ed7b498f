#!/usr/bin/env python3
"""Prefill and decoding speed side by side: `gpt bench --inference --checkpoint` against llama.cpp (through
llama-cpp-python) on the GGUF that `gpt export --format gguf --gguf-type T` wrote of the same checkpoint, alternating
one round of each, medians. Both on --threads threads, the same prompt length and decoded token count.

    python Scripts/llama_cpp_speed.py --gpt .build/release/gpt --checkpoint run --gguf run.gguf \
        --precision bf16 [--rounds 3] [--prompt 500] [--tokens 100] [--threads 2]

--precision is ours (fp32, bf16, q8) for the GGUF's type (f32, bf16, q8_0). llama.cpp's decoding is timed as its
eval of one token at a time after a one-token prompt (no sampling); ours includes sampling (temperature 1, the
unsorted draw). On a machine loaded by other work both sides swing widely: say the load with the figures.
"""
import argparse
import re
import statistics
import subprocess
import time

from llama_cpp import Llama

parser = argparse.ArgumentParser()
for name in ("--gpt", "--checkpoint", "--gguf", "--precision"):
    parser.add_argument(name, required=True)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--prompt", type=int, default=500)
parser.add_argument("--tokens", type=int, default=100)
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()

llm = Llama(model_path=args.gguf, n_threads=args.threads, n_ctx=args.prompt + args.tokens + 8, n_batch=args.prompt,
            verbose=False)
vocab = llm.n_vocab()
prompt = [(i * 7919) % vocab for i in range(args.prompt)]  # the ids gpt bench --inference prefills


def llama_round():
    llm.reset()
    start = time.perf_counter()
    llm.eval(prompt)
    prefill = args.prompt / (time.perf_counter() - start)
    llm.reset()
    llm.eval([1])
    start = time.perf_counter()
    for i in range(args.tokens):
        llm.eval([(i * 31) % vocab])
    return prefill, args.tokens / (time.perf_counter() - start)


def gpt_round(seed):
    out = subprocess.run([args.gpt, "bench", "--inference", "--checkpoint", args.checkpoint, "--precision",
                          args.precision, "--rounds", "1", "--prompt-tokens", str(args.prompt), "--sample-tokens",
                          str(args.tokens)], capture_output=True, text=True, check=True).stdout
    match = re.search(r"swift inference .*prefill_tok_per_s=([\d.]+) decode_tok_per_s=([\d.]+)", out)
    return float(match.group(1)), float(match.group(2))


ours, theirs = [], []
for round in range(1, args.rounds + 1):
    ours.append(gpt_round(round))
    theirs.append(llama_round())
    print(f"round {round}: gpt prefill {ours[-1][0]:.1f} decode {ours[-1][1]:.1f} tokens/s; "
          f"llama.cpp prefill {theirs[-1][0]:.1f} decode {theirs[-1][1]:.1f} tokens/s", flush=True)
for label, index in (("prefill", 0), ("decode", 1)):
    a, b = statistics.median(r[index] for r in ours), statistics.median(r[index] for r in theirs)
    print(f"{label}: gpt {a:.1f} tokens/s, llama.cpp {b:.1f} tokens/s, ratio {a / b:.2f} "
          f"(medians of {args.rounds}, {args.precision}, {args.threads} threads)")
