"""The package tokenizers (engine.Tokenizer): exactly argostranslate's pieces, with character spans.

Run by CI a second time with the oldest sentencepiece pyproject allows
(``TRANSLATE_PIPE_EXPECT_SENTENCEPIECE`` names it; see .ci/run).
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pytest

from translate_pipe.engine import (
    BPETokenizer,
    SentencePieceTokenizer,
    detokenize,
    load_tokenizer,
    mark_words,
    project_spans,
    sentencepiece_text_pieces,
)
from translate_pipe.errors import ModelError
from translate_pipe.models import read_package

from .tinymodel import TINY_PAIRS
from .tinyvariants import BPE_PAIRS, build_bpe_package, build_separate_vocab_package, unpack

SP_TEXTS = [
    "وقف إطلاق النار في حمص.",
    "  يذكر أن   أستانا، كانت قد استضافت",  # leading and repeated spaces
    "Ceasefire in Homs.",
    "ﻻ ﺑﺴﻢ",  # presentation forms: NFKC-normalised by the model, offsets still into the original
    "موسكو 2017 4-5 تموز/يوليو",
    TINY_PAIRS[1][0] * 3,  # offsets and lengths past 127 bytes: multi-byte varints
    "",
]

BPE_TEXTS = [
    *(s for s, _ in BPE_PAIRS),
    'قال "نعم" & لا',
    "وقف  إطلاق\tالنار…",  # tab, double space, ellipsis (normalised to ...)
    "« حمص » | [سوريا]",  # guillemets, pipe and brackets (normalised / XML-escaped)
    "",
]

TARGET_TEXTS = [t for _, t in BPE_PAIRS] + ['He said "no" & left...', "x"]


@pytest.fixture(scope="module")
def sp_dir(tiny_package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(tiny_package, tmp_path_factory.mktemp("sp"))


@pytest.fixture(scope="module")
def bpe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(build_bpe_package(tmp_path_factory.mktemp("bpe-build")), tmp_path_factory.mktemp("bpe"))


@pytest.fixture(scope="module")
def sep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(build_separate_vocab_package(tmp_path_factory.mktemp("sep-build")), tmp_path_factory.mktemp("sep"))


def test_sentencepiece_is_the_expected_version() -> None:
    """CI's second pass runs this file with the oldest allowed sentencepiece."""
    import sentencepiece

    expected = os.environ.get("TRANSLATE_PIPE_EXPECT_SENTENCEPIECE")
    assert sentencepiece.__version__ == (expected or sentencepiece.__version__)


# -- SentencePiece ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", SP_TEXTS)
def test_sentencepiece_pieces_are_argostranslates(sp_dir: Path, text: str) -> None:
    """argostranslate's SentencePieceTokenizer.encode is ``encode(text, out_type=str)``."""
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_dir / "sentencepiece.model"))
    tokens = SentencePieceTokenizer(sp_dir / "sentencepiece.model").encode(text)
    assert list(tokens.pieces) == sp.encode(text, out_type=str)


@pytest.mark.parametrize("text", SP_TEXTS)
def test_sentencepiece_spans_cover_each_piece(sp_dir: Path, text: str) -> None:
    tokens = SentencePieceTokenizer(sp_dir / "sentencepiece.model").encode(text)
    for piece, (start, end) in zip(tokens.pieces, tokens.spans):
        assert unicodedata.normalize("NFKC", text[start:end]) == piece.lstrip("\u2581")


@pytest.mark.parametrize("text", SP_TEXTS)
def test_serialized_proto_decoder_matches_sentencepiece_pb2(sp_dir: Path, text: str) -> None:
    import sentencepiece

    try:
        from sentencepiece import sentencepiece_pb2
    except Exception:  # 0.1.99's generated module does not import with protobuf >= 4
        pytest.skip("sentencepiece_pb2 cannot be imported with this protobuf")
    sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_dir / "sentencepiece.model"))
    blob = sp.encode(text, out_type="serialized_proto")
    message = sentencepiece_pb2.SentencePieceText()
    message.ParseFromString(blob)
    assert sentencepiece_text_pieces(blob) == [(p.piece, p.begin, p.end) for p in message.pieces]


@pytest.mark.parametrize(
    "pieces,text,spans",
    [
        (["▁Cease", "fire", "▁in", "▁Homs", "."], "Ceasefire in Homs.", [(0, 5), (5, 9), (10, 12), (13, 17), (17, 18)]),
        (["▁a", "▁", "<0xC3>", "<0xA9>"], "a é", [(0, 1), (2, 2), (2, 2), (2, 3)]),
        ([], "", []),
        (["<0xE2>", "<0x80>", "<0x9C>", "▁x", "▁"], "“ x", [(0, 0), (0, 0), (0, 1), (2, 3), (3, 3)]),
        (["▁", "▁a", "<0x20>"], "a", [(0, 0), (0, 1), (1, 1)]),
        (["<0x"], "<0x", [(0, 3)]),
    ],
    ids=["words", "byte-fallback", "empty", "leading-byte-pieces", "spaces-trimmed", "not-a-byte-piece"],
)
def test_sentencepiece_decode(pieces: list[str], text: str, spans: list[tuple[int, int]]) -> None:
    assert detokenize(pieces) == (text, spans)


