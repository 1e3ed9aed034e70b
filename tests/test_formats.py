"""Glossary exchange formats: CSV/TSV, PO, TBX-Basic and TBX v3."""

from __future__ import annotations

import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from translate_pipe.errors import FormatError, InputError
from translate_pipe.formats import (
    GlossaryFile,
    detect_format,
    dumps_glossary,
    read_glossary,
    write_glossary,
)
from translate_pipe.formats.po import dumps_po, escape_value, unescape_value
from translate_pipe.records import Term

DATA = Path(__file__).parent / "data" / "glossary"
BAD = DATA / "bad"
MSGFMT = "/usr/bin/msgfmt"

# Tricky content: diacritics, commas, quotes, pipes/newlines/tabs in notes, markup characters,
# bidi marks, NBSP, an astral character, backslashes, look-alike PO comment keys, empty
# variants, deprecated status, contexts, leading/trailing spaces in notes.
TRICKY: tuple[Term, ...] = (
    Term(
        source="مُذَكِّرَةُ تَفَاهُمٍ",
        target='memorandum of understanding, "MoU"',
        variants=("مذكرة التفاهم", "مذكرة تفاهم مشتركة"),
        note="line one | with a pipe\nline two, with a comma\r\nline three\tand a tab",
        domain="diplomacy, treaties",
    ),
    Term(source="هدنة", target="truce", note=" padded note ", status="deprecated"),
    Term(source="وقف", target="endowment", domain="religion", context="waqf"),
    Term(source="وقف", target="halt", note="verb", context="verb", status="deprecated"),
    Term(source="وقف", target="stop"),
    Term(
        source="مجلس الأمن & <الدولي>",
        target="Security Council <UNSC> & co",
        variants=("مجلس الامن & co",),
        note='domain: not a field\\n literal backslash-n, "]]>" and #. and \\u0041',
        domain="NBSP\u00a0here 🇸🇾",  # invisible controls are refused on import (test_hygiene.py)
    ),
    Term(source="خفض التصعيد", target="de-escalation", note="\n"),
    # number and blocking contexts: both plurals, a target plural only, source plurals only
    Term(
        source="منطقة عازلة",
        target="buffer zone",
        variants=("منطقة فاصلة",),
        target_plural="buffer zones",
        source_plurals=("مناطق عازلة", "مناطق فاصلة"),
        blocked_in=("منطقة عازلة منزوعة السلاح", "منطقة عازلة <بحرية> & co"),
    ),
    Term(source="مذكرة", target="memorandum", target_plural="memoranda, \"MoUs\"", status="deprecated"),
    Term(source="مجلس", target="council", source_plurals=("مجالس",), context="body"),
    Term(source="الأمن", target="security", blocked_in=("مجلس الأمن القومي",)),
)

GOLDEN_TERMS: tuple[Term, ...] = (
    Term(
        source="مناطق خفض التصعيد",
        target="de-escalation zones",
        variants=("مناطق تخفيف التصعيد",),
        note='plural; "تخفيف" is a common synonym',
        domain="syria",
    ),
    Term(source="هدنة", target="truce", status="deprecated"),
    Term(source="وقف", target="endowment", domain="religion", context="waqf"),
)

ROUND_TRIP_FORMATS = [
    pytest.param("csv", "basic", "g.csv", id="csv"),
    pytest.param("tsv", "basic", "g.tsv", id="tsv"),
    pytest.param("po", "basic", "g.po", id="po"),
    pytest.param("tbx", "basic", "g.tbx", id="tbx-basic"),
    pytest.param("tbx", "v3", "g.tbx", id="tbx-v3"),
]


def _sorted(terms: tuple[Term, ...]) -> tuple[Term, ...]:
    return tuple(sorted(terms, key=lambda t: (t.source, t.context)))


@pytest.mark.parametrize(("fmt", "version", "name"), ROUND_TRIP_FORMATS)
def test_round_trip_is_lossless(tmp_path: Path, fmt: str, version: str, name: str) -> None:
    path = tmp_path / name
    write_glossary(
        path,
        TRICKY,
        fmt,
        source_lang="ar",
        target_lang="en",
        name="diplomatic",
        tbx_version=version,
    )
    assert read_glossary(path) == GlossaryFile(_sorted(TRICKY), "ar", "en")


