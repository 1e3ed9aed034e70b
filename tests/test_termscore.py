"""WMT terminology measures: exact-match accuracy, window overlap, terminology-aware TER."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sacrebleu

from translate_pipe.glossary import Matcher
from translate_pipe.records import Term
from translate_pipe.termscore import wmt_measures

from .test_pipeline import cli, env, package_file  # noqa: F401 (fixtures)

MATCHER = Matcher([(1, Term("وقف إطلاق النار", "ceasefire")), (2, Term("مجلس الأمن", "Security Council"))], "ar")
SRC = "أيد مجلس الأمن وقف إطلاق النار في حمص"
REF = "The Security Council endorsed the ceasefire in Homs"


def measures(hyp: str, ref: str = REF, src: str = SRC) -> dict[str, Any]:
    return {m.metric: m for m in wmt_measures([src], [hyp], [ref], MATCHER.find, glossary="g@v1")}


CASES = [
    # (case, hypothesis, exact match, window overlap)
    ("identical", REF, 1.0, 1.0),
    # word salad keeps both terms: exact match stays 1, the words around them do not.  Windows
    # (k=2): reference "Security Council" [the | endorsed the], "ceasefire" [endorsed the | in homs];
    # salad "Security Council" [ceasefire homs | the in] shares 1 of 3, "ceasefire" [| homs
    # security] shares 1 of 4: (1/3 + 1/4) / 2 = 7/24
    ("word salad", "ceasefire Homs Security Council The in endorsed the", 1.0, 7 / 24),
    ("one term missing", "The Security Council endorsed the truce in Homs", 0.5, 0.5),
    ("both missing", "The council endorsed the truce in Homs", 0.0, 0.0),
    ("case and spacing", "the security  council endorsed the Ceasefire in Homs", 1.0, 1.0),
]


@pytest.mark.parametrize(("case", "hyp", "exact", "overlap"), CASES, ids=[c[0] for c in CASES])
def test_exact_match_and_window_overlap(case: str, hyp: str, exact: float, overlap: float) -> None:
    got = measures(hyp)
    assert got["term_exact_match"].value == pytest.approx(exact)
    assert got["term_window_overlap"].value == pytest.approx(overlap)
    assert got["term_exact_match"].details["occurrences"] == 2


def test_terms_the_reference_does_not_use_are_not_scored() -> None:
    got = measures(REF, ref="The Security Council endorsed the truce in Homs")
    assert got["term_exact_match"].details["occurrences"] == 1
    assert got["term_exact_match"].value == 1.0


def test_term_ter_weighs_term_words_twice() -> None:
    hyp = "The Security Council endorsed the truce in Homs"
    plain = sacrebleu.corpus_ter([hyp], [[REF]]).score  # 1 edit / 8 words
    got = measures(hyp)["term_ter"]
    # references: "The Security Council Security Council endorsed the ceasefire ceasefire in Homs" (11 words);
    # hypothesis: "The Security Council Security Council endorsed the truce in Homs": 1 deletion + 1 substitution
    assert got.value == pytest.approx(100 * 2 / 11)
    assert got.value > plain
    assert measures(REF)["term_ter"].value == 0.0


def test_signatures() -> None:
    got = measures(REF)
    assert got["term_exact_match"].signature == "glossary:g@v1|nrefs:1|case:lc|match:whole-word|usage:reference"
    assert got["term_window_overlap"].signature.endswith("|window:2")
    assert got["term_ter"].signature.startswith(
        "glossary:g@v1|nrefs:1|case:lc|match:whole-word|usage:reference|term-weight:2|nrefs:1|case:lc|tok:tercom"
    )


def test_score_run_reports_presence_and_wmt_measures(env: dict[str, Any]) -> None:  # noqa: F811
    from .test_pipeline import A_EN, B_EN, C_EN

    tmp: Path = env["tmp"]
    (tmp / "g.csv").write_text("source,target\nأستانا,Astana\nموسكو,Moscow\n", encoding="utf-8")
    assert cli(env, "glossary", "import", str(tmp / "g.csv"), "--name", "g").exit_code == 0
    ref = tmp / "ref.txt"
    ref.write_text(f"{A_EN} {B_EN}\n{C_EN}\n", encoding="utf-8")
    assert cli(env, "refs", "import", str(env["doc"]), str(ref)).exit_code == 0
    run = json.loads(cli(env, "translate", str(env["doc"]), "-o", str(env["out"]), "--json").stdout)["run_id"]
    r = cli(env, "score", "--run", str(run), "--glossary", "g", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["term_presence"] == out["term_success"] == 1.0
    wmt = out["terms_wmt"]
    assert wmt["term_exact_match"]["value"] == 1.0 and wmt["term_window_overlap"]["value"] == 1.0
    assert wmt["term_ter"]["value"] == 0.0 and "term-weight:2" in wmt["term_ter"]["signature"]
    text = cli(env, "score", "--run", str(run), "--glossary", "g")
    assert "term presence (success rate): 100.0%" in text.stdout
    assert "exact-match term accuracy: 100.0%  glossary:g@v1|" in text.stdout
