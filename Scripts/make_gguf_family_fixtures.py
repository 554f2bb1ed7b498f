#!/usr/bin/env python3
"""GGUF files written by llama.cpp's own converter (convert_hf_to_gguf.py) from tiny random transformers models of the
llama, qwen2 and qwen3 families, with the logits transformers computes and the token ids its tokenizer gives: for
`gpt import model.gguf` (GGUFConverterTests).

Usage: /tmp/torchref/bin/python Scripts/make_gguf_family_fixtures.py LLAMA_CPP_DIR [OUT_DIR]
  LLAMA_CPP_DIR: a llama.cpp source tree (its convert_hf_to_gguf.py and gguf-py; llama-cpp-python's sdist has one
                 under vendor/llama.cpp). Nothing of it is copied here.
  OUT_DIR:       default Tests/LanguageModelsTests/Fixtures/gguf_families

Writes OUT_DIR/NAME.gguf (f32) for
  llama   LlamaForCausalLM, untied, grouped-query attention, a SentencePiece-style tokenizer (BPE with byte fallback:
          the converter writes tokenizer.ggml.model "llama" with scores) and a chat template
  qwen2   Qwen2ForCausalLM, tied, q/k/v biases, a byte-level BPE with Qwen2's Split regex (pre "qwen2")
  qwen3   Qwen3ForCausalLM, tied, QK-norm, head_dim != hidden / heads, a byte-level BPE with Llama 3's regex
          (pre "llama-bpe")
and llama_q8_0.gguf (the llama model, --outtype q8_0), and golden.json: per model the input ids, every position's
logits at positions 0, 5 and 11 (fp32, transformers), and the ids of a test text (no special tokens) from the model's tokenizer and, with llama-cpp-python installed,
from llama.cpp's tokenizer of the GGUF (llama_cpp_ids: where the converter's file tokenizes otherwise, as the llama
model's, whose BPE merges become equal SentencePiece scores, this is the reference).

The converter recognises a tokenizer by a hash of its output on a fixed text; a tokenizer trained here has no known
hash, so its pre-tokenizer name is given to the converter (`get_vocab_base_pre` replaced for the run).
"""
import importlib.util, json, os, sys, tempfile
import torch
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, normalizers, trainers, Regex
from transformers import (LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config,
                          Qwen3ForCausalLM, PreTrainedTokenizerFast)

LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
CORPUS = ["The quick brown fox jumps over the lazy dog. " * 4, "Hello, world! How are you today? 12345 " * 4,
          "Small models are fun to train on two cores. Ünïcode: café, naïve, 東京. " * 4]
TEXT = "Hello, the quick café fox! 2024 東京"
TEMPLATE = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
            "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def byte_level(regex: str) -> PreTrainedTokenizerFast:
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(regex), behavior="isolated"),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIALS, show_progress=False,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|im_end|>")


def sentence_piece() -> PreTrainedTokenizerFast:
    """Llama 2's layout: <unk> <s> </s>, the 256 <0xAB> byte tokens, then merges of characters joined by ▁."""
    spm = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    spm.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    spm.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                     decoders.Strip(" ", 1, 0)])
    specials = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    spm.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=420, special_tokens=specials, show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=spm, bos_token="<s>", eos_token="</s>", unk_token="<unk>")


def convert(converter: str, folder: str, out: str, outtype: str, pre: str | None) -> None:
    sys.path[:0] = [os.path.join(os.path.dirname(converter), "gguf-py"), os.path.dirname(converter)]
    spec = importlib.util.spec_from_file_location("convert_hf_to_gguf", converter)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if pre is not None:  # TextModel lives in the converter, or in its conversion package (newer trees)
        text_model = getattr(module, "TextModel", None) or importlib.import_module("conversion.base").TextModel
        text_model.get_vocab_base_pre = lambda self, tokenizer: pre
    sys.argv = ["convert_hf_to_gguf.py", folder, "--outfile", out, "--outtype", outtype]
    module.main()


def main() -> None:
    llama_cpp = sys.argv[1]
    converter = os.path.join(llama_cpp, "convert_hf_to_gguf.py")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "Tests",
                                                              "LanguageModelsTests", "Fixtures", "gguf_families")
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    golden = {}
    shapes = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64)
    cases = [
        ("llama", sentence_piece(), None, LlamaConfig, LlamaForCausalLM, dict(tie_word_embeddings=False, rope_theta=10000.0)),
        ("qwen2", byte_level(QWEN2), "qwen2", Qwen2Config, Qwen2ForCausalLM, dict(tie_word_embeddings=True, rope_theta=1e6)),
        ("qwen3", byte_level(LLAMA3), "llama-bpe", Qwen3Config, Qwen3ForCausalLM,
         dict(tie_word_embeddings=True, head_dim=16, rope_theta=1e6)),
    ]
    for name, tokenizer, pre, config_class, model_class, extra in cases:
        tokenizer.chat_template = TEMPLATE
        vocab = len(tokenizer)
        config = config_class(vocab_size=vocab, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
                              **shapes, **extra)
        model = model_class(config).eval()
        with torch.no_grad():
            for key, p in model.named_parameters():  # larger than the default init, so that the logits differ visibly
                p.copy_(torch.randn_like(p) * 0.2 + (1.0 if key.endswith("norm.weight") else 0.0))
        ids = tokenizer(TEXT, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(torch.tensor([ids[:12]])).logits[0].float()
        positions = [0, 5, 11]
        golden[name] = {"ids": ids[:12], "positions": positions, "logits": logits[positions].reshape(-1).tolist(),
                        "vocab": vocab, "text": TEXT, "text_ids": ids}
        with tempfile.TemporaryDirectory() as folder:
            model.save_pretrained(folder)
            tokenizer.save_pretrained(folder)
            convert(converter, folder, os.path.join(out, f"{name}.gguf"), "f32", pre)
            if name == "llama":
                convert(converter, folder, os.path.join(out, "llama_q8_0.gguf"), "q8_0", pre)
    try:  # llama.cpp's own tokenizer on each file (llama-cpp-python), where it is installed
        from llama_cpp import Llama
        for name in golden:
            vocab = Llama(model_path=os.path.join(out, f"{name}.gguf"), vocab_only=True, verbose=False)
            golden[name]["llama_cpp_ids"] = vocab.tokenize(TEXT.encode(), add_bos=False, special=False)
    except ImportError:
        print("llama-cpp-python is not installed: golden.json has no llama_cpp_ids")
    with open(os.path.join(out, "golden.json"), "w") as f:
        json.dump(golden, f)
    for file in sorted(os.listdir(out)):
        print(file, os.path.getsize(os.path.join(out, file)))


if __name__ == "__main__":
    main()
