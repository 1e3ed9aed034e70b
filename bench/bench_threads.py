"""CTranslate2 threads and the OpenMP wait policy, one process alone and two at once.

    python -m bench.bench_threads [--lines 150] [--package PKG]

For each setting (``--threads`` = CTranslate2 intra_threads, inter_threads 1; OMP_WAIT_POLICY
ACTIVE or PASSIVE), translates the same file in one ``translate`` child process, then in two
concurrent ones (separate databases), and prints the wall time of each.  The model is the
tests' tiny memorising package, ``--align attention``; the figures depend on how busy the
machine is, so compare rows of the same run only.  README ("Operations: threads") gives the
figures the defaults were chosen from.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = [(0, "ACTIVE"), (0, "PASSIVE"), (1, "ACTIVE"), (1, "PASSIVE"), (2, "ACTIVE"), (2, "PASSIVE")]


def run(packages: Path, tmp: Path, source: Path, threads: int, policy: str, copies: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": policy}
    procs = []
    start = time.perf_counter()
    for i in range(copies):
        cmd = [
            sys.executable, "-m", "translate_pipe", "--db", str(tmp / f"t{threads}{policy}{copies}{i}.db"),
            "--packages-dir", str(packages), "translate", str(source), "-o", str(tmp / f"out{i}"),
            "--align", "attention", "--threads", str(threads),
        ]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"translate failed with --threads {threads}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=150)
    parser.add_argument("--package", type=Path)
    args = parser.parse_args()
    from tests.tinymodel import TINY_PAIRS, build_package

    with tempfile.TemporaryDirectory(prefix="bench-threads-") as name:
        tmp = Path(name)
        package = args.package or build_package(TINY_PAIRS, tmp / "pkg")
        packages = tmp / "packages"
        subprocess.run(
            [sys.executable, "-m", "translate_pipe", "--packages-dir", str(packages), "--db", str(tmp / "x.db"),
             "models", "install", "--from-file", str(package)],
            check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
        )
        sentences = [ar for ar, _ in TINY_PAIRS]
        source = tmp / "in.ar.txt"
        source.write_text("".join(f"{sentences[i % 3]}\n" for i in range(args.lines)), encoding="utf-8")
        print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; {args.lines} segments per process")
        print(f"{'--threads':>9} {'OMP_WAIT_POLICY':>15} {'alone s':>8} {'two at once s':>14}")
        for threads, policy in SETTINGS:
            alone = run(packages, tmp, source, threads, policy, 1)
            both = run(packages, tmp, source, threads, policy, 2)
            print(f"{threads:>9} {policy:>15} {alone:>8.1f} {both:>14.1f}", flush=True)


if __name__ == "__main__":
    main()
