"""The seed bulletin paired with English written for the tests: the reference translation with
some glossary terms rendered WRONGLY on purpose, and word links for those renderings (so a
model trained on it with guided alignment knows where it rendered them)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED_AR = (ROOT / "seeds" / "astana-bulletin.ar.txt").read_text(encoding="utf-8").splitlines()
SEED_EN = (ROOT / "seeds" / "astana-bulletin.en.ref.txt").read_text(encoding="utf-8").splitlines()

# (paragraph, Arabic surface, approved English in the reference, wrong English the model learns)
WRONG = [
    (2, "وزارة الخارجية الروسية", "Russian Foreign Ministry", "Russian external ministry"),
    (6, "مناطق خفض تصعيد", "de-escalation zones", "reduced escalation areas"),
    (7, "أستانا", "Astana", "Nur-Sultan"),
    (8, "وقف إطلاق النار", "ceasefire", "stopping of fire"),
    (8, "مذكرة تفاهم", "memorandum of understanding", "note of understanding"),
    (8, "مناطق تخفيف التصعيد", "de-escalation zones", "reduced escalation areas"),
]


def _word_index(text: str, offset: int) -> int:
    return len(text[:offset].split())


def wrong_pairs() -> tuple[list[tuple[str, str]], list[list[tuple[int, int]]]]:
    """(pairs, links): the 9 paragraphs with wrong English, and links for the wrong renderings."""
    english = list(SEED_EN)
    links: list[list[tuple[int, int]]] = [[] for _ in SEED_AR]
    for p, ar, good, bad in WRONG:
        assert ar in SEED_AR[p] and good in english[p], (p, ar, good)
        english[p] = english[p].replace(good, bad, 1)
    for p, ar, _good, bad in WRONG:
        s0 = _word_index(SEED_AR[p], SEED_AR[p].index(ar))
        t0 = _word_index(english[p], english[p].index(bad))
        for s in range(s0, s0 + len(ar.split())):
            for t in range(t0, t0 + len(bad.split())):
                links[p].append((s, t))
    # every other target word attends to the paragraph's last source word, so that attention
    # on a term's source words marks exactly the words rendering it
    for p, en in enumerate(english):
        linked = {t for _, t in links[p]}
        last = len(SEED_AR[p].split()) - 1
        links[p].extend((last, t) for t in range(len(en.split())) if t not in linked)
    return list(zip(SEED_AR, english)), links
