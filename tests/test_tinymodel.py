"""The fixture packages are real Argos packages: argostranslate loads them and they translate exactly."""

from __future__ import annotations

import json
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from .tinymodel import (
    TINY_PAIRS,
    WRONG_RENDERINGS,
    AlignedPair,
    _piece_words,
    build_package,
    template_pairs,
    template_split,
    word_spans,
)

PACKAGE_FIXTURES = ["tiny_package", "template_package", "wrong_terms_package"]
HELDOUT = template_split()[1]
WRONG_HELDOUT = template_split(term_renderings=WRONG_RENDERINGS)[1]


class _WholeText:
    """A sentence splitter that does not split (argostranslate's own ones download models)."""

    def split_sentences(self, text: str) -> list[str]:
        return [text]


@cache
def _engine(root: Path) -> tuple[Any, Any]:
    import ctranslate2
    import sentencepiece as spm

    return (
        ctranslate2.Translator(str(root / "model"), device="cpu", intra_threads=1),
        spm.SentencePieceProcessor(model_file=str(root / "sentencepiece.model")),
    )


_ROOTS: dict[str, Path] = {}


def _root(request: pytest.FixtureRequest, fixture: str) -> Path:
    """The package of ``fixture`` unzipped once, as ``argostranslate.package.install_from_path`` does."""
    if fixture not in _ROOTS:
        package: Path = request.getfixturevalue(fixture)
        dest = request.getfixturevalue("tmp_path_factory").mktemp(fixture)
        with zipfile.ZipFile(package) as zf:
            zf.extractall(dest)
        (_ROOTS[fixture],) = list(dest.iterdir())
    return _ROOTS[fixture]


def _translate(root: Path, sources: list[str]) -> list[Any]:
    translator, sp = _engine(root)
    return translator.translate_batch([sp.encode(s, out_type=str) for s in sources], beam_size=1, return_attention=True)


@pytest.mark.parametrize("fixture", PACKAGE_FIXTURES)
def test_package_layout(request: pytest.FixtureRequest, fixture: str) -> None:
    package: Path = request.getfixturevalue(fixture)
    assert package.name == "translate-ar_en-1_0.argosmodel"
    with zipfile.ZipFile(package) as zf:
        names = sorted(zf.namelist())
        metadata = json.loads(zf.read("translate-ar_en-1_0/metadata.json"))
    assert names == [
        "translate-ar_en-1_0/metadata.json",
        "translate-ar_en-1_0/model/config.json",
        "translate-ar_en-1_0/model/model.bin",
        "translate-ar_en-1_0/model/shared_vocabulary.json",
        "translate-ar_en-1_0/sentencepiece.model",
    ]
    assert metadata == {
        "package_version": "1.0",
        "argos_version": "1.9.0",
        "from_code": "ar",
        "from_name": "Arabic",
        "to_code": "en",
        "to_name": "English",
        "links": ["http://127.0.0.1:9/translate-ar_en-1_0.argosmodel"],
        "type": "translate",
    }


@pytest.mark.parametrize("fixture", PACKAGE_FIXTURES)
def test_argostranslate_loads_package(request: pytest.FixtureRequest, fixture: str) -> None:
    from argostranslate.package import Package

    pkg = Package(_root(request, fixture))
    assert (pkg.from_code, pkg.to_code, pkg.package_version, pkg.type) == ("ar", "en", "1.0", "translate")
    assert type(pkg.tokenizer).__name__ == "SentencePieceTokenizer"


@pytest.mark.parametrize(("source", "target"), TINY_PAIRS, ids=[f"pair{i}" for i in range(len(TINY_PAIRS))])
def test_tiny_package_through_argostranslate(request: pytest.FixtureRequest, source: str, target: str) -> None:
    from argostranslate.package import Package
    from argostranslate.translate import apply_packaged_translation

    root = _root(request, "tiny_package")
    translator, _ = _engine(root)
    hyps = apply_packaged_translation(Package(root), source, translator, _WholeText(), num_hypotheses=1)
    assert hyps[0].value == target


@pytest.mark.parametrize(("source", "target"), TINY_PAIRS, ids=[f"pair{i}" for i in range(len(TINY_PAIRS))])
def test_tiny_package_greedy_ctranslate2(request: pytest.FixtureRequest, source: str, target: str) -> None:
    root = _root(request, "tiny_package")
    _, sp = _engine(root)
    (result,) = _translate(root, [source])
    assert sp.decode(result.hypotheses[0]) == target


def test_build_is_cached_and_deterministic(tiny_package: Path, tmp_path: Path) -> None:
    again = build_package(TINY_PAIRS, tmp_path)
    assert again == tmp_path / "translate-ar_en-1_0.argosmodel"
    assert again.read_bytes() == tiny_package.read_bytes()


