"""What a newcomer trips over (issue 11, part 3): one test per point."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from translate_pipe import __version__
from translate_pipe.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()


def test_version_matches_the_project() -> None:
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    declared = re.search(r'^version = "([^"]+)"', (ROOT / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    assert declared is not None
    assert r.output == f"translate-pipe {declared.group(1)}\n" == f"translate-pipe {__version__}\n"


# -- read-only commands never create a database -------------------------------------------------
READ_ONLY = [
    ["glossary", "list", "g"],
    ["glossary", "show", "g", "أستانا"],
    ["glossary", "lint", "g"],
    ["glossary", "log", "g"],
    ["glossary", "diff", "g", "0", "1"],
    ["glossary", "export", "g"],
    ["glossary", "match", "g", "-"],
    ["runs"],
    ["refs", "list"],
    ["score", "--run", "1"],
    ["score", "compare", "1", "2"],
    ["retranslate", "--glossary", "g"],
]


@pytest.mark.parametrize("args", READ_ONLY, ids=[" ".join(a[:2]) for a in READ_ONLY])
def test_read_only_command_does_not_create_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRANSLATE_PIPE_DB", raising=False)
    r = runner.invoke(app, ["--packages-dir", str(tmp_path / "pkgs"), *args], input="قال\n")
    assert r.exit_code == 1
    db = tmp_path / "outputs" / "translate_pipe.db"
    assert r.output == (
        f"translate-pipe: error: no database at outputs/translate_pipe.db ({db}); nothing has been stored "
        "there yet; point at the database you used with --db PATH or the TRANSLATE_PIPE_DB environment variable\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_scoring_files_needs_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "h.txt").write_text("a b c\n", encoding="utf-8")
    (tmp_path / "r.txt").write_text("a b c\n", encoding="utf-8")
    r = runner.invoke(app, ["score", "--hyp", "h.txt", "--refs", "r.txt", "--json"])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.txt", "r.txt"]


def cli_db(db: Path, *args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["--db", str(db), *args], input=input)


def test_glossary_list_without_a_name_lists_the_glossaries(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    for args in (["dip", "أستانا", "Astana"], ["dip", "موسكو", "Moscow"], ["geo", "حمص", "Homs"]):
        assert cli_db(db, "glossary", "add", *args).exit_code == 0
    assert cli_db(db, "glossary", "remove", "dip", "موسكو").exit_code == 0
    r = cli_db(db, "glossary", "list")
    assert r.exit_code == 0, r.output
    assert r.output == "dip\tar->en\tv3\t1 term(s), 1 deprecated\ngeo\tar->en\tv1\t1 term(s)\n"
    r = cli_db(db, "glossary", "list", "--json")
    assert json.loads(r.output) == [
        {"name": "dip", "source_lang": "ar", "target_lang": "en", "version": 3, "terms": 1, "deprecated": 1},
        {"name": "geo", "source_lang": "ar", "target_lang": "en", "version": 1, "terms": 1, "deprecated": 0},
    ]


def test_refs_list(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    src, ref = tmp_path / "a.ar.txt", tmp_path / "a.en.txt"
    src.write_text("قال في أستانا.\nوجاء في البيان.\n", encoding="utf-8")
    ref.write_text("He said in Astana.\nThe statement said.\n", encoding="utf-8")
    assert cli_db(db, "refs", "import", str(src), str(ref)).exit_code == 0
    assert cli_db(db, "refs", "import", str(src), str(ref), "--name", "second").exit_code == 0
    r = cli_db(db, "refs", "list")
    assert r.exit_code == 0, r.output
    assert r.output == f"1\t{src}\ta.en.txt\t2 line(s)\t{ref}\n1\t{src}\tsecond\t2 line(s)\t{ref}\n"
    (first, _) = json.loads(cli_db(db, "refs", "list", "--json").output)
    assert {k: first[k] for k in ("document_id", "document", "name", "path", "lines")} == {
        "document_id": 1, "document": str(src), "name": "a.en.txt", "path": str(ref), "lines": 2,
    }


def stored_runs(db: Path) -> None:
    """Run 1: plain, a file and stdin; run 2: hard glossary, a.ar.txt stored (one term present),
    then failing on c.ar.txt."""
    from translate_pipe import api, pipeline
    from translate_pipe.files import InputDoc
    from translate_pipe.store import Store

    from .test_pipeline_chain import DOC_A, DOC_B, WORDS, FakeEngine, loader

    with Store(db) as store:
        pipeline.translate(
            store, loader(FakeEngine(WORDS)), [InputDoc("a.ar.txt", DOC_A), InputDoc("-", DOC_B)],
            from_code="ar", to_code="en", settings=pipeline.TranslateSettings(), outputs=[tmp_out(db), None],
        )
        api.glossary_add(store, "g", "أستانا", "Astana", author="t")
        with pytest.raises(RuntimeError):
            pipeline.translate(
                store, loader(FakeEngine(WORDS, fail_on="حمص")), [InputDoc("a.ar.txt", DOC_A), InputDoc("c.ar.txt", "حمص.\n")],
                from_code="ar", to_code="en", settings=pipeline.TranslateSettings(glossary="g", chunk_segments=1),
            )


def tmp_out(db: Path) -> Path:
    return db.parent / "out" / "a.en.txt"


def test_runs_shows_mode_and_inputs(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    stored_runs(db)
    lines = cli_db(db, "runs").output.splitlines()
    assert [line.split("\t")[:3] + line.split("\t")[5:] for line in lines] == [
        ["1", "translate", "completed", "plain", "a.ar.txt, <stdin>"],
        ["2", "translate", "failed", "hard glossary v1", "a.ar.txt, c.ar.txt"],  # inputs registered at the start
    ]
    (one, two) = json.loads(cli_db(db, "runs", "--json").output)
    assert (one["mode"], one["inputs"], one["documents"]) == ("plain", ["a.ar.txt", "<stdin>"], 2)
    assert (two["mode"], two["inputs"]) == ("hard", ["a.ar.txt", "c.ar.txt"])  # registered when the run started


def test_runs_show(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    stored_runs(db)
    detail = json.loads(cli_db(db, "runs", "show", "1", "--json").output)
    assert detail["files"] == [{"input": "a.ar.txt", "output": str(tmp_out(db))}, {"input": None, "output": None}]
    assert (detail["segments"], detail["term_outcomes"], detail["error"]) == (3, {}, None)
    text = cli_db(db, "runs", "show", "2").output
    assert "mode:     hard, glossary g v1\n" in text
    assert "segments: 2; terms: 1 present\n" in text
    assert "error:    cannot translate حمص\n" in text
    r = cli_db(db, "runs", "show", "9")
    assert r.exit_code == 1 and "no run 9" in r.output


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)], ids=["022", "027", "077"])
def test_new_output_files_follow_the_umask(tmp_path: Path, umask: int, mode: int) -> None:
    import os

    from translate_pipe import pipeline
    from translate_pipe.files import InputDoc
    from translate_pipe.store import Store

    from .test_pipeline_chain import DOC_A, WORDS, FakeEngine, loader

    out, export = tmp_path / "out" / "a.en.txt", tmp_path / "g.po"
    old = os.umask(umask)
    try:
        with Store(tmp_path / "t.db") as store:
            pipeline.translate(
                store, loader(FakeEngine(WORDS)), [InputDoc("a.ar.txt", DOC_A)],
                from_code="ar", to_code="en", settings=pipeline.TranslateSettings(), outputs=[out],
            )
        assert cli_db(tmp_path / "t.db", "glossary", "add", "g", "أستانا", "Astana").exit_code == 0
        assert cli_db(tmp_path / "t.db", "glossary", "export", "g", "--format", "po", "-o", str(export)).exit_code == 0
    finally:
        os.umask(old)
    assert (out.stat().st_mode & 0o777, export.stat().st_mode & 0o777) == (mode, mode)


def test_rewritten_output_keeps_its_mode(tmp_path: Path) -> None:
    from translate_pipe.files import atomic_write

    path = tmp_path / "a.en.txt"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o604)
    atomic_write(path, "new\n")
    assert (path.read_text(encoding="utf-8"), path.stat().st_mode & 0o777) == ("new\n", 0o604)


# -- help reads like a man page -------------------------------------------------------------------
def _commands(group, prefix=()):  # type: ignore[no-untyped-def]
    for name, cmd in sorted(getattr(group, "commands", {}).items()):
        yield (*prefix, name), cmd
        yield from _commands(cmd, (*prefix, name))


def _all_commands() -> list[tuple[str, ...]]:
    import typer.main

    return [(), *(path for path, _ in _commands(typer.main.get_command(app)))]


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "translate-pipe")
def test_help_reads_like_a_man_page(path: tuple[str, ...]) -> None:
    r = runner.invoke(app, [*path, "--help"], terminal_width=200)
    assert r.exit_code == 0
    assert re.findall(r"<[a-z][a-z\[\] ]*>|\{[A-Z_]+\}|\[\[", r.output) == []  # no <int range>, {NAME}, [[NAME]]
    options = [line.split()[0] for line in r.output.splitlines() if re.match(r"  -", line)]
    undocumented = [
        line.strip() for line in r.output.splitlines() if re.match(r"  -", line) and len(re.split(r"\s{2,}", line.strip())) < 2
    ]
    assert options and undocumented == []


# -- history and diff show every field that changed ----------------------------------------------
def edited(db: Path) -> None:
    assert cli_db(db, "glossary", "add", "g", "أستانا", "Astana", "--note", "capital").exit_code == 0  # v1
    assert cli_db(db, "glossary", "add", "g", "أستانا", "Astana", "--note", "city", "--domain", "geo").exit_code == 0
    assert cli_db(db, "glossary", "add", "g", "أستانا", "Astana", "--variant", "استانا").exit_code == 0  # v3


@pytest.mark.parametrize(
    "v1,v2,line",
    [
        (1, 2, "changed\tأستانا\tAstana -> Astana\tnote: 'capital' -> 'city'; domain: '' -> 'geo'"),
        (2, 3, "changed\tأستانا\tAstana -> Astana\tvariants: '' -> 'استانا'"),
        (0, 1, "added\tأستانا\t- -> Astana"),
    ],
    ids=["note-domain", "variant", "added"],
)
def test_diff_shows_every_changed_field(tmp_path: Path, v1: int, v2: int, line: str) -> None:
    edited(tmp_path / "t.db")
    assert cli_db(tmp_path / "t.db", "glossary", "diff", "g", str(v1), str(v2)).output == line + "\n"


def test_diff_json_names_the_changed_fields(tmp_path: Path) -> None:
    edited(tmp_path / "t.db")
    (change,) = json.loads(cli_db(tmp_path / "t.db", "glossary", "diff", "g", "1", "3", "--json").output)
    assert change["fields"] == ["variants", "note", "domain"]


def test_history_shows_every_changed_field(tmp_path: Path) -> None:
    edited(tmp_path / "t.db")
    out = cli_db(tmp_path / "t.db", "glossary", "show", "g", "أستانا").output
    assert out.split("history:\n")[1] == (
        "  v1: Astana [approved]\n"
        "  v2: Astana [approved]; note: 'capital' -> 'city'; domain: '' -> 'geo'\n"
        "  v3: Astana [approved]; variants: '' -> 'استانا'\n"
    )


# -- glossary add edits only the fields given -----------------------------------------------------
BEFORE = {"target": "Astana", "variants": ["استانا"], "note": "capital until 2019", "domain": "geo", "status": "approved"}


@pytest.mark.parametrize(
    "args,changed",
    [
        (["--domain", "diplomacy"], {"domain": "diplomacy"}),
        (["--note", "city"], {"note": "city"}),
        (["Nur-Sultan"], {"target": "Nur-Sultan"}),
        (["--variant", "آستانا", "--variant", "استانه"], {"variants": ["آستانا", "استانه"]}),
    ],
    ids=["domain-only", "note-only", "target-only", "variants-only"],
)
def test_glossary_add_edits_only_the_fields_given(tmp_path: Path, args: list[str], changed: dict[str, object]) -> None:
    db = tmp_path / "t.db"
    r = cli_db(db, "glossary", "add", "g", "أستانا", "Astana", "--variant", "استانا", "--note", "capital until 2019", "--domain", "geo")
    assert r.exit_code == 0, r.output
    r = cli_db(db, "glossary", "add", "g", "أستانا", *args)
    assert r.exit_code == 0 and r.output.endswith(": updated (version 2)\n"), r.output
    (term,) = json.loads(cli_db(db, "glossary", "list", "g", "--json").output)
    assert {k: term[k] for k in BEFORE} == {**BEFORE, **changed}


def test_glossary_add_new_term_needs_a_target(tmp_path: Path) -> None:
    assert cli_db(tmp_path / "t.db", "glossary", "add", "g", "أستانا", "Astana").exit_code == 0
    r = cli_db(tmp_path / "t.db", "glossary", "add", "g", "موسكو", "--note", "x")
    assert (r.exit_code, r.output) == (1, "translate-pipe: error: 'موسكو' is not in glossary 'g'; give its TARGET to add it\n")


def test_editing_a_deprecated_term_keeps_it_deprecated(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    assert cli_db(db, "glossary", "add", "g", "أستانا", "Astana").exit_code == 0
    assert cli_db(db, "glossary", "remove", "g", "أستانا").exit_code == 0
    assert cli_db(db, "glossary", "add", "g", "أستانا", "--note", "renamed in 2019").exit_code == 0
    (term,) = json.loads(cli_db(db, "glossary", "list", "g", "--deprecated", "--json").output)
    assert (term["status"], term["note"]) == ("deprecated", "renamed in 2019")


def test_domain_is_documented_as_free_text(tmp_path: Path) -> None:
    help_text = runner.invoke(app, ["glossary", "add", "--help"], terminal_width=200).output
    assert "--domain TEXT  Domain, free text" in help_text or re.search(r"--domain DOMAIN\s+Domain, free text", help_text)
    assert cli_db(tmp_path / "t.db", "glossary", "add", "g", "أستانا", "Astana", "--domain", "any words").exit_code == 0


@pytest.mark.parametrize(
    "fmt,args,exported",
    [
        ("po", [], ["مناطق خفض التصعيد"]),
        ("po", ["--deprecated"], ["أستانا", "مناطق خفض التصعيد"]),
        ("csv", [], ["أستانا", "مناطق خفض التصعيد"]),
        ("tbx", [], ["أستانا", "مناطق خفض التصعيد"]),
    ],
    ids=["po", "po-deprecated", "csv-marks-status", "tbx-marks-status"],
)
def test_po_export_leaves_deprecated_terms_out(tmp_path: Path, fmt: str, args: list[str], exported: list[str]) -> None:
    from translate_pipe.formats import read_glossary

    db, out = tmp_path / "t.db", tmp_path / f"g.{fmt}"
    assert cli_db(db, "glossary", "add", "g", "أستانا", "Astana").exit_code == 0
    assert cli_db(db, "glossary", "add", "g", "مناطق خفض التصعيد", "de-escalation zones").exit_code == 0
    assert cli_db(db, "glossary", "remove", "g", "أستانا").exit_code == 0
    assert cli_db(db, "glossary", "export", "g", "--format", fmt, "-o", str(out), *args).exit_code == 0
    terms = read_glossary(out).terms
    assert sorted(t.source for t in terms) == exported
    assert [t.status for t in terms if t.source == "أستانا"] in ([], ["deprecated"])


# -- acknowledging a contained-term warning per entry ----------------------------------------------
def contained(db: Path) -> None:
    assert cli_db(db, "glossary", "add", "g", "وزير الخارجية", "Foreign Minister").exit_code == 0
    r = cli_db(db, "glossary", "add", "g", "وزير الخارجية الأمريكي", "US Secretary of State", "--note", "not a minister")
    assert r.exit_code == 0
    assert cli_db(db, "glossary", "add", "g", "الأمم المتحدة", "United Nations").exit_code == 0
    assert cli_db(db, "glossary", "add", "g", "الأمم المتحدة للطفولة", "UNICEF").exit_code == 0


def lint_codes(db: Path) -> list[tuple[str, str]]:
    return [(i["code"], i["source"]) for i in json.loads(cli_db(db, "glossary", "lint", "g", "--json").output)]


def test_a_contained_term_warning_can_be_acknowledged_per_entry(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    contained(db)
    assert lint_codes(db) == [("contained-term", "الأمم المتحدة للطفولة"), ("contained-term", "وزير الخارجية الأمريكي")]
    r = cli_db(db, "glossary", "ack", "g", "وزير الخارجية الأمريكي")
    assert (r.exit_code, r.output) == (0, "g: وزير الخارجية الأمريكي: contained-term acknowledged\n")
    assert lint_codes(db) == [("contained-term", "الأمم المتحدة للطفولة")]  # the other entry still warns
    r = cli_db(db, "glossary", "lint", "g")
    assert r.stderr == "g: 0 error(s), 1 warning(s) (1 more acknowledged)\n"
    # editing the entry brings its warning back
    assert cli_db(db, "glossary", "add", "g", "وزير الخارجية الأمريكي", "US Secretary").exit_code == 0
    assert len(lint_codes(db)) == 2


@pytest.mark.parametrize(
    "source,code,message",
    [
        ("وزير الخارجية", "contained-term", "lint reports no contained-term for 'وزير الخارجية'"),
        ("وزير الخارجية الأمريكي", "untrimmed", "lint reports no untrimmed"),
        ("غير موجود", "contained-term", "has no term 'غير موجود'"),
    ],
    ids=["no-warning", "other-code", "unknown-term"],
)
def test_only_a_reported_warning_can_be_acknowledged(tmp_path: Path, source: str, code: str, message: str) -> None:
    contained(tmp_path / "t.db")
    r = cli_db(tmp_path / "t.db", "glossary", "ack", "g", source, "--code", code)
    assert r.exit_code == 1 and message in r.output
