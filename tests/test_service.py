"""The service core in process: dynamic batching, bounded admission, grouped storage."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from translate_pipe.engine import Engine
from translate_pipe.records import DecodeOptions
from translate_pipe.models import find_package, install_from_file
from translate_pipe.service import Job, QueueFull, ServiceConfig, TranslationService, render

from .tinymodel import AlignedPair


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory, template_package: Path) -> Engine:
    packages = tmp_path_factory.mktemp("svc") / "packages"
    install_from_file(template_package, packages)
    return Engine(find_package(packages, "ar", "en"), intra_threads=1)


def test_requests_arriving_together_are_decoded_and_stored_together(
    tmp_path: Path, engine: Engine, template_heldout: list[AlignedPair]
) -> None:
    db = tmp_path / "s.db"
    svc = TranslationService(engine, ServiceConfig(db=db, batch_wait_ms=500, queue_size=6))
    svc.start()
    try:
        texts = [p.source for p in template_heldout[:6]]
        futures = [svc.submit(Job([t], None)) for t in texts]
        with pytest.raises(QueueFull):  # bounded: a seventh waiting request is refused
            svc.submit(Job([texts[0]], None))
        results = [f.result(timeout=120) for f in futures]
        assert svc.batches == [6]  # one decode for all six
        assert svc.store_groups == [6]  # one transaction for all six runs
        assert svc.pending == 0
        svc.submit(Job([texts[0]], None)).result(timeout=60)  # admitted again once answered
    finally:
        svc.stop()
    # the same as decoding each alone, and each stored as its own run
    alone = engine.translate([engine.tokenize(t).pieces for t in texts], DecodeOptions(beam_size=4, max_batch_tokens=2048))
    assert [render(t, r.segments[0]) for t, r in zip(texts, results)] == [h[0].text for h in alone]
    con = sqlite3.connect(db)
    runs = con.execute("SELECT id, kind, model_checksum, status FROM runs ORDER BY id").fetchall()
    assert [r[0] for r in runs[:6]] == sorted(r.run_id for r in results)
    assert {(r[1], r[2], r[3]) for r in runs} == {("serve", engine.package.checksum, "completed")}
