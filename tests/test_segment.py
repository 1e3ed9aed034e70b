"""Tests for translate_pipe.segment: exact segment texts, offsets and paragraphs."""

from __future__ import annotations

from pathlib import Path

import pytest

from translate_pipe.errors import SegmentationError
from translate_pipe.records import Segment
from translate_pipe.segment import (
    renumber,
    rules_for,
    split_document,
    split_for_model,
    split_long,
)

SEED = Path(__file__).resolve().parent.parent / "seeds" / "astana-bulletin.ar.txt"


def words(text: str) -> int:
    """Fake token counter: one token per whitespace-separated word."""
    return len(text.split())


def spans(segments: list[Segment]) -> list[tuple[str, int, int, int]]:
    return [(s.text, s.start, s.end, s.paragraph) for s in segments]


# (id, text, lang, expected [(text, start, end, paragraph), ...])
DOCUMENT_CASES = [
    # --- paragraphs and whitespace -------------------------------------------------------
    ("empty", "", "ar", []),
    ("whitespace-only", " \t\n\r\n  \n", "ar", []),
    ("invisible-only", "\ufeff\u200f \n", "ar", []),
    ("single-newline-ends-paragraph", "One\nTwo", "en", [("One", 0, 3, 0), ("Two", 4, 7, 1)]),
    (
        "blank-lines-not-counted-as-paragraphs",
        "One.\n\n\nTwo.",
        "en",
        [("One.", 0, 4, 0), ("Two.", 7, 11, 1)],
    ),
    (
        "crlf",
        "One.\r\nTwo.\r\n\r\nThree.\r\n",
        "en",
        [("One.", 0, 4, 0), ("Two.", 6, 10, 1), ("Three.", 14, 20, 2)],
    ),
    ("cr-only", "One.\rTwo.", "en", [("One.", 0, 4, 0), ("Two.", 5, 9, 1)]),
    ("unicode-line-separator", "One.\u2028Two.", "en", [("One.", 0, 4, 0), ("Two.", 5, 9, 1)]),
    (
        "surrounding-and-trailing-whitespace",
        "  One.   Two.  \t\n",
        "en",
        [("One.", 2, 6, 0), ("Two.", 9, 13, 0)],
    ),
    ("no-final-terminator", "One. Two", "en", [("One.", 0, 4, 0), ("Two", 5, 8, 0)]),
    (
        "bom-and-bidi-marks-stripped",
        "\ufeffOne. \u200fTwo.",
        "en",
        [("One.", 1, 5, 0), ("Two.", 7, 11, 0)],
    ),
    # --- generic (Latin) terminators --------------------------------------------------------
    (
        "latin-terminators",
        "One. Two? Three! Four",
        "en",
        [("One.", 0, 4, 0), ("Two?", 5, 9, 0), ("Three!", 10, 16, 0), ("Four", 17, 21, 0)],
    ),
    ("terminator-run", "Really?! Yes.", "en", [("Really?!", 0, 8, 0), ("Yes.", 9, 13, 0)]),
    (
        "semicolon-not-a-terminator-in-latin",
        "One; two. Three.",
        "en",
        [("One; two.", 0, 9, 0), ("Three.", 10, 16, 0)],
    ),
    (
        "arabic-terminators-ignored-by-generic-rules",
        "One؛ Two؟ Three.",
        "en",
        [("One؛ Two؟ Three.", 0, 16, 0)],
    ),
    # --- quotes and brackets ---------------------------------------------------------------
    (
        "closing-quote-kept",
        'He said "Go now." Then he left.',
        "en",
        [('He said "Go now."', 0, 17, 0), ("Then he left.", 18, 31, 0)],
    ),
    (
        "quote-with-full-stops-stays-whole",
        'He said: "One. Two." Then.',
        "en",
        [('He said: "One. Two."', 0, 20, 0), ("Then.", 21, 26, 0)],
    ),
    (
        "curly-quotes",
        "He said “One. Two.” Then.",
        "en",
        [("He said “One. Two.”", 0, 19, 0), ("Then.", 20, 25, 0)],
    ),
    (
        "unclosed-quote-protects-nothing",
        'He said "One. Two. Three',
        "en",
        [('He said "One.', 0, 13, 0), ("Two.", 14, 18, 0), ("Three", 19, 24, 0)],
    ),
    (
        "lowercase-after-quoted-question",
        '"Really?" he asked. Yes.',
        "en",
        [('"Really?" he asked.', 0, 19, 0), ("Yes.", 20, 24, 0)],
    ),
    (
        "brackets-protect",
        "He left (see p. 5. Or not.) early. Ok.",
        "en",
        [("He left (see p. 5. Or not.) early.", 0, 34, 0), ("Ok.", 35, 38, 0)],
    ),
    (
        "bracketed-sentence-keeps-its-brackets",
        "He left. (He came back.) Ok.",
        "en",
        [("He left.", 0, 8, 0), ("(He came back.)", 9, 24, 0), ("Ok.", 25, 28, 0)],
    ),
    (
        "square-brackets",
        "See [note. Two.] below. End.",
        "en",
        [("See [note. Two.] below.", 0, 23, 0), ("End.", 24, 28, 0)],
    ),
    # --- numbers -----------------------------------------------------------------------------
    (
        "latin-numbers",
        "It cost 3.5 million on 4/7/2017. Then 1.000 people came on 4-5 July.",
        "en",
        [
            ("It cost 3.5 million on 4/7/2017.", 0, 32, 0),
            ("Then 1.000 people came on 4-5 July.", 33, 68, 0),
        ],
    ),
    (
        "enumerated-list",
        "1. First item. 2. Second.",
        "en",
        [("1. First item.", 0, 14, 0), ("2. Second.", 15, 25, 0)],
    ),
    (
        "year-ends-sentence",
        "It happened in 2017. Then more.",
        "en",
        [("It happened in 2017.", 0, 20, 0), ("Then more.", 21, 31, 0)],
    ),
    # --- abbreviations and ellipses ----------------------------------------------------------
    (
        "latin-abbreviations",
        "The U.S. Army met Dr. Smith. Then J. Doe left.",
        "en",
        [("The U.S. Army met Dr. Smith.", 0, 28, 0), ("Then J. Doe left.", 29, 46, 0)],
    ),
    (
        "e-g",
        "Use tools, e.g. Hammers. Fine.",
        "en",
        [("Use tools, e.g. Hammers.", 0, 24, 0), ("Fine.", 25, 30, 0)],
    ),
    (
        "no-with-number",
        "See No. 5 below. Done.",
        "en",
        [("See No. 5 below.", 0, 16, 0), ("Done.", 17, 22, 0)],
    ),
    (
        "unknown-abbreviation-before-lowercase",
        "It weighs 5 lbs. and more. Yes.",
        "en",
        [("It weighs 5 lbs. and more.", 0, 26, 0), ("Yes.", 27, 31, 0)],
    ),
    (
        "latin-ellipsis",
        "Wait... what? Yes... The end.",
        "en",
        [("Wait... what?", 0, 13, 0), ("Yes...", 14, 20, 0), ("The end.", 21, 29, 0)],
    ),
    # --- Arabic ------------------------------------------------------------------------------
    (
        "arabic-terminators",
        "هل جاء؟ نعم؛ جاء! حسنا.",
        "ar",
        [("هل جاء؟", 0, 7, 0), ("نعم؛", 8, 12, 0), ("جاء!", 13, 17, 0), ("حسنا.", 18, 23, 0)],
    ),
    ("arabic-terminator-run", "هل؟! نعم.", "ar", [("هل؟!", 0, 4, 0), ("نعم.", 5, 9, 0)]),
    ("arabic-regional-code", "هل جاء؟ نعم.", "ar-SY", [("هل جاء؟", 0, 7, 0), ("نعم.", 8, 12, 0)]),
    (
        "guillemets-with-question-inside",
        "قال: «هل جاء؟ نعم». ثم ذهب.",
        "ar",
        [("قال: «هل جاء؟ نعم».", 0, 19, 0), ("ثم ذهب.", 20, 27, 0)],
    ),
    (
        "seed-style-quote-then-full-stop",
        'وجاء في البيان: "لا. نعم". وأضاف.',
        "ar",
        [('وجاء في البيان: "لا. نعم".', 0, 26, 0), ("وأضاف.", 27, 33, 0)],
    ),
    (
        "arabic-parentheses-protect",
        "الدول الضامنة (روسيا. تركيا. إيران) وقعت. انتهى.",
        "ar",
        [("الدول الضامنة (روسيا. تركيا. إيران) وقعت.", 0, 41, 0), ("انتهى.", 42, 48, 0)],
    ),
    (
        "arabic-number-range-and-date",
        "في الفترة 4-5 تموز/يوليو 2017. وقرار 2254 نافذ.",
        "ar",
        [("في الفترة 4-5 تموز/يوليو 2017.", 0, 30, 0), ("وقرار 2254 نافذ.", 31, 47, 0)],
    ),
    (
        "arabic-decimals-thousands-slash-date",
        "بلغ العدد 3.5 مليون و1.000 شخص في 4/7/2017. انتهى.",
        "ar",
        [("بلغ العدد 3.5 مليون و1.000 شخص في 4/7/2017.", 0, 43, 0), ("انتهى.", 44, 50, 0)],
    ),
    (
        "arabic-doctor-and-gregorian-year",
        "قال د. محمد إن عام 1950 م. كان صعبا.",
        "ar",
        [("قال د. محمد إن عام 1950 م. كان صعبا.", 0, 36, 0)],
    ),
    (
        "arabic-hijri-year-with-tatweel",
        "توفي سنة 1441 هـ. ودفن في المدينة.",
        "ar",
        [("توفي سنة 1441 هـ. ودفن في المدينة.", 0, 34, 0)],
    ),
    ("arabic-page", "انظر ص. 5 من التقرير.", "ar", [("انظر ص. 5 من التقرير.", 0, 21, 0)]),
    (
        "arabic-dotted-letters",
        "قال أ.د. علي ذلك. ثم غادر.",
        "ar",
        [("قال أ.د. علي ذلك.", 0, 17, 0), ("ثم غادر.", 18, 26, 0)],
    ),
    (
        "latin-abbreviation-in-arabic",
        "زار U.S. وفد. ثم عاد.",
        "ar",
        [("زار U.S. وفد.", 0, 13, 0), ("ثم عاد.", 14, 21, 0)],
    ),
    (
        "arabic-ellipses-never-split",
        "قال... ثم سكت. وغادر… بعدها.",
        "ar",
        [("قال... ثم سكت.", 0, 14, 0), ("وغادر… بعدها.", 15, 28, 0)],
    ),
    (
        "arabic-enumerated-list",
        "1. البند الأول. 2. البند الثاني.",
        "ar",
        [("1. البند الأول.", 0, 15, 0), ("2. البند الثاني.", 16, 32, 0)],
    ),
    (
        "arabic-crlf-paragraphs",
        "الأول.\r\n\r\nالثاني. الثالث؟\r\n",
        "ar",
        [("الأول.", 0, 6, 0), ("الثاني.", 10, 17, 1), ("الثالث؟", 18, 25, 1)],
    ),
]


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [pytest.param(t, lang, exp, id=case_id) for case_id, t, lang, exp in DOCUMENT_CASES],
)
def test_split_document(text: str, lang: str, expected: list[tuple[str, int, int, int]]) -> None:
    assert spans(split_document(text, lang)) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [pytest.param(t, lang, id=case_id) for case_id, t, lang, _ in DOCUMENT_CASES],
)
def test_offsets_and_indices_invariant(text: str, lang: str) -> None:
    segments = split_document(text, lang)
    assert [s.index for s in segments] == list(range(len(segments)))
    assert [text[s.start : s.end] for s in segments] == [s.text for s in segments]
    assert all(s.text and s.text == s.text.strip() for s in segments)


