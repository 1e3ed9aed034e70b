"""Package validation, installation from a file and from a (fake, localhost) package index."""

from __future__ import annotations

import http.server
import json
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from translate_pipe import models
from translate_pipe.errors import ModelError, PackageError

META = {
    "package_version": "1.0",
    "argos_version": "1.0",
    "from_code": "ar",
    "from_name": "Arabic",
    "to_code": "en",
    "to_name": "English",
    "type": "translate",
}


def make_zip(path: Path, entries: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def good_entries(top: str = "translate-ar_en-1_0", meta: dict | None = None) -> dict[str, bytes | str]:
    return {
        f"{top}/metadata.json": json.dumps(meta or META),
        f"{top}/model/model.bin": b"\x00weights",
        f"{top}/model/config.json": "{}",
        f"{top}/sentencepiece.model": b"sp",
    }


def without(entries: dict, key_suffix: str) -> dict:
    return {k: v for k, v in entries.items() if not k.endswith(key_suffix)}


BROKEN = [
    ("missing-metadata", without(good_entries(), "metadata.json"), "missing translate-ar_en-1_0/metadata.json"),
    (
        "missing-model",
        without(without(good_entries(), "model.bin"), "config.json"),
        "missing translate-ar_en-1_0/model/",
    ),
    ("missing-model-bin", without(good_entries(), "model.bin"), "missing translate-ar_en-1_0/model/model.bin"),
    ("missing-sp", without(good_entries(), "sentencepiece.model"), "missing translate-ar_en-1_0/sentencepiece.model"),
    ("escape-dotdot", {**good_entries(), "translate-ar_en-1_0/../../evil.txt": "x"}, "would escape"),
    ("escape-absolute", {**good_entries(), "/etc/evil": "x"}, "would escape"),
    ("two-tops", {**good_entries(), "other/file": "x"}, "exactly one top-level folder"),
    (
        "bad-json",
        {**good_entries(), "translate-ar_en-1_0/metadata.json": "{not json"},
        "metadata.json is not valid JSON",
    ),
    (
        "no-from-code",
        good_entries(meta={k: v for k, v in META.items() if k != "from_code"}),
        "metadata.json has no from_code",
    ),
]


@pytest.mark.parametrize("entries,message", [(e, m) for _, e, m in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_broken_package_refused_and_nothing_installed(tmp_path: Path, entries: dict, message: str) -> None:
    pkg = make_zip(tmp_path / "p.argosmodel", entries)
    dest = tmp_path / "packages"
    with pytest.raises(PackageError, match=message.replace("(", r"\(")):
        models.install_from_file(pkg, dest)
    assert not dest.exists() or list(dest.iterdir()) == []


def test_not_a_zip_refused(tmp_path: Path) -> None:
    pkg = tmp_path / "p.argosmodel"
    pkg.write_text("hello")
    with pytest.raises(PackageError, match="not an Argos package"):
        models.install_from_file(pkg, tmp_path / "packages")


def test_missing_file_refused(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no such file"):
        models.install_from_file(tmp_path / "nope.argosmodel", tmp_path / "packages")


def test_symlink_entry_refused(tmp_path: Path) -> None:
    pkg = tmp_path / "p.argosmodel"
    with zipfile.ZipFile(pkg, "w") as zf:
        for name, data in good_entries().items():
            zf.writestr(name, data)
        info = zipfile.ZipInfo("translate-ar_en-1_0/link")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(PackageError, match="symbolic link"):
        models.install_from_file(pkg, tmp_path / "packages")


def test_install_list_find_and_replace(tmp_path: Path) -> None:
    dest = tmp_path / "packages"
    info = models.install_from_file(make_zip(tmp_path / "a.argosmodel", good_entries()), dest)
    assert (info.name, info.pair, info.package_version) == ("translate-ar_en-1_0", "ar->en", "1.0")
    assert [p.name for p in models.installed_packages(dest)] == ["translate-ar_en-1_0"]
    assert models.find_package(dest, "ar", "en").path == dest / "translate-ar_en-1_0"
    # reinstalling replaces, no leftovers of the staging folder
    models.install_from_file(make_zip(tmp_path / "b.argosmodel", good_entries()), dest)
    assert sorted(p.name for p in dest.iterdir()) == ["translate-ar_en-1_0"]


def test_find_package_picks_highest_version(tmp_path: Path) -> None:
    dest = tmp_path / "packages"
    for version, top in [("1.0", "translate-ar_en-1_0"), ("1.10", "translate-ar_en-1_10"), ("1.9", "translate-ar_en-1_9")]:
        meta = {**META, "package_version": version}
        models.install_from_file(make_zip(tmp_path / f"{top}.zip", good_entries(top, meta)), dest)
    assert models.find_package(dest, "ar", "en").package_version == "1.10"


def test_missing_model_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="translate-pipe models install ar en"):
        models.find_package(tmp_path, "ar", "en")


# -- the online path, against a package index served on localhost --------------------------------
class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # quiet
        pass


@pytest.fixture()
def index_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", root
    finally:
        server.shutdown()
        server.server_close()


def test_install_from_index(tmp_path: Path, index_server: tuple[str, Path]) -> None:
    base, root = index_server
    make_zip(root / "old.argosmodel", good_entries("translate-ar_en-0_9", {**META, "package_version": "0.9"}))
    make_zip(root / "new.argosmodel", good_entries())
    index = [
        {**META, "package_version": "0.9", "links": [base + "old.argosmodel"]},
        {**META, "package_version": "1.0", "links": [base + "missing.argosmodel", base + "new.argosmodel"]},
        {**META, "from_code": "en", "to_code": "ar", "links": [base + "x"]},
    ]
    (root / "index.json").write_text(json.dumps(index))
    seen: list[tuple[int, int | None]] = []
    info = models.install_from_index(
        "ar",
        "en",
        packages_dir=tmp_path / "packages",
        index_url=base,
        downloads_dir=tmp_path / "downloads",
        progress=lambda done, total: seen.append((done, total)),
    )
    assert (info.name, info.package_version) == ("translate-ar_en-1_0", "1.0")
    size = (root / "new.argosmodel").stat().st_size
    assert seen[-1] == (size, size)
    assert list((tmp_path / "downloads").iterdir()) == []  # the download is removed after install


def test_index_without_the_pair(tmp_path: Path, index_server: tuple[str, Path]) -> None:
    base, root = index_server
    (root / "index.json").write_text(json.dumps([{**META, "from_code": "en", "to_code": "ar", "links": []}]))
    with pytest.raises(PackageError, match="offers no ar->en package"):
        models.install_from_index(
            "ar", "en", packages_dir=tmp_path / "p", index_url=base, downloads_dir=tmp_path / "d"
        )


def test_index_broken_download_installs_nothing(tmp_path: Path, index_server: tuple[str, Path]) -> None:
    base, root = index_server
    (root / "bad.argosmodel").write_text("not a zip")
    (root / "index.json").write_text(json.dumps([{**META, "links": [base + "bad.argosmodel"]}]))
    with pytest.raises(PackageError, match="not an Argos package"):
        models.install_from_index(
            "ar", "en", packages_dir=tmp_path / "p", index_url=base, downloads_dir=tmp_path / "d"
        )
    assert models.installed_packages(tmp_path / "p") == []


def test_unreachable_index_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="--from-file"):
        models.install_from_index(
            "ar", "en", packages_dir=tmp_path / "p", index_url="http://127.0.0.1:9/", downloads_dir=tmp_path / "d"
        )


def test_index_not_json(tmp_path: Path, index_server: tuple[str, Path]) -> None:
    base, root = index_server
    (root / "index.json").write_text("<html>")
    with pytest.raises(PackageError, match="not valid JSON"):
        models.fetch_index(base)