@pytest.mark.parametrize(
    ("fixture", "index"),
    [("template_package", i) for i in range(8)] + [("wrong_terms_package", i) for i in range(8)],
)
def test_template_translates_unseen_sentences(request: pytest.FixtureRequest, fixture: str, index: int) -> None:
    pair = (HELDOUT if fixture == "template_package" else WRONG_HELDOUT)[index]
    root = _root(request, fixture)
    _, sp = _engine(root)
    (result,) = _translate(root, [pair.source])
    assert sp.decode(result.hypotheses[0]) == pair.target


def _first_with(pairs: list[AlignedPair], arabic: str) -> AlignedPair:
    return next(p for p in pairs if arabic in p.source)


@pytest.mark.parametrize(
    ("arabic", "correct", "wrong"),
    [
        ("مناطق خفض التصعيد", "de-escalation zones", "reduced escalation areas"),
        ("أستانا", "Astana", "Nur-Sultan"),
        ("وقف إطلاق النار", "ceasefire", "stopping of fire"),
    ],
    ids=["zones", "astana", "ceasefire"],
)
def test_wrong_terms_package_renders_terms_wrongly(
    request: pytest.FixtureRequest, arabic: str, correct: str, wrong: str
) -> None:
    assert WRONG_RENDERINGS[arabic] == wrong
    pair = _first_with(WRONG_HELDOUT, arabic)
    root = _root(request, "wrong_terms_package")
    _, sp = _engine(root)
    (result,) = _translate(root, [pair.source])
    output = sp.decode(result.hypotheses[0])
    assert (wrong in output, correct in output) == (True, False)


def _alignment_accuracy(root: Path, pairs: list[AlignedPair]) -> tuple[int, int]:
    """(target words whose attention argmax hits a gold source word, linked target words)."""
    _, sp = _engine(root)
    hits = total = 0
    for pair, result in zip(pairs, _translate(root, [p.source for p in pairs])):
        if sp.decode(result.hypotheses[0]) != pair.target:
            total += len(pair.target_links())  # a wrong translation counts as misaligned
            continue
        src_words = _piece_words(sp.encode(pair.source, out_type=str))
        tgt_words = _piece_words(result.hypotheses[0])
        attention = result.attention[0]  # one row per output token, over source tokens
        for t, gold in pair.target_links().items():
            row = attention[tgt_words.index(t)]  # the word's first piece
            per_word = [0.0] * (max(src_words) + 1)
            for col, weight in enumerate(row):
                per_word[src_words[col]] += weight
            hits += max(range(len(per_word)), key=per_word.__getitem__) in gold
            total += 1
    return hits, total


@pytest.mark.parametrize(
    ("fixture", "heldout"),
    [("template_package", HELDOUT), ("wrong_terms_package", WRONG_HELDOUT)],
    ids=["template", "wrong_terms"],
)
def test_attention_aligns_unseen_sentences(
    request: pytest.FixtureRequest, fixture: str, heldout: list[AlignedPair]
) -> None:
    hits, total = _alignment_accuracy(_root(request, fixture), heldout)
    assert total > 1000
    assert hits / total >= 0.9


@pytest.mark.parametrize(
    ("text", "spans"),
    [("", []), ("a", [(0, 1)]), (" in  Homs ", [(1, 3), (5, 9)]), ("في حمص", [(0, 2), (3, 6)])],
    ids=["empty", "one", "spaces", "arabic"],
)
def test_word_spans(text: str, spans: list[tuple[int, int]]) -> None:
    assert word_spans(text) == spans


def test_template_pair_example_and_links() -> None:
    pairs = template_pairs(5, seed=0)
    assert pairs[1] == AlignedPair(
        "اقترحت إيران مع روسيا تبادل الأسرى في حلب",
        "Iran proposed the prisoner exchange with Russia in Aleppo",
        ((0, 1), (1, 0), (2, 5), (3, 6), (4, 4), (5, 3), (6, 7), (7, 8)),
    )


@pytest.mark.parametrize("renderings", [None, WRONG_RENDERINGS], ids=["correct", "wrong"])
def test_template_links_in_range_and_split_disjoint(renderings: dict[str, str] | None) -> None:
    train, test = template_split(term_renderings=renderings)
    assert (len(train), len(test)) == (3000, 200)
    assert not {p.source for p in train} & {p.source for p in test}
    bad = [
        p
        for p in train + test
        if not all(0 <= s < len(p.source.split()) and 0 <= t < len(p.target.split()) for s, t in p.links)
    ]
    assert bad == []
