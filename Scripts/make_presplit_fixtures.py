"""Golden GPT-2 pre-split pieces from Hugging Face's tokenizers (the ByteLevel pre-tokenizer with GPT-2's regex),
for texts that stress the split: combining marks after contractions, ZWJ sequences, variation selectors, CRLF,
Unicode spaces, emoji, CJK, digits, runs of whitespace, a leading byte-order mark.

Usage: python Scripts/make_presplit_fixtures.py      (needs `pip install tokenizers`)
Writes Tests/LanguageModelsTests/Fixtures/gpt2_presplit.json: [{"text": ..., "pieces": [...]}, ...]
"""
import json, os
from tokenizers import pre_tokenizers

texts = [
    "it's\u0301 a test", "'s\u0301", "we're\u200d here", "don't\ufe0f", "I'll've", "'S 'T 'Re",
    "\ufeffHello, world", "line one\r\nline two\r\n", "a\u00a0b\u2003c\u3000d", "tabs\t\tand  \n\n spaces   ",
    "\U0001F468\u200d\U0001F469\u200d\U0001F467 family", "\u2764\ufe0f love", "\U0001F44D\U0001F3FD ok",
    "日本語のテキスト、中文文本。", "1234567 89.5 $12,000", "x=1+2; y = x**2", "naïve café résumé",
    "e\u0301\u0301\u0301 stacked", "   leading and trailing   ", "\n\n\n", "",
    "To be, or not to be: that is the question:\nWhether 'tis nobler in the mind to suffer",
]
pre = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
cases = [{"text": t, "pieces": [t[a:b] for _, (a, b) in pre.pre_tokenize_str(t)]} for t in texts]
out = os.path.join(os.path.dirname(__file__), "..", "Tests", "LanguageModelsTests", "Fixtures", "gpt2_presplit.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump(cases, f, ensure_ascii=False, indent=1)
print("wrote", len(cases), "cases to", out)
