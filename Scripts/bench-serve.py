"""A load benchmark of a running `gpt serve` (or any OpenAI-style completions server): a concurrency sweep.

  gpt serve --checkpoint /tmp/lecture --port 8080 --parallel 8 &
  python3 Scripts/bench-serve.py --port 8080 [--clients 1,2,4,8] [--requests 3] [--max-tokens 128]

For each number of clients, that many threads each send `--requests` streamed completions one after another (each on
a connection of its own, fixed prompts, seed 1000 + request number, temperature 0.8, `logprobs: 1` so each chunk
names its tokens; `ignore_eos` so that llama-server too writes every token asked for) while another thread polls
`GET /health`. Reports per level: requests/s, aggregate output tokens/s
(all clients' tokens over the level's wall time), time to first token p50/p99, inter-token latency p50/p99 (a
chunk's gap spread over its tokens), /health p99 and any non-200 answer. Then reads `GET /metrics` and, when
`prometheus_client` is installed, parses it with its text-format parser. `--json FILE` writes the figures.

  python3 Scripts/bench-serve.py --port 8080 --prefix-repeat 8 --prefix-tokens 1900

measures the prefix cache instead: a long prompt of `--prefix-tokens` tokens (a passage repeated, cut to length
through `/tokenize` and `/detokenize`) is sent cold (three variants that share no first token, so none is cached),
then the last variant `--prefix-repeat` times more, one request at a time (greedy, 4 tokens, streamed); it reports
the cold and warm time-to-first-token medians and their ratio. With `--cache-mb 0` on the server the two match.
Standard library only (prometheus_client optional).
"""
import argparse, http.client, json, sys, threading, time

HOST = "127.0.0.1"
PROMPTS = [
    "ROMEO:\nBut soft, what light through yonder window breaks?",
    "KING HENRY:\nOnce more unto the breach, dear friends, once more;",
    "First Citizen:\nBefore we proceed any further, hear me speak.",
    "JULIET:\nO Romeo, Romeo! wherefore art thou Romeo?",
    "HAMLET:\nTo be, or not to be, that is the question:",
    "MENENIUS:\nWhy, masters, my good friends, mine honest neighbours,",
    "LADY MACBETH:\nOut, damned spot! out, I say!",
    "PROSPERO:\nWe are such stuff as dreams are made on,",
]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def stream_completion(port, prompt, seed, max_tokens, timeout=600):
    """One streamed completion: (status, time to first token, [(gap seconds, tokens)], tokens)."""
    body = json.dumps({"prompt": prompt, "max_tokens": max_tokens, "temperature": 0.8, "seed": seed,
                       "stream": True, "logprobs": 1, "ignore_eos": True})
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    start = time.perf_counter()
    connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    if response.status != 200:
        response.read()
        connection.close()
        return response.status, None, [], 0
    first, last, gaps, tokens = None, start, [], 0
    for raw in response:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        if "error" in chunk:
            connection.close()
            return 500, first, gaps, tokens
        choice = chunk["choices"][0]
        # Our chunks name their tokens; a server that streams one token a chunk without them (llama-server) counts 1.
        count = len((choice.get("logprobs") or {}).get("tokens") or []) or (1 if choice.get("text") else 0)
        if count == 0:
            continue
        now = time.perf_counter()
        if first is None:
            first = now - start
        else:
            gaps.append((now - last, count))
        last = now
        tokens += count
    connection.close()
    return 200, first, gaps, tokens


PASSAGE = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n"
           "First Citizen:\nYou are all resolved rather to die than to famish?\n\nAll:\nResolved. resolved.\n\n")


def post_json(port, path, payload):
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    connection.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
    response = connection.getresponse()
    answer = json.loads(response.read())
    connection.close()
    return answer


def long_prompt(port, tokens, marker):
    """A prompt of exactly `tokens` tokens: `marker` then the passage repeated, cut at a token boundary."""
    text = marker + PASSAGE
    while len(post_json(port, "/tokenize", {"content": text})["tokens"]) < tokens:
        text += PASSAGE
    ids = post_json(port, "/tokenize", {"content": text})["tokens"][:tokens]
    return post_json(port, "/detokenize", {"tokens": ids})["content"]


def first_token_time(port, prompt):
    """Seconds to the first streamed token of a greedy completion of `prompt`."""
    body = json.dumps({"prompt": prompt, "max_tokens": 4, "temperature": 0, "stream": True})
    connection = http.client.HTTPConnection(HOST, port, timeout=600)
    start = time.perf_counter()
    connection.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    first = None
    for raw in response:
        line = raw.decode().strip()
        if first is None and line.startswith("data: {"):
            choices = json.loads(line[6:]).get("choices") or [{}]
            if choices[0].get("text"):
                first = time.perf_counter() - start
    connection.close()
    if response.status != 200 or first is None:
        raise SystemExit(f"the completion answered {response.status}")
    return first