@pytest.mark.parametrize(("fmt", "version", "name"), ROUND_TRIP_FORMATS)
def test_output_is_deterministic_and_order_independent(fmt: str, version: str, name: str) -> None:
    kwargs = {"source_lang": "ar", "target_lang": "en", "name": "d", "tbx_version": version}
    forward = dumps_glossary(TRICKY, fmt, **kwargs)  # type: ignore[arg-type]
    backward = dumps_glossary(reversed(TRICKY), fmt, **kwargs)  # type: ignore[arg-type]
    assert forward == backward


@pytest.mark.parametrize(
    ("fmt", "version", "golden"),
    [
        pytest.param("csv", "basic", "golden.csv", id="csv"),
        pytest.param("tsv", "basic", "golden.tsv", id="tsv"),
        pytest.param("po", "basic", "golden.po", id="po"),
        pytest.param("tbx", "basic", "golden-basic.tbx", id="tbx-basic"),
        pytest.param("tbx", "v3", "golden-v3.tbx", id="tbx-v3"),
    ],
)
def test_writer_output_matches_golden_file(fmt: str, version: str, golden: str) -> None:
    text = dumps_glossary(
        GOLDEN_TERMS, fmt, source_lang="ar", target_lang="en", name="starter", tbx_version=version
    )
    assert text == (DATA / "golden" / golden).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("terms", "columns"),
    [
        pytest.param((Term("هدنة", "truce"),), "source,target,variants,note,domain", id="defaults"),
        pytest.param(
            (Term("هدنة", "truce", status="deprecated"),),
            "source,target,variants,note,domain,status",
            id="status",
        ),
        pytest.param(
            (Term("هدنة", "truce", context="x"),),
            "source,target,variants,note,domain,context",
            id="context",
        ),
        pytest.param(
            (Term("هدنة", "truce", context="x", status="deprecated"),),
            "source,target,variants,note,domain,status,context",
            id="both",
        ),
    ],
)
def test_csv_extra_columns_only_when_needed(terms: tuple[Term, ...], columns: str) -> None:
    text = dumps_glossary(terms, "csv", source_lang="ar", target_lang="en")
    assert text.split("\n")[0] == columns


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param(
            "cat-tool-basic.tbx",
            GlossaryFile(
                (
                    Term(
                        "مذكرة تفاهم",
                        "memorandum of understanding",
                        ("مذكرة التفاهم",),
                        note="A formal agreement short of a treaty.\nother en-US terms: MoU",
                        domain="diplomacy",
                    ),
                    Term(
                        "مناطق خفض التصعيد",
                        "de-escalation zones",
                        ("مناطق تخفيف التصعيد",),
                        note="Astana talks usage.",
                    ),
                    Term("هدنة", "truce", status="deprecated"),
                    Term(
                        "مجلس الأمن",
                        "Security Council",
                        note="other en-US terms: UNSC | Council of Security (deprecated)",
                    ),
                ),
                "ar-SA",
                "en-US",
            ),
            id="tbx-basic-cat-tool",
        ),
        pytest.param(
            "sample-v3.tbx",
            GlossaryFile(
                (
                    Term(
                        "قرار مجلس الأمن",
                        "Security Council resolution",
                        ("قرار مجلس الأمن الدولي",),
                        note="Also written with the article on both words.",
                        domain="united nations",
                    ),
                    Term("وقف إطلاق النار", "ceasefire", context="military"),
                ),
                "ar",
                "en",
            ),
            id="tbx-v3",
        ),
        pytest.param(
            "excel.csv",
            GlossaryFile(
                (
                    Term(
                        "مجلس الأمن",
                        "Security Council",
                        ("مجلس الامن", "مجلس الأمن الدولي"),
                        domain="united nations",
                    ),
                    Term(
                        "وقف",
                        "halt",
                        note='Verb sense; "halt", not "stop"\r\nsecond line',
                        status="deprecated",
                        context="verb",
                    ),
                    Term("وقف", "endowment", domain="religion", context="waqf"),
                ),
                "ar",
                "en",
            ),
            id="csv-excel-bom-crlf",
        ),
        pytest.param(
            "other-tool.po",
            GlossaryFile(
                (
                    Term(
                        "مجلس الأمن",
                        "Security Council",
                        note="A plain extracted comment, as tbx2po writes it.\na translator comment",
                    ),
                    Term(
                        "مذكرة تفاهم",
                        "memorandum of understanding",
                        ("مذكرة التفاهم",),
                        domain="diplomacy",
                    ),
                    Term("هدنة", "truce", status="deprecated"),
                ),
                "ar",
                "en",
            ),
            id="po-other-tool",
        ),
    ],
)
def test_read_sample_file(name: str, expected: GlossaryFile) -> None:
    assert read_glossary(DATA / name) == expected


