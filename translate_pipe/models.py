"""Argos Translate package management: validate, install from a file or the online index, list.

Built on :mod:`argostranslate.package` for the package metadata and the index format, but with
the checks argostranslate leaves out: a package is validated *before* anything is written
(zip integrity, ``metadata.json``, ``model/``, ``sentencepiece.model``, no entry escaping the
target directory, no links), then extracted into a temporary folder beside the packages
directory and moved into place, so a failed install never leaves a half-installed package.

Paths (packages directory, downloads directory) and the index URL are passed in by the
caller; nothing here reads the environment except :func:`default_packages_dir` and
:func:`default_index_url`, which the CLI calls once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import stat
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ModelError, PackageError

Progress = Callable[[int, "int | None"], None]

REQUIRED_METADATA = ("from_code", "to_code")
USER_AGENT = "translate-pipe (ArgosTranslate-compatible)"


@dataclass(frozen=True)
class PackageInfo:
    """An installed Argos package."""

    name: str  # directory name, e.g. "translate-ar_en-1_0"
    path: Path
    from_code: str
    to_code: str
    from_name: str
    to_name: str
    package_version: str
    argos_version: str

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def sp_model(self) -> Path:
        return self.path / "sentencepiece.model"

    @property
    def pair(self) -> str:
        return f"{self.from_code}->{self.to_code}"

    @functools.cached_property
    def checksum(self) -> str:
        """sha256 over the model and tokenizer files (identifies the exact model of a run);
        computed once per loaded package, not at every run."""
        digest = hashlib.sha256()
        files = sorted(p for p in self.model_dir.rglob("*") if p.is_file())
        for file in [*files, self.sp_model]:
            digest.update(str(file.relative_to(self.path)).encode())
            with open(file, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
        return digest.hexdigest()


@dataclass(frozen=True)
class AvailablePackage:
    """A package offered by the online index."""

    from_code: str
    to_code: str
    from_name: str
    to_name: str
    package_version: str
    links: tuple[str, ...]
    name: str


def default_packages_dir() -> Path:
    """argostranslate's own setting: ARGOS_PACKAGES_DIR, its settings.json, or its default."""
    from argostranslate import settings

    return Path(settings.package_data_dir)


def default_index_url() -> str:
    """argostranslate's package index (ARGOS_PACKAGE_INDEX or its default), ending with '/'."""
    from argostranslate import settings

    url = str(settings.package_index)
    return url if url.endswith("/") else url + "/"


def default_downloads_dir() -> Path:
    from argostranslate import settings

    return Path(settings.downloads_dir)