def run_prefix(port, repeat, tokens):
    """Cold and warm time to first token of a long prompt sent again and again."""
    prompts = [long_prompt(port, tokens, marker) for marker in ("A", "B", "C")]
    cold = [first_token_time(port, prompt) for prompt in prompts]
    warm = [first_token_time(port, prompts[-1]) for _ in range(repeat)]
    result = {"prefix_tokens": tokens, "repeat": repeat, "cold_ttft_ms": [1000 * t for t in cold],
              "warm_ttft_ms": [1000 * t for t in warm], "cold_p50_ms": 1000 * percentile(cold, 0.5),
              "warm_p50_ms": 1000 * percentile(warm, 0.5)}
    result["ratio"] = result["cold_p50_ms"] / result["warm_p50_ms"]
    print(f"prompt of {tokens} tokens: cold TTFT p50 {result['cold_p50_ms']:.1f} ms ({len(cold)} requests), "
          f"warm TTFT p50 {result['warm_p50_ms']:.1f} ms ({repeat} requests): {result['ratio']:.1f}x shorter")
    return result


def health_poller(port, stop, latencies):
    while not stop.is_set():
        connection = http.client.HTTPConnection(HOST, port, timeout=10)
        start = time.perf_counter()
        connection.request("GET", "/health")
        connection.getresponse().read()
        latencies.append(time.perf_counter() - start)
        connection.close()
        stop.wait(0.05)


def run_level(port, clients, requests, max_tokens):
    lock = threading.Lock()
    ttfts, intervals, statuses, tokens = [], [], {}, [0]

    def client(index):
        for r in range(requests):
            number = index * requests + r
            status, first, gaps, count = stream_completion(port, PROMPTS[number % len(PROMPTS)], 1000 + number, max_tokens)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                tokens[0] += count
                if first is not None:
                    ttfts.append(first)
                for gap, n in gaps:
                    intervals.extend([gap / n] * n)

    stop, health = threading.Event(), []
    poller = threading.Thread(target=health_poller, args=(port, stop, health))
    poller.start()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    stop.set()
    poller.join()
    done = sum(statuses.values())
    return {"clients": clients, "requests": done, "wall_s": wall, "requests_per_s": done / wall,
            "output_tokens": tokens[0], "output_tokens_per_s": tokens[0] / wall,
            "ttft_p50_ms": 1000 * percentile(ttfts, 0.5), "ttft_p99_ms": 1000 * percentile(ttfts, 0.99),
            "itl_p50_ms": 1000 * percentile(intervals, 0.5), "itl_p99_ms": 1000 * percentile(intervals, 0.99),
            "health_p99_ms": 1000 * percentile(health, 0.99), "statuses": statuses}


def check_metrics(port):
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    connection.request("GET", "/metrics")
    response = connection.getresponse()
    text = response.read().decode()
    if response.status != 200:
        return f"/metrics answered {response.status}"
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        return f"/metrics: {len(text.splitlines())} lines (prometheus_client not installed: not parsed)"
    families = list(text_string_to_metric_families(text))
    return f"/metrics parsed by prometheus_client: {len(families)} families ({', '.join(f.name for f in families)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--clients", default="1,2,4,8")
    parser.add_argument("--requests", type=int, default=3, help="requests per client at each level")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--prefix-repeat", type=int, default=0,
                        help="measure the prefix cache: send one long prompt this many times after the cold ones")
    parser.add_argument("--prefix-tokens", type=int, default=1024, help="the long prompt's tokens")
    args = parser.parse_args()
    if args.prefix_repeat > 0:
        result = run_prefix(args.port, args.prefix_repeat, args.prefix_tokens)
        print(check_metrics(args.port))
        if args.json:
            with open(args.json, "w") as out:
                json.dump(result, out, indent=1)
        return
    levels = []
    print("| clients | requests/s | output tokens/s | TTFT p50 / p99 ms | inter-token p50 / p99 ms | /health p99 ms | answers |")
    print("|---|---|---|---|---|---|---|")
    for clients in [int(c) for c in args.clients.split(",")]:
        level = run_level(args.port, clients, args.requests, args.max_tokens)
        levels.append(level)
        print(f"| {clients} | {level['requests_per_s']:.2f} | {level['output_tokens_per_s']:.1f} | "
              f"{level['ttft_p50_ms']:.0f} / {level['ttft_p99_ms']:.0f} | {level['itl_p50_ms']:.1f} / {level['itl_p99_ms']:.1f} | "
              f"{level['health_p99_ms']:.1f} | {level['statuses']} |", flush=True)
    if len(levels) > 1 and levels[0]["output_tokens_per_s"] > 0:
        print(f"aggregate output tokens/s at {levels[-1]['clients']} clients vs {levels[0]['clients']}: "
              f"{levels[-1]['output_tokens_per_s'] / levels[0]['output_tokens_per_s']:.2f}x")
    print(check_metrics(args.port))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(levels, out, indent=1)
    failed = any(status != 200 for level in levels for status in level["statuses"])
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
