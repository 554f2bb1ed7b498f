"""Golden ids from Hugging Face's tokenizers for the tokenizer kinds today's small open models use.

Trains small tokenizers locally with the `tokenizers` library (nothing is downloaded) on a piece of tinyshakespeare
plus some Unicode text, each built as the real families' `tokenizer.json` files are:

- llama3.json: byte-level BPE with Llama 3's Split regex pre-tokenizer followed by ByteLevel(use_regex=false),
  ignore_merges, special tokens added after the vocabulary (<|begin_of_text|>, <|im_start|>, ...), a BOS template.
- qwen2.json: byte-level BPE with an NFC normalizer and tiktoken r50k's regex (possessive quantifiers), added tokens
  with lstrip/rstrip/single_word flags and a non-special one.
- llama2.json: SentencePiece-style BPE as Llama 2 / TinyLlama / Mistral: Prepend("▁") + Replace(" ", "▁")
  normalizer, no pre-tokenizer, byte_fallback with <0x00>..<0xFF>, <unk> fused, <s> BOS template, decoder
  Replace + ByteFallback + Fuse + Strip.
- metaspace.json: the same model with a Metaspace pre-tokenizer (prepend_scheme "first") and Metaspace decoder.
- gpt2_chat.json: Fixtures/hf_tokenizer/tokenizer.json (GPT-2's layout) with <|im_start|> and <|im_end|> added.

For every text of the suite it writes, per tokenizer: ids without and with the post-processor's special tokens,
the tokens' strings, and the library's decode of the ids with and without skipping special tokens. It also writes
the pieces of Split pre-tokenizers for every `behavior` and `invert`.

long.json: the ids of a long text (see write_long). `--long-only` writes only it, from the tokenizer files already in
OUT_DIR (the `tokenizers` trainer does not give the same SentencePiece-style merges on every run).

Usage: /tmp/torchref/bin/python Scripts/make_tokenizer_family_fixtures.py [--long-only] [OUT_DIR]
OUT_DIR defaults to Tests/LanguageModelsTests/Fixtures/tokenizer_families.
"""
import json, os, sys
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
long_only = "--long-only" in sys.argv[1:]
arguments = [a for a in sys.argv[1:] if a != "--long-only"]
out = arguments[0] if arguments else os.path.join(root, "Tests", "LanguageModelsTests", "Fixtures", "tokenizer_families")
os.makedirs(out, exist_ok=True)
shakespeare_all = open("/work/shared/data/tinyshakespeare.txt", encoding="utf-8").read() \
    if os.path.exists("/work/shared/data/tinyshakespeare.txt") else \
    open(os.path.join(root, "Sources", "LanguageModels", "Resources", "tinyshakespeare.txt"), encoding="utf-8").read()
shakespeare = shakespeare_all[:60000]
unicode_text = [
    "café naïve résumé Ångström — “quoted” ‘text’… 12345 and 3.14159\n",
    "日本語のテキスト、句読点。 中文，标点！ 한국어 문장.\n",
    "Emoji: 🙂 👍🏽 👨\u200d👩\u200d👧 🇫🇷\n",
    "Ελληνικά και русский текст, עברית ועוד, العربية\n",
    "I'm sure you'll see, WE'LL SEE, it's THEIR'S\n",
    "\tTabs\tand  double  spaces\n\n\r\n",
]
training = [shakespeare] + unicode_text * 20

def write_long(folder):
    """long.json: a long text for the SentencePiece-style tokenizers, whose whole text is one piece (merged in runs by
    swift-gpt): tinyshakespeare past the training slice, Unicode lines, characters outside the vocabulary, space runs;
    its ids from the tokenizer files in `folder`."""
    text = (shakespeare_all[60000:62500] + "".join(unicode_text) + "∮ ⌬ 𝔘𝔫𝔦 \u0000" + " " * 40 + "x" * 50 + "ab " * 20
            + "\n" * 5)
    ids = {name: Tokenizer.from_file(os.path.join(folder, f"{name}.json")).encode(text).ids for name in ["llama2", "metaspace"]}
    with open(os.path.join(folder, "long.json"), "w", encoding="utf-8") as f:
        json.dump({"text": text, **ids}, f, ensure_ascii=False)