@pytest.mark.parametrize(
    ("lang", "arabic"),
    [
        pytest.param("ar", True, id="ar"),
        pytest.param("AR", True, id="upper"),
        pytest.param("ar_EG", True, id="underscore-region"),
        pytest.param("en", False, id="en"),
        pytest.param("fr", False, id="fr"),
        pytest.param("arz", False, id="not-a-prefix-match"),
    ],
)
def test_rules_for(lang: str, arabic: bool) -> None:
    assert ("؟" in rules_for(lang).terminators) is arabic


# --- the seed bulletin --------------------------------------------------------------------

SEED_SPANS = [
    (0, 107),
    (108, 385),
    (386, 586),
    (587, 928),
    (929, 1076),
    (1077, 1227),
    (1228, 1482),
    (1483, 1583),
    (1584, 2007),
]


def seed_text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("position", "start", "end"),
    [pytest.param(i, s, e, id=f"segment-{i}") for i, (s, e) in enumerate(SEED_SPANS)],
)
def test_seed_bulletin_one_segment_per_line(position: int, start: int, end: int) -> None:
    text = seed_text()
    segments = split_document(text, "ar")
    assert len(segments) == len(SEED_SPANS)
    segment = segments[position]
    assert (segment.index, segment.paragraph, segment.start, segment.end) == (
        position,
        position,
        start,
        end,
    )
    assert segment.text == text.split("\n")[position]


