#!/usr/bin/env python3
"""Load time and KV-cached sampling speed of transformers' GPT2LMHeadModel for a save_pretrained folder, on 2
threads, fp32 and bf16 weights (best of 3 rounds of N tokens): the reference column of Scripts/bench-124m.sh.

    python Scripts/hf_sample_speed.py DIR [N]
"""
import sys
import time

import torch
from transformers import GPT2LMHeadModel

torch.set_num_threads(2)
torch.manual_seed(0)
folder, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 200
start = time.perf_counter()
model = GPT2LMHeadModel.from_pretrained(folder).eval()
print(f"transformers load: {time.perf_counter() - start:.2f} s")
idx = torch.zeros((1, 1), dtype=torch.long)
for dtype in (torch.float32, torch.bfloat16):
    model = model.to(dtype)
    with torch.no_grad():
        model.generate(idx, max_new_tokens=10, min_new_tokens=10, do_sample=True, top_k=0, pad_token_id=0)
        best = 0.0
        for _ in range(3):
            t0 = time.perf_counter()
            out = model.generate(idx, max_new_tokens=n, min_new_tokens=n, do_sample=True, top_k=0, pad_token_id=0)
            best = max(best, (out.shape[1] - 1) / (time.perf_counter() - t0))
    print(f"transformers {str(dtype).removeprefix('torch.')} sampling: {best:.1f} tokens/s ({n} tokens, KV cache)")