if long_only:  # training is not deterministic: golden ids for the committed tokenizer files, without retraining
    write_long(out)
    sys.exit(0)

llama3_pattern = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
                  r"|\s+(?!\S)|\s+")
r50k_pattern = r"'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"


def byte_level(pattern, normalizer, vocab_size, ignore_merges):
    tokenizer = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tokenizer.normalizer = normalizer
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator(training, trainer)
    return tokenizer


# (a) Llama 3: special tokens after the vocabulary, as Llama 3's 128000 and up.
llama3 = byte_level(llama3_pattern, None, 700, True)
llama3.add_special_tokens(["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>",
                           "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"])
bos = llama3.token_to_id("<|begin_of_text|>")
llama3.post_processor = processors.Sequence([
    processors.ByteLevel(trim_offsets=False),
    processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                  special_tokens=[("<|begin_of_text|>", bos)])])

# (b) Qwen2-like: NFC, possessive quantifiers, added tokens with flags.
qwen2 = byte_level(r50k_pattern, normalizers.NFC(), 500, False)
qwen2.add_special_tokens(["<|endoftext|>", AddedToken("<|im_start|>", special=True, normalized=False),
                          AddedToken("<|im_end|>", special=True, normalized=False, rstrip=True),
                          AddedToken("<mask>", special=True, normalized=False, lstrip=True)])
qwen2.add_tokens([AddedToken("<tool>", special=False, normalized=False),
                  AddedToken("cat", special=False, normalized=False, single_word=True)])

# (c) SentencePiece-style BPE as Llama 2: <unk> <s> </s>, then the 256 byte tokens, then characters and merges.
sentencepiece = Tokenizer(models.BPE(unk_token="<unk>", fuse_unk=True, byte_fallback=True))
sentencepiece.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
trainer = trainers.BpeTrainer(vocab_size=600, limit_alphabet=90, show_progress=False)
sentencepiece.train_from_iterator([line for text in training for line in text.split("\n")], trainer)
trained = json.loads(sentencepiece.to_str())["model"]
vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
vocab.update({f"<0x{b:02X}>": 3 + b for b in range(256)})
for token, _ in sorted(trained["vocab"].items(), key=lambda item: item[1]):
    vocab.setdefault(token, len(vocab))
merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in trained["merges"]]
llama2 = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
llama2.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
llama2.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                    decoders.Strip(" ", 1, 0)])
llama2.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
llama2.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", 1)])

metaspace = Tokenizer(models.BPE(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True))
metaspace.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
metaspace.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False)
metaspace.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in ["<unk>", "<s>", "</s>"]])
metaspace.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A <s> $B:1", special_tokens=[("<s>", 1)])

# (d) GPT-2 as swift-gpt writes it (Fixtures/hf_tokenizer) with chat tokens added after the vocabulary, as a
# fine-tuned chat model's folder has them: they must keep their ids and never be split.
gpt2_chat = Tokenizer.from_file(os.path.join(root, "Tests", "LanguageModelsTests", "Fixtures", "hf_tokenizer", "tokenizer.json"))
gpt2_chat.add_special_tokens(["<|im_start|>", "<|im_end|>"])

tokenizers = {"llama3": llama3, "qwen2": qwen2, "llama2": llama2, "metaspace": metaspace, "gpt2_chat": gpt2_chat}