@pytest.mark.parametrize(
    ("position", "opening", "closing"),
    [
        pytest.param(1, 'وجاء في البيان: "لا', 'والفكري".', id="quote-then-full-stop"),
        pytest.param(3, 'وجاء في البيان أيضاً: "تعمل', 'حول سوريا".', id="quote-with-brackets"),
        pytest.param(7, "يذكر أن أستانا،", "حول سوريا.", id="range-and-date"),
    ],
)
def test_seed_bulletin_segment_edges(position: int, opening: str, closing: str) -> None:
    segment = split_document(seed_text(), "ar")[position]
    assert segment.text.startswith(opening)
    assert segment.text.endswith(closing)


def test_seed_bulletin_with_crlf_keeps_offsets() -> None:
    text = seed_text().replace("\n", "\r\n") + "\r\n"
    segments = split_document(text, "ar")
    assert [(s.start, s.end) for s in segments] == [
        (s + i, e + i) for i, (s, e) in enumerate(SEED_SPANS)
    ]


# --- split_long ---------------------------------------------------------------------------

# (id, text, max_tokens, expected [(text, start, end), ...]) for a segment at offset 0.
LONG_CASES = [
    ("fits-unchanged", "a b c", 3, [("a b c", 0, 5)]),
    (
        "whitespace-nearest-middle",
        "a b c d e f",
        2,
        [("a b", 0, 3), ("c", 4, 5), ("d e", 6, 9), ("f", 10, 11)],
    ),
    (
        "latin-comma-before-middle-space",
        "one two three four, five six",
        4,
        [("one two three four,", 0, 19), ("five six", 20, 28)],
    ),
    (
        "arabic-comma-then-conjunction-wa",
        "وقعت الدول الضامنة المذكرة، ووافقت المعارضة على الشروط الجديدة",
        4,
        [
            ("وقعت الدول الضامنة المذكرة،", 0, 27),
            ("ووافقت المعارضة", 28, 43),
            ("على الشروط الجديدة", 44, 62),
        ],
    ),
    (
        "em-dash",
        "المشكلة الأولوية — القضاء على بؤرة الإرهاب",
        3,
        [("المشكلة الأولوية —", 0, 18), ("القضاء على", 19, 29), ("بؤرة الإرهاب", 30, 42)],
    ),
    (
        "spaced-hyphen-is-a-dash",
        "one - two three - four",
        2,
        [("one -", 0, 5), ("two", 6, 9), ("three -", 10, 17), ("four", 18, 22)],
    ),
    (
        "number-range-not-split",
        "the range 4-5 of all things",
        3,
        [("the range 4-5", 0, 13), ("of all things", 14, 27)],
    ),
    (
        "semicolon-and-colon",
        "He said: one two; three four",
        3,
        [("He said:", 0, 8), ("one two;", 9, 17), ("three four", 18, 28)],
    ),
    (
        "sentences-inside-quote-first",
        'He said: "One two. Three four five." Then.',
        3,
        [("He said:", 0, 8), ('"One two.', 9, 18), ('Three four five."', 19, 36), ("Then.", 37, 42)],
    ),
    (
        "outside-brackets-before-inside",
        "alpha beta [x, y] gamma delta, epsilon",
        3,
        [("alpha beta", 0, 10), ("[x, y]", 11, 17), ("gamma delta,", 18, 30), ("epsilon", 31, 38)],
    ),
]


