"""The progress callback moves per decoded batch, not once per chunk (issue 11)."""

from __future__ import annotations

from pathlib import Path

from translate_pipe import api
from translate_pipe.models import install_from_file

from .tinymodel import AlignedPair


def test_progress_moves_per_decoded_batch(tmp_path: Path, template_package: Path, template_heldout: list[AlignedPair]) -> None:
    packages = tmp_path / "packages"
    install_from_file(template_package, packages)
    lines = [p.source for p in template_heldout[:40]]
    doc = tmp_path / "in.ar.txt"
    doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
    calls: list[tuple[int, int]] = []
    api.translate(
        [str(doc)],
        db=tmp_path / "t.db",
        packages_dir=packages,
        output_dir=tmp_path / "out",
        batch_tokens=64,  # a few sentences per batch
        chunk_segments=1000,  # one chunk: the old bar moved only at its end
        align="attention",
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls[0] == (0, 40) and calls[-1] == (40, 40)
    inside = [d for d, _ in calls if 0 < d < 40]
    assert len(inside) >= 3, calls  # moved during the chunk, batch by batch
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)  # never backwards
