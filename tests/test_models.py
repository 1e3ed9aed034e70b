"""Package validation, hostile packages, installation from a file and from a localhost package index.

Structural checks run on small hand-made zips (refused before anything is extracted); every
package that must install is a real one (the tiny fixture package, re-zipped), because
installation load-tests the model and the tokenizer.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from translate_pipe import models
from translate_pipe.cli import app
from translate_pipe.errors import ModelError, PackageError

from .servers import static_files

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
    (
        "nested-metadata",
        {**good_entries(), "translate-ar_en-1_0/metadata.json": "[" * 100_000 + "]" * 100_000},
        "metadata.json is nested too deeply",
    ),
    (
        "huge-metadata",
        {**good_entries(), "translate-ar_en-1_0/metadata.json": json.dumps({**META, "pad": " " * (2 << 20)})},
        "metadata.json is .* bytes, over the",
    ),
    ("no-tokenizer-kind", {**without(good_entries(), "sentencepiece.model"), "translate-ar_en-1_0/x.bpe": "a b"}, "missing"),
]


@pytest.mark.parametrize("entries,message", [(e, m) for _, e, m in BROKEN], ids=[i for i, _, _ in BROKEN])
def test_broken_package_refused_and_nothing_installed(tmp_path: Path, entries: dict, message: str) -> None:
    pkg = make_zip(tmp_path / "p.argosmodel", entries)
    dest = tmp_path / "packages"
    with pytest.raises(PackageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        models.install_from_file(pkg, dest)
    assert not dest.exists() or list(dest.iterdir()) == []


@pytest.mark.parametrize(
    "entries,message",
    [
        ({"translate-ar_en-1_0/model/pad.bin": b"\0" * (20 << 20)}, "entry .*pad.bin.* has compression ratio"),
        ({f"translate-ar_en-1_0/model/pad{i}.bin": b"\0" * (1 << 19) for i in range(8)}, "compression ratio .* is over the limit"),
    ],
    ids=["one-entry", "whole-archive"],
)
def test_zip_bomb_refused_before_extraction(tmp_path: Path, entries: dict[str, bytes], message: str) -> None:
    pkg = tmp_path / "bomb.argosmodel"
    with zipfile.ZipFile(pkg, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in {**good_entries(), **entries}.items():
            zf.writestr(name, data)
    with pytest.raises(PackageError, match=message):
        models.install_from_file(pkg, tmp_path / "packages")
    assert not (tmp_path / "packages").exists()


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


def repack(
    real: Path,
    out: Path,
    *,
    top: str = "translate-ar_en-1_0",
    meta: dict | None = None,
    replace: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """The real package ``real`` re-zipped under folder ``top``, with metadata fields and files changed."""
    with zipfile.ZipFile(real) as zf:
        files = {n.split("/", 1)[1]: zf.read(n) for n in zf.namelist() if not n.endswith("/")}
    files["metadata.json"] = json.dumps({**json.loads(files["metadata.json"]), **(meta or {})}).encode()
    files.update(replace or {})
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            if name not in drop:
                zf.writestr(f"{top}/{name}", data)
    return out


def _model_bin(real: Path) -> bytes:
    with zipfile.ZipFile(real) as zf:
        return zf.read("translate-ar_en-1_0/model/model.bin")


def test_install_list_find(tmp_path: Path, tiny_package: Path) -> None:
    dest = tmp_path / "packages"
    info = models.install_from_file(tiny_package, dest)
    assert (info.name, info.pair, info.package_version) == ("translate-ar_en-1_0", "ar->en", "1.0")
    assert [p.name for p in models.installed_packages(dest)] == ["translate-ar_en-1_0"]
    assert models.find_package(dest, "ar", "en").path == dest / "translate-ar_en-1_0"
    assert sorted(p.name for p in dest.iterdir()) == ["translate-ar_en-1_0"]  # no staging leftovers


def test_replacing_needs_force_and_keeps_nothing_stale(tmp_path: Path, tiny_package: Path) -> None:
    dest = tmp_path / "packages"
    models.install_from_file(tiny_package, dest)
    newer = repack(tiny_package, tmp_path / "b.argosmodel", meta={"package_version": "1.1"})
    with pytest.raises(PackageError, match=r"already installed .*\(ar->en version 1.0\); use --force"):
        models.install_from_file(newer, dest)
    assert models.find_package(dest, "ar", "en").package_version == "1.0"
    assert models.install_from_file(newer, dest, force=True).package_version == "1.1"
    assert sorted(p.name for p in dest.iterdir()) == ["translate-ar_en-1_0"]


def _corrupt(real: Path) -> dict[str, dict[str, bytes]]:
    model = _model_bin(real)
    return {
        "corrupt-model": {"model/model.bin": bytes(b ^ 0x5A for b in model)},
        "truncated-model": {"model/model.bin": model[: len(model) // 2]},
        "corrupt-sentencepiece": {"sentencepiece.model": b"\x08\x01garbage" * 50},
    }


HOSTILE = ["corrupt-model", "truncated-model", "corrupt-sentencepiece"]


@pytest.mark.parametrize("case", HOSTILE)
def test_unloadable_package_is_refused(tmp_path: Path, tiny_package: Path, case: str) -> None:
    bad = repack(tiny_package, tmp_path / "bad.argosmodel", replace=_corrupt(tiny_package)[case])
    dest = tmp_path / "packages"
    with pytest.raises(PackageError, match="does not load"):
        models.install_from_file(bad, dest)
    assert models.installed_packages(dest) == []
    assert [p.name for p in dest.iterdir()] == []


@pytest.mark.parametrize("case", HOSTILE)
def test_failed_forced_replacement_keeps_the_installed_package(tmp_path: Path, tiny_package: Path, case: str) -> None:
    dest = tmp_path / "packages"
    before = models.install_from_file(tiny_package, dest).checksum
    bad = repack(tiny_package, tmp_path / "bad.argosmodel", meta={"package_version": "2.0"}, replace=_corrupt(tiny_package)[case])
    with pytest.raises(PackageError, match="does not load .*already installed is kept"):
        models.install_from_file(bad, dest, force=True)
    kept = models.find_package(dest, "ar", "en")
    assert (kept.package_version, kept.checksum) == ("1.0", before)


@pytest.mark.parametrize("case", HOSTILE)
def test_broken_higher_version_does_not_shadow_a_working_one(tmp_path: Path, tiny_package: Path, case: str) -> None:
    dest = tmp_path / "packages"
    models.install_from_file(tiny_package, dest)
    # placed by hand (or corrupted on disk later): installation would have refused it
    broken = dest / "translate-ar_en-2_0"
    with zipfile.ZipFile(repack(tiny_package, tmp_path / "b.zip", top=broken.name, meta={"package_version": "2.0"},
                                replace=_corrupt(tiny_package)[case])) as zf:
        zf.extractall(dest)
    assert models.find_package(dest, "ar", "en").package_version == "1.0"


def test_no_loadable_package_says_so(tmp_path: Path, tiny_package: Path) -> None:
    dest = tmp_path / "packages"
    for version in ("1.0", "2.0"):
        bad = repack(tiny_package, tmp_path / f"{version}.zip", top=f"translate-ar_en-{version.replace('.', '_')}",
                     meta={"package_version": version}, replace=_corrupt(tiny_package)["corrupt-model"])
        with zipfile.ZipFile(bad) as zf:
            zf.extractall(dest)
    with pytest.raises(ModelError, match="no installed ar->en package loads"):
        models.find_package(dest, "ar", "en")


def test_find_package_picks_highest_version(tmp_path: Path, tiny_package: Path) -> None:
    dest = tmp_path / "packages"
    for version, top in [("1.0", "translate-ar_en-1_0"), ("1.10", "translate-ar_en-1_10"), ("1.9", "translate-ar_en-1_9")]:
        models.install_from_file(repack(tiny_package, tmp_path / f"{top}.zip", top=top, meta={"package_version": version}), dest)
    assert models.find_package(dest, "ar", "en").package_version == "1.10"


def test_unpacked_size_limit(tmp_path: Path, tiny_package: Path) -> None:
    limits = models.Limits(max_unpacked_bytes=1000)
    with pytest.raises(PackageError, match="unpacks to .* over the limit of 1000 bytes"):
        models.install_from_file(tiny_package, tmp_path / "packages", limits=limits)
    assert not (tmp_path / "packages").exists()


def test_installed_package_with_nested_metadata_is_left_out(tmp_path: Path, tiny_package: Path) -> None:
    dest = tmp_path / "packages"
    models.install_from_file(tiny_package, dest)
    (dest / "evil").mkdir()
    (dest / "evil" / "metadata.json").write_text("[" * 100_000 + "]" * 100_000)
    assert [p.name for p in models.installed_packages(dest)] == ["translate-ar_en-1_0"]
    result = CliRunner().invoke(app, ["--packages-dir", str(dest), "models", "list"])
    assert result.exit_code == 0 and "translate-ar_en-1_0" in result.output


@pytest.mark.parametrize(
    "case,message",
    [
        ("corrupt-model", "the package does not load (cannot load the model in translate-ar_en-1_0/model"),
        ("nested-metadata", "metadata.json is nested too deeply"),
    ],
)
def test_cli_hostile_package_is_one_line(tmp_path: Path, tiny_package: Path, case: str, message: str) -> None:
    if case == "nested-metadata":
        bad = make_zip(tmp_path / "bad.argosmodel", {**good_entries(), "translate-ar_en-1_0/metadata.json": "[" * 100_000})
    else:
        bad = repack(tiny_package, tmp_path / "bad.argosmodel", replace=_corrupt(tiny_package)[case])
    result = CliRunner().invoke(app, ["--packages-dir", str(tmp_path / "p"), "models", "install", "--from-file", str(bad)])
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_cli_install_needs_force_to_replace(tmp_path: Path, tiny_package: Path) -> None:
    dest = tmp_path / "packages"
    args = ["--packages-dir", str(dest), "models", "install", "--from-file", str(tiny_package)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1
    assert "use --force to replace it" in again.output and "Traceback" not in again.output
    forced = CliRunner().invoke(app, [*args, "--force"])
    assert forced.exit_code == 0 and f"from {tiny_package}" in forced.output


def test_missing_model_says_how_to_install(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="translate-pipe models install ar en"):
        models.find_package(tmp_path, "ar", "en")


# -- the online path, against a package index served on localhost --------------------------------
@pytest.fixture()
def index_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    with static_files(root) as base:
        yield base, root


def real_index_entry(base: str, file: str, **changes: str) -> dict:
    """An entry exactly in the shape of the real index: these keys only, an ipfs:// link first."""
    entry = {
        "package_version": "1.0",
        "argos_version": "1.0",
        "from_code": "ar",
        "from_name": "Arabic",
        "to_code": "en",
        "to_name": "English",
        "links": ["ipfs://QmSaDtCqzPUNhpHPr1LFnxPgaR8gMu2ZCoQQPvFaEmfbNK", base + file],
        "code": "translate-ar_en",
    }
    return {**entry, **changes}