texts = [
    "", " ", "  ", "\t", "\n", "\r\n", " \t \n  \n\n\t x", "Hello world", " Hello world", "  leading spaces",
    "trailing spaces   ", "First Citizen:\nBefore we proceed any further, hear me speak.\n",
    "I'm I'M you'll YOU'LL we've WE'VE it's IT'S 'S 'll 'Ll they'd", "don't DON'T shouldn't",
    "1 12 123 1234 12345 123456 1234567 9876543210", "3.14159 and 2,718 and ٣٤٥ and ½ Ⅻ",
    "café cafe\u0301 naïve Å \u212b e\u0301\u0302\u0323", "日本語のテキスト、句読点。中文，标点！한국어",
    "Emoji: 🙂 👍🏽 👨\u200d👩\u200d👧 🇫🇷 ❤\ufe0f 1\ufe0f\u20e3", "zero\u200bwidth join\u200dner soft\u00adhyphen",
    "עברית ועוד, العربية \u202eRTL override\u202c", "Ελληνικά και русский", "ſ long s and K Kelvin 'ſ",
    "<|begin_of_text|>Hello<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|> spaced <|im_end|>   after", "<s>Hello</s> <s> x </s><unk>",
    "text<|endoftext|>more <mask> masked <tool> cat concat cat. cats", "<|im_start|<|im_end|>>",
    "never seen: ∮ ⌬ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \u0000 \u0007 \U0001F9EA", "mixed\t \ttabs \n \n spaces",
    "ALL CAPS SHOUTING AND lowercase", "snake_case kebab-case CamelCase x=1+2*3/4",
    "    def f(x):\n        return x ** 2\n", "A" * 40, "ab " * 30,
    "nbsp\u00a0here em\u2003space line\u2028sep next\u0085line vt\u000bff\u000c",
    "Symbols: $5 €3 £2 © ® ™ ° ± × ÷ → ∑ ∞ ≠ ≤ @#%^&*_+=|\\/<>[]{}~`",
]

split_patterns = [("regex", r"\s+"), ("string", " "), ("regex", r"\p{N}+")]
split_behaviors = ["removed", "isolated", "merged_with_previous", "merged_with_next", "contiguous"]
split_texts = ["", "a b  c   d ", "  lead and trail  ", "x12y345 6 77", "nospaces"]

cases = []
for text in texts:
    case = {"text": text}
    for name, tokenizer in tokenizers.items():
        plain = tokenizer.encode(text, add_special_tokens=False)
        special = tokenizer.encode(text, add_special_tokens=True).ids
        case[name] = {"ids": plain.ids, "tokens": plain.tokens, "with_special": special,
                      "decoded": tokenizer.decode(special), "decoded_all": tokenizer.decode(special, skip_special_tokens=False)}
    cases.append(case)

# Decoding what does not form UTF-8: lone byte tokens, cut characters.
decodes = []
for name in ["llama3", "llama2"]:
    tokenizer = tokenizers[name]
    vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
    samples = [[tokenizer.token_to_id(t) for t in tokens] for tokens in
               ([["<0xE6>"], ["<0xE6>", "<0x97>"], ["<0xE6>", "<0x97>", "<0xA5>"], ["▁a", "<0xE6>", "▁b"], ["<0xFF>", "<0x41>"]]
                if name == "llama2" else [["æ"], ["æ", "Ĺ"], ["ÿ", "A"]])]
    samples += [list(range(i, vocab_size, 37)) for i in range(3)]
    for ids in samples:
        decodes.append({"tokenizer": name, "ids": ids, "decoded": tokenizer.decode(ids),
                        "decoded_all": tokenizer.decode(ids, skip_special_tokens=False)})

splits = []
for kind, pattern in split_patterns:
    for behavior in split_behaviors:
        for invert in [False, True]:
            splitter = pre_tokenizers.Split(Regex(pattern) if kind == "regex" else pattern, behavior=behavior, invert=invert)
            splits.append({"pattern": {"Regex" if kind == "regex" else "String": pattern}, "behavior": behavior,
                           "invert": invert, "pieces": [[p for p, _ in splitter.pre_tokenize_str(t)] for t in split_texts]})

for name, tokenizer in tokenizers.items():
    tokenizer.save(os.path.join(out, f"{name}.json"), pretty=True)
with open(os.path.join(out, "expected.json"), "w", encoding="utf-8") as f:
    json.dump({"cases": cases, "decodes": decodes, "split_texts": split_texts, "splits": splits}, f, ensure_ascii=False)
for name, tokenizer in tokenizers.items():
    print(name, tokenizer.get_vocab_size(with_added_tokens=True), "tokens,", os.path.getsize(os.path.join(out, f"{name}.json")), "bytes")
print(len(texts), "texts; wrote", out)
write_long(out)
