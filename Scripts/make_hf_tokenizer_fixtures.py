"""Golden ids from Hugging Face's tokenizers for a byte-level BPE trained by swift-gpt: trains one (vocab 400) with
the given `gpt` binary, exports it with `--format hf`, loads the exported tokenizer.json with
`tokenizers.Tokenizer.from_file`, and writes the ids it gives for the texts of gpt2_presplit.json.

Usage: python Scripts/make_hf_tokenizer_fixtures.py .build/release/gpt      (needs `pip install tokenizers`)
Writes Tests/LanguageModelsTests/Fixtures/hf_tokenizer/{swift-gpt.json, tokenizer.json, ids.json}.
"""
import json, os, shutil, subprocess, sys, tempfile
from tokenizers import Tokenizer

gpt = os.path.abspath(sys.argv[1])
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
fixtures = os.path.join(root, "Tests", "LanguageModelsTests", "Fixtures")
out = os.path.join(fixtures, "hf_tokenizer")
os.makedirs(out, exist_ok=True)
work = tempfile.mkdtemp()
subprocess.run([gpt, "train", "--preset", "tiny", "--layout", "nanogpt", "--tokenizer", "bpe", "--vocab-size", "400",
                "--max-iters", "1", "--eval-iters", "1", "--layers", "1", "--heads", "1", "--embedding-size", "8",
                "--sample-length", "0", "--out", os.path.join(work, "run")], check=True, stdout=subprocess.DEVNULL)
subprocess.run([gpt, "export", "--checkpoint", os.path.join(work, "run"), "--format", "hf", "--out",
                os.path.join(work, "hf")], check=True, stdout=subprocess.DEVNULL)
shutil.copy(os.path.join(work, "run", "tokenizer.json"), os.path.join(out, "swift-gpt.json"))
shutil.copy(os.path.join(work, "hf", "tokenizer.json"), os.path.join(out, "tokenizer.json"))
tokenizer = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
texts = [case["text"] for case in json.load(open(os.path.join(fixtures, "gpt2_presplit.json"), encoding="utf-8"))]
with open(os.path.join(out, "ids.json"), "w", encoding="utf-8") as f:
    json.dump([{"text": t, "ids": tokenizer.encode(t).ids} for t in texts], f, ensure_ascii=False)
shutil.rmtree(work)
print("wrote", out)