def test_po_plural_entry_of_another_tool() -> None:
    """A gettext plural entry: msgid_plural is the source plural, msgstr[1] the target plural."""
    expected = GlossaryFile(
        (Term("قرار", "resolution", target_plural="resolutions", source_plurals=("قرارات",)),),
        "ar",
        "en",
    )
    name = "plural-other-tool.po"
    assert read_glossary(DATA / name) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param('"Language: fr\\n"\n"X-Source-Language: en\\n"\n', ("en", "fr"), id="both"),
        pytest.param('"Language: fr\\n"\n', ("ar", "fr"), id="target-only"),
        pytest.param("", ("ar", "en"), id="none"),
    ],
)
def test_po_languages_from_header(tmp_path: Path, header: str, expected: tuple[str, str]) -> None:
    path = tmp_path / "g.po"
    path.write_text(
        f'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n{header}\n'
        'msgid "a"\nmsgstr "b"\n',
        encoding="utf-8",
    )
    glossary = read_glossary(path)
    assert (glossary.source_lang, glossary.target_lang) == expected


@pytest.mark.parametrize(
    ("source_lang", "target_lang", "expected"),
    [
        pytest.param("en", "fr", ("en", "fr"), id="root-lang-is-source"),
        pytest.param("fr", "en", ("fr", "en"), id="requested-pair"),
        pytest.param("ar", "de", ("en", "fr"), id="absent-pair-falls-back-to-root"),
    ],
)
def test_tbx_language_choice(
    tmp_path: Path, source_lang: str, target_lang: str, expected: tuple[str, str]
) -> None:
    path = tmp_path / "g.tbx"
    write_glossary(path, [Term("truce", "trêve")], source_lang="en", target_lang="fr")
    glossary = read_glossary(path, source_lang=source_lang, target_lang=target_lang)
    assert (glossary.source_lang, glossary.target_lang) == expected


# --------------------------------------------------------------------------- malformed


def _msg(name: str, rest: str) -> str:
    return f"{BAD / name}: {rest}"


