"""Checks of a running `gpt serve` (loopback only; every loop is bounded in count and time).

  python3 Scripts/server-checks.py openai  --port 8080   # the official openai client completes and streams
  python3 Scripts/server-checks.py load    --port 8080 --clients 32 --seconds 60
  python3 Scripts/server-checks.py hostile --port 8080 --requests 1000 [--pid PID]

`openai` needs `pip install openai`; the others use the standard library only. Each prints a summary and exits
non-zero when a check fails.
"""
import argparse, json, os, random, socket, statistics, sys, threading, time

HOST = "127.0.0.1"

def post(port, body, timeout=30):
    """One request on its own connection; returns (status, body bytes)."""
    s = socket.create_connection((HOST, port), timeout=timeout)
    head = f"POST /v1/completions HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    s.sendall(head.encode() + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
    return status, data.split(b"\r\n\r\n", 1)[-1]

def check_openai(port):
    from openai import OpenAI
    client = OpenAI(base_url=f"http://{HOST}:{port}/v1", api_key=os.environ.get("GPT_API_KEY", "none"))
    model = client.models.list().data[0].id
    completion = client.completions.create(model=model, prompt="ROMEO:", max_tokens=40, temperature=0.8, seed=1)
    text = completion.choices[0].text
    assert len(text) > 0 and completion.usage.completion_tokens == 40, completion
    streamed = "".join(chunk.choices[0].text for chunk in
                       client.completions.create(model=model, prompt="ROMEO:", max_tokens=40, temperature=0.8, seed=1, stream=True))
    assert streamed == text, (streamed, text)
    print(f"openai client: completion and stream agree ({len(text)} characters): {text!r}")

def stream_once(port, results, lock, deadline):
    while time.time() < deadline:
        body = json.dumps({"prompt": "ROMEO:", "max_tokens": 64, "stream": True, "temperature": 0.9}).encode()
        start = time.time()
        try:
            s = socket.create_connection((HOST, port), timeout=60)
            s.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
            data, first = b"", None
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                if first is None and b"data: " in data + chunk:
                    first = time.time() - start
                data += chunk
            s.close()
        except OSError as error:
            with lock:
                results["errors"].append(str(error))
            continue
        status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/") else 0
        payload = data.split(b"\r\n\r\n", 1)[-1]
        # Undo chunked transfer encoding.
        text, rest = b"", payload
        while rest:
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line or b"0", 16)
            if size == 0:
                break
            text, rest = text + rest[:size], rest[size + 2:]
        frames = [f for f in text.decode("utf-8", "replace").split("\n\n") if f]
        tokens, malformed = 0, 0
        for frame in frames:
            if not frame.startswith("data: "):
                malformed += 1
            elif frame != "data: [DONE]":
                try:
                    chunk = json.loads(frame[6:])
                    tokens += 1 if chunk["choices"][0]["text"] else 0
                except Exception:
                    malformed += 1
        with lock:
            results["status"].append(status)
            results["malformed"] += malformed + (0 if frames and frames[-1] == "data: [DONE]" or status != 200 else 1)
            if status == 200:
                results["ttft"].append(first or 0)
                results["tokens"] += tokens

def check_load(port, clients, seconds):
    results = {"status": [], "ttft": [], "tokens": 0, "malformed": 0, "errors": []}
    lock = threading.Lock()
    deadline = time.time() + seconds
    threads = [threading.Thread(target=stream_once, args=(port, results, lock, deadline)) for _ in range(clients)]
    start = time.time()
    for t in threads: t.start()
    for t in threads: t.join(timeout=seconds + 120)
    elapsed = time.time() - start
    ok = results["status"].count(200)
    server_errors = sum(1 for s in results["status"] if s >= 500 and s != 503)
    ttft = sorted(results["ttft"]) or [0]
    print(f"load: {clients} clients, {elapsed:.0f} s: {len(results['status'])} requests ({ok} ok, "
          f"{results['status'].count(503)} busy 503), {len(results['status']) / elapsed:.1f} requests/s, "
          f"time to first token p50 {statistics.median(ttft) * 1000:.0f} ms p99 {ttft[int(0.99 * (len(ttft) - 1))] * 1000:.0f} ms, "
          f"{results['tokens'] / elapsed:.0f} tokens/s in total, {server_errors} server errors, "
          f"{results['malformed']} malformed frames, {len(results['errors'])} connection errors")
    return server_errors == 0 and results["malformed"] == 0 and not results["errors"]

def rss(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) // 1024
    return 0

def hostile_bodies(rng):
    yield b"{"
    yield b"\xff\xfe\xfd"
    yield b'{"prompt": "\xc3\x28"}'
    yield b'{"max_tokens": 1e999}'
    yield b'{"temperature": NaN}'
    yield b'{"max_tokens": -5}'
    yield b'{"prompt": {"a": 1}}'
    yield b'{"n": 1000000}'
    yield b'{"stop": ""}'
    yield b"[" * 5000 + b"]" * 5000
    yield b'{"prompt": "' + b"A" * 2_000_000 + b'"}'
    fields = ["prompt", "max_tokens", "temperature", "top_p", "top_k", "n", "stop", "seed", "logprobs", "stream", "model"]
    values = [None, True, -1, 0, 1e308, -1e308, 3.5, "x", "", [], {}, [1, "a"], "\u0000", "\ud83d", 2**70]
    while True:
        body = {rng.choice(fields): rng.choice(values) for _ in range(rng.randint(1, 4))}
        raw = json.dumps(body).encode()
        if rng.random() < 0.3:  # flip some bytes
            raw = bytearray(raw)
            for _ in range(rng.randint(1, 3)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            raw = bytes(raw)
        yield raw

def check_hostile(port, count, pid):
    rng = random.Random(7)
    before = rss(pid) if pid else 0
    statuses = {}
    bodies = hostile_bodies(rng)
    for i in range(count):
        body = next(bodies)
        if i % 50 == 25:  # an abrupt disconnect mid-body
            s = socket.create_connection((HOST, port), timeout=10)
            s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"prom")
            s.close()
            continue
        try:
            status, _ = post(port, body, timeout=30)
        except OSError:
            status = -1
        statuses[status] = statuses.get(status, 0) + 1
    alive, _ = post(port, json.dumps({"prompt": "ROMEO:", "max_tokens": 5}).encode())
    after = rss(pid) if pid else 0
    bad = {s: n for s, n in statuses.items() if not (200 <= s < 500)}
    print(f"hostile: {count} requests, statuses {dict(sorted(statuses.items()))}, still serving: {alive == 200}"
          + (f", memory {before} MiB -> {after} MiB" if pid else ""))
    return not bad and alive == 200

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("check", choices=["openai", "load", "hostile"])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--pid", type=int, default=0)
    a = parser.parse_args()
    if a.check == "openai":
        check_openai(a.port); ok = True
    elif a.check == "load":
        ok = check_load(a.port, min(a.clients, 256), min(a.seconds, 600))
    else:
        ok = check_hostile(a.port, min(a.requests, 10000), a.pid)
    sys.exit(0 if ok else 1)