def test_install_from_real_shaped_index(tmp_path: Path, index_server: tuple[str, Path], tiny_package: Path) -> None:
    base, root = index_server
    repack(tiny_package, root / "old.argosmodel", top="translate-ar_en-0_9", meta={"package_version": "0.9"})
    (root / "new.argosmodel").write_bytes(tiny_package.read_bytes())
    index = [
        real_index_entry(base, "old.argosmodel", package_version="0.9"),
        real_index_entry(base, "new.argosmodel"),
        real_index_entry(base, "x", from_code="en", to_code="ar", from_name="English", to_name="Arabic"),
    ]
    (root / "index.json").write_text(json.dumps(index))
    seen: list[tuple[int, int | None]] = []
    done = models.install_from_index(
        "ar",
        "en",
        packages_dir=tmp_path / "packages",
        index_url=base,
        downloads_dir=tmp_path / "downloads",
        progress=lambda d, total: seen.append((d, total)),
    )
    assert (done.package.name, done.package.package_version) == ("translate-ar_en-1_0", "1.0")
    assert done.source == base + "new.argosmodel"
    assert done.skipped == ("ipfs://QmSaDtCqzPUNhpHPr1LFnxPgaR8gMu2ZCoQQPvFaEmfbNK: not an http(s) link",)
    size = (root / "new.argosmodel").stat().st_size
    assert seen[-1] == (size, size)
    assert list((tmp_path / "downloads").iterdir()) == []  # the download is removed after install