MALFORMED = [
    (
        "unknown-column.csv",
        (
            "line 1: unknown column(s) 'comment', 'Flavour'; allowed: source, "
            "target, variants, note, domain, status, context, target_plural, source_plurals, blocked_in"
        ),
    ),
    (
        "missing-target.csv",
        ("line 1: missing required column(s) target; the header must name at least source,target"),
    ),
    ("repeated-column.csv", "line 1: repeated column(s) note"),
    ("empty-target.csv", "line 3: empty target for source term 'هدنة'"),
    ("empty-source-after-multiline.csv", "line 4: empty source term"),
    ("empty-source.tsv", "line 3: empty source term"),
    (
        "duplicate.csv",
        (
            "line 4: duplicate source term 'هدنة' (first at line 2); merge the two "
            "entries or give them different contexts"
        ),
    ),
    ("bad-quote.csv", "line 3: malformed CSV (',' expected after '\"'); check the quoting"),
    ("unterminated-quote.csv", "line 2: malformed CSV (unexpected end of data); check the quoting"),
    ("field-count.csv", "line 3: expected 5 fields, found 3; check for unquoted delimiters"),
    (
        "bad-status.csv",
        (
            "line 2: unknown status 'obsolete' for source term 'هدنة'; use one of "
            "approved, deprecated"
        ),
    ),
    ("empty.csv", "empty file; expected a header row source,target,variants,note,domain"),
    ("latin1.csv", "line 3: not valid UTF-8 (byte 0xE9); save the file as UTF-8 and try again"),
    ("utf16.csv", "the file is UTF-16; save it as UTF-8 and try again"),
    (
        "syntax.po",
        ("line 7: PO syntax error: expected a comment, msgctxt, msgid, msgstr or a quoted string"),
    ),
    (
        "plural-three-forms.po",
        (
            "line 6: plural entry 'قرار' has 3 forms; a glossary entry has two (msgstr[0] the "
            "target, msgstr[1] its plural)"
        ),
    ),
    ("untranslated.po", "line 8: empty target for source term 'مجلس الأمن'"),
    (
        "duplicate.po",
        (
            "line 8: duplicate source term 'هدنة' (first at line 5); merge the two "
            "entries or give them different contexts"
        ),
    ),
    ("repeated-key.po", "line 5: repeated '#. domain:' comment"),
    (
        "charset.po",
        (
            "the header declares charset ISO-8859-6; convert the file to UTF-8 "
            "(msgconv --to-code=UTF-8) and fix the header"
        ),
    ),
    ("latin1.po", "line 5: not valid UTF-8 (byte 0xE9); save the file as UTF-8 and try again"),
    (
        "billion-laughs.tbx",
        (
            "line 2: DOCTYPE with an internal subset (entity or other "
            "declarations) refused for safety; remove the [...] part"
        ),
    ),
    (
        "undefined-entity.tbx",
        (
            "line 5: undefined entity &secret; use the character itself "
            "(UTF-8) or a numeric reference"
        ),
    ),
    ("not-well-formed.tbx", "line 6: XML is not well-formed: mismatched tag"),
    (
        "latin1-declared.tbx",
        (
            "line 1: the XML declares encoding ISO-8859-1; only UTF-8 TBX files "
            "are supported: convert the file and its declaration"
        ),
    ),
    (
        "missing-target.tbx",
        ("termEntry 2 (id 'b', line 8): no en term; every entry needs a target term"),
    ),
    ("no-lang.tbx", "termEntry 1 (line 4): <langSet> without xml:lang at line 5"),
    ("tig-without-term.tbx", "termEntry 1 (id 'a', line 4): <tig> without a <term>"),
    ("empty-source-term.tbx", "conceptEntry 1 (id 'x1', line 4): empty source term"),
    (
        "duplicate.tbx",
        (
            "termEntry 2 (line 8): duplicate source term 'هدنة' (first at termEntry 1 "
            "(id 'a', line 4)); merge the two entries or give them different contexts"
        ),
    ),
    ("wrong-root.tbx", "root element is <tmx>, not TBX <martif> (TBX-Basic) or <tbx> (TBX v3)"),
    ("no-body.tbx", "no <text><body> element; is this a TBX glossary?"),
    (
        "three-languages.tbx",
        (
            "the file has languages fr, de, es; cannot find source 'ar' and "
            "target 'en': name the source and target languages"
        ),
    ),
]


@pytest.mark.parametrize(("name", "rest"), [pytest.param(n, r, id=n) for n, r in MALFORMED])
def test_malformed_file_raises_format_error(name: str, rest: str) -> None:
    with pytest.raises(FormatError) as info:
        read_glossary(BAD / name)
    assert str(info.value) == _msg(name, rest)


def test_every_bad_sample_is_covered() -> None:
    covered = {name for name, _ in MALFORMED} | {"wrong-root.xml"}
    assert {p.name for p in BAD.iterdir()} == covered


# --------------------------------------------------------------------------- detection


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param(Path("g.csv"), "csv", id="csv"),
        pytest.param(Path("G.CSV"), "csv", id="csv-upper"),
        pytest.param(Path("g.tsv"), "tsv", id="tsv"),
        pytest.param(Path("g.po"), "po", id="po"),
        pytest.param(Path("g.tbx"), "tbx", id="tbx"),
    ],
)
def test_detect_format(path: Path, expected: str) -> None:
    assert detect_format(path) == expected


