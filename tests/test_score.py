"""Tests of translate_pipe.score on hand-made data (tests/data/score, see its README).

Expected BLEU/chrF/TER values and p-values were computed once with the sacrebleu 2.6.0
command line (commands in tests/data/score/README.md and next to each table) and hard-coded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from translate_pipe.errors import ReferenceFileError, ScoreError
from translate_pipe.records import TermMatch
from translate_pipe.score import (
    TermMiss,
    check_parallel,
    compare_runs,
    corpus_scores,
    format_score,
    group_by_paragraph,
    read_lines,
    reference_sets,
    round_score,
    segment_scores,
    term_metrics,
)

DATA = Path(__file__).parent / "data" / "score"


def lines(name: str) -> list[str]:
    return read_lines(DATA / name)


HYP = lines("hyp.en.txt")
CLOSE = lines("hyp-close.en.txt")
WORSE = lines("hyp-worse.en.txt")
REF1 = lines("ref1.en.txt")
REF2 = lines("ref2.en.txt")

SIG_BLEU = "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"
SIG_CHRF = "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0"
SIG_TER = "nrefs:1|case:lc|tok:tercom|norm:no|punct:yes|asian:no|version:2.6.0"


# --------------------------------------------------------------------------- corpus scores

# sacrebleu REFS -i HYP -b -w 4 -m METRIC
@pytest.mark.parametrize(
    ("hyps", "refs", "metric", "expected"),
    [
        (HYP, [REF1], "bleu", "57.2878"),
        (HYP, [REF1], "chrf", "79.3131"),
        (HYP, [REF1], "ter", "27.0270"),
        (HYP, [REF1, REF2], "bleu", "76.1861"),
        (HYP, [REF1, REF2], "chrf", "79.3131"),
        (HYP, [REF1, REF2], "ter", "21.9178"),
        (WORSE, [REF1], "bleu", "1.4221"),
        (WORSE, [REF1], "chrf", "23.6884"),
        (WORSE, [REF1], "ter", "86.4865"),
    ],
    ids=["bleu", "chrf", "ter", "bleu-2refs", "chrf-2refs", "ter-2refs",
         "worse-bleu", "worse-chrf", "worse-ter"],
)
def test_corpus_scores_equal_cli(
    hyps: list[str], refs: list[list[str]], metric: str, expected: str
) -> None:
    assert corpus_scores(hyps, refs).get(metric).format(4) == expected


@pytest.mark.parametrize(
    ("refs", "metric", "expected"),
    [
        ([REF1], "bleu", SIG_BLEU),
        ([REF1], "chrf", SIG_CHRF),
        ([REF1], "ter", SIG_TER),
        ([REF1, REF2], "bleu", SIG_BLEU.replace("nrefs:1", "nrefs:2")),
    ],
    ids=["bleu", "chrf", "ter", "bleu-2refs"],
)
def test_signatures_equal_cli(refs: list[list[str]], metric: str, expected: str) -> None:
    assert corpus_scores(HYP, refs).get(metric).signature == expected


# sacrebleu ref1.en.txt -i hyp.en.txt -b -w 4 -m bleu -lc  /  -m chrf --chrf-word-order 2
@pytest.mark.parametrize(
    ("options", "metric", "name", "value", "signature"),
    [
        ({"bleu": {"lowercase": True}}, "bleu", "BLEU", "70.1629",
         "nrefs:1|case:lc|eff:no|tok:13a|smooth:exp|version:2.6.0"),
        ({"chrf": {"word_order": 2}}, "chrf", "chrF2++", "76.4958",
         "nrefs:1|case:mixed|eff:yes|nc:6|nw:2|space:no|version:2.6.0"),
    ],
    ids=["bleu-lowercase", "chrf-plus-plus"],
)
def test_corpus_scores_options(
    options: dict[str, dict[str, object]], metric: str, name: str, value: str, signature: str
) -> None:
    score = corpus_scores(HYP, [REF1], metrics=(metric,), **options).get(metric)
    assert (score.name, score.format(4), score.signature) == (name, value, signature)


def test_as_dict_rounds_like_cli() -> None:
    assert corpus_scores(HYP, [REF1]).as_dict() == {
        "bleu": 57.3, "chrf": 79.3, "ter": 27.0,
        "signatures": {"bleu": SIG_BLEU, "chrf": SIG_CHRF, "ter": SIG_TER},
        "segments": 4,
    }


@pytest.mark.parametrize(
    ("value", "width", "text", "rounded"),
    [(29.4999, 1, "29.5", 29.5), (57.287785900953324, 2, "57.29", 57.29), (0.05, 1, "0.1", 0.1),
     (0.25, 1, "0.2", 0.2)],
    ids=["up", "width-2", "half-up-binary", "half-even"],
)
def test_format_score(value: float, width: int, text: str, rounded: float) -> None:
    assert (format_score(value, width), round_score(value, width)) == (text, rounded)


def test_flat_reference_list_is_wrapped_once() -> None:
    # The pitfall: sacrebleu itself takes a flat list as many one-character reference sets
    # and silently scores (nearly) zero; reference_sets() wraps a flat list as [refs].
    from sacrebleu.metrics import BLEU

    assert BLEU().corpus_score(HYP, REF1).score < 1.0  # type: ignore[arg-type]
    assert corpus_scores(HYP, REF1).get("bleu").format(4) == "57.2878"
    assert reference_sets(REF1) == [REF1]


@pytest.mark.parametrize(
    ("refs", "message"),
    [
        ("one string", "not a single string"),
        ([], "no reference given"),
        (["a line", ["a set"]], "mix lines and reference sets"),
        ([[1, 2]], "reference set 1 must be a list of strings"),
    ],
    ids=["string", "empty", "mixed", "not-strings"],
)
def test_reference_sets_errors(refs: object, message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)):
        reference_sets(refs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metrics": ("meteor",)}, "unknown metric(s) meteor; choose from bleu, chrf, ter"),
        ({"metrics": ("bleu",), "chrf": {"word_order": 2}},
         "options given for metric(s) not requested: chrf"),
        ({"bleu": {"colour": "red"}}, "invalid bleu options {'colour': 'red'}"),
    ],
    ids=["unknown-metric", "stray-options", "bad-option"],
)
def test_corpus_scores_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)):
        corpus_scores(HYP, [REF1], **kwargs)  # type: ignore[arg-type]


# sacrebleu ref1.en.txt [ref2.en.txt] -i hyp.en.txt -sl -b -w 4 -m METRIC
@pytest.mark.parametrize(
    ("refs", "metric", "expected"),
    [
        ([REF1], "bleu", ["69.8931", "55.7044", "77.2551", "20.9007"]),
        ([REF1], "chrf", ["86.3798", "77.8673", "84.9026", "67.6763"]),
        ([REF1], "ter", ["0.0000", "40.0000", "22.2222", "50.0000"]),
        ([REF1, REF2], "bleu", ["69.8931", "90.3602", "79.5637", "53.0771"]),
    ],
    ids=["bleu", "chrf", "ter", "bleu-2refs"],
)
def test_segment_scores_equal_cli(refs: list[list[str]], metric: str, expected: list[str]) -> None:
    assert [format_score(v, 4) for v in segment_scores(HYP, refs, metric)] == expected


# --------------------------------------------------------------------------- files


@pytest.mark.parametrize(
    ("content", "kwargs", "expected"),
    [
        (b"one\ntwo\n", {}, ["one", "two"]),
        (b"one\r\ntwo\r\n", {}, ["one", "two"]),
        (b"one\ntwo", {}, ["one", "two"]),
        (b"\xef\xbb\xbfone\n", {}, ["one"]),
        (b"  one  \t\n", {}, ["  one  \t"]),
        ("وزير الخارجية\u2028x\n".encode(), {}, ["وزير الخارجية\u2028x"]),
        (b"one\n\ntwo\n", {"allow_empty": True}, ["one", "", "two"]),
    ],
    ids=["lf", "crlf", "no-final-newline", "bom", "keeps-spaces", "unicode-separator",
         "allow-empty"],
)
def test_read_lines(tmp_path: Path, content: bytes, kwargs: dict[str, Any],
                    expected: list[str]) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    assert read_lines(path, **kwargs) == expected


@pytest.mark.parametrize(
    ("content", "role", "message"),
    [
        (None, "reference", "reference file {p} does not exist"),
        (b"", "reference", "reference file {p} is empty"),
        (b"one\n\ntwo\n", "reference", "reference file {p}, line 2: empty line"),
        (b"one\ntwo\n  \t\n", "hypothesis", "hypothesis file {p}, line 3: empty line"),
        (b"one\ntwo\n\xe3\xd1\xcd\xc8\xc7\n", "reference",
         "reference file {p}, line 3: not valid UTF-8 (byte 0xe3 at byte 1 of the line)"),
        (b"ok\nab \xff\n", "reference",
         "reference file {p}, line 2: not valid UTF-8 (byte 0xff at byte 4 of the line)"),
        ("one\n".encode("utf-16-le"), "reference",
         "reference file {p}, line 1: NUL byte found"),
        (b"one\ntw\ro\n", "reference", "reference file {p}, line 2: carriage return"),
    ],
    ids=["missing", "empty-file", "empty-line", "blank-line", "cp1256", "bad-byte-column",
         "utf16-nul", "bare-cr"],
)
def test_read_lines_errors(tmp_path: Path, content: bytes | None, role: str,
                           message: str) -> None:
    path = tmp_path / "f.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ReferenceFileError, match=re.escape(message.format(p=path))):
        read_lines(path, role=role)


@pytest.mark.parametrize(
    ("hyps", "refs", "names", "message"),
    [
        (["a", "b", "c"], [["a", "b"]], ["out.en", "ref.en"],
         "line count mismatch: out.en has 3 lines but ref.en has 2"),
        (["a", "b"], [["a", "b"], ["a"]], ["out.en", "r1.en", "r2.en"],
         "line count mismatch: out.en has 2 lines but r2.en has 1"),
        (["a"], [["a", "b"]], None,
         "line count mismatch: hypotheses has 1 lines but reference 1 has 2"),
        ([], [[]], ["out.en"], "out.en has no lines"),
        (["a"], [], ["out.en"], "no reference given"),
    ],
    ids=["mismatch", "second-ref", "default-names", "no-lines", "no-refs"],
)
def test_check_parallel_errors(hyps: list[str], refs: list[list[str]],
                               names: list[str] | None, message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)):
        check_parallel(hyps, refs, names)


def test_corpus_scores_mismatch_error() -> None:
    with pytest.raises(ScoreError, match="hypotheses has 4 lines but reference 1 has 3"):
        corpus_scores(HYP, [REF1[:3]])


# --------------------------------------------------------------------------- compare


# sacrebleu ref1.en.txt -i A B --paired-bs -m bleu chrf -w 4 -f text
@pytest.mark.parametrize(
    ("a", "b", "metric", "expected"),
    [
        (WORSE, HYP, "bleu", ("1.4221", "57.2878", "0.0010", "56.9553", "19.4714")),
        (WORSE, HYP, "chrf", ("23.6884", "79.3131", "0.0010", "79.2766", "7.1358")),
        (HYP, CLOSE, "bleu", ("57.2878", "60.1707", "0.2547", "59.9861", "14.3869")),
        (HYP, CLOSE, "chrf", ("79.3131", "83.4727", "0.1748", "83.4524", "3.2829")),
        (HYP, HYP, "bleu", ("57.2878", "57.2878", "1.0000", "56.9553", "19.4714")),
    ],
    ids=["better-bleu", "better-chrf", "close-bleu", "close-chrf", "identical"],
)
def test_compare_runs_p_values(a: list[str], b: list[str], metric: str,
                               expected: tuple[str, ...]) -> None:
    m = compare_runs(a, b, [REF1]).get(metric)
    got = (format_score(m.score_a, 4), format_score(m.score_b, 4), f"{m.p_value:.4f}",
           format_score(m.mean_b or 0.0, 4), format_score(m.ci_b or 0.0, 4))
    assert got == expected


@pytest.mark.parametrize(
    ("a", "b", "segment_metric", "expected"),
    [(WORSE, HYP, "chrf", (4, 0, 0)), (HYP, WORSE, "chrf", (0, 4, 0)),
     (HYP, CLOSE, "chrf", (1, 0, 3)), (WORSE, HYP, "ter", (4, 0, 0)),
     (HYP, HYP, "bleu", (0, 0, 4))],
    ids=["all-wins", "all-losses", "one-win", "ter-lower-is-better", "all-ties"],
)
def test_compare_runs_wins(a: list[str], b: list[str], segment_metric: str,
                           expected: tuple[int, int, int]) -> None:
    c = compare_runs(a, b, [REF1], n_samples=10, segment_metric=segment_metric)
    assert (c.wins, c.losses, c.ties) == expected


def test_compare_runs_signature_and_significance() -> None:
    c = compare_runs(WORSE, HYP, REF1, metrics=("bleu",), seed=7)
    m = c.get("bleu")
    assert (m.signature, m.significant(), m.b_better) == (
        "nrefs:1|bs:1000|seed:7|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0",
        True, True)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"seed": 0}, "seed must be a positive integer"), ({"n_samples": 0}, "n_samples"),
     ({"segment_metric": "meteor"}, "unknown metric(s) meteor")],
    ids=["seed-zero", "no-samples", "bad-segment-metric"],
)
def test_compare_runs_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)):
        compare_runs(HYP, CLOSE, [REF1], **kwargs)  # type: ignore[arg-type]


def test_compare_runs_mismatch() -> None:
    with pytest.raises(ScoreError, match="run B has 3 lines but reference 1 has 4"):
        compare_runs(HYP, CLOSE[:3], [REF1])


# --------------------------------------------------------------------------- paragraphs


@pytest.mark.parametrize(
    ("paragraphs", "hyps", "expected"),
    [
        ([0, 0, 1], ["A.", "B.", "C."], ["A. B.", "C."]),
        ([0, 1, 1, 1], ["A.", "B. ", "", " C."], ["A.", "B. C."]),
        ([2, 5], ["A.", "B."], ["A.", "B."]),
        ([], [], []),
    ],
    ids=["two-paragraphs", "strips-and-skips-empty", "gaps-in-numbering", "nothing"],
)
def test_group_by_paragraph(paragraphs: list[int], hyps: list[str], expected: list[str]) -> None:
    assert group_by_paragraph(paragraphs, hyps) == expected


@pytest.mark.parametrize(
    ("paragraphs", "hyps", "message"),
    [([0, 1, 0], ["a", "b", "c"], "segments of paragraph 0 are not contiguous"),
     ([0], ["a", "b"], "2 translations but 1 segment paragraph indices")],
    ids=["not-contiguous", "length-mismatch"],
)
def test_group_by_paragraph_errors(paragraphs: list[int], hyps: list[str], message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)):
        group_by_paragraph(paragraphs, hyps)


def test_paragraph_level_scoring() -> None:
    # Four segments in two paragraphs scored against a one-paragraph-per-line reference.
    paragraph_refs = [" ".join(REF1[:2]), " ".join(REF1[2:])]
    joined = group_by_paragraph([0, 0, 1, 1], HYP)
    assert (joined[0], corpus_scores(joined, [paragraph_refs]).segments) == (
        " ".join(HYP[:2]), 2)


# --------------------------------------------------------------------------- terminology

GLOSSARY = {
    "وزير الخارجية": "Foreign Minister",
    "الوزير": "Minister",
    "السفير": "ambassador",
    "الأمم المتحدة": "UN",
    "أستانا": "Astana",
}


def fake_find(text: str) -> list[TermMatch]:
    """Plain-substring glossary matcher: longest source first, no overlaps."""
    found: list[TermMatch] = []
    taken: list[tuple[int, int]] = []
    for source in sorted(GLOSSARY, key=len, reverse=True):
        start = text.find(source)
        while start >= 0:
            end = start + len(source)
            if not any(start < e and s < end for s, e in taken):
                taken.append((start, end))
                found.append(TermMatch(source, GLOSSARY[source], start, end, source))
            start = text.find(source, end)
    return sorted(found, key=lambda m: m.start)


@pytest.mark.parametrize(
    ("source", "hyp", "hits", "occurrences"),
    [
        ("التقى السفير", "He met the ambassador.", 1, 1),
        ("التقى السفير", "He met the AMBASSADOR.", 1, 1),
        ("التقى السفير", "He met the envoy.", 0, 1),
        ("السفير والسفير", "The ambassador met another ambassador.", 2, 2),
        ("السفير والسفير", "The ambassador met his colleague.", 1, 2),
        ("الأمم المتحدة", "UNESCO said so.", 0, 1),
        ("الأمم المتحدة", "A UN-led mission.", 1, 1),
        ("وزير الخارجية", "The foreign\nminister spoke.", 1, 1),
        ("وزير الخارجية و الوزير", "The Foreign Minister and the Minister.", 2, 2),
        ("وزير الخارجية و الوزير", "The Foreign Minister and his deputy.", 1, 2),
        ("السفير", "The ambassadors left.", 0, 1),
        ("السفير", "The ambassador\u2019s car.", 1, 1),
    ],
    ids=["hit", "case-difference", "miss", "twice-both-found", "twice-one-found",
         "UN-not-in-UNESCO", "UN-hyphenated", "whitespace-in-target", "longer-target-first",
         "shorter-not-inside-longer", "inflection-not-counted", "curly-apostrophe"],
)
def test_term_success(source: str, hyp: str, hits: int, occurrences: int) -> None:
    report = term_metrics([source], [hyp], None, fake_find)
    assert (report.hits, report.occurrences, report.term_success, len(report.misses)) == (
        hits, occurrences, hits / occurrences, occurrences - hits)


def test_term_miss_details() -> None:
    report = term_metrics(["التقى أستانا", "السفير والسفير"],
                          ["Met in Astana.", "The ambassador met his colleague."],
                          None, fake_find)
    assert report.misses == (
        TermMiss(segment=1, source="السفير", source_text="السفير", target="ambassador",
                 hypothesis="The ambassador met his colleague.", expected=2, found=1),
    )


def test_no_term_matched() -> None:
    report = term_metrics(["لا شيء هنا"], ["Nothing here."], [["Nothing here."]], fake_find)
    assert (report.term_success, report.reference_agreement, report.consistency) == (
        None, None, ())


def _translation_of(table: dict[int, str | None]):  # type: ignore[no-untyped-def]
    return lambda segment, match: table.get(segment)


@pytest.mark.parametrize(
    ("hyps", "translation_of", "consistent", "translations"),
    [
        (["The ambassador.", "An ambassador.", "AMBASSADOR"], None, True,
         (("ambassador", 3),)),
        (["The ambassador.", "The envoy.", "The ambassador."], None, False,
         (("ambassador", 2), (None, 1))),
        (["The envoy.", "The emissary.", "The envoy."], None, None, ((None, 3),)),
        (["The envoy.", "The Envoy.", "The envoy."], _translation_of({0: "envoy", 1: "Envoy",
                                                                      2: "envoy"}),
         True, (("envoy", 3),)),
        (["The envoy.", "The emissary.", "The envoy."],
         _translation_of({0: "envoy", 1: "emissary", 2: "envoy"}), False,
         (("envoy", 2), ("emissary", 1))),
    ],
    ids=["all-approved", "approved-and-missed", "all-missed-unknown", "aligned-same",
         "aligned-different"],
)
def test_term_consistency(hyps: list[str], translation_of: object, consistent: bool | None,
                          translations: tuple[tuple[str | None, int], ...]) -> None:
    report = term_metrics(["السفير"] * 3, hyps, None, fake_find,
                          translation_of=translation_of)  # type: ignore[arg-type]
    (entry,) = report.consistency
    assert (entry.source, entry.segments, entry.consistent, entry.translations) == (
        "السفير", (0, 1, 2), consistent, translations)


def test_inconsistent_terms_listed() -> None:
    report = term_metrics(
        ["السفير في أستانا", "السفير في أستانا"],
        ["The ambassador in Astana.", "The envoy in Astana."], None, fake_find)
    assert ([c.source for c in report.inconsistent], report.consistency_rate) == (
        ["السفير"], 0.5)


@pytest.mark.parametrize(
    ("refs", "agreement", "disagreeing_segments"),
    [
        ([["The Foreign Minister spoke.", "The ambassador left."]], 1.0, []),
        ([["The Minister of Foreign Affairs spoke.", "The ambassador left."]], 0.5, [0]),
        ([["The Minister of Foreign Affairs spoke.", "The ambassador left."],
          ["The Foreign Minister spoke.", "The envoy left."]], 1.0, []),
        ([["Foreign Minister", "The envoy left."],
          ["Minister of Foreign Affairs", "The emissary left."]], 0.5, [1]),
    ],
    ids=["agrees", "glossary-vs-reference", "any-reference-set-agrees", "second-segment"],
)
def test_reference_agreement(refs: list[list[str]], agreement: float,
                             disagreeing_segments: list[int]) -> None:
    report = term_metrics(["تحدث وزير الخارجية", "غادر السفير"],
                          ["The Foreign Minister spoke.", "The ambassador left."],
                          refs, fake_find)
    assert (report.term_success, report.reference_agreement,
            [d.segment for d in report.reference_disagreements]) == (
        1.0, agreement, disagreeing_segments)


def test_reference_disagreement_details() -> None:
    report = term_metrics(["تحدث وزير الخارجية"], ["The Foreign Minister spoke."],
                          ["The Minister of Foreign Affairs spoke."], fake_find)
    (d,) = report.reference_disagreements
    assert (d.segment, d.source, d.target, d.references, d.expected, d.found) == (
        0, "وزير الخارجية", "Foreign Minister",
        ("The Minister of Foreign Affairs spoke.",), 1, 0)


@pytest.mark.parametrize(
    ("sources", "hyps", "refs", "message"),
    [(["a", "b"], ["a"], None, "the sources have 2 lines but the hypotheses have 1"),
     (["a"], ["a"], [["a", "b"]], "hypotheses has 1 lines but reference 1 has 2")],
    ids=["sources-vs-hyps", "hyps-vs-refs"],
)
def test_term_metrics_mismatch(sources: list[str], hyps: list[str],
                               refs: Sequence[Sequence[str]] | None, message: str) -> None:
    with pytest.raises(ScoreError, match=re.escape(message)):
        term_metrics(sources, hyps, refs, fake_find)
