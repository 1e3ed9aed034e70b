"""Load test of ``translate-pipe serve``: concurrent clients vs the same requests one at a time.

    python -m bench.bench_serve [--model template|realistic|PKG.argosmodel] [--clients 8]
                                [--requests 200] [--sequential 200] [--threads 1]

Starts real servers on free 127.0.0.1 ports (loopback only) and sends LibreTranslate requests
with the real ``libretranslatepy`` client, each of one to three sentences (one per line):

  sequential   one client, requests one at a time, server with --batch-wait-ms 0 (no waiting:
               a request is decoded alone as soon as it arrives): the baseline
  concurrent   --clients clients x --requests requests each, server with --batch-wait-ms 5:
               requests arriving within 5 ms are decoded in one batch

Prints errors (must be 0), throughput (requests/s and segments/s) of both and their ratio
(target: dynamic batching >= 3 x), p50/p95 latency, and the servers' peak RSS (VmHWM).
The sequential baseline runs the first --sequential requests of the same list (it is the slow
one; rates are per request, so the ratio compares like with like).

Models: ``template`` (default) is the small guided-alignment model of the tests (real
translations, tiny and fast: HTTP overhead dominates); ``realistic`` is
``bench/make_bench_model.py``'s 6+6-layer d512 int8 random model (decoding dominates, as with
a real Argos model; random weights decode to the length bound, the same work on both paths).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
from pathlib import Path

from tests.servers import Client, running_server
from tests.tinymodel import build_template_package, template_pairs

ROOT = Path(__file__).resolve().parent.parent


def make_requests(n: int, seed: int = 1) -> list[str]:
    sentences = [p.source for p in template_pairs(600, seed=seed)]
    rng = random.Random(seed)
    return ["\n".join(rng.sample(sentences, rng.randint(1, 3))) for _ in range(n)]


def package_for(model: str, tmp: Path) -> Path:
    if model == "template":
        return build_template_package(tmp / "template")
    if model == "realistic":
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "make_bench_model.py"), str(tmp / "realistic")],
            check=True, capture_output=True, text=True,
        ).stdout.strip().splitlines()[-1]
        return Path(out)
    return Path(model)


def peak_rss_mib(url_port: int) -> float:
    """VmHWM of the server process listening on the port (found through /proc)."""
    import os

    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(f":{url_port:04X}") and parts[3] == "0A":
            inode = parts[9]
    if inode is None:
        return float("nan")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                        if line.startswith("VmHWM:"):
                            return int(line.split()[1]) / 1024
        except OSError:
            continue
    return float("nan")


def run_clients(url: str, batches: list[list[str]]) -> tuple[float, list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(batches))

    def worker(reqs: list[str]) -> None:
        client = Client(url)
        barrier.wait()
        for q in reqs:
            t0 = time.perf_counter()
            try:
                out = client.translate(q, "ar", "en", timeout=300)
                ok = isinstance(out, str) and out.strip()
            except (urllib.error.URLError, OSError, ValueError) as exc:
                ok, out = False, repr(exc)
            dt = time.perf_counter() - t0
            with lock:
                latencies.append(dt)
                if not ok:
                    errors.append(str(out)[:200])

    threads = [threading.Thread(target=worker, args=(b,)) for b in batches]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, latencies, errors


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[int(p) - 1] if len(values) > 1 else values[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="template")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--sequential", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-wait-ms", type=float, default=5.0)
    args = ap.parse_args()

    from translate_pipe.models import install_from_file

    with tempfile.TemporaryDirectory(prefix="bench-serve-") as d:
        tmp = Path(d)
        packages = tmp / "packages"
        install_from_file(package_for(args.model, tmp), packages)
        reqs = make_requests(args.clients * args.requests)
        n_segments = [q.count("\n") + 1 for q in reqs]
        common = ["--threads", str(args.threads), "--queue-size", str(4 * args.clients), "--char-limit", "-1"]

        with running_server(tmp / "seq.db", packages, "--batch-wait-ms", "0", *common) as url:
            run_clients(url, [reqs[:5]])  # warm-up
            seq_n = min(args.sequential, len(reqs))
            seq_time, seq_lat, seq_err = run_clients(url, [reqs[:seq_n]])
            seq_rss = peak_rss_mib(int(url.rsplit(":", 1)[1].strip("/")))
        with running_server(tmp / "conc.db", packages, "--batch-wait-ms", str(args.batch_wait_ms), *common) as url:
            run_clients(url, [reqs[:5]])
            per_client = [reqs[i * args.requests : (i + 1) * args.requests] for i in range(args.clients)]
            conc_time, conc_lat, conc_err = run_clients(url, per_client)
            conc_rss = peak_rss_mib(int(url.rsplit(":", 1)[1].strip("/")))

        seq_rps = seq_n / seq_time
        conc_rps = len(reqs) / conc_time
        print(f"model: {args.model}; requests of 1-3 sentences ({sum(n_segments) / len(reqs):.2f} on average)")
        print(
            f"sequential  {seq_n} requests one at a time: {seq_time:7.1f} s, {seq_rps:6.1f} req/s, "
            f"{sum(n_segments[:seq_n]) / seq_time:6.1f} seg/s, p50 {1000 * pct(seq_lat, 50):6.1f} ms, "
            f"p95 {1000 * pct(seq_lat, 95):6.1f} ms, errors {len(seq_err)}, server peak RSS {seq_rss:.0f} MiB"
        )
        print(
            f"concurrent  {args.clients} clients x {args.requests}: {conc_time:7.1f} s, {conc_rps:6.1f} req/s, "
            f"{sum(n_segments) / conc_time:6.1f} seg/s, p50 {1000 * pct(conc_lat, 50):6.1f} ms, "
            f"p95 {1000 * pct(conc_lat, 95):6.1f} ms, errors {len(conc_err)}, server peak RSS {conc_rss:.0f} MiB"
        )
        print(f"dynamic batching: {conc_rps / seq_rps:.2f} x the throughput of one at a time (target >= 3 x)")
        for e in (seq_err + conc_err)[:5]:
            print("error:", e)


if __name__ == "__main__":
    main()