@pytest.mark.parametrize(
    "sample",
    [
        pytest.param("cat-tool-basic.tbx", id="martif-with-doctype"),
        pytest.param("sample-v3.tbx", id="tbx-v3"),
    ],
)
def test_detect_format_xml_by_root(tmp_path: Path, sample: str) -> None:
    path = tmp_path / "glossary.xml"
    path.write_bytes((DATA / sample).read_bytes())
    assert detect_format(path) == "tbx"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param(
            Path("g.xlsx"),
            "g.xlsx: unknown glossary format '.xlsx'; use a .csv, .tsv, .po or .tbx file or "
            "name the format explicitly",
            id="xlsx",
        ),
        pytest.param(
            Path("glossary"),
            "glossary: unknown glossary format '(no extension)'; use a .csv, .tsv, .po or .tbx "
            "file or name the format explicitly",
            id="no-extension",
        ),
        pytest.param(
            BAD / "wrong-root.xml",
            f"{BAD / 'wrong-root.xml'}: XML root element is <tmx>, not a TBX <martif> or <tbx>; "
            "only TBX glossaries are supported",
            id="xml-not-tbx",
        ),
    ],
)
def test_detect_format_rejects(path: Path, message: str) -> None:
    with pytest.raises(FormatError) as info:
        detect_format(path)
    assert str(info.value) == message


def test_missing_file_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        read_glossary(tmp_path / "nope.csv")
    assert str(info.value) == f"{tmp_path / 'nope.csv'}: no such file"


def test_explicit_format_overrides_extension(tmp_path: Path) -> None:
    path = tmp_path / "glossary.txt"
    path.write_text("source\ttarget\nهدنة\ttruce\n", encoding="utf-8")
    assert read_glossary(path, "tsv").terms == (Term("هدنة", "truce"),)


# --------------------------------------------------------------------------- export errors


