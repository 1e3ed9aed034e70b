"""Decoding on a Ray cluster (issue 15): a real local Ray instance with 2 CPUs, started once
for this module, and the tiny seed model that renders six glossary terms wrongly (so the
glossary is really enforced on the actors).

* ``translate --ray ADDRESS`` (a separate process joining the cluster) gives the same output
  files, ``--json`` and stored rows as the local run on the same inputs;
* an actor killed in the middle of a run (SIGKILL of its process, or ``ray.kill``) is
  restarted and its blocks retried: every segment stored once, the same rows;
* ``translate --resume RUN --ray`` finishes a run that stopped half-way, as a local run would;
* Ray missing, a cluster out of reach, too few CPUs: one line, exit 1, nothing stored.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from translate_pipe import api, cluster, pipeline
from translate_pipe.cli import app
from translate_pipe.files import InputDoc
from translate_pipe.models import find_package
from translate_pipe.store import Store

from .seed_wrong import wrong_pairs
from .tinymodel import build_package

ray = pytest.importorskip("ray")

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "seeds" / "astana-bulletin.ar.txt"
SEED_LINES = SEED.read_text(encoding="utf-8").splitlines()
# a second document: seed paragraphs again in another order (repeats of the first document's
# segments are copied by the driver, not decoded) and one paragraph cut in two
SECOND = "\n".join([SEED_LINES[4], SEED_LINES[0], SEED_LINES[7][: len(SEED_LINES[7]) // 2].rsplit(" ", 1)[0]]) + "\n"
OPTIONS = ["--glossary", "diplomatic", "--chunk-segments", "3"]
TABLES = {  # the stored rows that must not depend on where the run was decoded
    "documents": "SELECT id, sha256, source_lang, path, text FROM documents ORDER BY id",
    "segments": "SELECT * FROM segments ORDER BY id",
    "run_documents": "SELECT run_id, document_id, position, path FROM run_documents ORDER BY run_id, position",
    "translations": "SELECT * FROM translations ORDER BY id",
    "alignments": "SELECT * FROM alignments ORDER BY translation_id, src_start, tgt_start",
    "term_alignments": "SELECT * FROM term_alignments ORDER BY rowid",
    "translation_extras": "SELECT * FROM translation_extras ORDER BY translation_id",
    "term_renderings": "SELECT * FROM term_renderings ORDER BY model, source",
    "runs": "SELECT id, kind, model_name, model_version, model_checksum, settings, glossary_id, glossary_version, "
    "status, error FROM runs ORDER BY id",
}
runner = CliRunner()
# what `translate --glossary diplomatic --chunk-segments 3` runs with (the library tests store the same run)
SETTINGS = pipeline.TranslateSettings(chunk_segments=3, glossary="diplomatic", translation_memory=True, intra_threads=1)


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """One local Ray instance (2 CPUs) for the module; its processes end with ``ray.shutdown``."""
    temp = tempfile.mkdtemp(prefix="tp-ray-")  # short: Ray's socket paths must fit in 107 bytes
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    try:
        yield str(ray.get_runtime_context().gcs_address)
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The seed model installed, two inputs, and the local reference run (its database, output
    files and --json)."""
    root = tmp_path_factory.mktemp("cluster")
    pairs, links = wrong_pairs()
    package = build_package(pairs, root / "pkg", alignment=links)
    env: dict[str, Any] = {"root": root, "packages": root / "packages"}
    inputs = [root / "a.ar.txt", root / "b.ar.txt"]
    inputs[0].write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    inputs[1].write_text(SECOND, encoding="utf-8")
    env["inputs"] = [str(p) for p in inputs]
    env["ref_db"] = new_db(env, "ref", package)
    r = cli(env, env["ref_db"], "translate", *env["inputs"], "-o", str(root / "ref-out"), *OPTIONS, "--json")
    assert r.exit_code == 0, r.output
    env["ref_json"] = without_outputs(r.stdout)
    env["ref_out"] = root / "ref-out"
    return env


def new_db(env: dict[str, Any], name: str, package: Path | None = None) -> Path:
    """A database with the glossary imported (and the package installed, the first time)."""
    db = env["root"] / f"{name}.db"
    if package is not None:
        assert cli(env, db, "models", "install", "--from-file", str(package)).exit_code == 0
    r = cli(env, db, "glossary", "import", str(ROOT / "glossaries" / "diplomatic.csv"), "--name", "diplomatic")
    assert r.exit_code == 0, r.output
    return db


def cli(env: dict[str, Any], db: Path, *args: str) -> Any:
    return runner.invoke(app, ["--db", str(db), "--packages-dir", str(env["packages"]), *args])


def without_outputs(text: str) -> dict[str, Any]:
    data = json.loads(text)
    for doc in data["documents"]:
        doc["output"] = Path(doc["output"]).name
    return dict(data)


def rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(db) as conn:
        return {table: conn.execute(query).fetchall() for table, query in TABLES.items()}


def assert_same_run(env: dict[str, Any], db: Path, out: Path | None = None) -> None:
    mine, ref = rows(db), rows(env["ref_db"])
    for table in TABLES:
        assert mine[table] == ref[table], table
    assert len(ref["translations"]) == 12 and len(ref["term_alignments"]) > 0
    if out is not None:
        for file in sorted(env["ref_out"].iterdir()):
            assert (out / file.name).read_bytes() == file.read_bytes(), file.name
    with sqlite3.connect(db) as conn:  # no segment stored twice
        assert conn.execute(
            "SELECT count(*) FROM (SELECT run_id, segment_id FROM translations GROUP BY 1, 2 HAVING count(*) > 1)"
        ).fetchone() == (0,)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_ray_run_is_the_local_run(setup: dict[str, Any], ray_address: str) -> None:
    """The real command in its own process, joining the cluster by address."""
    db, out = new_db(setup, "ray"), setup["root"] / "ray-out"
    done = subprocess.run(
        [sys.executable, "-m", "translate_pipe", "--db", str(db), "--packages-dir", str(setup["packages"]),
         "translate", *setup["inputs"], "-o", str(out), *OPTIONS, "--json", "--ray", ray_address, "--actors", "2"],
        env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert without_outputs(done.stdout) == setup["ref_json"]
    assert_same_run(setup, db, out)


def _kill_sigkill(decoder: cluster.RayDecoder) -> None:
    os.kill(min(decoder.stats.pids[0]), signal.SIGKILL)


def _kill_ray(decoder: cluster.RayDecoder) -> None:
    ray.kill(decoder.actors[0], no_restart=False)


@pytest.mark.parametrize("kill", [_kill_sigkill, _kill_ray], ids=["sigkill-process", "ray.kill"])
def test_an_actor_killed_mid_run(setup: dict[str, Any], ray_address: str, kill: Any) -> None:
    """The library path (the same the CLI takes), holding the decoder to kill one of its actors
    once the first chunk is stored; the package is shipped to the actors as a Ray object."""
    db = new_db(setup, f"kill-{kill.__name__}")
    joined = cluster.connect(ray_address, actors=2, package="ship")
    made: list[cluster.RayDecoder] = []

    def factory(engine: Any, settings: Any, constrainer: Any) -> cluster.RayDecoder:
        made.append(cluster.RayDecoder(joined, engine, settings, constrainer))
        return made[-1]

    killed: list[int] = []

    def progress(done: int, total: int) -> None:
        if not killed and done >= 3:
            kill(made[0])
            killed.append(done)

    package = find_package(setup["packages"], "ar", "en")
    docs = [InputDoc(p, Path(p).read_text(encoding="utf-8")) for p in setup["inputs"]]
    settings = SETTINGS
    with Store(db) as store:
        run = pipeline.translate(
            store, lambda f, t: api.load_engine(package), docs, from_code="ar", to_code="en",
            settings=settings, decoder=factory, progress=progress,
        )
        assert store.run(run.run_id).status == "completed"
    stats = made[0].stats
    assert killed and stats.loaded_from == ["shipped", "shipped"]
    # the killed actor came back as a new process, which decoded the blocks it had been given
    assert len(stats.pids[0]) == 2, stats
    assert_same_run(setup, db)


def test_resume_on_the_cluster(setup: dict[str, Any], ray_address: str) -> None:
    """A run that stopped after its first chunk (locally) is finished on the cluster."""
    db = new_db(setup, "resume")
    package = find_package(setup["packages"], "ar", "en")
    docs = [InputDoc(p, Path(p).read_text(encoding="utf-8")) for p in setup["inputs"]]
    settings = SETTINGS

    with Store(db) as store, pytest.raises(KeyboardInterrupt):

        def stop(done: int, total: int) -> None:
            if store.segments_done(1) >= 3:  # the first chunk is committed
                raise KeyboardInterrupt

        pipeline.translate(
            store, lambda f, t: api.load_engine(package), docs, from_code="ar", to_code="en",
            settings=settings, outputs=[setup["root"] / "resume-out" / Path(p).name.replace(".ar.", ".en.") for p in setup["inputs"]],
            progress=stop,
        )
    with Store(db) as store:
        assert store.segments_done(1) == 3 and store.run(1).status == "failed"
    r = cli(setup, db, "translate", "--resume", "1", "--json", "--ray", ray_address)
    assert r.exit_code == 0, r.output
    assert without_outputs(r.stdout) == setup["ref_json"]
    assert_same_run(setup, db, setup["root"] / "resume-out")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_ray_installed_one_line(setup: dict[str, Any], ray_address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as when it is not installed
    db = new_db(setup, "no-ray")
    r = cli(setup, db, "translate", setup["inputs"][0], "-o", str(setup["root"] / "x"), "--ray", "auto")
    assert r.exit_code == 1
    assert r.stderr == "translate-pipe: error: --ray needs Ray, which is not installed: pip install 'translate-pipe[ray]'\n"
    with Store(db) as store:
        assert store.runs() == []


def test_too_few_cpus_one_line(setup: dict[str, Any], ray_address: str) -> None:
    db = new_db(setup, "few-cpus")
    r = cli(setup, db, "translate", setup["inputs"][0], "--ray", ray_address, "--actors", "2", "--threads-per-actor", "2")
    assert r.exit_code == 1
    assert r.stderr.startswith("translate-pipe: error: the Ray cluster has 2 CPUs; 2 actors x 2 threads need 4")
    assert r.stderr.count("\n") == 1
    with Store(db) as store:
        assert store.runs() == []


UNREACHABLE = [
    # (--ray value, start of the one-line error); {port}: a port nothing listens on
    ("127.0.0.1:{port}", "translate-pipe: error: cannot reach the Ray cluster at 127.0.0.1:{port}: "),
    ("head-node", "translate-pipe: error: --ray 'head-node' is not auto or HOST:PORT"),
]


@pytest.mark.parametrize(("address", "message"), UNREACHABLE, ids=["closed-port", "not-an-address"])
def test_unreachable_cluster_one_line(setup: dict[str, Any], address: str, message: str) -> None:
    """In a process of its own (this one is connected to the module's cluster)."""
    port = _closed_port()
    db = setup["root"] / f"unreachable-{port}.db"
    done = subprocess.run(
        [sys.executable, "-m", "translate_pipe", "--db", str(db), "--packages-dir", str(setup["packages"]),
         "translate", setup["inputs"][0], "--ray", address.format(port=port)],
        env=_env(), capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.startswith(message.format(port=port)) and done.stderr.count("\n") == 1, done.stderr
    if db.exists():
        with Store(db) as store:
            assert store.runs() == []


USAGE = [
    ["--actors", "2"],
    ["--threads-per-actor", "2"],
    ["--ray-package", "ship"],
]


@pytest.mark.parametrize("args", USAGE, ids=[a[0] for a in USAGE])
def test_cluster_options_need_ray(setup: dict[str, Any], args: list[str]) -> None:
    r = cli(setup, setup["root"] / "usage.db", "translate", setup["inputs"][0], *args)
    assert r.exit_code == 2 and "go with --ray" in r.stderr


BLOCKS = [
    # (piece counts, segments with terms, constrainer's n-best (None: no constrainer), batch tokens, blocks)
    ([3, 1, 2], [], None, 10, [[1, 2, 0]]),
    ([3, 1, 2], [], None, 4, [[1, 2], [0]]),
    ([3, 1, 2, 5], [0, 3], 1, 100, [[0, 3], [1, 2]]),
    ([4, 4, 4], [], None, 4, [[0], [1], [2]]),
    ([0, 2], [], None, 1, [[0], [1]]),
]


@pytest.mark.parametrize(("lengths", "with_terms", "n_best", "budget", "expected"), BLOCKS)
def test_blocks_are_the_engine_batches(
    lengths: list[int], with_terms: list[int], n_best: int | None, budget: int, expected: list[list[int]]
) -> None:
    from translate_pipe.records import DecodeOptions, Segment, TermMatch, Tokens, WorkItem

    match = (TermMatch("س", "S", 0, 1, "س"),)
    work = [
        WorkItem(0, Segment(i, 0, 1, "س"), Tokens(("x",) * n, ((0, 1),) * n), match if i in with_terms else ())
        for i, n in enumerate(lengths)
    ]
    assert cluster.blocks(work, DecodeOptions(max_batch_tokens=budget), n_best) == expected


def test_blocks_follow_the_work_bound_and_the_wider_beam_of_segments_with_terms() -> None:
    """Soft mode decodes segments with terms with a 4-best beam: their blocks are smaller."""
    from translate_pipe.records import DecodeOptions, Segment, TermMatch, Tokens, WorkItem

    match = (TermMatch("س", "S", 0, 1, "س"),)
    work = [WorkItem(0, Segment(i, 0, 1, "س"), Tokens(("x",) * 10, ((0, 1),) * 10), match if i < 4 else ()) for i in range(8)]
    options = DecodeOptions(beam_size=1, max_batch_tokens=1000, max_batch_work=90)  # bound(10) = 30 tokens
    assert cluster.blocks(work, options, 4) == [[0], [1], [2], [3], [4, 5, 6], [7]]