@pytest.mark.parametrize(
    ("text", "max_tokens", "expected"),
    [pytest.param(t, m, exp, id=case_id) for case_id, t, m, exp in LONG_CASES],
)
def test_split_long(text: str, max_tokens: int, expected: list[tuple[str, int, int]]) -> None:
    segment = Segment(index=0, start=0, end=len(text), text=text)
    pieces = split_long(segment, max_tokens, words)
    assert [(p.text, p.start, p.end) for p in pieces] == expected


@pytest.mark.parametrize(
    ("text", "max_tokens", "expected"),
    [
        pytest.param("abcdefghij", 3, ["abcdefghij"], id="single-long-word-stays-whole"),
        pytest.param("abcdefghij xy", 3, ["abcdefghij", "xy"], id="long-word-isolated"),
        pytest.param("ab cd ef", 5, ["ab cd", "ef"], id="fits-by-characters"),
    ],
)
def test_split_long_character_counter(text: str, max_tokens: int, expected: list[str]) -> None:
    segment = Segment(index=0, start=0, end=len(text), text=text)
    assert [p.text for p in split_long(segment, max_tokens, len)] == expected


def test_split_long_keeps_document_offsets_paragraph_and_provisional_indices() -> None:
    document = "Intro.\nFirst part, second part here. Tail."
    segment = split_document(document, "en")[1]
    assert (segment.index, segment.start, segment.paragraph) == (1, 7, 1)
    pieces = split_long(segment, 2, words)
    assert [(p.index, p.text, p.start, p.end, p.paragraph) for p in pieces] == [
        (1, "First part,", 7, 18, 1),
        (2, "second", 19, 25, 1),  # tie between two middle spaces: leftmost wins
        (3, "part here.", 26, 36, 1),
    ]
    assert all(document[p.start : p.end] == p.text for p in pieces)


