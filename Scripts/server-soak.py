"""A soak test of a running `gpt serve`: does it run for weeks? (Loopback only; it starts nothing itself.)

  gpt serve --model /tmp/x --port 8080 &
  python3 Scripts/server-soak.py --port 8080 --pid $! [--requests 20000] [--seconds 3600] [--clients 4]

Sends `--requests` small completions from `--clients` threads (each on a kept-alive connection, every tenth on a
fresh one, every fifth streamed, every fiftieth abandoned mid-stream), bounded by `--seconds`, and samples the
server's resident memory (VmRSS of /proc/PID/status) as it goes. Then sends two 1 MB prompts at once and measures
`GET /health` while they are tokenized. Prints a summary and exits non-zero when a check fails:
  - RSS at the end within 5% of RSS after the first 1,000 requests;
  - no 5xx answer;
  - /health p99 under 100 ms while the two large prompts are tokenized.
Standard library only.
"""
import argparse, http.client, json, socket, sys, threading, time

HOST = "127.0.0.1"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


class Tally:
    """Answers by status, and the count of requests sent, shared by the client threads."""

    def __init__(self, limit):
        self.lock, self.sent, self.done, self.limit = threading.Lock(), 0, 0, limit
        self.statuses, self.errors = {}, []

    def claim(self):
        with self.lock:
            if self.sent >= self.limit:
                return None
            self.sent += 1
            return self.sent

    def record(self, status, error=None):
        with self.lock:
            self.done += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if error and len(self.errors) < 20:
                self.errors.append(error)


def body(number, stream):
    return json.dumps({"prompt": "ROMEO:", "max_tokens": 8, "temperature": 0.8, "seed": number,
                       "stream": stream}).encode()


