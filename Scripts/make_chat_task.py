#!/usr/bin/env python3
"""Writes a synthetic chat task whose answers can be checked exactly, in OpenAI's fine-tuning format (JSON Lines,
one {"messages": [...]} per line): a train file and a test file of different prompts.

Each conversation asks one thing about a short word of lower-case letters:
  user "reverse: abcde"  -> assistant "edcba"
  user "upper: abcde"    -> assistant "ABCDE"
The words use letters only (a character model trained on tiny shakespeare knows every character), and no test
prompt appears in the train file. Seeded: the same arguments write the same files.

  python3 Scripts/make_chat_task.py --out-dir /tmp/chat-task --train 4000 --test 200 --seed 1
"""
import argparse
import json
import os
import random

TASKS = {
    "reverse": lambda word: word[::-1],
    "upper": lambda word: word.upper(),
}


def conversation(task, word):
    return {"messages": [
        {"role": "user", "content": f"{task}: {word}"},
        {"role": "assistant", "content": TASKS[task](word)},
    ]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out-dir", required=True, help="where train.jsonl and test.jsonl go")
    parser.add_argument("--train", type=int, default=4000, help="training conversations")
    parser.add_argument("--test", type=int, default=200, help="test conversations (prompts not in train)")
    parser.add_argument("--min-length", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=6)
    parser.add_argument("--tasks", default="reverse,upper", help="comma-separated: " + ", ".join(TASKS))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    for task in tasks:
        if task not in TASKS:
            parser.error(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    rng = random.Random(args.seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    seen = set()
    examples = []
    while len(examples) < args.train + args.test:
        task = rng.choice(tasks)
        word = "".join(rng.choice(letters) for _ in range(rng.randint(args.min_length, args.max_length)))
        if (task, word) in seen:
            continue
        seen.add((task, word))
        examples.append(conversation(task, word))
    os.makedirs(args.out_dir, exist_ok=True)
    for name, part in (("train", examples[:args.train]), ("test", examples[args.train:])):
        path = os.path.join(args.out_dir, f"{name}.jsonl")
        with open(path + ".tmp", "w") as f:
            for example in part:
                f.write(json.dumps(example) + "\n")
        os.replace(path + ".tmp", path)
        print(f"{path}: {len(part)} conversations")


if __name__ == "__main__":
    main()