def test_split_long_returns_the_same_segment_when_it_fits() -> None:
    segment = Segment(index=4, start=10, end=15, text="a b c", paragraph=2)
    assert split_long(segment, 3, words) == [segment]


@pytest.mark.parametrize("max_tokens", [0, -1], ids=["zero", "negative"])
def test_split_long_rejects_non_positive_budget(max_tokens: int) -> None:
    segment = Segment(index=0, start=0, end=1, text="a")
    with pytest.raises(SegmentationError, match="max_tokens must be at least 1"):
        split_long(segment, max_tokens, words)


@pytest.mark.parametrize("max_tokens", [1, 3, 8, 20], ids=lambda m: f"max-{m}")
def test_seed_split_for_model_covers_every_segment(max_tokens: int) -> None:
    text = seed_text()
    pieces = split_for_model(text, "ar", max_tokens, words)
    assert [p.index for p in pieces] == list(range(len(pieces)))
    assert all(text[p.start : p.end] == p.text for p in pieces)
    assert all(words(p.text) <= max_tokens for p in pieces)



SEED_SEGMENTS = split_document(seed_text(), "ar")


@pytest.mark.parametrize("max_tokens", [1, 3, 8, 20], ids=lambda m: f"max-{m}")
@pytest.mark.parametrize("position", range(len(SEED_SEGMENTS)), ids=lambda i: f"segment-{i}")
def test_seed_split_for_model_tiles_each_segment(max_tokens: int, position: int) -> None:
    """Pieces tile each segment: same first start and last end, only whitespace between."""
    text = seed_text()
    segment = SEED_SEGMENTS[position]
    pieces = split_for_model(text, "ar", max_tokens, words)
    inside = [p for p in pieces if segment.start <= p.start < segment.end]
    assert (inside[0].start, inside[-1].end) == (segment.start, segment.end)
    assert all(text[a.end : b.start].isspace() for a, b in zip(inside, inside[1:]))
    assert {p.paragraph for p in inside} == {segment.paragraph}


