"""Shared set-up of the review-loop tests: the guided-alignment template model, a small glossary
and documents made of held-out template sentences (never trained on)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from translate_pipe.cli import app

runner = CliRunner()

# held-out template sentences (tinymodel.template_split()[1]); the model renders
# تبادل الأسرى as "prisoner exchange", which the reviewers correct to "exchange of prisoners"
PX_1 = "أعلنت الأمم المتحدة خلال الاجتماع في حمص مراقبة تبادل الأسرى"
PX_2 = "في الغوطة الشرقية دعمت تركيا توسيع تبادل الأسرى"
PX_3 = "أيد مجلس الأمن تعزيز تبادل الأسرى في سوريا"
CEASEFIRE = "أعلنت وزارة الخارجية الروسية أهمية وقف إطلاق النار في سوتشي"
NEW = "في سوتشي انتقدت الحكومة السورية إنشاء وقف إطلاق النار"
DOC1 = "\n".join([PX_1, PX_2, PX_3, CEASEFIRE, PX_3]) + "\n"  # the last line repeats the third
DOC2 = "\n".join([PX_2, NEW]) + "\n"
GLOSSARY = "source,target\nوقف إطلاق النار,ceasefire\nمجلس الأمن,Security Council\n"


def cli(env: dict[str, Any], *args: str) -> Any:
    return runner.invoke(app, ["--db", str(env["db"]), "--packages-dir", str(env["packages"]), *args])


def ok(env: dict[str, Any], *args: str) -> str:
    r = cli(env, *args)
    assert r.exit_code == 0, r.output
    return str(r.stdout)


def make_env(tmp: Path, package: Path, glossary: str = GLOSSARY) -> dict[str, Any]:
    env: dict[str, Any] = {"db": tmp / "t.db", "packages": tmp / "packages", "out": tmp / "out", "tmp": tmp}
    ok(env, "models", "install", "--from-file", str(package))
    (tmp / "g.csv").write_text(glossary, encoding="utf-8")
    ok(env, "glossary", "import", str(tmp / "g.csv"), "--name", "dip", "--author", "test")
    for name, text in (("doc1.ar.txt", DOC1), ("doc2.ar.txt", DOC2)):
        (tmp / name).write_text(text, encoding="utf-8")
    return env


def translate(env: dict[str, Any], name: str, *extra: str) -> dict[str, Any]:
    out = ok(env, "translate", str(env["tmp"] / name), "-o", str(env["out"]), "--glossary", "dip", "--json", *extra)
    return dict(json.loads(out))


def statuses(result: dict[str, Any]) -> list[str]:
    return [s["status"] for d in result["documents"] for s in d["segments"]]
