"""Converts nanoGPT's training output into what `gpt import` reads (run by hand; needs torch and safetensors).

  python3 Scripts/convert_nanogpt_checkpoint.py out-shakespeare-char/ckpt.pt data/shakespeare_char/meta.pkl converted/
  gpt import --weights converted/model.safetensors --config converted/config.json \
             --vocab converted/tokenizer.json --out runs/from-nanogpt

Writes model.safetensors (the state dict, nanoGPT's names; the tied lm_head.weight saved as its own copy),
config.json (model_args under nanoGPT's keys) and tokenizer.json (the character vocabulary of meta.pkl's itos).
"""
import json, os, pickle, sys
import torch
from safetensors.torch import save_file

def main(ckpt_path, meta_path, out):
    os.makedirs(out, exist_ok=True)
    checkpoint = torch.load(ckpt_path, map_location="cpu", weights_only=False)
    state = {k.removeprefix("_orig_mod."): v.detach().clone().contiguous().float()
             for k, v in checkpoint["model"].items() if not k.endswith(".attn.bias")}  # .attn.bias: the mask buffer
    save_file(state, os.path.join(out, "model.safetensors"), {"format": "pt"})
    args = checkpoint["model_args"]
    config = {key: args[key] for key in ("n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size", "dropout")}
    config.update(format_version=1, model_type="gpt", activation="gelu", tie_weights=True, lm_head_bias=False,
                  attention_bias=args["bias"])
    json.dump(config, open(os.path.join(out, "config.json"), "w"), indent=2)
    with open(meta_path, "rb") as f:
        meta = pickle.load(f)
    vocabulary = [meta["itos"][i] for i in range(meta["vocab_size"])]
    json.dump({"kind": "char", "vocabulary": vocabulary}, open(os.path.join(out, "tokenizer.json"), "w"))
    print("wrote", out)

if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
