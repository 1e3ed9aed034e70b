"""Cost of terminology-constrained translation vs unconstrained, on the same input.

    python -m bench.bench_constrained [--package PKG.argosmodel] [--segments 300] [--share 0.3]

The input has a realistic share (default 30%) of segments carrying glossary terms of the
curated glossary (glossaries/diplomatic.csv).  With the random-weight benchmark model (built by
bench/make_bench_model.py when --package is not given) no term is ever produced by the model,
so every term goes through the full enforcement path: the worst case.  Target (issue 4): the
constrained run costs at most 1.5 x the unconstrained run.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from bench.bench_translate import arabic_lines, build_package, install

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", type=Path)
    ap.add_argument("--segments", type=int, default=300)
    ap.add_argument("--share", type=float, default=0.3)
    ap.add_argument("--max-length", type=int, default=48)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    from translate_pipe import api
    from translate_pipe.store import Store

    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        pkg = args.package or build_package(tmp / "model")
        packages_dir = tmp / "packages"
        info = install(pkg, packages_dir)
        db = tmp / "bench.db"
        with Store(db) as store:
            api.glossary_import(store, "diplomatic", ROOT / "glossaries" / "diplomatic.csv", author="bench")
            matcher = api.glossary_matcher(store, "diplomatic")
            terms = [st.term.source for st in api.glossary_terms(store, "diplomatic")]
        rng = random.Random(7)
        lines = [x for x in arabic_lines(args.segments * 3) if not matcher.find(x)][: args.segments]
        n_terms = int(round(args.share * len(lines)))
        for i in rng.sample(range(len(lines)), n_terms):
            words = lines[i].split()
            k = rng.randrange(len(words))
            lines[i] = " ".join(words[:k] + [rng.choice(terms)] + words[k:])
        with_terms = sum(1 for x in lines if matcher.find(x))
        src = tmp / "in.ar.txt"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        api.load_engine(info, threads=args.threads)
        common = dict(
            db=db,
            packages_dir=packages_dir,
            from_code=info.from_code,
            to_code=info.to_code,
            output_dir=tmp / "out",
            max_length=args.max_length,
            threads=args.threads,
            max_source_tokens=10_000,
        )
        start = time.perf_counter()
        api.translate([str(src)], **common)  # type: ignore[arg-type]
        plain = time.perf_counter() - start
        start = time.perf_counter()
        result = api.translate([str(src)], glossary="diplomatic", **common)  # type: ignore[arg-type]
        constrained = time.perf_counter() - start
        outcomes = [o for d in result.run.documents for s in d.segments for o in s.terms]
        by_status: dict[str, int] = {}
        for o in outcomes:
            by_status[o.status] = by_status.get(o.status, 0) + 1
        print(f"package {info.name}; {len(lines)} segments, {with_terms} with terms ({with_terms / len(lines):.0%})")
        print(f"unconstrained: {plain:7.2f} s  {len(lines) / plain:7.1f} seg/s")
        print(f"constrained:   {constrained:7.2f} s  {len(lines) / constrained:7.1f} seg/s")
        print(f"terms: {len(outcomes)} ({', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))})")
        print(f"constrained / unconstrained: {constrained / plain:.2f}x   (target <= 1.50)")


if __name__ == "__main__":
    main()
