"""Crash recovery: ``kill -9`` a real ``translate`` process at several points, then resume.

Each trial runs ``python -m translate_pipe translate`` in a subprocess on a multi-chunk input
(two documents, ``--chunk-segments 2``), kills it with SIGKILL once the database shows a
given number of segments committed, and checks: the database passes ``integrity_check`` and
``foreign_key_check``, the run shows as ``interrupted``, ``translate --resume`` completes it,
the output files and the ``--json`` result are byte-identical to an uninterrupted run, and no
row is stored twice.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from translate_pipe.store import Store

from .tinymodel import TINY_PAIRS

SENTENCES = [ar for ar, _ in TINY_PAIRS]
# 12 + 8 lines: 20 segments, 10 chunks of 2 (attention alignment keeps each trial quick)
DOC_A = "".join(f"{SENTENCES[i % 3]}\n" for i in range(12))
DOC_B = "".join(f"{SENTENCES[(i + 1) % 3]} {SENTENCES[i % 3]}\n" for i in range(4))
CHUNK = "2"
N_SEGMENTS = 20
OPTIONS = ["--chunk-segments", CHUNK, "--align", "attention"]
TABLES = ("documents", "segments", "runs", "run_documents", "translations", "alignments")


def _base(packages: Path, db: Path) -> list[str]:
    return [sys.executable, "-m", "translate_pipe", "--db", str(db), "--packages-dir", str(packages)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, tiny_package: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("resume")
    packages = root / "packages"
    subprocess.run(
        [*_base(packages, root / "x.db"), "models", "install", "--from-file", str(tiny_package)],
        check=True, env=_env(), capture_output=True,
    )
    inputs = []
    for name, text in (("a.ar.txt", DOC_A), ("b.ar.txt", DOC_B)):
        (root / name).write_text(text, encoding="utf-8")
        inputs.append(str(root / name))
    ref_db, ref_out = root / "ref.db", root / "ref-out"
    done = subprocess.run(
        [*_base(packages, ref_db), "translate", *inputs, "-o", str(ref_out), *OPTIONS, "--json"],
        env=_env(), capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    return {"root": root, "packages": packages, "inputs": inputs, "ref_db": ref_db, "ref_out": ref_out,
            "ref_json": _without_outputs(done.stdout)}


def _without_outputs(text: str) -> dict[str, Any]:
    data = json.loads(text)
    for doc in data["documents"]:
        doc["output"] = Path(doc["output"]).name
    return dict(data)


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def _done(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05) as conn:
            row = conn.execute("SELECT done FROM run_processes WHERE run_id = 1").fetchone()
            return -1 if row is None else int(row[0])
    except sqlite3.Error:
        return -2  # no database or table yet


# kill once this many segments are committed (0: as soon as the run is stored, before any chunk)
KILL_POINTS = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_kill_and_resume(setup: dict[str, Any], kill_at: int, tmp_path: Path) -> None:
    db, out = tmp_path / "t.db", tmp_path / "out"
    proc = subprocess.Popen(
        [*_base(setup["packages"], db), "translate", *setup["inputs"], "-o", str(out), *OPTIONS],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and _done(db) < kill_at and time.monotonic() < deadline:
        time.sleep(0.002)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    with Store(db) as store:
        status = store.run(1).status
        committed = store.segments_done(1)
    if killed and status != "completed":  # (a kill that lands after the run was closed, as the
        # process exits, leaves it completed: nothing to resume)
        # (a kill after the last chunk but before the run is closed leaves every segment committed)
        assert status == "interrupted" and committed % int(CHUNK) == 0 and committed <= N_SEGMENTS
        assert committed >= kill_at
        resumed = subprocess.run(
            [*_base(setup["packages"], db), "translate", "--resume", "1", "--json"],
            env=_env(), capture_output=True, text=True,
        )
        assert resumed.returncode == 0, resumed.stderr
        assert _without_outputs(resumed.stdout) == setup["ref_json"]
    else:  # finished before the kill point was seen: nothing to resume
        assert status == "completed"
    with Store(db) as store:
        assert store.run(1).status == "completed"
    for ref in sorted(setup["ref_out"].iterdir()):
        assert (out / ref.name).read_bytes() == ref.read_bytes()
    assert _counts(db) == _counts(setup["ref_db"])
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT count(*) FROM (SELECT run_id, segment_id FROM translations GROUP BY 1, 2 HAVING count(*) > 1)"
        ).fetchone() == (0,)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_resume_refuses_a_completed_run(setup: dict[str, Any]) -> None:
    r = subprocess.run(
        [*_base(setup["packages"], setup["ref_db"]), "translate", "--resume", "1"],
        env=_env(), capture_output=True, text=True,
    )
    assert r.returncode == 1 and r.stderr.strip() == "translate-pipe: error: run 1 is already completed; nothing to resume"


def test_two_concurrent_translations_share_the_database(setup: dict[str, Any], tmp_path: Path) -> None:
    """Two processes translating at once into one database both complete, with the results of
    a lone run (their wall time is reported by bench/bench_threads.py, not asserted here)."""
    db = tmp_path / "shared.db"
    procs = [
        subprocess.Popen(
            [*_base(setup["packages"], db), "translate", *setup["inputs"], "-o", str(tmp_path / f"out{i}"), *OPTIONS],
            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for i in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with Store(db) as store:
        assert [r.status for r in store.runs()] == ["completed", "completed"]
        assert store.check() == []
    for i in range(2):
        for ref in sorted(setup["ref_out"].iterdir()):
            assert (tmp_path / f"out{i}" / ref.name).read_bytes() == ref.read_bytes()


# -- formatted documents: a resumed run writes them too --------------------------------------
HTML = (
    "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>t</title></head><body>\n"
    # 48 distinct paragraphs (a number makes each one new: no repeats copied), so that the run
    # is still far from its end when the kill lands, even with decoding overlapped
    + "".join(
        f"<p><b>{SENTENCES[i % 3].split()[0]}</b> {' '.join(SENTENCES[i % 3].split()[1:])} {i}</p>\n" for i in range(48)
    )
    + "</body></html>\n"
)


@pytest.fixture(scope="module")
def html_setup(setup: dict[str, Any]) -> dict[str, Any]:
    root = setup["root"]
    src = root / "bulletin.ar.html"
    src.write_text(HTML, encoding="utf-8")
    ref_db, ref_out = root / "html-ref.db", root / "html-ref-out"
    done = subprocess.run(
        [*_base(setup["packages"], ref_db), "translate", str(src), "-o", str(ref_out), *OPTIONS, "--json"],
        env=_env(), capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in ref_out.iterdir()] == ["bulletin.en.html"]
    return {**setup, "src": src, "ref_out": ref_out, "ref_json": _without_outputs(done.stdout)}


@pytest.mark.parametrize("kill_at", [0, 6])
def test_resume_writes_the_formatted_document(html_setup: dict[str, Any], kill_at: int, tmp_path: Path) -> None:
    """kill -9 during a run on an .html input, then --resume: the same .en.html file as a run
    that was never interrupted (its bytes were stored with the run)."""
    db, out = tmp_path / "t.db", tmp_path / "out"
    proc = subprocess.Popen(
        [*_base(html_setup["packages"], db), "translate", str(html_setup["src"]), "-o", str(out), *OPTIONS],
        env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and _done(db) < kill_at and time.monotonic() < deadline:
        time.sleep(0.002)
    assert proc.poll() is None, "the run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (out / "bulletin.en.html").exists()
    html_setup["src"].rename(tmp_path / "moved.html")  # the stored bytes are used, not the file
    try:
        resumed = subprocess.run(
            [*_base(html_setup["packages"], db), "translate", "--resume", "1", "--json"],
            env=_env(), capture_output=True, text=True,
        )
    finally:
        (tmp_path / "moved.html").rename(html_setup["src"])
    assert resumed.returncode == 0, resumed.stderr
    assert _without_outputs(resumed.stdout) == html_setup["ref_json"]
    assert (out / "bulletin.en.html").read_bytes() == (html_setup["ref_out"] / "bulletin.en.html").read_bytes()
