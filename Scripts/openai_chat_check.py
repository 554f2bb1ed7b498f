"""Checks `gpt serve`'s /v1/chat/completions with the official `openai` Python client.

Calls `client.chat.completions.create` plain and streamed with the same messages and seed (sampled, n=2), and
greedily with log-probabilities; checks that the streamed answers equal the plain ones, that the stream sends the
role first, then content, then a finish_reason, and that a request the server must refuse raises the client's
BadRequestError. Prints what it saw; exits 1 on any mismatch.

Usage: /tmp/torchref/bin/python Scripts/openai_chat_check.py http://127.0.0.1:8080/v1 [--api-key KEY]
(pip install openai into that environment first.)
"""
import argparse, sys
import openai
from openai import OpenAI

parser = argparse.ArgumentParser()
parser.add_argument("base_url", help="the server's API root, e.g. http://127.0.0.1:8080/v1")
parser.add_argument("--api-key", default="none")
parser.add_argument("--system", default="You are a poet.")
parser.add_argument("--user", default="To be, or not to be?")
args = parser.parse_args()

client = OpenAI(base_url=args.base_url, api_key=args.api_key)
model = client.models.list().data[0].id
messages = [{"role": "system", "content": args.system}, {"role": "user", "content": args.user}]
failures = []


def check(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


def plain_and_streamed(messages, **sampling):
    """The answers of one request plain and streamed; checks that they agree."""
    plain = client.chat.completions.create(model=model, messages=messages, **sampling)
    answers = [choice.message.content for choice in sorted(plain.choices, key=lambda c: c.index)]
    print("plain answers:", answers, [c.finish_reason for c in plain.choices], "usage:", plain.usage)
    stream = client.chat.completions.create(model=model, messages=messages, **sampling, stream=True,
                                            stream_options={"include_usage": True})
    streamed, first_delta, finishes, usage = {}, {}, {}, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            first_delta.setdefault(choice.index, choice.delta)
            streamed[choice.index] = streamed.get(choice.index, "") + (choice.delta.content or "")
            if choice.finish_reason is not None:
                finishes[choice.index] = choice.finish_reason
    streamed_answers = [streamed.get(i) for i in range(len(answers))]
    print("streamed answers:", streamed_answers, finishes, "usage:", usage)
    seed = sampling.get("seed")
    check(streamed_answers == answers, f"the streamed answers equal the plain ones for seed {seed}")
    check(all(first_delta[i].role == "assistant" for i in first_delta), "each streamed choice starts with role assistant")
    check(finishes == {c.index: c.finish_reason for c in plain.choices}, "the same finish_reason plain and streamed")
    check(usage is not None and usage.completion_tokens == plain.usage.completion_tokens, "the same usage plain and streamed")


# The conversation the model was trained on, sampled; then one it never saw, sampled hot (the answers differ).
plain_and_streamed(messages, temperature=1.0, top_p=0.95, seed=42, n=2, max_tokens=32)
plain_and_streamed([{"role": "user", "content": "Tell me a story."}], temperature=1.5, seed=7, n=3, max_tokens=24)

greedy = client.chat.completions.create(model=model, messages=messages, temperature=0, logprobs=True, top_logprobs=2,
                                        max_completion_tokens=24)
choice = greedy.choices[0]
print("greedy answer:", repr(choice.message.content), choice.finish_reason)
tokens = choice.logprobs.content
check("".join(t.token for t in tokens) == choice.message.content, "logprobs.content's tokens spell the answer")
check(all(t.top_logprobs and t.top_logprobs[0].token == t.token for t in tokens), "greedy picks each top token")
check(choice.finish_reason in ("stop", "length"), "finish_reason is stop or length")

try:
    client.chat.completions.create(model=model, messages=[{"role": "wizard", "content": "hi"}])
    check(False, "an unknown role is refused")
except openai.BadRequestError as error:
    check(error.status_code == 400, "an unknown role is refused with 400: " + str(error.body.get("message", ""))[:80])

print("all checks passed" if not failures else f"{len(failures)} checks failed")
sys.exit(1 if failures else 0)
