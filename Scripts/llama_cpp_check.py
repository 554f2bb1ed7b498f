#!/usr/bin/env python3
"""Greedy decoding in llama.cpp (through llama-cpp-python) of a GGUF that `gpt export --format gguf` wrote (any
architecture: gpt2, llama, qwen2, qwen3),
compared with `gpt sample --temperature 0` of the same checkpoint.

    python Scripts/llama_cpp_check.py --gguf model.gguf --checkpoint runs/baby --gpt .build/release/gpt

The prompt is tokenized by llama.cpp's own tokenizer (from the GGUF's tokenizer.ggml.* keys). Past the model's
context the window slides as `gpt sample` does: the last context_length tokens are evaluated again from position 0.
Prints the first difference, or that the texts are identical; exits 1 on a difference.
"""
import argparse
import os
import subprocess
import sys

import numpy as np
from gguf import GGUFReader
import llama_cpp
from llama_cpp import Llama


def llama_greedy(path: str, prompt: str, count: int) -> tuple[bytes, list[int]]:
    fields = GGUFReader(path).fields
    arch = fields["general.architecture"].contents()
    context_length = int(fields[f"{arch}.context_length"].contents())
    llm = Llama(model_path=path, n_ctx=context_length, n_batch=context_length, n_threads=2, verbose=False)
    tokens = llm.tokenize(prompt.encode(), add_bos=False, special=False)
    generated: list[int] = []
    llm.eval(tokens[-context_length:])
    for _ in range(count):
        # The last evaluated position's logits (llama-cpp-python keeps scores only with logits_all).
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(llm.ctx, -1), shape=(llm.n_vocab(),))
        best = int(np.argmax(logits))
        generated.append(best)
        tokens.append(best)
        if llm.n_tokens < context_length:
            llm.eval([best])
        else:  # the window slides: every position moves, so evaluate the cropped context again
            llm.reset()
            llm.eval(tokens[-context_length:])
    return llm.detokenize(generated), generated


def streamed(tokenizer, ids: list[int]) -> str:
    """The text `gpt sample` prints for `ids`: the whole prefix decoded after each token, the new scalars released
    unless they end in U+FFFD (an incomplete character waits); what is released stays, as a terminal shows it."""
    out, released = "", 0
    for k in range(1, len(ids) + 1):
        text = tokenizer.decode(ids[:k], skip_special_tokens=False)
        pending = text[released:]
        if pending.endswith("\ufffd") or not pending:
            continue
        out += pending
        released = len(text)
    return out + tokenizer.decode(ids, skip_special_tokens=False)[released:]  # the end is printed as it is


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", required=True)
    parser.add_argument("--checkpoint", required=True, help="the run gpt export read")
    parser.add_argument("--gpt", required=True, help="the gpt binary")
    parser.add_argument("--prompt", default="\n")
    parser.add_argument("--tokens", type=int, default=200)
    args = parser.parse_args()

    ours = subprocess.run([args.gpt, "sample", "--checkpoint", args.checkpoint, "--prompt", args.prompt,
                           "--temperature", "0", "--max-new-tokens", str(args.tokens)],
                          check=True, capture_output=True).stdout
    # gpt sample prints the prompt, then the text, then a newline.
    assert ours.startswith(args.prompt.encode()) and ours.endswith(b"\n"), ours[:80]
    ours = ours[len(args.prompt.encode()):-1]
    theirs, ids = llama_greedy(args.gguf, args.prompt, args.tokens)
    # The same ids as text the way gpt prints it: decoded by the checkpoint's tokenizer.json (tokenizers' decoders: a
    # SentencePiece byte-fallback run that is not UTF-8 becomes one U+FFFD per byte), else Python's "replace".
    vocabulary = os.path.join(args.checkpoint, "tokenizer.json")
    if os.path.exists(vocabulary):
        from tokenizers import Tokenizer
        theirs = streamed(Tokenizer.from_file(vocabulary), ids).encode()
    else:
        theirs = theirs.decode("utf-8", errors="replace").encode()
    print(f"llama.cpp: {len(ids)} tokens, {len(theirs)} bytes; gpt sample: {len(ours)} bytes")
    if theirs == ours:
        print(f"identical: {theirs[:120]!r}...")
        return 0
    at = next((i for i, (a, b) in enumerate(zip(theirs, ours)) if a != b), min(len(theirs), len(ours)))
    print(f"first difference at byte {at}:\n  llama.cpp: {theirs[max(0, at - 40):at + 40]!r}\n"
          f"  gpt:       {ours[max(0, at - 40):at + 40]!r}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
