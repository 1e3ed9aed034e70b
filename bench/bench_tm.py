"""Translation-memory reuse on the seed bulletin set: how many segments need no decoding.

    python -m bench.bench_tm [FILES...]        # default: seeds/*.ar.txt

Prints, for the set: segments, distinct segments (exact and normalised), the share a first run
saves by decoding identical segments once, the share a second run saves once the first run's
segments were approved into the translation memory, and the fuzzy matches (>= 75%) between
different segments of the set.  Segmentation is the pipeline's sentence segmentation
(``segment.split_document``; the engine's further split of over-long segments is not applied).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from translate_pipe.segment import split_document
from translate_pipe.store import Store
from translate_pipe.tm import FUZZY_THRESHOLD, TranslationMemory, plan_reuse, source_key

ROOT = Path(__file__).resolve().parents[1]


def main(paths: list[Path]) -> None:
    segmented = [split_document(p.read_text(encoding="utf-8"), "ar") for p in paths]
    segments = [s for segs in segmented for s in segs]
    n = len(segments)
    print(f"documents: {len(paths)}  segments: {n}")
    print(f"distinct segments: {len({s.text for s in segments})} exact, "
          f"{len({source_key(s.text, 'ar') for s in segments})} after normalisation")
    with Store(":memory:") as store:
        first = plan_reuse(segmented, None, {})
        print(f"first run: {len(first)}/{n} segments not decoded (repeats) = {len(first) / n:.1%} saved")
        store.add_tm_units([
            {"source_lang": "ar", "target_lang": "en", "source": s.text, "source_norm": source_key(s.text, "ar"),
             "target": f"approved translation {k}", "origin": "bench"}
            for k, s in enumerate(segments)
        ])
        memory = TranslationMemory(store, "ar", "en")
        t0 = time.perf_counter()
        second = plan_reuse(segmented, memory, {})
        t1 = time.perf_counter()
        print(f"second run after approval: {sum(r.origin == 'tm' for r in second.values())}/{n} from the "
              f"translation memory, {sum(r.origin == 'repeat' for r in second.values())} repeats "
              f"= {len(second) / n:.1%} saved (lookup {1000 * (t1 - t0) / max(n, 1):.2f} ms/segment)")
        t0 = time.perf_counter()
        fuzzy = [
            (k, m.similarity) for k, s in enumerate(segments) for m in memory.fuzzy(s.text, FUZZY_THRESHOLD, limit=5)
            if m.unit.source_norm != source_key(s.text, "ar")
        ]
        t1 = time.perf_counter()
        print(f"fuzzy matches >= {FUZZY_THRESHOLD:.0f}% between different segments: {len(fuzzy)} "
              f"({1000 * (t1 - t0) / max(n, 1):.1f} ms/segment against {n} units)")


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]] or sorted((ROOT / "seeds").glob("*.ar.txt"))
    main(args)
