"""Random tiny models of the Llama, Mistral, Qwen2, Qwen3 and nanochat families, saved by Hugging Face transformers
(save_pretrained), with the logits and greedy tokens transformers computes from each saved folder: for `gpt import`
of those families (HuggingFaceFamilyTests).

Usage: /tmp/torchref/bin/python Scripts/make_family_fixtures.py OUT_DIR      (torch, transformers 5, tokenizers)
       e.g. OUT_DIR = Tests/LanguageModelsTests/Fixtures/hf_families

Writes OUT_DIR/tokenizer/ (a byte-level BPE trained here) and one folder per model:
  llama/          LlamaForCausalLM, F32, untied, llama3 RoPE scaling (transformers 5's rope_parameters), chat template in
                  chat_template.jinja
  mistral/        MistralForCausalLM, F16, sliding_window, config rewritten with the older top-level rope_theta
  qwen2/          Qwen2ForCausalLM, F32, tied, q/k/v biases, chat template in tokenizer_config.json (the older place)
  qwen3/          Qwen3ForCausalLM, BF16, tied, head_dim != hidden / heads, q/k norm with gains, linear RoPE scaling
                  written the older way (rope_scaling)
  nanochat/       NanoChatForCausalLM, F32, ReLU², weightless norms, QK-norm, soft-cap, flipped rotary sign
  llama_sharded/  LlamaForCausalLM saved as BF16 in several shards (model.safetensors.index.json)
and golden.json: per model the input ids, the logits of the first and last positions (fp32, from the folder loaded in
fp32, so stored BF16/F16 weights are compared exactly) and the greedy continuation; and for qwen3 and nanochat,
NAME_grads.safetensors: the gradient of every parameter (transformers' names) of the mean cross-entropy of a fixed batch,
whose ids, targets and loss are in its metadata.
"""
import json, os, sys
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
from transformers import (AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM, NanoChatConfig,
                          NanoChatForCausalLM, PreTrainedTokenizerFast)

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "Tests", "LanguageModelsTests",
                                                         "Fixtures", "hf_families")
os.makedirs(out, exist_ok=True)
VOCAB = 300
TEMPLATE = ("{% for message in messages %}<|endoftext|>{{ message['role'] }}\n{{ message['content'] }}\n{% endfor %}"
            "{% if add_generation_prompt %}<|endoftext|>assistant\n{% endif %}")

# A byte-level BPE (GPT-2's ByteLevel pre-tokenizer, which this package reads today) with one special token, in the
# model's vocabulary (id 0) as GPT-2's <|endoftext|> is.
corpus = ["The quick brown fox jumps over the lazy dog. " * 4, "Hello, world! How are you today? " * 4,
          "Small models are fun to train on two cores. " * 4]
bpe = Tokenizer(models.BPE())
bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
bpe.decoder = decoders.ByteLevel()
bpe.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=["<|endoftext|>"],
                                                    initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                                    show_progress=False))
vocab = bpe.get_vocab_size()
assert vocab <= VOCAB, vocab
eos = bpe.token_to_id("<|endoftext|>")
tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>")
tokenizer.chat_template = TEMPLATE

ids = bpe.encode("Hello, the quick fox!").ids[:7]
golden = {"transformers": transformers.__version__, "vocab": vocab}
common = dict(vocab_size=vocab, hidden_size=32, intermediate_size=48, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64, bos_token_id=eos, eos_token_id=eos)


def perturb(model, seed):
    """Moves every weight off its initial value (unit gains, zero biases), so each one is tested."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)


def edit_config(folder, change):
    path = os.path.join(folder, "config.json")
    with open(path) as f:
        config = json.load(f)
    change(config)
    with open(path, "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


def save_gradients(name, model):
    """The gradients transformers computes for a batch of 2 x 8 tokens, for the training path of the families' ops."""
    g = torch.Generator().manual_seed(9)
    idx, targets = torch.randint(0, vocab, (2, 8), generator=g), torch.randint(0, vocab, (2, 8), generator=g)
    logits = model(idx).logits
    loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))
    loss.backward()
    meta = {"idx": json.dumps(idx.flatten().tolist()), "targets": json.dumps(targets.flatten().tolist()),
            "loss": repr(loss.item())}
    save_file({n: p.grad.contiguous() for n, p in model.named_parameters()}, os.path.join(out, f"{name}_grads.safetensors"), meta)


