"""Runs karpathy/nanoGPT (a clone the user has, given by path) beside swift-gpt, for Scripts/nanogpt-roundtrip.sh.
Nothing of nanoGPT is copied here; its own model.py and train.py run.

  python nanogpt_peer.py train NANOGPT ARGS...          nanoGPT's train.py on the CPU; under torchrun, DDP over gloo
  python nanogpt_peer.py greedy NANOGPT CKPT META N      N greedy characters after a newline, from nanoGPT's ckpt.pt
  python nanogpt_peer.py exported NANOGPT WEIGHTS CONFIG META N TEXT
                                                         loads `gpt export --format nanogpt` into nanoGPT's GPT
                                                         (GPTConfig(**config), load_state_dict(strict=True)), prints
                                                         the mean loss on TEXT as `gpt eval` windows it, then N
                                                         greedy characters after a newline
"""
import json, os, pickle, sys
import torch

command, nanogpt = sys.argv[1], os.path.abspath(sys.argv[2])
sys.path.insert(0, nanogpt)


def greedy(model, meta, count):
    idx = torch.tensor([[meta["stoi"]["\n"]]])
    with torch.no_grad():
        for _ in range(count):
            logits, _ = model(idx[:, -model.config.block_size:])
            idx = torch.cat([idx, logits[:, -1, :].argmax(-1, keepdim=True)], dim=1)
    return "".join(meta["itos"][i] for i in idx[0, 1:].tolist())


if command == "train":
    # train.py picks cuda:<rank> whenever it runs under DDP; on a CPU-only machine run the same code on the CPU
    # with gloo (the three lines that name CUDA are replaced in memory; the file is not changed).
    source = open(os.path.join(nanogpt, "train.py")).read()
    for old, new in [("device = f'cuda:{ddp_local_rank}'", "device = 'cpu'"), ("torch.cuda.set_device(device)", "pass"),
                     ("DDP(model, device_ids=[ddp_local_rank])", "DDP(model)")]:
        assert old in source, f"nanoGPT's train.py changed: {old!r} not found"
        source = source.replace(old, new)
    os.chdir(nanogpt)
    sys.argv = ["train.py"] + sys.argv[3:]
    exec(compile(source, os.path.join(nanogpt, "train.py"), "exec"), {"__name__": "__main__"})
elif command == "greedy":
    from model import GPT, GPTConfig
    checkpoint = torch.load(sys.argv[3], map_location="cpu")
    model = GPT(GPTConfig(**checkpoint["model_args"]))
    model.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in checkpoint["model"].items()})
    model.eval()
    print(greedy(model, pickle.load(open(sys.argv[4], "rb")), int(sys.argv[5])), end="")
elif command == "exported":
    from model import GPT, GPTConfig
    from safetensors.torch import load_file
    model = GPT(GPTConfig(**json.load(open(sys.argv[4]))))
    model.load_state_dict(load_file(sys.argv[3]), strict=True)
    model.eval()
    meta = pickle.load(open(sys.argv[5], "rb"))
    # `gpt eval`'s windows: consecutive blocks of block_size tokens predicting the next ones; a shorter last one.
    tokens = [meta["stoi"][c] for c in open(sys.argv[7], encoding="utf-8").read()]
    T, total, scored = model.config.block_size, 0.0, 0
    with torch.no_grad():
        for start in range(0, len(tokens) - 1, T):
            x = tokens[start:start + T]
            y = tokens[start + 1:start + 1 + len(x)]
            x = x[:len(y)]
            logits, loss = model(torch.tensor([x]), torch.tensor([y]))
            total += loss.item() * len(y)
            scored += len(y)
    print(f"loss {total / scored:.6f}", file=sys.stderr)
    print(greedy(model, meta, int(sys.argv[6])), end="")
