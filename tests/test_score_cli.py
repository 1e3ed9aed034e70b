"""Scoring stored runs against stored references, through the CLI, with a tiny real model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sacrebleu

from translate_pipe import score as score_mod
from translate_pipe.store import Store

from .test_pipeline import A_EN, B_EN, C_EN, cli, env, package_file  # noqa: F401 (fixtures)

REF_1 = f"{A_EN} {B_EN}"  # paragraph 1 = segments A and B
REF_2 = "The ministry said Moscow counts on the Syrian opposition to help more actively in fighting terrorism in Syria."


@pytest.fixture()
def scored(env: dict[str, Any]) -> dict[str, Any]:  # noqa: F811
    ref = env["tmp"] / "bulletin.en.ref.txt"
    ref.write_text(f"{REF_1}\n{REF_2}\n", encoding="utf-8")
    r = cli(env, "refs", "import", str(env["doc"]), str(ref))
    assert r.exit_code == 0, r.output
    r = cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json")
    env["run"] = json.loads(r.stdout)["run_id"]
    env["ref"] = ref
    return env


def expected(hyps: list[str], refs: list[str]) -> dict[str, float]:
    return {
        "bleu": round(sacrebleu.corpus_bleu(hyps, [refs]).score, 1),
        "chrf": round(sacrebleu.corpus_chrf(hyps, [refs]).score, 1),
        "ter": round(sacrebleu.corpus_ter(hyps, [refs]).score, 1),
    }


def test_score_run_paragraph_level(scored: dict[str, Any]) -> None:
    r = cli(scored, "score", "--run", str(scored["run"]), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    want = expected([f"{A_EN} {B_EN}", C_EN], [REF_1, REF_2])
    assert {k: out[k] for k in ("bleu", "chrf", "ter")} == want
    assert out["level"] == "paragraph" and out["segments"] == 2 and out["term_success"] is None
    assert out["signatures"]["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:")
    with Store(scored["db"]) as store:
        rows = {r["metric"]: r for r in store.scores(scored["run"])}
    assert set(rows) == {"bleu", "chrf", "ter"}
    assert rows["bleu"]["signature"] == out["signatures"]["bleu"]


def test_stored_scores_are_not_recomputed(scored: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    first = json.loads(cli(scored, "score", "--run", str(scored["run"]), "--json").stdout)

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise AssertionError("recomputed")

    monkeypatch.setattr(score_mod, "corpus_scores", boom)
    assert json.loads(cli(scored, "score", "--run", str(scored["run"]), "--json").stdout) == first
    r = cli(scored, "score", "--run", str(scored["run"]), "--recompute")
    assert isinstance(r.exception, AssertionError) and str(r.exception) == "recomputed"


def test_replacing_a_reference_drops_stale_scores(scored: dict[str, Any]) -> None:
    before = json.loads(cli(scored, "score", "--run", str(scored["run"]), "--json").stdout)
    alt = scored["tmp"] / "alt"
    alt.mkdir()
    (alt / scored["ref"].name).write_text(f"{REF_1}\n{C_EN}\n", encoding="utf-8")
    r = cli(scored, "refs", "import", str(scored["doc"]), str(alt / scored["ref"].name))
    assert r.exit_code == 0 and "replaced" in r.output
    after = json.loads(cli(scored, "score", "--run", str(scored["run"]), "--json").stdout)
    assert before["bleu"] < 100.0 and after["bleu"] == 100.0


def test_score_run_with_glossary(scored: dict[str, Any]) -> None:
    terms = [("أستانا", "Astana"), ("موسكو", "Moscow"), ("سوريا", "Syrian Arab Republic")]
    assert [cli(scored, "glossary", "add", "g", src, tgt).exit_code for src, tgt in terms] == [0, 0, 0]
    r = cli(scored, "score", "--run", str(scored["run"]), "--glossary", "g", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    # paragraph 1: Astana (hit), Syria (miss); paragraph 2: Moscow (hit), Syria (miss)
    assert out["term_success"] == 0.5
    assert [(m["segment"], m["source"], m["target"]) for m in out["terms"]["misses"]] == [
        (0, "سوريا", "Syrian Arab Republic"),
        (1, "سوريا", "Syrian Arab Republic"),
    ]
    # the reference does not use the glossary's target for Syria either: visible
    assert [d["segment"] for d in out["terms"]["reference_disagreements"]] == [0, 1]
    assert out["signatures"]["term_success"] == "glossary:g|version:3|case:insensitive|match:whole-word"


def test_score_files_mode(tmp_path: Path, env: dict[str, Any]) -> None:  # noqa: F811
    hyp, ref = tmp_path / "h.txt", tmp_path / "r.txt"
    hyp.write_text("the cat sat on the mat\nhello world\n", encoding="utf-8")
    ref.write_text("the cat sat on a mat\nhello there world\n", encoding="utf-8")
    out = json.loads(cli(env, "score", "--hyp", str(hyp), "--refs", str(ref), "--json").stdout)
    assert {k: out[k] for k in ("bleu", "chrf", "ter")} == expected(
        ["the cat sat on the mat", "hello world"], ["the cat sat on a mat", "hello there world"]
    )
    assert out["segments"] == 2


@pytest.mark.parametrize(
    "ref_text,message",
    [
        ("only one line\n", "1 lines, but"),
        ("line one\n\nline three\n", "line 2"),
    ],
    ids=["line-count", "empty-line"],
)
def test_bad_reference_is_refused(env: dict[str, Any], ref_text: str, message: str) -> None:  # noqa: F811
    ref = env["tmp"] / "bad.ref.txt"
    ref.write_text(ref_text, encoding="utf-8")
    r = cli(env, "refs", "import", str(env["doc"]), str(ref))
    assert r.exit_code == 1 and message in r.output and str(ref) in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_score_run_without_reference(env: dict[str, Any]) -> None:  # noqa: F811
    run = json.loads(cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json").stdout)["run_id"]
    r = cli(env, "score", "--run", str(run))
    assert r.exit_code == 1 and "refs import" in r.output


def test_compare_runs(scored: dict[str, Any]) -> None:
    r = cli(scored, "translate", str(scored["doc"]), "-o", str(scored["out"]), "--max-length", "4", "--json")
    worse = json.loads(r.stdout)["run_id"]
    r = cli(scored, "score", "compare", str(scored["run"]), str(worse), "--samples", "200", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["segments"] == 2 and out["samples"] == 200
    bleu = next(m for m in out["metrics"] if m["metric"] == "bleu")
    assert bleu["a"] > bleu["b"]
    assert 0.0 <= bleu["p_value"] <= 1.0
    assert (out["wins"], out["losses"], out["ties"]) == (0, 2, 0)


def test_score_files_with_glossary_carries_the_term_signature(tmp_path: Path) -> None:
    from translate_pipe import api

    src, hyp, ref = tmp_path / "s.ar.txt", tmp_path / "h.txt", tmp_path / "r.txt"
    src.write_text("قال في أستانا\n", encoding="utf-8")
    hyp.write_text("he said in Astana\n", encoding="utf-8")
    ref.write_text("he said in Astana\n", encoding="utf-8")
    with Store(":memory:") as store:
        api.glossary_add(store, "g", "أستانا", "Astana", author="t")
        result = api.score_files(store, hyp, [ref], glossary="g", src=src)
    assert result.term_success == 1.0
    assert result.signatures["term_success"] == "glossary:g|version:1|case:insensitive|match:whole-word"