def save(name, model, dtype=torch.float32, shard=None, config_change=None, template_in_config=False, gradients=False):
    folder = os.path.join(out, name)
    model = model.to(dtype)
    model.save_pretrained(folder, max_shard_size=shard or "50MB")
    if config_change:
        edit_config(folder, config_change)
    tokenizer.save_pretrained(folder)
    if template_in_config:  # the older place of the chat template
        os.remove(os.path.join(folder, "chat_template.jinja"))
        with open(os.path.join(folder, "tokenizer_config.json")) as f:
            config = json.load(f)
        config["chat_template"] = TEMPLATE
        with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
            json.dump(config, f, indent=2)
    for extra in ["generation_config.json"]:
        if os.path.exists(os.path.join(folder, extra)):
            os.remove(os.path.join(folder, extra))
    # The reference: transformers reading the folder just written, in fp32.
    loaded = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    with torch.no_grad():
        logits = loaded(torch.tensor([ids])).logits[0]
        generated = loaded.generate(torch.tensor([ids]), max_new_tokens=8, do_sample=False, eos_token_id=None,
                                    pad_token_id=eos)[0, len(ids):].tolist()
    def rounded(row):  # 7 significant digits: far below the 1e-4 compared, a third of the file
        return [float(f"{x:.7g}") for x in row.tolist()]
    golden[name] = {"ids": ids, "first": rounded(logits[0]), "last": rounded(logits[-1]), "greedy": generated}
    if gradients:
        save_gradients(name, loaded)


torch.manual_seed(1)
llama = LlamaForCausalLM(LlamaConfig(**common, rms_norm_eps=1e-5, tie_word_embeddings=False, rope_parameters={
    "rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8}))
perturb(llama, 1)
save("llama", llama)

torch.manual_seed(2)
mistral = MistralForCausalLM(MistralConfig(**common, rms_norm_eps=1e-6, sliding_window=32, tie_word_embeddings=False,
                                           rope_parameters={"rope_type": "default", "rope_theta": 10000.0}))
perturb(mistral, 2)


def older_rope(config):
    config["rope_theta"] = config.pop("rope_parameters")["rope_theta"]


save("mistral", mistral, dtype=torch.float16, config_change=older_rope)

torch.manual_seed(3)
qwen2 = Qwen2ForCausalLM(Qwen2Config(**common, rms_norm_eps=1e-6, tie_word_embeddings=True,
                                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}))
perturb(qwen2, 3)
save("qwen2", qwen2, template_in_config=True)

torch.manual_seed(4)
qwen3 = Qwen3ForCausalLM(Qwen3Config(**common, head_dim=12, rms_norm_eps=1e-6, tie_word_embeddings=True,
                                     rope_parameters={"rope_type": "linear", "rope_theta": 1000000.0, "factor": 2.0}))
perturb(qwen3, 4)


def older_scaling(config):
    rope = config.pop("rope_parameters")
    config["rope_theta"] = rope.pop("rope_theta")
    config["rope_scaling"] = rope


save("qwen3", qwen3, dtype=torch.bfloat16, config_change=older_scaling, gradients=True)

torch.manual_seed(5)
nanochat_config = dict(common, intermediate_size=128)
nanochat = NanoChatForCausalLM(NanoChatConfig(**nanochat_config, rms_norm_eps=1e-6, final_logit_softcapping=15.0,
                                              tie_word_embeddings=False,
                                              rope_parameters={"rope_type": "default", "rope_theta": 10000.0}))
perturb(nanochat, 5)
save("nanochat", nanochat, gradients=True)

torch.manual_seed(6)
sharded = LlamaForCausalLM(LlamaConfig(**common, rms_norm_eps=1e-5, tie_word_embeddings=False))
perturb(sharded, 6)
save("llama_sharded", sharded, dtype=torch.bfloat16, shard="20KB")

with open(os.path.join(out, "golden.json"), "w") as f:
    json.dump(golden, f)
print("wrote", out, "with transformers", transformers.__version__)