# -- validation -------------------------------------------------------------------------------
def validate_package_file(path: Path) -> tuple[str, dict[str, Any]]:
    """Check an .argosmodel file without extracting it; return (top-level folder, metadata)."""
    if not path.exists():
        raise PackageError(f"{path}: no such file")
    if not path.is_file():
        raise PackageError(f"{path}: not a file")
    if not zipfile.is_zipfile(path):
        raise PackageError(f"{path}: not an Argos package (an .argosmodel file is a zip archive)")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            bad = zf.testzip()
            if bad is not None:
                raise PackageError(f"{path}: corrupt archive (bad CRC for {bad})")
            tops: set[str] = set()
            names: set[str] = set()
            for info in infos:
                name = info.filename
                pure = PurePosixPath(name)
                if (
                    name.startswith(("/", "\\"))
                    or "\\" in name
                    or ".." in pure.parts
                    or (len(name) > 1 and name[1] == ":")
                ):
                    raise PackageError(
                        f"{path}: entry {name!r} would escape the packages directory; refusing to install"
                    )
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    raise PackageError(f"{path}: entry {name!r} is a symbolic link; refusing to install")
                tops.add(pure.parts[0])
                names.add(name.rstrip("/"))
            if len(tops) != 1:
                raise PackageError(
                    f"{path}: an Argos package holds exactly one top-level folder, found {len(tops)}"
                )
            top = tops.pop()
            if top not in names and not any(n.startswith(top + "/") for n in names):
                raise PackageError(f"{path}: empty package")
            if f"{top}/metadata.json" not in names:
                raise PackageError(f"{path}: missing {top}/metadata.json")
            if not any(n.startswith(f"{top}/model/") for n in names):
                raise PackageError(f"{path}: missing {top}/model/ (the CTranslate2 model)")
            if f"{top}/model/model.bin" not in names:
                raise PackageError(f"{path}: missing {top}/model/model.bin")
            if f"{top}/sentencepiece.model" not in names:
                raise PackageError(f"{path}: missing {top}/sentencepiece.model")
            try:
                metadata = json.loads(zf.read(f"{top}/metadata.json").decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise PackageError(f"{path}: metadata.json is not valid JSON: {exc}") from exc
    except zipfile.BadZipFile as exc:
        raise PackageError(f"{path}: corrupt archive: {exc}") from exc
    if not isinstance(metadata, dict):
        raise PackageError(f"{path}: metadata.json must hold a JSON object")
    for key in REQUIRED_METADATA:
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise PackageError(f"{path}: metadata.json has no {key}")
    if metadata.get("type", "translate") != "translate":
        raise PackageError(f"{path}: package type {metadata.get('type')!r} is not a translation package")
    if top in {".", ""}:
        raise PackageError(f"{path}: bad top-level folder name {top!r}")
    return top, metadata


# -- installed packages -----------------------------------------------------------------------
def _read_package(path: Path) -> PackageInfo | None:
    from argostranslate.package import Package

    if not (path / "metadata.json").is_file():
        return None
    try:
        pkg = Package(path)
    except (OSError, ValueError) as exc:
        raise PackageError(f"{path}: unreadable package metadata: {exc}") from exc
    if getattr(pkg, "type", "translate") != "translate" or not pkg.from_code or not pkg.to_code:
        return None
    return PackageInfo(
        name=path.name,
        path=path,
        from_code=pkg.from_code,
        to_code=pkg.to_code,
        from_name=pkg.from_name or "",
        to_name=pkg.to_name or "",
        package_version=pkg.package_version or "",
        argos_version=pkg.argos_version or "",
    )


def installed_packages(packages_dir: Path) -> list[PackageInfo]:
    if not packages_dir.is_dir():
        return []
    found = []
    for child in sorted(packages_dir.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            info = _read_package(child)
            if info is not None:
                found.append(info)
    return found


def _version_key(version: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def find_package(packages_dir: Path, from_code: str, to_code: str) -> PackageInfo:
    """The installed package for a pair (highest version), or a ModelError saying how to get one."""
    candidates = [
        p for p in installed_packages(packages_dir) if (p.from_code, p.to_code) == (from_code, to_code)
    ]
    if not candidates:
        raise ModelError(
            f"no {from_code}->{to_code} model installed in {packages_dir}; install one with "
            f"`translate-pipe models install {from_code} {to_code}` (online) or "
            f"`translate-pipe models install --from-file PACKAGE.argosmodel`"
        )
    for p in candidates:
        if not (p.model_dir / "model.bin").is_file() or not p.sp_model.is_file():
            raise ModelError(f"package {p.name} in {packages_dir} is incomplete; reinstall it")
    return max(candidates, key=lambda p: _version_key(p.package_version))


def install_from_file(path: Path, packages_dir: Path) -> PackageInfo:
    """Validate then install a package file; replaces an installed package of the same folder name."""
    top, _metadata = validate_package_file(path)
    try:
        packages_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".installing-", dir=packages_dir) as tmp:
            with zipfile.ZipFile(path) as zf:
                zf.extractall(tmp)
            staged = Path(tmp) / top
            target = packages_dir / top
            old = Path(tmp) / ".old"
            if target.exists():
                target.rename(old)
            try:
                staged.rename(target)
            except OSError:
                if old.exists():  # put the installed package back
                    old.rename(target)
                raise
    except OSError as exc:
        raise PackageError(f"cannot install {path} into {packages_dir}: {exc}") from exc
    info = _read_package(packages_dir / top)
    if info is None:  # validated above; only a race could get here
        raise PackageError(f"{path}: installed package is unreadable")
    return info


def remove_package(packages_dir: Path, name: str) -> None:
    if name not in {p.name for p in installed_packages(packages_dir)}:
        raise PackageError(f"no installed package named {name!r} in {packages_dir}; `translate-pipe models list` shows them")
    target = packages_dir / name
    if _read_package(target) is None:
        raise PackageError(f"no installed package named {name!r} in {packages_dir}")
    shutil.rmtree(target)


# -- online index -----------------------------------------------------------------------------
def _open(url: str, timeout: float) -> Any:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) checked by caller


def _check_scheme(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise PackageError(f"unsupported URL {url!r}: only http and https are supported")


def fetch_index(index_url: str, timeout: float = 30.0) -> list[AvailablePackage]:
    """Read ``index.json`` from an argospm-style package index."""
    from argostranslate.package import AvailablePackage as ArgosAvailable
    from argostranslate.package import argospm_package_name

    url = index_url + "index.json" if index_url.endswith("/") else index_url + "/index.json"
    _check_scheme(url)
    try:
        with _open(url, timeout) as response:
            raw = response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PackageError(
            f"cannot read the package index {url}: {reason}; without network, install a package "
            f"file with `translate-pipe models install --from-file PACKAGE.argosmodel`"
        ) from exc
    try:
        entries = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"the package index {url} is not valid JSON: {exc}") from exc
    if not isinstance(entries, list):
        raise PackageError(f"the package index {url} must hold a JSON list")
    packages = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        pkg = ArgosAvailable(entry)
        if pkg.type != "translate" or not pkg.from_code or not pkg.to_code:
            continue
        packages.append(
            AvailablePackage(
                from_code=pkg.from_code,
                to_code=pkg.to_code,
                from_name=pkg.from_name or "",
                to_name=pkg.to_name or "",
                package_version=pkg.package_version or "",
                links=tuple(str(link) for link in pkg.links),
                name=argospm_package_name(pkg),
            )
        )
    return packages


def download(url: str, dest: Path, progress: Progress | None = None, timeout: float = 60.0) -> Path:
    """Stream ``url`` into ``dest`` (via a temporary file), reporting (done, total) bytes."""
    _check_scheme(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with _open(url, timeout) as response, open(tmp, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            done = 0
            if progress:
                progress(done, total)
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                done += len(block)
                if progress:
                    progress(done, total)
        if total is not None and done != total:
            raise PackageError(f"download of {url} stopped after {done} of {total} bytes")
        tmp.replace(dest)
    except (urllib.error.URLError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        reason = getattr(exc, "reason", exc)
        raise PackageError(f"cannot download {url}: {reason}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def install_from_index(
    from_code: str,
    to_code: str,
    *,
    packages_dir: Path,
    index_url: str,
    downloads_dir: Path,
    progress: Progress | None = None,
) -> PackageInfo:
    """Find the newest package for the pair in the index, download, validate and install it."""
    available = [p for p in fetch_index(index_url) if (p.from_code, p.to_code) == (from_code, to_code)]
    if not available:
        raise PackageError(f"the package index {index_url} offers no {from_code}->{to_code} package")
    best = max(available, key=lambda p: _version_key(p.package_version))
    if not best.links:
        raise PackageError(f"the index entry for {best.name} {best.package_version} has no download link")
    errors = []
    for link in best.links:
        dest = downloads_dir / f"{best.name}-{best.package_version}.argosmodel"
        try:
            download(link, dest, progress)
        except PackageError as exc:
            errors.append(str(exc))
            continue
        try:
            return install_from_file(dest, packages_dir)
        finally:
            dest.unlink(missing_ok=True)
    raise PackageError("; ".join(errors))
