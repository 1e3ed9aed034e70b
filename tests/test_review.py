"""The review loop end to end, with the field's own tools as the reviewer's side: translate-toolkit
(XLIFF 1.2, TMX), polib and gettext's msgfmt (PO).  Real model (guided-alignment template
fixture), real database."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import polib
import pytest
import sacrebleu
from translate.storage import tmx as tt_tmx
from translate.storage import xliff as tt_xliff

from translate_pipe.store import Store

from .reviewloop import CEASEFIRE, PX_1, PX_2, PX_3, cli, make_env, ok, statuses, translate

FIX = "exchange of prisoners"


@pytest.fixture()
def env(tmp_path: Path, template_package: Path) -> dict[str, Any]:
    return make_env(tmp_path, template_package)


def review_as_translator(src: Path, dst: Path) -> list[tuple[str, str, str]]:
    """What a reviewer does in a CAT tool, through translate-toolkit: correct "prisoner exchange"
    and approve those units; returns (id, MT, post-edit) of the edited units."""
    store = tt_xliff.xlifffile.parsefile(str(src))
    edited = []
    for unit in store.getunits():
        if "prisoner exchange" in unit.target:
            mt = unit.target
            unit.target = mt.replace("prisoner exchange", FIX)
            unit.set_state_n(tt_xliff.xliffunit.S_TRANSLATED)
            unit.markapproved(True)
            edited.append((unit.getid(), mt, unit.target))
    dst.write_bytes(bytes(store))
    return edited


def test_the_whole_loop(env: dict[str, Any]) -> None:
    # 1. translate: the repeated line is decoded once
    run1 = translate(env, "doc1.ar.txt")
    assert statuses(run1) == ["mt", "mt", "mt", "mt", "repeat"]
    segs = run1["documents"][0]["segments"]
    assert segs[4]["target"] == segs[2]["target"] and "prisoner exchange" in segs[2]["target"]
    assert [len(s["alignment"]) > 0 for s in segs] == [True] * 5
    # 2. export for review; translate-toolkit's XLIFF reader sees one unit per segment
    xlf = env["tmp"] / "run1.xlf"
    ok(env, "review", "export", str(run1["run_id"]), "-o", str(xlf))
    units = tt_xliff.xlifffile.parsefile(str(xlf)).getunits()
    assert [(u.xmlelement.get("resname"), u.source) for u in units] == [
        ("1:0", PX_1), ("1:1", PX_2), ("1:2", PX_3), ("1:3", CEASEFIRE), ("1:4", PX_3)
    ]
    assert [u.target for u in units] == [s["target"] for s in segs]
    assert all(u.get_state_n() == tt_xliff.xliffunit.S_NEEDS_REVIEW and not u.isapproved() for u in units)
    assert "وقف إطلاق النار -> ceasefire [present]" in units[3].getnotes()
    # 3. the reviewer edits and approves in their tool, 4. import
    reviewed = env["tmp"] / "run1.reviewed.xlf"
    edited = review_as_translator(xlf, reviewed)
    assert len(edited) == 4
    out = json.loads(ok(env, "review", "import", str(reviewed), "--reviewer", "A. Haddad", "--json"))
    assert out["run_id"] == run1["run_id"] and out["units"] == 5 and out["tm_units"] == 4
    assert out["glossary_breaks"] == []
    mts, pes = [e[1] for e in edited], [e[2] for e in edited]
    want = [sacrebleu.sentence_ter(mt, [pe]).score for mt, pe in zip(mts, pes)]
    assert [p["hter"] for p in out["post_edits"]] == [round(w, 2) for w in want]
    assert out["hter"] == round(sacrebleu.corpus_ter(mts, [pes]).score, 2)
    with Store(env["db"]) as store:
        stored = store.post_edits(run1["run_id"])
        assert [(p["mt"], p["target"], p["reviewer"], p["state"], p["approved"]) for p in stored] == [
            (mt, pe, "A. Haddad", "translated", 1) for mt, pe in zip(mts, pes)
        ]
        assert [p["hter"] for p in stored] == pytest.approx(want)
        assert all(p["hter_signature"].startswith("hyp:mt|ref:post-edit|nrefs:1|case:lc|tok:tercom") for p in stored)
        assert [t.target for t in store.translations(run1["run_id"])] == [s["target"] for s in segs]  # MT untouched
        hter = [s for s in store.scores(run1["run_id"]) if s["metric"] == "hter"]
        assert hter[0]["value"] == pytest.approx(sacrebleu.corpus_ter(mts, [pes]).score)
    # 5. translate again: the approved segment comes from the translation memory
    run2 = translate(env, "doc2.ar.txt")
    assert statuses(run2) == ["tm", "mt"]
    assert run2["documents"][0]["segments"][0]["target"] == pes[1]
    assert run2["documents"][0]["segments"][0]["alignment"] == []
    with Store(env["db"]) as store:
        origins = list(store.translation_origins(run2["run_id"]).values())
        assert [o for o, _ in origins] == ["tm", "mt"] and origins[0][1] is not None
    # its review export says which target came from the memory
    xlf2 = env["tmp"] / "run2.xlf"
    ok(env, "review", "export", str(run2["run_id"]), "-o", str(xlf2))
    xliff12 = "{urn:oasis:names:tc:xliff:document:1.2}"
    targets = [u.xmlelement.find(f"{xliff12}target") for u in tt_xliff.xlifffile.parsefile(str(xlf2)).getunits()]
    assert [t.get("state-qualifier") for t in targets] == ["exact-match", None]
    # 6. the repeated correction becomes a glossary suggestion (the repeat of PX_3 counts once)
    found = json.loads(ok(env, "glossary", "suggest", "dip", "--json"))
    assert [(s["source"], s["mt"], s["post_edit"], s["count"]) for s in found] == [
        ("تبادل الأسرى", "prisoner exchange", FIX, 3)
    ]
    assert json.loads(ok(env, "glossary", "suggest", "dip", "--min-count", "4", "--json")) == []
    ok(env, "glossary", "add", "dip", found[0]["source"], found[0]["post_edit"])
    assert json.loads(ok(env, "glossary", "suggest", "dip", "--json")) == []  # accepted: no longer proposed


def test_po_review_with_polib_checked_by_msgfmt(env: dict[str, Any]) -> None:
    run = translate(env, "doc1.ar.txt")
    po_path = env["tmp"] / "run.po"
    ok(env, "review", "export", str(run["run_id"]), "-o", str(po_path))
    msgfmt = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(po_path)], capture_output=True, text=True)
    assert msgfmt.returncode == 0 and msgfmt.stderr == "", msgfmt.stderr
    catalog = polib.pofile(str(po_path))
    assert [(e.msgctxt, e.msgid, e.fuzzy) for e in catalog] == [
        ("1:0", PX_1, True), ("1:1", PX_2, True), ("1:2", PX_3, True), ("1:3", CEASEFIRE, True), ("1:4", PX_3, True)
    ]
    assert catalog.metadata["X-Translate-Pipe-Run"] == str(run["run_id"])
    assert "glossary: وقف إطلاق النار -> ceasefire [present]" in catalog[3].comment
    # the reviewer approves one unit unchanged, rewrites another dropping "ceasefire", leaves the rest
    catalog[0].flags.remove("fuzzy")
    catalog[3].msgstr = "The Russian Foreign Ministry stressed the importance of the truce in Sochi"
    catalog[3].flags.remove("fuzzy")
    catalog.save(str(po_path))
    out = json.loads(ok(env, "review", "import", str(po_path), "--reviewer", "B. Saleh", "--json"))
    assert [(p["unit"], p["approved"]) for p in out["post_edits"]] == [("1:0", True), ("1:3", True)]
    assert out["post_edits"][0]["hter"] == 0.0
    assert [(b["key"], b["source_term"], b["target"]) for b in out["glossary_breaks"]] == [
        ("1:3", "وقف إطلاق النار", "ceasefire")
    ]
    r = cli(env, "review", "import", str(env["tmp"] / "run.po"), "--reviewer", "B. Saleh")
    assert r.exit_code == 1 and "already imported" in r.stderr  # same file twice


def test_exports_are_deterministic(env: dict[str, Any]) -> None:
    run = str(translate(env, "doc1.ar.txt")["run_id"])
    for fmt in ("xliff", "po"):
        a = ok(env, "review", "export", run, "--format", fmt)
        assert a == ok(env, "review", "export", run, "--format", fmt)
        assert PX_1 in a  # Arabic as written


def test_fuzzy_matches_are_alternatives(env: dict[str, Any]) -> None:
    # an approved unit whose source differs from PX_2 by one word (تركيا -> إيران)
    variant = PX_2.replace("تركيا", "إيران")
    tmx_file = tt_tmx.tmxfile(sourcelanguage="ar", targetlanguage="en")
    tmx_file.addtranslation(variant, "ar", "In Eastern Ghouta Iran supported the expansion of the exchange of prisoners", "en")
    path = env["tmp"] / "approved.tmx"
    path.write_bytes(bytes(tmx_file))
    assert "1 unit(s) stored" in ok(env, "tm", "import", str(path))
    run = str(translate(env, "doc1.ar.txt")["run_id"])
    xlf = env["tmp"] / "r.xlf"
    ok(env, "review", "export", run, "-o", str(xlf))
    units = tt_xliff.xlifffile.parsefile(str(xlf)).getunits()
    alts = {u.source: [(a.source, a.target, a.xmlelement.get("match-quality")) for a in u.getalttrans()] for u in units}
    # 8 words, one substituted (تركيا -> إيران): 1 - 1/8 = 87.5%
    assert alts[PX_2] == [(variant, "In Eastern Ghouta Iran supported the expansion of the exchange of prisoners", "88")]
    assert alts[PX_1] == [] and alts[CEASEFIRE] == []
    assert ok(env, "review", "export", run, "--fuzzy", "95").count("<alt-trans") == 0


def test_tmx_export_read_by_translate_toolkit_and_reimported(env: dict[str, Any]) -> None:
    run = translate(env, "doc1.ar.txt")
    xlf, reviewed = env["tmp"] / "r.xlf", env["tmp"] / "rr.xlf"
    ok(env, "review", "export", str(run["run_id"]), "-o", str(xlf))
    review_as_translator(xlf, reviewed)
    ok(env, "review", "import", str(reviewed), "--reviewer", "A. Haddad")
    tmx_path = env["tmp"] / "approved.tmx"
    ok(env, "tm", "export", "-o", str(tmx_path))
    parsed = tt_tmx.tmxfile.parsefile(str(tmx_path))
    pairs = sorted((u.source, u.target) for u in parsed.getunits())
    assert len(pairs) == 3 and (PX_3, run["documents"][0]["segments"][2]["target"].replace("prisoner exchange", FIX)) in pairs
    assert tmx_path.read_text(encoding="utf-8") == ok(env, "tm", "export")  # deterministic
    # into a fresh database: the same units, and translate reuses them
    other = dict(env, db=env["tmp"] / "other.db")
    ok(other, "glossary", "import", str(env["tmp"] / "g.csv"), "--name", "dip")
    assert "3 unit(s) stored" in ok(other, "tm", "import", str(tmx_path))
    assert statuses(translate(other, "doc2.ar.txt")) == ["tm", "mt"]


BAD_IMPORTS = [
    # (case, how the reviewed file is made from the exported one, expected message part)
    ("another run (--run)", lambda t: t, "is the review file of run 1, not run 2"),
    ("unit of another run", lambda t: t.replace('id="1:1" resname="1:1"', 'id="7:1" resname="7:1"'), "unit '7:1' is not a segment of run 1"),
    ("changed source", lambda t: t.replace(PX_2, PX_2.replace("تركيا", "إيران")), "the source of unit '1:1' was changed"),
    ("duplicate unit", lambda t: t.replace('id="1:2" resname="1:2"', 'id="1:1" resname="1:1"'), "unit '1:1' appears twice"),
    ("broken XML", lambda t: t.replace("</body>", "</bdy>"), "not a valid XLIFF file (XML error at line"),
    ("no run id", lambda t: t.replace('tp:run="1"', ""), "no translate-pipe run id in the file"),
    ("not XLIFF", lambda t: "<html><body/></html>", "not an XLIFF 1.2 file"),
]


@pytest.mark.parametrize(("case", "mangle", "message"), BAD_IMPORTS, ids=[c[0] for c in BAD_IMPORTS])
def test_bad_review_files_store_nothing(env: dict[str, Any], case: str, mangle: Any, message: str) -> None:
    run = translate(env, "doc1.ar.txt")
    assert run["run_id"] == 1
    translate(env, "doc2.ar.txt")  # run 2
    xlf = env["tmp"] / "r.xlf"
    ok(env, "review", "export", "1", "-o", str(xlf))
    reviewed = env["tmp"] / "bad.xlf"
    edited = xlf.read_text(encoding="utf-8").replace("prisoner exchange", FIX).replace("needs-review-translation", "translated")
    reviewed.write_text(mangle(edited), encoding="utf-8")
    extra = ["--run", "2"] if case.startswith("another run") else []
    r = cli(env, "review", "import", str(reviewed), "--reviewer", "X", *extra)
    assert r.exit_code == 1
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output
    with Store(env["db"]) as store:
        assert (store.count("post_edits"), store.count("review_imports"), store.count("tm_units")) == (0, 0, 0)


BAD_PO = [
    ("broken PO", 'msgid "a"\nmsgstr "b"\nbogus line\n', "not a valid PO file (syntax error at line 3)"),
    ("PO without run id", 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgctxt "1:0"\nmsgid "x"\nmsgstr "y"\n', "no translate-pipe run id"),
]


@pytest.mark.parametrize(("case", "text", "message"), BAD_PO, ids=[c[0] for c in BAD_PO])
def test_bad_po_files(env: dict[str, Any], case: str, text: str, message: str) -> None:
    path = env["tmp"] / "bad.po"
    path.write_text(text, encoding="utf-8")
    r = cli(env, "review", "import", str(path))
    assert r.exit_code == 1 and message in r.stderr and "Traceback" not in r.output


def test_bad_tmx(env: dict[str, Any]) -> None:
    path = env["tmp"] / "bad.tmx"
    path.write_text("<tmx version='1.4'><body><tu>", encoding="utf-8")
    r = cli(env, "tm", "import", str(path))
    assert r.exit_code == 1 and "not a valid TMX file" in r.stderr
    with Store(env["db"]) as store:
        assert store.count("tm_units") == 0


def test_msgfmt_is_available() -> None:
    assert shutil.which("msgfmt"), "gettext's msgfmt is needed (installed by .ci/run)"