@pytest.mark.parametrize("text", ["", "plain ascii", "وقف إطلاق النار", "é 4-5 ✓ 😀 end", "a\u0301b"])
def test_byte_offsets_to_characters(text: str) -> None:
    """The lazy byte -> character map of encode agrees with the full table, at every byte."""
    from translate_pipe.engine import _byte_to_char, _CharOffsets

    table = _byte_to_char(text)
    offsets = _CharOffsets(text)
    assert [offsets(b) for b in range(len(table) + 2)] == table + [len(text), len(text)]


@pytest.mark.parametrize("text", [t for _, t in TINY_PAIRS] + ["x  y", "é 4-5"])
def test_sentencepiece_decode_is_sentencepieces(sp_dir: Path, text: str) -> None:
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_dir / "sentencepiece.model"))
    pieces = SentencePieceTokenizer(sp_dir / "sentencepiece.model").encode_target(text)
    assert SentencePieceTokenizer(sp_dir / "sentencepiece.model").decode(pieces)[0] == sp.decode_pieces(pieces)


# -- BPE --------------------------------------------------------------------------------------------
def _argos_bpe(bpe_dir: Path) -> object:
    from argostranslate.tokenizer import BPETokenizer as ArgosBPETokenizer

    return ArgosBPETokenizer(bpe_dir / "bpe.model", "ar", "en")


@pytest.mark.parametrize("text", BPE_TEXTS)
def test_bpe_pieces_are_argostranslates(bpe_dir: Path, text: str) -> None:
    ours = BPETokenizer(bpe_dir / "bpe.model", "ar", "en").encode(text)
    assert list(ours.pieces) == _argos_bpe(bpe_dir).encode(text)  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", TARGET_TEXTS)
def test_bpe_decode_is_argostranslates(bpe_dir: Path, text: str) -> None:
    ours = BPETokenizer(bpe_dir / "bpe.model", "ar", "en")
    pieces = ours.encode_target(text)
    decoded, spans = ours.decode(pieces)
    assert decoded == _argos_bpe(bpe_dir).decode(pieces)  # type: ignore[attr-defined]
    assert len(spans) == len(pieces)


def _unescaped(piece: str) -> str:
    for entity, ch in (("&quot;", '"'), ("&amp;", "&"), ("&apos;", "'"), ("&#124;", "|"), ("&#91;", "["), ("&#93;", "]")):
        piece = piece.replace(entity, ch)
    return piece.removesuffix("@@")


@pytest.mark.parametrize("text", [t for t in BPE_TEXTS if "…" not in t and "«" not in t])
def test_bpe_spans_cover_each_piece(bpe_dir: Path, text: str) -> None:
    tokens = BPETokenizer(bpe_dir / "bpe.model", "ar", "en").encode(text)
    assert [text[s:e] for s, e in tokens.spans] == [_unescaped(p) for p in tokens.pieces]


def test_bpe_spans_of_normalised_punctuation(bpe_dir: Path) -> None:
    text = "« حمص »…"
    tokens = BPETokenizer(bpe_dir / "bpe.model", "ar", "en").encode(text)
    surfaces = [text[s:e] for s, e in tokens.spans]
    assert "".join(surfaces).replace(" ", "") == text.replace(" ", "")  # every character is covered once
    assert surfaces[0] == "«" and [x for x in surfaces if x][-1] == "…"
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(tokens.spans, tokens.spans[1:]))  # in order, no overlap


@pytest.mark.parametrize("text", TARGET_TEXTS)
def test_bpe_decode_spans_cover_each_piece(bpe_dir: Path, text: str) -> None:
    tok = BPETokenizer(bpe_dir / "bpe.model", "ar", "en")
    pieces = tok.encode_target(text)
    decoded, spans = tok.decode(pieces)
    assert [decoded[s:e] for s, e in spans] == [_unescaped(p) for p in pieces]


