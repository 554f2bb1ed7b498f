"""Golden ids from Hugging Face's tokenizers for the tokenizer.json files swift-gpt writes, for every kind.

Trains a character, a word and a byte-level BPE tokenizer (vocab 300) on a training text full of Unicode edge cases
with the given `gpt` binary (`gpt train ... --out RUN` writes RUN/tokenizer.json), loads each file with
`tokenizers.Tokenizer.from_file`, and writes what it gives for a suite of texts: ids and decoded text, or the error
(a word outside a WordLevel vocabulary), and for the word kind the pre-tokenizer's pieces. It also writes each
vocabulary in the older `{"kind": ...}` format, which the library must still read.

Usage: python Scripts/make_tokenizer_file_fixtures.py .build/debug/gpt      (needs `pip install tokenizers`)
Writes Tests/LanguageModelsTests/Fixtures/tokenizer_files/{training.txt, char.json, word.json, bpe.json,
legacy_char.json, legacy_word.json, legacy_bpe.json, expected.json}.
"""
import json, os, random, shutil, subprocess, sys, tempfile
from tokenizers import Tokenizer

gpt = os.path.abspath(sys.argv[1])
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
out = os.path.join(root, "Tests", "LanguageModelsTests", "Fixtures", "tokenizer_files")
os.makedirs(out, exist_ok=True)

lines = [
    "To be, or not to be: that is the question.\r\n",                # CR LF
    "Whether 'tis nobler in the mind — to suffer 🙂 the slings…\n",
    "café and cafe\u0301 (composed, decomposed); naïve, Å and \u212b\n",  # NFC vs NFD, canonically equal singletons
    "Greek: τί; and τί\u037e with a question mark\n",                 # U+037E is canonically ';'
    "  Tabs\tand   spaces   \n",                                       # runs of spaces, trailing spaces
    "\tIndented line\t\t\n",
    "12345 3.14 1,000,000 x² ½ Ⅻ ٣ ߂\n",                                # digits, superscripts, fractions, numerals
    "¿Qué? ¡Sí! «Guillemets» “quotes” ‘single’ -- dashes --- ...\n",
    "日本語のテキスト、句読点。 中文，标点！ 한국어 문장.\n",
    "हिन्दी पाठ। ক্ষ தமிழ் ไทย\n",                                        # spacing and non-spacing marks
    "عربي עִבְרִית\n",
    "Emoji: 👨\u200d👩\u200d👧 👍🏽 🇫🇷 ❤\ufe0f 1\ufe0f\u20e3\n",         # ZWJ, skin tone, flags, keycap
    "a\u0301\u0302\u0323 stacked marks; Z\u0351\u0352\u0353algo\n",
    "nbsp:\u00a0here, em\u2003space, line\u2028separator, next\u0085line\n",
    "zero\u200bwidth, soft\u00adhyphen, bom\ufeffmark, tab\u000bvt\u000cff\n",
    "Symbols: $5 €3 £2 ¥1 © ® ™ ° ± × ÷ → ∑ ∞ ≠ ≤ @#%^&*_+=|\\/<>[]{}~`\n",
    "ALL CAPS, MiXeD cAsE, snake_case, kebab-case, CamelCase.\n",
    "\n",
    "The end.",
]
training = "".join(lines) * 6

# The suite: lines and joins of lines (known to every kind), texts outside the vocabulary, and random strings
# of the training text's characters.
texts = [""] + lines + [
    training,
    lines[0] + lines[1],
    lines[4] + lines[5] + lines[6],
    "".join(lines[8:12]),
    "To be, or not to be",
    "\r\n\r\n",
    "\n\n\n",
    "   ",
    " ",
    "\t",
    "🙂🙂🙂",
    "e\u0301",
    "\u212b\u00c5;\u037e",
    "cafe\u0301 café",
    "The end.The end.",
    "Hello, world! ñ Ω ∂ 🚀",          # characters and words outside the vocabularies
    "unknown words only",
]
generator = random.Random(29)
alphabet = sorted(set(training))
texts += ["".join(generator.choice(alphabet) for _ in range(80)) for _ in range(6)]

work = tempfile.mkdtemp()
open(os.path.join(out, "training.txt"), "w", encoding="utf-8", newline="").write(training)
for kind in ["char", "word", "bpe"]:
    run = os.path.join(work, kind)
    subprocess.run([gpt, "train", "--preset", "tiny", "--layout", "nanogpt", "--tokenizer", kind, "--vocab-size", "300",
                    "--data", os.path.join(out, "training.txt"), "--max-iters", "1", "--eval-iters", "1", "--layers", "1",
                    "--heads", "1", "--embedding-size", "8", "--block-size", "8", "--sample-length", "0", "--out", run],
                   check=True, stdout=subprocess.DEVNULL)
    shutil.copy(os.path.join(run, "tokenizer.json"), os.path.join(out, f"{kind}.json"))
shutil.rmtree(work)

# The older format (before tokenizer.json followed Hugging Face's): the vocabulary as a list by id.
for kind in ["char", "word"]:
    vocabulary = json.load(open(os.path.join(out, f"{kind}.json"), encoding="utf-8"))["model"]["vocab"]
    by_id = sorted(vocabulary, key=vocabulary.get)
    with open(os.path.join(out, f"legacy_{kind}.json"), "w", encoding="utf-8") as f:
        json.dump({"kind": kind, "vocabulary": by_id}, f, ensure_ascii=False, indent=2)

# A byte-level BPE in the older format: the token of each byte value and the merges as [left, right, result] ids
# (GPT-2's byte alphabet: printable Latin-1 bytes stand for themselves, the others map to U+0100 up).
printable = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
alphabet_of_byte = {b: chr(b) for b in printable}
alphabet_of_byte.update({b: chr(256 + n) for n, b in enumerate(b for b in range(256) if b not in printable)})
model = json.load(open(os.path.join(out, "bpe.json"), encoding="utf-8"))["model"]
vocab = model["vocab"]
pairs = [merge.split(" ") if isinstance(merge, str) else merge for merge in model["merges"]]
with open(os.path.join(out, "legacy_bpe.json"), "w", encoding="utf-8") as f:
    json.dump({"kind": "bpe", "byte_tokens": [vocab[alphabet_of_byte[b]] for b in range(256)],
               "merges": [[vocab[left], vocab[right], vocab[left + right]] for left, right in pairs],
               "vocab_size": max(vocab.values()) + 1}, f)

tokenizers = {kind: Tokenizer.from_file(os.path.join(out, f"{kind}.json")) for kind in ["char", "word", "bpe"]}
cases = []
for text in texts:
    case = {"text": text}
    for kind, tokenizer in tokenizers.items():
        try:
            ids = tokenizer.encode(text).ids
            case[kind] = {"ids": ids, "decoded": tokenizer.decode(ids)}
        except Exception as error:
            case[kind] = {"error": str(error)}
    case["word_pieces"] = [piece for piece, _ in tokenizers["word"].pre_tokenizer.pre_tokenize_str(text)]
    cases.append(case)
with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
    f.write("[\n" + ",\n".join(json.dumps(case, ensure_ascii=False) for case in cases) + "\n]\n")
for kind in tokenizers:
    print(kind, sum("ids" in case[kind] for case in cases), "texts encoded,",
          sum("error" in case[kind] for case in cases), "refused")
print("wrote", out)