@pytest.mark.parametrize(
    ("terms", "fmt", "message"),
    [
        pytest.param(
            [Term("a", "b", variants=("x|y",))],
            "csv",
            "cannot export as csv: variant 'x|y' of 'a' contains '|', the variant separator; "
            "export as PO or TBX instead",
            id="csv-pipe-in-variant",
        ),
        pytest.param(
            [Term("a", "b", variants=(" x",))],
            "po",
            "cannot export as po: variant ' x' of 'a' has surrounding spaces or line breaks",
            id="untrimmed-variant",
        ),
        pytest.param(
            [Term("a", "b", source_plurals=("a",))],
            "po",
            "cannot export as po: the source 'a' is listed as its own plural",
            id="source-is-its-own-plural",
        ),
        pytest.param(
            [Term("a", "b", blocked_in=("x|y",))],
            "tsv",
            "cannot export as tsv: blocking context 'x|y' of 'a' contains '|', the variant separator; "
            "export as PO or TBX instead",
            id="tsv-pipe-in-blocking-context",
        ),
        pytest.param(
            [Term("a", "b", target_plural=" bs")],
            "tbx",
            "cannot export as tbx: target plural ' bs' of 'a' has surrounding spaces or line breaks",
            id="untrimmed-target-plural",
        ),
        pytest.param(
            [Term("a", "b", variants=("",))],
            "tbx",
            "cannot export as tbx: empty variant for source term 'a'",
            id="empty-variant",
        ),
        pytest.param(
            [Term("a", " ")],
            "csv",
            "cannot export as csv: empty target for source term 'a'",
            id="empty-target",
        ),
        pytest.param(
            [Term("a", "b"), Term("a", "c")],
            "po",
            "cannot export as po: duplicate source term 'a'",
            id="duplicate",
        ),
        pytest.param(
            [Term("a", "b", status="retired")],
            "tsv",
            "cannot export as tsv: unknown status 'retired' for source term 'a'; use one of "
            "approved, deprecated",
            id="status",
        ),
        pytest.param(
            [Term("a", "b", note="bell\x07")],
            "tbx",
            "cannot export as tbx: the entry for 'a' contains U+0007, which XML 1.0 cannot carry",
            id="tbx-control-char",
        ),
        pytest.param(
            [Term("a", "b")],
            "xlsx",
            "unknown glossary format 'xlsx'; use one of csv, tsv, po, tbx",
            id="unknown-format",
        ),
    ],
)
def test_export_refuses_what_it_cannot_write(terms: list[Term], fmt: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        dumps_glossary(terms, fmt, source_lang="ar", target_lang="en")
    assert str(info.value) == message


def test_failed_write_leaves_existing_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_text("old content\n", encoding="utf-8")
    with pytest.raises(FormatError):
        write_glossary(path, [Term("a", "")], source_lang="ar", target_lang="en")
    assert [p.name for p in tmp_path.iterdir()] == ["g.csv"]
    assert path.read_text(encoding="utf-8") == "old content\n"


def test_write_replaces_file_and_leaves_no_temp_file(tmp_path: Path) -> None:
    path = tmp_path / "g.tsv"
    path.write_text("old content\n", encoding="utf-8")
    write_glossary(path, [Term("هدنة", "truce")], source_lang="ar", target_lang="en")
    assert [p.name for p in tmp_path.iterdir()] == ["g.tsv"]
    assert (
        path.read_text(encoding="utf-8")
        == "source\ttarget\tvariants\tnote\tdomain\nهدنة\ttruce\t\t\t\n"
    )


# --------------------------------------------------------------------------- PO details


def _msgfmt(path: Path) -> tuple[int, list[str]]:
    result = subprocess.run(
        [MSGFMT, "-c", "--check-format", "-o", "/dev/null", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode, result.stderr.splitlines()


@pytest.mark.parametrize(
    ("include_dates", "expected_warnings"),
    [
        pytest.param(
            False, ["warning: header field 'PO-Revision-Date' missing in header"], id="no-dates"
        ),
        pytest.param(True, [], id="with-dates"),
    ],
)
def test_msgfmt_accepts_exported_po(
    tmp_path: Path, include_dates: bool, expected_warnings: list[str]
) -> None:
    path = tmp_path / "g.po"
    write_glossary(
        path,
        TRICKY,
        source_lang="ar",
        target_lang="en",
        name="diplomatic",
        include_dates=include_dates,
    )
    returncode, stderr = _msgfmt(path)
    assert (returncode, [line.split(": ", 1)[1] for line in stderr]) == (0, expected_warnings)


@pytest.mark.parametrize(
    ("include_dates", "expected"),
    [
        pytest.param(False, [], id="default-no-dates"),
        pytest.param(
            True,
            [
                '"POT-Creation-Date: 2025-01-02 03:04+0000\\n"',
                '"PO-Revision-Date: 2025-01-02 03:04+0000\\n"',
            ],
            id="asked",
        ),
    ],
)
def test_po_dates_only_when_asked(include_dates: bool, expected: list[str]) -> None:
    text = dumps_po(
        [Term("a", "b")],
        source_lang="ar",
        target_lang="en",
        include_dates=include_dates,
        now=datetime(2025, 1, 2, 3, 4, tzinfo=timezone.utc),
    )
    assert [line for line in text.splitlines() if "Date:" in line] == expected


@pytest.mark.parametrize(
    ("value", "pipe", "escaped"),
    [
        pytest.param("plain نص", False, "plain نص", id="plain"),
        pytest.param("a\nb\r\nc\td", False, "a\\nb\\r\\nc\\td", id="controls"),
        pytest.param("back\\slash", False, "back\\\\slash", id="backslash"),
        pytest.param("trailing ", False, "trailing\\u0020", id="trailing-space"),
        pytest.param("\u00a0nbsp\u200f", False, "\\u00a0nbsp\\u200f", id="nbsp-rlm"),
        pytest.param("a|b", True, "a\\u007cb", id="pipe-in-variant"),
        pytest.param("a|b", False, "a|b", id="pipe-in-note"),
        pytest.param("\U000e0001", False, "\\U000e0001", id="astral-nonprintable"),
    ],
)
def test_po_comment_escaping(value: str, pipe: bool, escaped: str) -> None:
    assert (escape_value(value, pipe=pipe), unescape_value(escaped)) == (escaped, value)