def client(port, tally, deadline, timeout):
    connection = None
    while time.time() < deadline:
        number = tally.claim()
        if number is None:
            break
        stream, fresh, abandon = number % 5 == 0, number % 10 == 0, number % 50 == 0
        try:
            if abandon:  # a client that hangs up after the first event
                s = socket.create_connection((HOST, port), timeout=timeout)
                payload = body(number, True)
                s.sendall(f"POST /v1/completions HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
                first = s.recv(4096)
                s.close()
                status = int(first.split(b" ", 2)[1]) if first.startswith(b"HTTP/") else 0
                tally.record(status)
                continue
            if connection is None or fresh:
                if connection is not None:
                    connection.close()
                connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
            connection.request("POST", "/v1/completions", body=body(number, stream),
                               headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            data = answer.read()
            error = None
            if answer.status >= 500 or (answer.status == 200 and not stream and b'"choices"' not in data):
                error = f"{answer.status}: {data[:200]!r}"
            tally.record(answer.status, error)
        except (OSError, http.client.HTTPException) as failure:
            tally.record(0, f"{type(failure).__name__}: {failure}")
            if connection is not None:
                connection.close()
            connection = None
    if connection is not None:
        connection.close()


def health_during_large_prompts(port, prompt_bytes, unit, timeout):
    """Posts two prompts of `prompt_bytes` (`unit` repeated) at once and times GET /health until both are answered."""
    prompt = (unit * (prompt_bytes // len(unit) + 1))[:prompt_bytes]
    payload = json.dumps({"prompt": prompt, "max_tokens": 1}).encode()
    results = []

    def post():
        start = time.time()
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
            connection.request("POST", "/v1/completions", body=payload, headers={"Content-Type": "application/json"})
            answer = connection.getresponse()
            text = answer.read()[:160]
            results.append((answer.status, time.time() - start, text))
            connection.close()
        except (OSError, http.client.HTTPException) as failure:
            results.append((0, time.time() - start, str(failure).encode()))

    posters = [threading.Thread(target=post) for _ in range(2)]
    health = http.client.HTTPConnection(HOST, port, timeout=timeout)
    health.request("GET", "/health")
    health.getresponse().read()
    for poster in posters:
        poster.start()
    latencies, started = [], time.time()
    # Every 10 ms while the prompts are in flight, and for at least one second.
    while (any(p.is_alive() for p in posters) or time.time() - started < 1) and time.time() - started < timeout:
        start = time.perf_counter()
        health.request("GET", "/health")
        health.getresponse().read()
        latencies.append((time.perf_counter() - start) * 1000)
        time.sleep(0.01)
    for poster in posters:
        poster.join()
    health.close()
    return latencies, results


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id, for its RSS")
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=3600, help="stop sending after this long")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--baseline", type=int, default=1000, help="requests before the baseline RSS sample")
    parser.add_argument("--prompt-bytes", type=int, default=1000000, help="each of the two large prompts")
    parser.add_argument("--prompt-unit", default="the king of ",
                        help="the large prompts' text, repeated (no spaces: one long piece for a BPE tokenizer)")
    parser.add_argument("--timeout", type=float, default=120, help="per request, seconds")
    arguments = parser.parse_args()

    tally = Tally(arguments.requests)
    deadline = time.time() + arguments.seconds
    start = time.time()
    initial = rss_kib(arguments.pid)
    threads = [threading.Thread(target=client, args=(arguments.port, tally, deadline, arguments.timeout), daemon=True)
               for _ in range(max(1, arguments.clients))]
    for thread in threads:
        thread.start()
    baseline, samples, next_sample = None, [], 0
    while any(thread.is_alive() for thread in threads):
        done = tally.done
        if baseline is None and done >= min(arguments.baseline, arguments.requests):
            baseline = rss_kib(arguments.pid)
        if done >= next_sample:
            samples.append((done, rss_kib(arguments.pid)))
            next_sample += max(1, arguments.requests // 20)
        time.sleep(0.05)
    for thread in threads:
        thread.join()
    elapsed = time.time() - start
    final = rss_kib(arguments.pid)
    samples.append((tally.done, final))
    baseline = baseline or final

    latencies, large = health_during_large_prompts(arguments.port, arguments.prompt_bytes, arguments.prompt_unit,
                                                 arguments.timeout)
    after_large = rss_kib(arguments.pid)

    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500)
    server_errors += sum(1 for status, _, _ in large if status >= 500)
    growth = (final - baseline) / baseline
    p99 = percentile(latencies, 0.99)
    print(f"requests: {tally.done} answered of {arguments.requests} in {elapsed:.0f} s "
          f"({tally.done / max(elapsed, 1e-9):.0f}/s, {arguments.clients} clients); statuses {dict(sorted(tally.statuses.items()))}")
    print(f"RSS: {initial / 1024:.1f} MB at the start, {baseline / 1024:.1f} MB after {min(arguments.baseline, tally.done)}, "
          f"{final / 1024:.1f} MB at the end ({growth * 100:+.2f}%); {after_large / 1024:.1f} MB after the large prompts")
    print("RSS by requests answered: " + ", ".join(f"{done}: {kib / 1024:.1f}" for done, kib in samples))
    print(f"/health while two {arguments.prompt_bytes}-byte prompts were tokenized: {len(latencies)} answers, "
          f"p50 {percentile(latencies, 0.5):.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms")
    for status, seconds, text in large:
        print(f"  large prompt: {status} after {seconds:.2f} s: {text.decode('utf-8', 'replace')[:120]}")
    for error in tally.errors:
        print(f"  error: {error}")
    failures = []
    if tally.done < arguments.requests:
        failures.append(f"only {tally.done} of {arguments.requests} requests answered within {arguments.seconds} s")
    if growth > 0.05:
        failures.append(f"RSS grew {growth * 100:.1f}% after the first {arguments.baseline} requests")
    if server_errors:
        failures.append(f"{server_errors} answers were 5xx")
    if not p99 < 100:
        failures.append(f"/health p99 {p99:.1f} ms during the large prompts")
    if tally.statuses.get(0):
        failures.append(f"{tally.statuses[0]} requests failed at the connection")
    print("FAIL: " + "; ".join(failures) if failures else "OK")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
