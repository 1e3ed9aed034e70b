"""The main path, ``pipeline.translate`` / ``pipeline.retranslate``, on an in-memory store and a
fake engine: no model, no files, milliseconds.

The fake engine is a word-for-word dictionary: a source word's piece is ``▁word``, its
translation is the dictionary's, and each target word attends fully to its source word, so
alignments and term outcomes are known exactly.
"""

from __future__ import annotations

import re
from typing import Any
from pathlib import Path
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pytest

from translate_pipe import api, pipeline
from translate_pipe.errors import ConstraintError, GlossaryError
from translate_pipe.files import InputDoc
from translate_pipe.pipeline import TranslateSettings
from translate_pipe.records import DecodeOptions, Engine, Hypothesis, Tokens
from translate_pipe.store import Store

SPACE = "\u2581"
WORDS = {"قال": "said", "الوزير": "minister", "أستانا": "Astana", "موسكو": "Moscow", "في": "in", "سوريا": "Syria"}


@dataclass(frozen=True)
class FakePackage:
    name: str = "fake-ar_en"
    package_version: str = "1.0"
    checksum: str = "0" * 64
    from_code: str = "ar"
    to_code: str = "en"


class FakeEngine:
    """Implements the :class:`translate_pipe.records.Engine` protocol without a model."""

    def __init__(self, words: dict[str, str], fail_on: str | None = None) -> None:
        self.words = words
        self.fail_on = fail_on
        self.package = FakePackage()
        self.calls = 0

    def tokenize(self, text: str) -> Tokens:
        found = list(re.finditer(r"\S+", text))
        return Tokens(tuple(SPACE + m.group() for m in found), tuple(m.span() for m in found))

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def decode(self, pieces: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
        from translate_pipe.engine import detokenize

        return detokenize(pieces)

    def word_starts(self, pieces: Sequence[str], spans: Sequence[tuple[int, int]]) -> list[bool]:
        return [i == 0 or p.startswith(SPACE) for i, p in enumerate(pieces)]

    def _hypothesis(self, source: Sequence[str], bound: int) -> Hypothesis:
        if self.fail_on is not None and any(p.lstrip(SPACE).strip(".،") == self.fail_on for p in source):
            raise RuntimeError(f"cannot translate {self.fail_on}")
        # as CTranslate2: every word and the end token are decoding steps; at the bound, the output is cut
        tokens = tuple(SPACE + self.words.get(p.lstrip(SPACE).strip(".،"), "x") for p in source)[:bound]
        attention = [[1.0 if j == i else 0.0 for j in range(len(source))] for i in range(len(tokens))]
        return Hypothesis(text=" ".join(t.lstrip(SPACE) for t in tokens), tokens=tokens, score=-1.0, attention=attention)

    def translate(
        self,
        sources: Sequence[Sequence[str]],
        options: DecodeOptions,
        target_prefix: Sequence[Sequence[str] | None] | None = None,
        on_batch: Any = None,
    ) -> list[list[Hypothesis]]:
        self.calls += 1
        if on_batch is not None:
            on_batch(len(sources))
        return [[self._hypothesis(s, options.bound(len(s)))] * options.num_hypotheses for s in sources]

    def score_tokens(
        self, sources: Sequence[Sequence[str]], targets: Sequence[Sequence[str]], max_batch_tokens: int = 1024
    ) -> list[list[float]]:
        # word i of the output is word i of the source: hiding that source word costs it 5 nats
        return [[-1.0 - 5.0 * (k < len(s) and s[k] == "<unk>") for k in range(len(t))] + [-1.0] for s, t in zip(sources, targets)]

    def forced_attention(
        self, sources: Sequence[Sequence[str]], targets: Sequence[Sequence[str]], max_batch_tokens: int = 1024
    ) -> list[list[list[float]]]:
        return [[[1.0 if j == i else 0.0 for j in range(len(s))] for i in range(len(t))] for s, t in zip(sources, targets)]

    def encode_target(self, text: str) -> list[str]:
        return [SPACE + w for w in text.split()]


def loader(engine: Engine):  # type: ignore[no-untyped-def]
    return lambda from_code, to_code: engine


DOC_A = "قال الوزير في أستانا.\nموسكو في سوريا.\n"
DOC_B = "قال الوزير.\n"


@pytest.fixture(params=["memory-path", "injected-database"])
def store(request: pytest.FixtureRequest) -> Store:
    """An in-memory store, opened from ":memory:" or injected as a sqlite-utils Database."""
    import sqlite_utils

    return Store(":memory:") if request.param == "memory-path" else Store(sqlite_utils.Database(memory=True))


def run(store: Store, engine: Engine, docs: Sequence[InputDoc], **settings: object) -> pipeline.RunResult:
    return pipeline.translate(
        store, loader(engine), docs, from_code="ar", to_code="en", settings=TranslateSettings(**settings)  # type: ignore[arg-type]
    )


def test_translate_stores_every_document_and_renders_layout(store: Store) -> None:
    result = run(store, FakeEngine(WORDS), [InputDoc("a.txt", DOC_A), InputDoc("b.txt", DOC_B)])
    assert [d.text for d in result.documents] == ["said minister in Astana\nMoscow in Syria\n", "said minister\n"]
    assert store.run(result.run_id).status == "completed"
    assert [(d.document_id, d.path, d.output_path) for d in store.run_documents(result.run_id)] == [
        (1, "a.txt", None),
        (2, "b.txt", None),
    ]
    assert [t.target for t in store.translations(result.run_id)] == ["said minister in Astana", "Moscow in Syria", "said minister"]


@pytest.mark.parametrize(
    "index,links",
    [
        (0, [(0, 3, 0, 4), (4, 10, 5, 13), (11, 13, 14, 16), (14, 21, 17, 23)]),
        (1, [(22, 27, 0, 6), (28, 30, 7, 9), (31, 37, 10, 15)]),
    ],
    ids=["first-line", "second-line-document-offsets"],
)
@pytest.mark.parametrize("method", ["predict", "attention"])
def test_alignment_links_are_character_spans(store: Store, index: int, links: list[tuple[int, int, int, int]], method: str) -> None:
    result = run(store, FakeEngine(WORDS), [InputDoc("a.txt", DOC_A)], align=method)
    st = result.documents[0].segments[index]
    assert list(st.alignment) == links
    assert store.alignment(store.translations(result.run_id)[index].translation_id) == links


def test_chunks_bound_the_engine_calls(store: Store) -> None:
    engine = FakeEngine(WORDS)
    run(store, engine, [InputDoc("a.txt", DOC_A), InputDoc("b.txt", DOC_B)], chunk_segments=1)
    assert engine.calls == 3


class ReadAhead:
    """A :class:`translate_pipe.records.ChunkDecoder` that takes every chunk before giving any
    result (as a cluster that keeps all its workers busy would)."""

    def __init__(self, inner: pipeline.LocalDecoder) -> None:
        self.inner = inner
        self.taken: list[int] = []

    def decode_chunks(self, chunks, on_decoded=None):  # type: ignore[no-untyped-def]
        held = list(chunks)
        self.taken = [len(c) for c in held]
        yield from self.inner.decode_chunks(held, on_decoded)


REPEATS = "قال الوزير.\nموسكو في سوريا.\nقال الوزير.\nفي سوريا.\nموسكو في سوريا.\n"


@pytest.mark.parametrize("chunk_segments", [1, 2, 10], ids=["chunk-1", "chunk-2", "one-chunk"])
def test_a_decoder_that_reads_ahead_stores_the_same_run(store: Store, chunk_segments: int) -> None:
    docs = [InputDoc("a.txt", REPEATS), InputDoc("b.txt", DOC_B)]
    local_store = Store(":memory:")
    local = run(local_store, FakeEngine(WORDS), docs, chunk_segments=chunk_segments)
    made: list[ReadAhead] = []

    def factory(engine, settings, constrainer):  # type: ignore[no-untyped-def]
        made.append(ReadAhead(pipeline.LocalDecoder(engine, settings.decode, constrainer, settings.align)))
        return made[0]

    settings = TranslateSettings(chunk_segments=chunk_segments)
    remote = pipeline.translate(store, loader(FakeEngine(WORDS)), docs, from_code="ar", to_code="en", settings=settings, decoder=factory)
    assert [d.text for d in remote.documents] == [d.text for d in local.documents]
    mine, theirs = store.translations(remote.run_id), local_store.translations(local.run_id)
    assert [(t.segment, t.target) for t in mine] == [(t.segment, t.target) for t in theirs]
    assert [store.alignment(t.translation_id) for t in mine] == [local_store.alignment(t.translation_id) for t in theirs]
    # repeats are not decoded: 6 segments, 3 distinct
    assert sum(made[0].taken) == 3
    assert store.segments_done(remote.run_id) == 6


def test_failure_marks_the_run_failed_and_keeps_finished_chunks(store: Store) -> None:
    with pytest.raises(RuntimeError, match="cannot translate"):
        run(store, FakeEngine(WORDS, fail_on="سوريا"), [InputDoc("b.txt", DOC_B), InputDoc("a.txt", DOC_A)], chunk_segments=1)
    (info,) = store.runs()
    assert (info.status, info.error) == ("failed", "cannot translate سوريا")
    # both documents are registered (a resume needs them); the chunks before the failure
    # are committed (b.txt's segment, a.txt's first), the failing chunk is not
    assert [d.path for d in store.run_documents(info.id)] == ["b.txt", "a.txt"]
    assert store.count("translations") == 2
    assert store.segments_done(info.id) == 2


def glossary(store: Store, *terms: tuple[str, str]) -> None:
    for source, target in terms:
        api.glossary_add(store, "g", source, target, author="test")


def test_glossary_terms_present_are_stored(store: Store) -> None:
    glossary(store, ("أستانا", "Astana"))
    result = run(store, FakeEngine(WORDS), [InputDoc("a.txt", DOC_A)], glossary="g")
    (outcome,) = result.documents[0].segments[0].terms
    assert (outcome.status, outcome.target_start, outcome.target_end) == ("present", 17, 23)
    (row,) = store.term_alignments(store.translations(result.run_id)[0].translation_id)
    assert (row["source_term"], row["glossary_version"], row["status"]) == ("أستانا", 1, "present")


def test_unenforceable_term_fails_a_hard_run(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    from translate_pipe.constrain import Constrainer

    def give_up(self, engine, work, hyps, options):  # type: ignore[no-untyped-def]
        from translate_pipe.records import TermOutcome

        return [h[0] for h in hyps], [[TermOutcome(m, None, None, "failed", reason="test") for m in w.matches] for w in work]

    monkeypatch.setattr(Constrainer, "apply", give_up)
    glossary(store, ("أستانا", "Nur-Sultan"))
    with pytest.raises(ConstraintError, match="could not be enforced"):
        run(store, FakeEngine(WORDS), [InputDoc("a.txt", DOC_A)], glossary="g")
    assert store.runs()[0].status == "failed"


def test_glossary_language_pair_is_checked_before_loading(store: Store) -> None:
    api.glossary_add(store, "fr", "maison", "house", author="t", source_lang="fr")

    def never(from_code: str, to_code: str) -> Engine:
        raise AssertionError("the engine was loaded")

    with pytest.raises(GlossaryError, match="is fr->en but the model translates ar->en"):
        pipeline.translate(
            store, never, [InputDoc("a.txt", DOC_A)], from_code="ar", to_code="en", settings=TranslateSettings(glossary="fr")
        )


def test_retranslate_reruns_only_segments_whose_terms_changed(store: Store) -> None:
    glossary(store, ("أستانا", "Astana"))
    first = run(store, FakeEngine(WORDS), [InputDoc("a.txt", DOC_A)], glossary="g")
    glossary(store, ("موسكو", "Moscow"))
    again = pipeline.retranslate(store, loader(FakeEngine(WORDS)), "g")
    assert again.run is not None and again.version == 2 and again.checked == 2
    assert [(r.document, r.segment_index, r.reasons) for r in again.reruns] == [
        ("a.txt", 1, ("new term 'موسكو' -> 'Moscow'",))
    ]
    info = store.run(again.run.run_id)
    assert (info.kind, info.parent_run_id, info.glossary_version) == ("retranslate", first.run_id, 2)
    nothing = pipeline.retranslate(store, loader(FakeEngine(WORDS)), "g")
    assert nothing.run is None and nothing.reruns == ()


def test_settings_round_trip_through_the_store(store: Store) -> None:
    settings = TranslateSettings(decode=DecodeOptions(beam_size=2, max_length=7), soft=True)
    result = run(store, FakeEngine(WORDS), [InputDoc("b.txt", DOC_B)], decode=settings.decode, soft=True)
    saved = store.run(result.run_id).settings
    assert TranslateSettings.from_stored(saved) == replace(settings)


@pytest.mark.parametrize("runs,missing", [((1, 999), 999), ((999, 1), 999), ((998, 999), 998)], ids=["b", "a", "both"])
def test_score_compare_names_an_unknown_run_first(store: Store, runs: tuple[int, int], missing: int) -> None:
    from translate_pipe.errors import StoreError

    run(store, FakeEngine(WORDS), [InputDoc("b.txt", DOC_B)])  # run 1, without references
    with pytest.raises(StoreError, match=f"^no run {missing} in the database"):
        api.score_compare(store, *runs)


@pytest.mark.parametrize(
    "later_plain_run,overwrite,refused",
    [(False, False, False), (True, False, True), (True, True, False)],
    ids=["own-output", "later-run-refused", "later-run-overwrite"],
)
def test_retranslate_does_not_overwrite_a_later_runs_output(
    tmp_path: Path, later_plain_run: bool, overwrite: bool, refused: bool
) -> None:
    from translate_pipe.errors import InputError

    out = tmp_path / "a.en.txt"
    store = Store(tmp_path / "t.db")
    glossary(store, ("أستانا", "Astana"))
    pipeline.translate(
        store, loader(FakeEngine(WORDS)), [InputDoc("a.txt", DOC_A)], from_code="ar", to_code="en",
        settings=TranslateSettings(glossary="g"), outputs=[out],
    )
    if later_plain_run:
        pipeline.translate(
            store, loader(FakeEngine({**WORDS, "قال": "stated"})), [InputDoc("a.txt", DOC_A)], from_code="ar",
            to_code="en", settings=TranslateSettings(), outputs=[out],
        )
    before, runs_before = out.read_text(encoding="utf-8"), len(store.runs())
    glossary(store, ("موسكو", "Moscow"))
    engine = FakeEngine({**WORDS, "موسكو": "MOSCOW"})
    if refused:
        with pytest.raises(InputError, match=r"last written by run 2, which did not use glossary 'g'.*--overwrite"):
            pipeline.retranslate(store, loader(engine), "g", overwrite=overwrite)
        assert (out.read_text(encoding="utf-8"), len(store.runs())) == (before, runs_before)
    else:
        pipeline.retranslate(store, loader(engine), "g", overwrite=overwrite)
        assert out.read_text(encoding="utf-8") == "said minister in Astana\nMOSCOW in Syria\n"


def test_segments_reaching_the_length_bound_are_marked(store: Store) -> None:
    from translate_pipe import report

    settings = {"decode": DecodeOptions(max_length=4)}
    result = run(store, FakeEngine(WORDS), [InputDoc("a.txt", DOC_A)], **settings)
    # segment 0 has 4 words: no room for the end token, cut; segment 1 has 3 words and ends
    assert [(st.target, st.truncated) for st in result.documents[0].segments] == [
        ("said minister in Astana", True),
        ("Moscow in Syria", False),
    ]
    assert [t.truncated for t in store.translations(result.run_id)] == [True, False]
    assert report.truncation_warning(result) == (
        "warning: 1 segment(s) reached the output length bound and are probably cut (raise --max-length): "
        "a.txt segment 0"
    )
    segments = report.run_json(result)["documents"][0]["segments"]
    assert [s.get("truncated") for s in segments] == [True, None]


def test_a_version_1_database_is_migrated(tmp_path: Path) -> None:
    import sqlite3

    from translate_pipe.store import MIGRATIONS, SCHEMA_VERSION

    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[1] + "PRAGMA user_version = 1;")
    conn.close()
    with Store(path) as store:
        result = run(store, FakeEngine(WORDS), [InputDoc("b.txt", DOC_B)])
        assert [t.truncated for t in store.translations(result.run_id)] == [False]
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
