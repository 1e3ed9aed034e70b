"""Cost of terminology enforcement and precision of word alignment, on a model that translates.

    python -m bench.bench_enforcement [--segments 600] [--repeat 3]

The model is the test suite's enforcement model (tests/tinymodel.py, built and cached on first
use; needs the ``test`` extra): a generalising template model trained WITHOUT guided alignment
that renders seven glossary terms wrongly, so the enforcement path really runs.  The input is
the same held-out sentences for every row; what changes is the glossary: every term (100% of
segments carry terms) or a subset chosen so that about 30% of segments carry one.

For each alignment method (``--align predict``, the default, and ``attention``) it prints the
unconstrained time, the constrained time at 30% and 100% (rendering cache warm: the model's
renderings of the glossary terms are decoded once per model and kept in the database; the cold
first run is printed too) and the ratios.  Targets (issue 8): at most 1.5x at 30% and 3x at
100%.  Then the precision of each method's word links against the gold links of the
sentences, and the share of gold-linked target words that get a link, on the unsupervised
model and on the same model trained with guided alignment.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any


def _glossary(path: Path, entries: dict[str, str]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["source", "target"])
        w.writerows(sorted(entries.items()))


def _run(cli: Any, db: Path, packages: Path, doc: Path, out: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    r = cli(db, packages, "translate", str(doc), "-o", str(out), "--json", "--threads", "2", *extra)
    elapsed = time.perf_counter() - start
    if r.exit_code != 0:
        raise SystemExit(f"translate failed: {r.output}")
    return elapsed, json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segments", type=int, default=600)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from typer.testing import CliRunner

    from tests.tinymodel import _TERMS, build_enforcement_package, enforcement_split, link_precision
    from translate_pipe.cli import app
    from translate_pipe.glossary import Matcher
    from translate_pipe.records import Term

    runner = CliRunner()

    def cli(db: Path, packages: Path, *a: str) -> Any:
        return runner.invoke(app, ["--db", str(db), "--packages-dir", str(packages), *a])

    _, pairs = enforcement_split(n_test=args.segments)
    full = {ar: en for ar, _, en, _ in _TERMS}
    full.update({"أستانا": "Astana", "الغوطة الشرقية": "Eastern Ghouta"})
    # a subset of terms that about 30% of the sentences carry
    share30: dict[str, str] = {}
    for ar, en in sorted(full.items(), key=lambda kv: kv[0]):
        trial = {**share30, ar: en}
        m = Matcher([Term(a, e) for a, e in trial.items()])
        if sum(1 for p in pairs if m.find(p.source)) <= 0.3 * len(pairs):
            share30 = trial
    shares = {}
    for name, entries in (("30%", share30), ("100%", full)):
        m = Matcher([Term(a, e) for a, e in entries.items()])
        shares[name] = sum(1 for p in pairs if m.find(p.source)) / len(pairs)

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        doc = tmp / "in.ar.txt"
        doc.write_text("\n".join(p.source for p in pairs) + "\n", encoding="utf-8")
        for name, entries in (("g30", share30), ("g100", full)):
            _glossary(tmp / f"{name}.csv", entries)
        rows = []
        precisions = {}
        for guided in (False, True):
            label = "guided" if guided else "unsupervised"
            pkg = build_enforcement_package(tmp / f"model-{label}", guided=guided)
            packages, db = tmp / f"packages-{label}", tmp / f"{label}.db"
            assert cli(db, packages, "models", "install", "--from-file", str(pkg)).exit_code == 0
            for g in ("g30", "g100"):
                assert cli(db, packages, "glossary", "import", str(tmp / f"{g}.csv"), "--name", g).exit_code == 0
            for method in ("predict", "attention"):
                out = _run(cli, db, packages, doc, tmp / "o", "--align", method)
                precisions[(label, method)] = link_precision(pairs, out[1]["documents"][0]["segments"])
            if guided:
                continue
            for method in ("predict", "attention"):
                times: dict[str, list[float]] = {"plain": [], "g30": [], "g100": []}
                _run(cli, db, packages, doc, tmp / "o", "--align", method)  # warm-up: model load, imports
                cold = {}
                for g in ("g30", "g100"):  # cold: a database without cached renderings
                    cold_db = tmp / f"cold-{method}-{g}.db"
                    assert cli(cold_db, packages, "glossary", "import", str(tmp / f"{g}.csv"), "--name", g).exit_code == 0
                    cold[g] = _run(cli, cold_db, packages, doc, tmp / "o", "--align", method, "--glossary", g)[0]
                for _ in range(args.repeat):
                    times["plain"].append(_run(cli, db, packages, doc, tmp / "o", "--align", method)[0])
                    for g in ("g30", "g100"):
                        times[g].append(_run(cli, db, packages, doc, tmp / "o", "--align", method, "--glossary", g)[0])
                med = {k: statistics.median(v) for k, v in times.items()}
                rows.append((method, med, cold))

    n = len(pairs)
    print(f"{n} held-out segments; segments with terms: 30% glossary {shares['30%']:.0%}, full glossary {shares['100%']:.0%}")
    print(f"median of {args.repeat} runs, 2 threads, unsupervised enforcement model")
    print(f"{'align':10} {'plain s':>8} {'30% s':>8} {'100% s':>8} {'30%/plain':>10} {'100%/plain':>11} {'cold 30%':>9} {'cold 100%':>10}")
    for method, med, cold in rows:
        print(
            f"{method:10} {med['plain']:8.2f} {med['g30']:8.2f} {med['g100']:8.2f} "
            f"{med['g30'] / med['plain']:9.2f}x {med['g100'] / med['plain']:10.2f}x "
            f"{cold['g30'] / med['plain']:8.2f}x {cold['g100'] / med['plain']:9.2f}x"
        )
    print("targets: 30% <= 1.50x, 100% <= 3.00x")
    print()
    print(f"{'model':14} {'align':10} {'precision':>9} {'coverage':>9}")
    for (label, method), (p, c) in sorted(precisions.items()):
        print(f"{label:14} {method:10} {p:9.3f} {c:9.3f}")


if __name__ == "__main__":
    main()
