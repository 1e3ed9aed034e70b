"""Inline markup moved by word alignment (documents/markup.py), and the service's API keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from translate_pipe.cli import app
from translate_pipe.documents.markup import Block, BlockBuilder, document_text, transfer, translated_blocks
from translate_pipe.errors import InputError
from translate_pipe.records import Segment, SegmentTranslation
from translate_pipe.serve import ApiKeys, detect_language

# source "aa bb cc": "aa " plain (0), "bb" bold (1), " cc" plain (0)
PLAIN_BOLD_PLAIN = Block("aa bb cc", ((0, 3, 0), (3, 5, 1), (5, 8, 0)))


def seg(text: str, target: str, links: list[tuple[int, int, int, int]], start: int = 0) -> SegmentTranslation:
    return SegmentTranslation(Segment(0, start, start + len(text), text), target, tuple(links))


@pytest.mark.parametrize(
    ("links", "target", "expected"),
    [
        # same order: bold on the word aligned to bb
        ([(0, 2, 0, 1), (3, 5, 2, 3), (6, 8, 4, 5)], "x y z", [("x ", 0), ("y", 1), (" z", 0)]),
        # reordered: the bold word moves to the front
        ([(3, 5, 0, 1), (0, 2, 2, 3), (6, 8, 4, 5)], "y x z", [("y", 1), (" x z", 0)]),
        # one source word -> two target words: both bold, and the space between them
        ([(0, 2, 0, 1), (3, 5, 2, 3), (3, 5, 4, 5), (6, 8, 6, 7)], "x y w z", [("x ", 0), ("y w", 1), (" z", 0)]),
        # an unaligned word between two bold words is bold; punctuation after plain is plain
        ([(3, 5, 0, 1), (3, 5, 4, 5), (6, 8, 6, 7)], "y q w z.", [("y q w", 1), (" z.", 0)]),
        # aligned as much to bold as to plain: bold wins the tie
        ([(0, 2, 0, 1), (3, 5, 0, 1)], "x", [("x", 1)]),
        # no alignment at all: everything plain
        ([], "x y z", [("x y z", 0)]),
    ],
)
def test_transfer(links: list[tuple[int, int, int, int]], target: str, expected: list[tuple[str, int]]) -> None:
    assert transfer(PLAIN_BOLD_PLAIN, 0, [seg("aa bb cc", target, links)]) == expected


def test_text_between_two_styles_takes_their_common_enclosing_style() -> None:
    # <b>aa <i>bb</i></b> cc : keys 0 = (), 1 = (b,), 2 = (b, i)
    block = Block("aa bb cc", ((0, 3, 1), (3, 5, 2), (5, 8, 0)), ((), (0,), (0, 1)))
    out = transfer(block, 0, [seg("aa bb cc", "y x z", [(3, 5, 0, 1), (0, 2, 2, 3), (6, 8, 4, 5)])])
    assert out == [("y", 2), (" x", 1), (" z", 0)]


def test_blocks_are_lines_of_one_document_and_segments_find_their_block() -> None:
    b1 = Block("aa bb", ((0, 5, 0),))
    empty = Block("  ", ((0, 2, 0),))
    b2 = Block("cc", ((0, 2, 0),))
    text, offsets = document_text([b1, empty, b2])
    assert (text, offsets) == ("aa bb\ncc", [0, -1, 6])
    out = translated_blocks([b1, empty, b2], offsets, [seg("cc", "Z", [(6, 8, 0, 1)], start=6), seg("aa bb", "X", [])])
    assert out == [[("X", 0)], [("  ", 0)], [("Z", 0)]]


@pytest.mark.parametrize(
    ("pieces", "collapse", "text", "runs"),
    [
        ([("a\nb", 0)], False, "a b", ((0, 3, 0),)),  # a line break would end the paragraph
        ([("a  ", 0), ("  b", 1)], True, "a b", ((0, 2, 0), (2, 3, 1))),  # HTML whitespace
        ([("a", 0), ("b", 0)], False, "ab", ((0, 2, 0),)),  # same style: one run
        ([("a\t b", 0)], False, "a\t b", ((0, 4, 0),)),  # tabs and spaces kept
    ],
)
def test_block_builder(pieces: list[tuple[str, int]], collapse: bool, text: str, runs: tuple[tuple[int, int, int], ...]) -> None:
    b = BlockBuilder(collapse_spaces=collapse)
    for t, k in pieces:
        b.add(t, k)
    block = b.build()
    assert (block.text, block.runs) == (text, runs)


# -- API keys ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "key", "ok"),
    [
        ("alpha\nbeta\n", "beta", True),
        ("alpha\n", "alph", False),
        ("# comment\n\nalpha\n", "# comment", False),
        ("sha256:8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8\n", "alpha", True),
        ("sha256:8ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8\n", "sha256:8ed3", False),
    ],
)
def test_api_keys(tmp_path: Path, content: str, key: str, ok: bool) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(content, encoding="utf-8")
    keys = ApiKeys.from_file(path)
    assert keys.check(key) is ok
    assert all(len(d) == 32 for d in keys._digests)  # digests only, never the keys


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "no API keys"), ("# only a comment\n", "no API keys"), ("sha256:abc\n", "64 hex digits")],
)
def test_bad_api_key_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        ApiKeys.from_file(path)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api-keys", "missing-keys.txt"], "cannot read the API keys file"),
        (["--glossary", "nosuch"], "nosuch"),
    ],
)
def test_serve_refuses_bad_options_in_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    r = CliRunner().invoke(
        app, ["--db", str(tmp_path / "t.db"), "--packages-dir", str(tmp_path / "none"), "serve", *args]
    )
    assert r.exit_code == 1
    assert message in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("text", "code"),
    [("أعلنت روسيا وقف إطلاق النار", "ar"), ("Russia announced", None), ("123 ...", None), ("روسيا وتركيا announced", "ar")],
)
def test_detect_language(text: str, code: str | None) -> None:
    assert detect_language(text)[0] == code
