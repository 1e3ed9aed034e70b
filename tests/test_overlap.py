"""The overlapped local decoder (issue 16) gives exactly what the serial one gives.

* :class:`translate_pipe.stages.Stages` on plain functions: results in order, errors after the
  results of the items before them, work handed to the consumer's thread, early stop;
* a real model (the enforcement test model, which translates): a constrained run in many chunks
  stores the same rows in the same order with and without overlap, for both alignment methods,
  and with batches bounded by decoding work instead of source tokens only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from translate_pipe import api, pipeline
from translate_pipe.files import InputDoc
from translate_pipe.models import find_package, install_from_file
from translate_pipe.pipeline import TranslateSettings
from translate_pipe.records import DecodeOptions, Term
from translate_pipe.stages import Stages
from translate_pipe.store import Store

from .tinymodel import _TERMS, enforcement_split


# -- Stages ------------------------------------------------------------------------------------
def _slow(f: Callable[[int], int]) -> Callable[[int], int]:
    def g(x: int) -> int:
        time.sleep(0.001 * (x % 3))  # uneven work: the threads really interleave
        return f(x)

    return g


@pytest.mark.parametrize(
    ("n", "stages", "depth"),
    [
        (0, [lambda x: x], 1),
        (1, [lambda x: x + 1], 1),
        (25, [_slow(lambda x: x * 2), _slow(lambda x: x + 1)], 1),
        (25, [_slow(lambda x: x * 2), _slow(lambda x: x + 1), _slow(lambda x: -x)], 3),
    ],
    ids=["empty", "one-item", "two-stages", "three-stages-depth-3"],
)
def test_stages_give_the_serial_results_in_order(n: int, stages: list[Callable[[int], int]], depth: int) -> None:
    serial = []
    for x in range(n):
        for f in stages:
            x = f(x)
        serial.append(x)
    assert list(Stages(range(n), stages, depth).run()) == serial


def _boom_at(k: int) -> Callable[[int], int]:
    def f(x: int) -> int:
        if x == k:
            raise ValueError(f"boom at {k}")
        return x

    return f


def _source_failing_at(k: int) -> Any:
    for x in range(10):
        if x == k:
            raise OSError(f"source fails at {k}")
        yield x


@pytest.mark.parametrize(
    ("source", "stages", "before", "error"),
    [
        (range(10), [_boom_at(4), _slow(lambda x: x)], [0, 1, 2, 3], ValueError),
        (range(10), [_slow(lambda x: x), _boom_at(6)], [0, 1, 2, 3, 4, 5], ValueError),
        (None, [_slow(lambda x: x), _slow(lambda x: x)], [0, 1, 2], OSError),
    ],
    ids=["first-stage", "last-stage", "source"],
)
def test_an_error_comes_after_the_results_before_it(source: Any, stages: list[Any], before: list[int], error: type) -> None:
    got: list[int] = []
    with pytest.raises(error):
        for x in Stages(source if source is not None else _source_failing_at(3), stages).run():
            got.append(x)
    assert got == before


def test_call_runs_in_the_consumers_thread() -> None:
    consumer = threading.current_thread()
    seen: list[bool] = []
    posted: list[int] = []
    stages: Stages[int]

    def work(x: int) -> int:
        seen.append(stages.call(lambda: threading.current_thread() is consumer))
        stages.post(lambda: posted.append(x))
        return x

    stages = Stages(range(5), [work])
    assert list(stages.run()) == list(range(5))
    assert seen == [True] * 5
    assert sorted(posted) == list(range(5))


def test_a_consumer_that_stops_early_stops_the_threads() -> None:
    taken: list[int] = []

    def source() -> Any:
        for x in range(1000):
            taken.append(x)
            yield x

    before = threading.active_count()
    gen = Stages(source(), [lambda x: x, lambda x: x]).run()
    assert next(gen) == 0
    gen.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert threading.active_count() == before
    assert len(taken) < 20  # bounded queues: it never read far ahead


# -- a real model: overlapped == serial -----------------------------------------------------------
@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, enforcement_unsupervised_package: Path) -> Any:
    packages = tmp_path_factory.mktemp("overlap-packages")
    install_from_file(enforcement_unsupervised_package, packages)
    engine = api.load_engine(find_package(packages, "ar", "en"))
    _, pairs = enforcement_split(n_test=120)
    # two documents; about half the segments carry terms; a repeated line (reused, not decoded)
    half = "\n".join(p.source for p in pairs[:60])
    other = "\n".join(p.source for p in pairs[60:]) + "\n" + pairs[0].source + "\n"
    return engine, [InputDoc("a.txt", half + "\n"), InputDoc("b.txt", other)]


def _rows(store: Store, run_id: int) -> list[Any]:
    out = []
    for t in store.translations(run_id):
        out.append((t.document_id, t.segment, t.target, t.truncated, store.alignment(t.translation_id)))
    terms = [{k: v for k, v in r.items() if k not in ("id", "translation_id")} for r in store.db["term_alignments"].rows]
    extras = [r["data"] for r in store.db["translation_extras"].rows]
    scores = [r["score"] for r in store.db["translations"].rows_where("run_id = ?", [run_id], order_by="id")]
    return [out, terms, extras, scores]


def _run(engine: Any, docs: list[InputDoc], settings: TranslateSettings, overlap: bool) -> list[Any]:
    glossary = {ar: en for ar, _, en, _ in _TERMS}
    with Store(":memory:") as store:
        with store.transaction():
            info = store.ensure_glossary("g", "ar", "en")
            store.apply_glossary_changes(
                info.id, [Term(a, e) for a, e in sorted(glossary.items())], author="test", action="import", summary="test"
            )

        def factory(engine: Any, s: TranslateSettings, constrainer: Any) -> Any:
            return pipeline.LocalDecoder(engine, s.decode, constrainer, s.align, overlap=overlap)

        result = pipeline.translate(
            store, lambda a, b: engine, docs, from_code="ar", to_code="en", settings=settings, decoder=factory
        )
        return [[d.text for d in result.documents], *_rows(store, result.run_id)]


@pytest.mark.parametrize(
    ("align", "glossary", "chunk", "decode"),
    [
        ("predict", "g", 7, DecodeOptions()),
        ("attention", "g", 7, DecodeOptions()),
        ("predict", None, 16, DecodeOptions()),
        ("predict", "g", 40, DecodeOptions(max_batch_tokens=64)),
        ("predict", "g", 40, DecodeOptions(num_hypotheses=3, beam_size=4)),
    ],
    ids=["predict-constrained", "attention-constrained", "predict-plain", "small-batches", "n-best"],
)
def test_overlapped_decoder_stores_what_the_serial_one_stores(
    model: Any, align: str, glossary: str | None, chunk: int, decode: DecodeOptions
) -> None:
    engine, docs = model
    settings = TranslateSettings(decode=decode, chunk_segments=chunk, align=align, glossary=glossary)
    serial = _run(engine, docs, settings, overlap=False)
    overlapped = _run(engine, docs, settings, overlap=True)
    assert overlapped == serial
    assert len(serial[1]) == 121  # every segment stored
    assert bool(serial[2]) == (glossary is not None)  # term rows when constrained
    assert sum(1 for _, _, _, _, links in serial[1] if links) > 100  # links were computed


def test_batches_bounded_by_work_give_the_same_output(model: Any) -> None:
    """Small decoding-work bounds cut a chunk into many more batches than the token bound
    alone: the translations and links do not change."""
    engine, docs = model
    settings = TranslateSettings(chunk_segments=64, glossary="g")
    wide = _run(engine, docs, replace(settings, decode=DecodeOptions(max_batch_tokens=100_000, max_batch_work=10**9)), overlap=True)
    narrow = _run(engine, docs, replace(settings, decode=DecodeOptions(max_batch_work=300)), overlap=True)
    assert narrow[:4] == wide[:4]  # texts, translations and links, term rows, alternatives
    # the model's scores of a float32 model move in the last digits with the batch's shape
    assert narrow[4] == pytest.approx(wide[4], abs=1e-4)


@pytest.mark.parametrize(
    ("options", "most"),
    [
        (DecodeOptions(max_batch_tokens=1024, max_batch_work=10**9), 0),
        (DecodeOptions(max_batch_tokens=1024, max_batch_work=2000), 0),
        (DecodeOptions(max_batch_tokens=1024, max_batch_work=2000, max_length=50), 10),  # 10 x 4 x 50
        (DecodeOptions(max_batch_tokens=1024, max_batch_work=2000, num_hypotheses=8, max_length=50), 5),
        (DecodeOptions(max_batch_tokens=60, max_batch_work=10**9), 0),
    ],
    ids=["tokens-only", "work-bound", "work-bound-fixed-length", "work-bound-wide-beam", "token-bound"],
)
def test_every_batch_respects_both_bounds(model: Any, options: DecodeOptions, most: int) -> None:
    engine, docs = model
    sources = [engine.tokenize(line).pieces for line in docs[0].text.splitlines()]
    sizes: list[int] = []
    engine.translate(sources, options, on_batch=sizes.append)
    assert sum(sizes) == len(sources)
    lengths = sorted(len(s) for s in sources)  # the engine batches by length
    beam = max(options.beam_size, options.num_hypotheses)
    pos = 0
    for n in sizes:
        batch = lengths[pos : pos + n]
        pos += n
        assert n == 1 or sum(batch) <= options.max_batch_tokens
        assert n == 1 or n * beam * options.bound(batch[-1]) <= options.max_batch_work
    if most:
        assert max(sizes) == most