def test_index_entry_fields(index_server: tuple[str, Path]) -> None:
    base, root = index_server
    (root / "index.json").write_text(json.dumps([real_index_entry(base, "p.argosmodel")]))
    [pkg] = models.fetch_index(base)
    assert (pkg.name, pkg.code, pkg.from_name, pkg.to_name, pkg.argos_version) == (
        "translate-ar_en", "translate-ar_en", "Arabic", "English", "1.0"
    )
    assert pkg.links[0].startswith("ipfs://")


def test_index_link_fallbacks(tmp_path: Path, index_server: tuple[str, Path], tiny_package: Path) -> None:
    base, root = index_server
    (root / "good.argosmodel").write_bytes(tiny_package.read_bytes())
    entry = real_index_entry(base, "good.argosmodel")
    entry["links"] = [entry["links"][0], base + "missing.argosmodel", base + "good.argosmodel"]
    (root / "index.json").write_text(json.dumps([entry]))
    done = models.install_from_index(
        "ar", "en", packages_dir=tmp_path / "p", index_url=base, downloads_dir=tmp_path / "d"
    )
    assert done.source == base + "good.argosmodel"
    assert [s.split(": ")[0] for s in done.skipped] == [entry["links"][0], base + "missing.argosmodel"]


def test_index_download_is_bounded(tmp_path: Path, index_server: tuple[str, Path], tiny_package: Path) -> None:
    base, root = index_server
    (root / "big.argosmodel").write_bytes(tiny_package.read_bytes())
    (root / "index.json").write_text(json.dumps([real_index_entry(base, "big.argosmodel")]))
    with pytest.raises(PackageError, match="over the limit of 1000 bytes"):
        models.install_from_index(
            "ar", "en", packages_dir=tmp_path / "p", index_url=base, downloads_dir=tmp_path / "d",
            limits=models.Limits(max_unpacked_bytes=1000),
        )
    assert list((tmp_path / "d").iterdir()) == []  # no partial file left