@pytest.mark.parametrize(
    "codes,message",
    [
        ("#version: 0.2\na b c\n", "line 2 is not a BPE merge"),
        ("#version: 9.9\na b\n", "unsupported BPE codes version"),
        (b"\xff\xfe", "cannot read the BPE codes"),
    ],
    ids=["three-symbols", "version", "not-utf8"],
)
def test_bad_bpe_codes_are_a_model_error(tmp_path: Path, codes: str | bytes, message: str) -> None:
    path = tmp_path / "bpe.model"
    if isinstance(codes, bytes):
        path.write_bytes(codes)
    else:
        path.write_text(codes, encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        BPETokenizer(path, "ar", "en")


# -- word starts ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind,pieces,spans,starts",
    [
        ("sentencepiece", ["▁Cease", "fire", "▁in", "▁Homs", "."], [], [True, False, True, True, False]),
        ("sentencepiece", ["Hom", "s"], [], [True, False]),
        ("bpe", ["Cease@@", "fire", "in", "Homs", "."], [(0, 5), (5, 9), (10, 12), (13, 17), (17, 18)], [True, False, True, True, False]),
        ("bpe", ["said", ":", "&quot;", "yes"], [(0, 4), (4, 5), (6, 7), (7, 10)], [True, False, True, False]),
    ],
    ids=["sp-words", "sp-no-leading-space", "bpe-joiner-and-punctuation", "bpe-quote-opens-word"],
)
def test_word_starts(
    sp_dir: Path, bpe_dir: Path, kind: str, pieces: list[str], spans: list[tuple[int, int]], starts: list[bool]
) -> None:
    tok = (
        SentencePieceTokenizer(sp_dir / "sentencepiece.model")
        if kind == "sentencepiece"
        else BPETokenizer(bpe_dir / "bpe.model", "ar", "en")
    )
    assert tok.word_starts(pieces, spans or [(0, 0)] * len(pieces)) == starts


@pytest.mark.parametrize("text", ["Hims", "joint working group", "U.S.-Russian talks", 'the "Astana format"'])
@pytest.mark.parametrize("kind", ["sentencepiece", "bpe"])
def test_literal_pieces_decode_to_the_text(sp_dir: Path, bpe_dir: Path, kind: str, text: str) -> None:
    tok = (
        SentencePieceTokenizer(sp_dir / "sentencepiece.model")
        if kind == "sentencepiece"
        else BPETokenizer(bpe_dir / "bpe.model", "ar", "en")
    )
    pieces = tok.literal(text)
    decoded, spans = tok.decode(pieces)
    assert decoded == text
    assert tok.word_starts(pieces, spans) == [True] * len(pieces)


@pytest.mark.parametrize(
    "pieces,starts,expected",
    [
        (["Cease@@", "fire", "in"], [True, False, True], ["▁Cease@@", "fire", "▁in"]),
        (["▁a", "b"], [True, False], ["▁a", "b"]),
    ],
)
def test_mark_words(pieces: list[str], starts: list[bool], expected: list[str]) -> None:
    assert mark_words(pieces, starts) == expected


@pytest.mark.parametrize(
    "text,units,spans",
    [
        ("Homs.", ["Homs", "."], [(0, 4), (4, 5)]),
        ('said "yes"', ["said", '"', "yes", '"'], [(0, 4), (5, 6), (6, 9), (9, 10)]),
        ("wait…", ["wait", "..."], [(0, 4), (4, 5)]),
        ("a  b", ["a", "", "b"], [(0, 1), (1, 1), (3, 4)]),
    ],
    ids=["punctuation", "quotes", "ellipsis-normalised", "empty-unit"],
)
def test_project_spans(text: str, units: list[str], spans: list[tuple[int, int]]) -> None:
    assert project_spans(text, units) == spans


# -- separate vocabularies ----------------------------------------------------------------------
def test_separate_vocab_target_side_uses_the_target_model(sep_dir: Path) -> None:
    import sentencepiece

    tok = load_tokenizer(_info(sep_dir))
    source_sp = sentencepiece.SentencePieceProcessor(model_file=str(sep_dir / "sentencepiece.model"))
    target_sp = sentencepiece.SentencePieceProcessor(model_file=str(sep_dir / "target.spm"))
    target = TINY_PAIRS[2][1]
    assert tok.encode_target(target) == target_sp.encode(target, out_type=str)
    assert tok.encode_target(target) != source_sp.encode(target, out_type=str)
    source = TINY_PAIRS[2][0]
    assert list(tok.encode(source).pieces) == source_sp.encode(source, out_type=str)


def test_shared_vocab_target_side_uses_the_one_model(sp_dir: Path) -> None:
    import sentencepiece

    sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_dir / "sentencepiece.model"))
    target = TINY_PAIRS[2][1]
    assert load_tokenizer(_info(sp_dir)).encode_target(target) == sp.encode(target, out_type=str)


def _info(path: Path):  # type: ignore[no-untyped-def]
    info = read_package(path)
    assert info is not None
    return info


@pytest.mark.parametrize("fixture,kind", [("sp_dir", "sentencepiece"), ("bpe_dir", "bpe"), ("sep_dir", "sentencepiece")])
def test_load_tokenizer_picks_the_packages_kind(request: pytest.FixtureRequest, fixture: str, kind: str) -> None:
    assert load_tokenizer(_info(request.getfixturevalue(fixture))).kind == kind
