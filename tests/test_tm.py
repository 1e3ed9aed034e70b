"""Translation memory: keys, fuzzy similarity, reuse planning, TMX reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from translate_pipe.records import Segment, TermMatch
from translate_pipe.store import Store
from translate_pipe.tm import TranslationMemory, plan_reuse, read_tmx, similarity, source_key

from .reviewloop import PX_2

SIMILARITY = [
    # (case, a, b, percent)
    ("identical", PX_2, PX_2, 100.0),
    ("diacritics and alef forms only", "أعلنَتْ الأُمم المتحدة", "اعلنت الامم المتحده", 100.0),
    ("one word of eight substituted", PX_2, PX_2.replace("تركيا", "إيران"), 87.5),
    ("one word of eight deleted", PX_2, PX_2.replace(" تركيا", ""), 87.5),
    ("disjoint", "روسيا وتركيا", "مجلس الأمن", 0.0),
    ("both empty", "", "", 100.0),
]


@pytest.mark.parametrize(("case", "a", "b", "percent"), SIMILARITY, ids=[c[0] for c in SIMILARITY])
def test_similarity(case: str, a: str, b: str, percent: float) -> None:
    assert similarity(source_key(a, "ar"), source_key(b, "ar")) == pytest.approx(percent)


def _store_with(units: list[tuple[str, str]]) -> Store:
    store = Store(":memory:")
    store.add_tm_units([
        {"source_lang": "ar", "target_lang": "en", "source": s, "source_norm": source_key(s, "ar"), "target": t,
         "origin": "test"} for s, t in units
    ])
    return store


def _seg(index: int, text: str, start: int) -> Segment:
    return Segment(index=index, start=start, end=start + len(text), text=text)


REUSE = [
    # (case, TM units, segments of one document, glossary targets per segment, expected origins, None = decoded)
    ("repeat decoded once", [], ["أ ب", "ج د", "أ ب"], {}, [None, None, "repeat"]),
    ("exact TM match", [("أ ب", "A B")], ["أ ب", "ج د"], {}, ["tm", None]),
    ("TM match through normalisation", [("أَ ب", "A B")], ["أ ب"], {}, ["tm"]),
    ("TM target lacks the glossary target: decoded", [("أ ب", "A B")], ["أ ب"], {0: "ceasefire"}, [None]),
    ("TM target has the glossary target", [("أ ب", "the ceasefire")], ["أ ب"], {0: "ceasefire"}, ["tm"]),
    ("repeat of a TM match is from the TM", [("أ ب", "A B")], ["أ ب", "أ ب"], {}, ["tm", "tm"]),
]


@pytest.mark.parametrize(("case", "units", "texts", "terms", "expected"), REUSE, ids=[c[0] for c in REUSE])
def test_plan_reuse(case: str, units: list[tuple[str, str]], texts: list[str], terms: dict[int, str],
                    expected: list[str | None]) -> None:
    with _store_with(units) as store:
        segs, pos = [], 0
        for k, text in enumerate(texts):
            segs.append(_seg(k, text, pos))
            pos += len(text) + 1
        matches = {(0, k): [TermMatch("x", target, segs[k].start, segs[k].start + 1, "x")] for k, target in terms.items()}
        plan = plan_reuse([segs], TranslationMemory(store, "ar", "en"), matches)
        assert [plan[(0, k)].origin if (0, k) in plan else None for k in range(len(texts))] == expected


TMX_HEAD = '<?xml version="1.0"?><tmx version="1.4"><header srclang="ar-SA" segtype="sentence" o-tmf="x" adminlang="en" datatype="plaintext" creationtool="x" creationtoolversion="1"/><body>'


@pytest.mark.parametrize(
    ("case", "body", "units", "skipped"),
    [
        ("regional codes", '<tu><tuv xml:lang="ar-SA"><seg>أ</seg></tuv><tuv xml:lang="en-GB"><seg>A</seg></tuv></tu>', [("أ", "A")], 0),
        ("inline codes dropped, hi kept", '<tu><tuv xml:lang="ar"><seg>أ<ph>&lt;b/&gt;</ph> ب</seg></tuv><tuv xml:lang="en"><seg><hi>A</hi> B<bpt i="1">{</bpt></seg></tuv></tu>', [("أ ب", "A B")], 0),
        ("no English: skipped", '<tu><tuv xml:lang="ar"><seg>أ</seg></tuv><tuv xml:lang="fr"><seg>A</seg></tuv></tu>', [], 1),
        ("empty segment: skipped", '<tu><tuv xml:lang="ar"><seg>أ</seg></tuv><tuv xml:lang="en"><seg> </seg></tuv></tu>', [], 1),
    ],
)
def test_read_tmx(tmp_path: Path, case: str, body: str, units: list[tuple[str, str]], skipped: int) -> None:
    path = tmp_path / "t.tmx"
    path.write_text(TMX_HEAD + body + "</body></tmx>", encoding="utf-8")
    data = read_tmx(path, "ar", "en")
    assert (data.units, data.skipped) == (units, skipped)


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
@pytest.mark.parametrize("index", ["dict", "temporary database"])
def test_planning_chunk_by_chunk_is_planning_at_once(chunk: int, index: str) -> None:
    """The pipeline plans a chunk at a time against an index of the texts met so far (in a
    temporary database, so memory stays bounded): the same plan as all segments at once."""
    from translate_pipe.store import SeenStore
    from translate_pipe.tm import DictIndex, ReusePlanner

    texts = ["أ ب", "ج د", "أ ب", "هـ و", "ج د", "أَ ب", "أ ب", "ز"]
    with _store_with([("هـ و", "E F")]) as store:
        docs, pos = [[], []], 0
        for k, text in enumerate(texts):
            docs[k % 2].append(_seg(k // 2, text, pos))
            pos += len(text) + 1
        memory = TranslationMemory(store, "ar", "en")
        expected = plan_reuse(docs, memory, {})
        seen = SeenStore() if index == "temporary database" else DictIndex()
        planner = ReusePlanner(seen, memory)
        items = [((d, s.index), s, []) for d, segs in enumerate(docs) for s in segs]
        plan = {}
        for i in range(0, len(items), chunk):
            plan.update(planner.plan(items[i : i + chunk]))
        assert plan == expected
        assert sorted(r.origin for r in plan.values()) == ["repeat", "repeat", "repeat", "tm"]


def test_planning_in_another_thread_with_a_copy_of_the_memory() -> None:
    """A decoder may read a run's chunks (and so plan them) in a thread of its own: the
    planner then looks the translation memory up in the run's copy of it, not the store."""
    import threading

    from translate_pipe.store import SeenStore
    from translate_pipe.tm import MemorySnapshot, ReusePlanner

    units = [("هـ و", "E F"), ("هـ و", "E G"), ("ز", "Z")]
    texts = ["أ ب", "هـ و", "أ ب", "هـ و", "ز", "ح"]
    with _store_with(units) as store:
        segs, pos = [], 0
        for k, text in enumerate(texts):
            segs.append(_seg(k, text, pos))
            pos += len(text) + 1
        expected = plan_reuse([segs], TranslationMemory(store, "ar", "en"), {})
        seen = SeenStore()
        seen.copy_memory(store, "ar", "en")
        planner = ReusePlanner(seen, MemorySnapshot(seen, "ar"))
        got: dict = {}
        worker = threading.Thread(target=lambda: got.update(planner.plan([((0, s.index), s, []) for s in segs])))
        worker.start()
        worker.join()
        assert got == expected
        assert [got[(0, k)].origin if (0, k) in got else None for k in range(len(texts))] == [
            None, "tm", "repeat", "tm", "tm", None]