def test_index_download_of_another_pair_is_refused(tmp_path: Path, index_server: tuple[str, Path], tiny_package: Path) -> None:
    base, root = index_server
    repack(tiny_package, root / "fr.argosmodel", meta={"from_code": "fr"})
    (root / "index.json").write_text(json.dumps([real_index_entry(base, "fr.argosmodel")]))
    with pytest.raises(PackageError, match="holds a fr->en package, not ar->en"):
        models.install_from_index("ar", "en", packages_dir=tmp_path / "p", index_url=base, downloads_dir=tmp_path / "d")
    assert models.installed_packages(tmp_path / "p") == []


def test_index_with_only_ipfs_links(tmp_path: Path, index_server: tuple[str, Path]) -> None:
    base, root = index_server
    entry = real_index_entry(base, "x")
    entry["links"] = entry["links"][:1]
    (root / "index.json").write_text(json.dumps([entry]))
    with pytest.raises(PackageError, match="could be downloaded: ipfs://.*not an http\\(s\\) link"):
        models.install_from_index("ar", "en", packages_dir=tmp_path / "p", index_url=base, downloads_dir=tmp_path / "d")


def test_deeply_nested_index_is_a_clean_error(index_server: tuple[str, Path]) -> None:
    base, root = index_server
    (root / "index.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(PackageError, match="nested too deeply"):
        models.fetch_index(base)


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