def test_seed_quoted_statement_split_long() -> None:
    segment = split_document(seed_text(), "ar")[1]
    assert [p.text for p in split_long(segment, 12, words)] == [
        "وجاء في البيان:",
        '"لا يمكن أن ننسى أن أحد أهم نتائج خفض التصعيد هي',
        "إمكانية تركيز القوى والوسائل لتسوية المشكلة الأولوية —",
        "القضاء على بؤرة الإرهاب في سوريا،",
        "نعول على أن تساهم المعارضة الوطنية السورية بشكل أكثر",
        "نشاطا في هذا الصراع ودون هوادة على الصعيد العسكري،",
        'والسياسي، والفكري".',
    ]


def test_seed_brackets_not_split_when_outside_points_exist() -> None:
    segment = split_document(seed_text(), "ar")[3]
    texts = [p.text for p in split_long(segment, 12, words)]
    assert texts[2] == "بشكل مشترك مع الدولتين الضامنتين [تركيا، إيران] والأطراف المراقبة"
    assert texts[3] == "لعملية أستانا [الأردن، الولايات المتحدة، والأمم المتحدة]،"


# --- renumber -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indices", "expected"),
    [
        pytest.param([], [], id="empty"),
        pytest.param([0, 1, 2], [0, 1, 2], id="already-numbered"),
        pytest.param([1, 2, 3, 2], [0, 1, 2, 3], id="provisional"),
    ],
)
def test_renumber(indices: list[int], expected: list[int]) -> None:
    segments = [Segment(index=i, start=k, end=k + 1, text="x") for k, i in enumerate(indices)]
    result = renumber(segments)
    assert [s.index for s in result] == expected
    assert [s.start for s in result] == list(range(len(indices)))


# -- one line of megabytes (issue 14): cut into blocks first, same guarantees ------------------
_WORDS = ["سوريا", "في", "الجولة", "الخامسة", "من", "المحادثات", "حول"]
HUGE_LINES = [
    # (case, text, max tokens)
    ("words without punctuation", " ".join(_WORDS[i % 7] for i in range(60_000)), 50),
    ("with clause marks", " ".join(_WORDS[i % 7] + ("،" if i % 97 == 0 else "") for i in range(60_000)), 50),
    ("a word longer than a block amid words", "كلمة " * 30_000 + "ب" * 50_000 + " كلمة" * 30_000, 40),
]


@pytest.mark.parametrize(("case", "text", "max_tokens"), HUGE_LINES, ids=[c[0] for c in HUGE_LINES])
def test_a_line_of_megabytes_is_split_into_whole_words_that_fit(case: str, text: str, max_tokens: int) -> None:
    def count(piece: str) -> int:
        return len(piece.split())

    segments = split_for_model(text, "ar", max_tokens, count)
    assert [s.index for s in segments] == list(range(len(segments)))
    assert all(text[s.start : s.end] == s.text and s.text == s.text.strip() for s in segments)
    assert all(count(s.text) <= max_tokens for s in segments)
    assert all(a.end <= b.start for a, b in zip(segments, segments[1:]))
    assert [w for s in segments for w in s.text.split()] == text.split()  # no word cut or lost
    assert len(segments) <= 2 * count(text) // max_tokens + 2  # pieces are not needlessly small
