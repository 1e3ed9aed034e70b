"""End to end with a tiny but real Argos package: install, translate, store, errors."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from translate_pipe import api, models
from translate_pipe.cli import app
from translate_pipe.store import Store

from .tinymodel import build_package

# Sentence pairs the tiny model memorises (Arabic from the seed bulletin; English from its
# reference translation or written for the test).
A_AR = "يذكر أن أستانا، كانت قد استضافت في الفترة 4-5 تموز/يوليو 2017 الجولة الخامسة من المحادثات حول سوريا."
A_EN = "It should be noted that Astana hosted the fifth round of talks on Syria on 4-5 July 2017."
B_AR = "وجاء في البيان أيضاً."
B_EN = "The statement also said."
C_AR = "وأعلنت الوزارة أن موسكو تعوّل على مساهمة المعارضة السورية بشكل أكثر نشاطا في عملية محاربة الإرهاب في سوريا."
C_EN = (
    "The ministry announced that Moscow is counting on the Syrian opposition to contribute more "
    "actively to the fight against terrorism in Syria."
)
D_AR = "روسيا وتركيا وإيران."
D_EN = "Russia, Turkey and Iran."
PAIRS = [(A_AR, A_EN), (B_AR, B_EN), (C_AR, C_EN), (D_AR, D_EN)]

DOC = f"{A_AR} {B_AR}\n{C_AR}\n"
DOC_EN = f"{A_EN} {B_EN}\n{C_EN}\n"

runner = CliRunner()


@pytest.fixture(scope="session")
def package_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_package(PAIRS, tmp_path_factory.mktemp("pkg"))


@pytest.fixture()
def env(tmp_path: Path, package_file: Path) -> dict[str, Any]:
    packages = tmp_path / "packages"
    r = runner.invoke(app, ["--packages-dir", str(packages), "models", "install", "--from-file", str(package_file)])
    assert r.exit_code == 0, r.output
    doc = tmp_path / "bulletin.ar.txt"
    doc.write_text(DOC, encoding="utf-8")
    return {"packages": packages, "db": tmp_path / "t.db", "doc": doc, "out": tmp_path / "out", "tmp": tmp_path}


def cli(env: dict[str, Any], *args: str, input: str | bytes | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(
        app, ["--db", str(env["db"]), "--packages-dir", str(env["packages"]), *args], input=input
    )


def counts(db: Path) -> dict[str, int]:
    if not db.exists():
        return {}
    with Store(db) as store:
        return {t: store.count(t) for t in ("documents", "segments", "runs", "translations", "alignments")}


def test_models_list(env: dict[str, Any]) -> None:
    r = cli(env, "models", "list", "--json")
    assert r.exit_code == 0
    assert json.loads(r.output) == [
        {
            "name": "translate-ar_en-1_0",
            "from": "ar",
            "to": "en",
            "version": "1.0",
            "path": str(env["packages"] / "translate-ar_en-1_0"),
        }
    ]


def test_translate_file_writes_output_and_json(env: dict[str, Any]) -> None:
    r = cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (env["out"] / "bulletin.en.txt").read_text(encoding="utf-8") == DOC_EN
    assert out["model"] == {"name": "translate-ar_en-1_0", "version": "1.0"}
    (doc,) = out["documents"]
    assert doc["path"] == str(env["doc"])
    segs = doc["segments"]
    assert [(s["index"], s["source"], s["target"]) for s in segs] == [
        (0, A_AR, A_EN),
        (1, B_AR, B_EN),
        (2, C_AR, C_EN),
    ]
    a_end = len(A_AR)
    assert [(s["source_start"], s["source_end"]) for s in segs] == [
        (0, a_end),
        (a_end + 1, a_end + 1 + len(B_AR)),
        (a_end + 2 + len(B_AR), a_end + 2 + len(B_AR) + len(C_AR)),
    ]


@pytest.fixture(scope="module", params=["attention", "predict"])
def translated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, package_file: Path) -> dict[str, Any]:
    """One `translate --json` of DOC per alignment method, shared by the per-segment checks."""
    tmp = tmp_path_factory.mktemp("translated")
    packages = tmp / "packages"
    assert runner.invoke(app, ["--packages-dir", str(packages), "models", "install", "--from-file", str(package_file)]).exit_code == 0
    doc = tmp / "bulletin.ar.txt"
    doc.write_text(DOC, encoding="utf-8")
    env = {"packages": packages, "db": tmp / "t.db"}
    r = cli(env, "translate", str(doc), "-o", str(tmp / "out"), "--json", "--align", request.param)
    assert r.exit_code == 0, r.output
    return {**json.loads(r.stdout), "align": request.param}


@pytest.mark.parametrize("index", [0, 1, 2], ids=lambda i: f"segment-{i}")
def test_segment_offsets_and_word_links(translated: dict[str, Any], index: int) -> None:
    s = translated["documents"][0]["segments"][index]
    assert DOC[s["source_start"] : s["source_end"]] == s["source"]
    assert s["terms"] == []
    if translated["align"] == "attention":
        assert s["alignment"], "argmax attention links every segment"
    # (prediction difference may find no evidence in a model that recites memorised sentences)
    # links lie inside the segment and its translation, and are whole words (no surrounding spaces)
    outside = [
        (ss, se, ts, te)
        for ss, se, ts, te in s["alignment"]
        if not (s["source_start"] <= ss < se <= s["source_end"] and 0 <= ts < te <= len(s["target"]))
    ]
    assert outside == []
    assert [DOC[ss:se] for ss, se, _, _ in s["alignment"]] == [DOC[ss:se].strip() for ss, se, _, _ in s["alignment"]]
    assert [s["target"][ts:te] for _, _, ts, te in s["alignment"]] == [
        s["target"][ts:te].strip() for _, _, ts, te in s["alignment"]
    ]


def test_stored_rows(env: dict[str, Any], package_file: Path) -> None:
    r = cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json")
    out = json.loads(r.stdout)
    n_links = sum(len(s["alignment"]) for s in out["documents"][0]["segments"])
    assert counts(env["db"]) == {"documents": 1, "segments": 3, "runs": 1, "translations": 3, "alignments": n_links}
    with Store(env["db"]) as store:
        run = store.run(out["run_id"])
        assert (run.status, run.model_name, run.model_version, run.source_lang, run.target_lang) == (
            "completed",
            "translate-ar_en-1_0",
            "1.0",
            "ar",
            "en",
        )
        assert run.model_checksum == models.find_package(env["packages"], "ar", "en").checksum
        assert run.settings["decode"]["beam_size"] == 4 and run.finished_at is not None
        trs = store.translations(run.id)
        assert [(t.segment.start, t.segment.end, t.target) for t in trs] == [
            (s["source_start"], s["source_end"], s["target"]) for s in out["documents"][0]["segments"]
        ]
        assert store.alignment(trs[0].translation_id) == [tuple(x) for x in out["documents"][0]["segments"][0]["alignment"]]
        ((doc_id, path, output),) = store.run_documents(run.id)
        assert store.document_text(doc_id) == DOC and path == str(env["doc"])
        assert output == str(env["out"] / "bulletin.en.txt")
    con = sqlite3.connect(env["db"])
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_same_document_twice_is_stored_once(env: dict[str, Any]) -> None:
    copy = env["tmp"] / "copy.ar.txt"
    copy.write_text(DOC, encoding="utf-8")
    assert cli(env, "translate", str(env["doc"]), "-o", str(env["out"])).exit_code == 0
    assert cli(env, "translate", str(copy), "-o", str(env["out"])).exit_code == 0
    c = counts(env["db"])
    assert (c["documents"], c["segments"], c["runs"], c["translations"]) == (1, 3, 2, 6)


def test_stdin_to_stdout(env: dict[str, Any]) -> None:
    r = cli(env, "translate", "-", input=(C_AR + "\n").encode("utf-8"))
    assert r.exit_code == 0, r.output
    assert r.stdout == C_EN + "\n"
    assert counts(env["db"])["documents"] == 1


def test_many_files_json(env: dict[str, Any]) -> None:
    other = env["tmp"] / "short.ar.txt"
    other.write_text(D_AR + "\n", encoding="utf-8")
    r = cli(env, "translate", str(env["doc"]), str(other), "-o", str(env["out"]), "--json")
    assert r.exit_code == 0, r.output
    docs = json.loads(r.stdout)["documents"]
    assert [d["path"] for d in docs] == [str(env["doc"]), str(other)]
    assert docs[1]["segments"][0]["target"] == D_EN
    assert (env["out"] / "short.en.txt").read_text(encoding="utf-8") == D_EN + "\n"


BAD_INPUTS = [
    ("binary", b"\x00\x01\x02PK\x03\x04", "binary file"),
    ("empty", b"", "empty input"),
    ("blank", b"  \n\n", "empty input"),
    ("latin1", "مرحبا".encode("cp1256"), "not UTF-8"),
    ("invisible-only", "\u200f\u200e\n\u202b\u202c\n".encode(), "no text to translate"),
]


@pytest.mark.parametrize("data,message", [(d, m) for _, d, m in BAD_INPUTS], ids=[i for i, _, _ in BAD_INPUTS])
def test_bad_input_one_line_exit_1_nothing_stored(env: dict[str, Any], data: bytes, message: str) -> None:
    bad = env["tmp"] / "bad.txt"
    bad.write_bytes(data)
    r = cli(env, "translate", str(env["doc"]), str(bad), "-o", str(env["out"]))
    assert r.exit_code == 1
    assert message in r.output and len(r.output.strip().splitlines()) == 1
    assert "Traceback" not in r.output
    assert counts(env["db"]).get("documents", 0) == 0 and counts(env["db"]).get("runs", 0) == 0
    assert not (env["out"] / "bulletin.en.txt").exists()


def test_output_dir_that_is_a_file_fails_before_the_run(env: dict[str, Any]) -> None:
    afile = env["tmp"] / "afile"
    afile.write_text("x")
    r = cli(env, "translate", str(env["doc"]), "-o", str(afile))
    assert (r.exit_code, r.output.strip()) == (
        1,
        f"translate-pipe: error: {afile}: exists and is not a directory; choose another --output-dir",
    )
    assert counts(env["db"]).get("runs", 0) == 0


def test_bidi_controls_are_not_carried_into_the_translation(env: dict[str, Any]) -> None:
    r = cli(env, "translate", "-", input=f"\u202b{D_AR}\u202c\n".encode())
    assert r.exit_code == 0, r.output
    assert r.stdout == D_EN + "\n"


@pytest.mark.parametrize(
    "args",
    [["translate", "-", "-"], ["score", "--hyp", "h.txt"], ["translate", "--device", "gpu", "x.txt"]],
    ids=["stdin-twice", "hyp-without-refs", "bad-device"],
)
def test_usage_errors_exit_2(env: dict[str, Any], args: list[str]) -> None:
    assert cli(env, *args).exit_code == 2


@pytest.mark.parametrize("name", ["../packages", "/etc", "translate-ar_en-9_9"], ids=["dotdot", "absolute", "unknown"])
def test_models_remove_only_installed_names(env: dict[str, Any], name: str) -> None:
    r = cli(env, "models", "remove", name)
    assert r.exit_code == 1 and "no installed package named" in r.output
    assert (env["packages"] / "translate-ar_en-1_0").is_dir()


def test_missing_model_one_line_exit_1(env: dict[str, Any]) -> None:
    r = runner.invoke(
        app, ["--db", str(env["db"]), "--packages-dir", str(env["tmp"] / "none"), "translate", str(env["doc"])]
    )
    assert r.exit_code == 1
    assert r.output.strip() == (
        f"translate-pipe: error: no ar->en model installed in {env['tmp'] / 'none'}; install one with "
        "`translate-pipe models install ar en` (online) or "
        "`translate-pipe models install --from-file PACKAGE.argosmodel`"
    )
    assert counts(env["db"]).get("runs", 0) == 0


def test_missing_file_and_usage_error(env: dict[str, Any]) -> None:
    r = cli(env, "translate", str(env["tmp"] / "nope.txt"))
    assert (r.exit_code, r.output.strip()) == (1, f"translate-pipe: error: {env['tmp'] / 'nope.txt'}: no such file")
    assert cli(env, "translate", "--beam-size", "0", str(env["doc"])).exit_code == 2


def test_max_length_bounds_the_output(env: dict[str, Any]) -> None:
    r = cli(env, "translate", "-", "--max-length", "3", "--json", input=C_AR.encode())
    seg = json.loads(r.stdout)["documents"][0]["segments"][0]
    assert seg["target"] == "The ministry announced"


def test_long_segment_is_split_not_cut(env: dict[str, Any]) -> None:
    r = cli(env, "translate", "-", "--max-source-tokens", "12", "--json", input=C_AR.encode())
    segs = json.loads(r.stdout)["documents"][0]["segments"]
    assert len(segs) > 1
    assert [s["index"] for s in segs] == list(range(len(segs)))
    assert segs[0]["source_start"] == 0 and segs[-1]["source_end"] == len(C_AR)
    covered = "".join(C_AR[s["source_start"] : s["source_end"]] for s in segs)
    assert covered == C_AR.replace(" ", "")[: len(covered)] or covered.replace(" ", "") == C_AR.replace(" ", "")


def test_n_best_alternatives(env: dict[str, Any]) -> None:
    r = cli(env, "translate", "-", "--n-best", "3", "--json", input=D_AR.encode())
    seg = json.loads(r.stdout)["documents"][0]["segments"][0]
    assert seg["target"] == D_EN
    assert len(seg["alternatives"]) == 2 and D_EN not in seg["alternatives"]


def test_interrupted_run_leaves_no_half_document(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from translate_pipe.engine import Engine

    other = env["tmp"] / "second.ar.txt"
    other.write_text(f"{D_AR}\n{B_AR}\n", encoding="utf-8")
    real = Engine.translate
    calls = {"n": 0}

    def failing(self, *a, **k):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(Engine, "translate", failing)
    r = cli(env, "translate", str(env["doc"]), str(other), "-o", str(env["out"]), "--chunk-segments", "3")
    assert r.exit_code == 1 and "interrupted" in r.output
    with Store(env["db"]) as store:
        (run,) = store.runs()
        assert run.status == "failed"
        # both documents are registered (a resumed run needs their texts); only the first
        # chunk (3 segments) is committed, nothing of the interrupted second chunk
        assert [d for d, _, _ in store.run_documents(run.id)] == [1, 2]
        assert len(store.translations(run.id)) == 3
        assert store.count("documents") == 2
    monkeypatch.setattr(Engine, "translate", real)
    r = cli(env, "translate", "--resume", str(run.id))
    assert r.exit_code == 0, r.output
    with Store(env["db"]) as store:
        assert store.run(run.id).status == "completed"
        assert len(store.translations(run.id)) == 5


def test_engine_loaded_once_per_process(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from translate_pipe import engine as engine_mod

    api._ENGINES.clear()
    made = []
    real_init = engine_mod.Engine.__init__

    def counting(self, *a, **k):  # type: ignore[no-untyped-def]
        made.append(1)
        real_init(self, *a, **k)

    monkeypatch.setattr(engine_mod.Engine, "__init__", counting)
    for _ in range(3):
        api.translate([str(env["doc"])], db=env["db"], packages_dir=env["packages"], output_dir=env["out"])
    assert made == [1]


def test_no_network_during_translate(env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("network access during translate")

    api._ENGINES.clear()
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    result = api.translate([str(env["doc"])], db=env["db"], packages_dir=env["packages"], output_dir=env["out"])
    assert result.texts == [DOC_EN]


def test_python_dash_m(env: dict[str, Any]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "translate_pipe", "--db", str(env["db"]), "--packages-dir", str(env["packages"]),
         "translate", "-"],
        input=(D_AR + "\n").encode(),
        capture_output=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode() == D_EN + "\n"


def test_argostranslate_accepts_the_package(env: dict[str, Any]) -> None:
    """The installed package is one argostranslate itself translates with."""
    import ctranslate2
    from argostranslate.package import Package
    from argostranslate.translate import apply_packaged_translation

    class Plain:
        def split_sentences(self, text: str) -> list[str]:
            return [text]

    pkg = Package(env["packages"] / "translate-ar_en-1_0")
    translator = ctranslate2.Translator(str(pkg.package_path / "model"))
    (hyp, *_) = apply_packaged_translation(pkg, D_AR, translator, Plain(), num_hypotheses=1)
    assert hyp.value == D_EN


def test_max_length_truncation_is_warned(env: dict[str, Any]) -> None:
    r = cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--max-length", "3", "--json")
    assert r.exit_code == 0, r.output
    segments = json.loads(r.stdout)["documents"][0]["segments"]
    assert [s.get("truncated") for s in segments] == [True, True, True]
    assert (
        "translate-pipe: warning: 3 segment(s) reached the output length bound and are probably cut "
        f"(raise --max-length): {env['doc']} segment 0, {env['doc']} segment 1, {env['doc']} segment 2\n"
    ) in r.stderr
