"""Argos Translate packages: validate, install from a file or the online index, list, choose.

The package format and the index format are argostranslate's, read here directly (no
argostranslate distribution is needed):

* a package (``.argosmodel``) is a zip of one top-level folder holding ``metadata.json``,
  ``model/`` (a CTranslate2 model) and a tokenizer: ``sentencepiece.model`` (SentencePiece),
  or ``bpe.model`` (subword-nmt BPE codes applied after Moses tokenisation, as in the
  converted OPUS-MT packages).  A package converted from a model with separate source and
  target vocabularies may add the target side's model, ``target.spm`` (SentencePiece) or
  ``target.bpe`` (BPE codes); the source side may also be named ``source.spm``;
* the index (``index.json``) is a JSON list of entries with ``package_version``,
  ``argos_version``, ``from_code``, ``from_name``, ``to_code``, ``to_name``, ``links`` (https
  and ``ipfs://`` URLs, no checksum, no size) and ``code``.

A package is checked *before* anything is written (zip structure, no entry escaping the
target folder, no links, an uncompressed-size bound and a compression-ratio bound against zip
bombs, ``metadata.json`` bounded in size and depth), then extracted into a temporary folder
beside the packages directory and *load-tested* there (the tokenizer encodes and the model
translates a probe).  Only then does it move into place; replacing an installed package of
the same folder name needs ``force`` and keeps the old one until the new one has passed.

Paths and the index URL are passed in by the caller.  :func:`argos_settings` is the one place
that reads argostranslate's settings (environment, then its ``settings.json``), lazily and
without creating any directory.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ModelError, PackageError

Progress = Callable[[int, "int | None"], None]

REQUIRED_METADATA = ("from_code", "to_code")
USER_AGENT = "translate-pipe (ArgosTranslate-compatible)"
ARGOS_DEFAULT_INDEX = "https://raw.githubusercontent.com/argosopentech/argospm-index/main/"

# tokenizer files, in order of preference (argostranslate prefers sentencepiece.model)
SP_SOURCE_FILES = ("sentencepiece.model", "source.spm")
SP_TARGET_FILE = "target.spm"
BPE_SOURCE_FILE = "bpe.model"
BPE_TARGET_FILE = "target.bpe"


@dataclass(frozen=True)
class Limits:
    """Bounds on a package archive, checked before anything is extracted."""

    max_unpacked_bytes: int = 4 << 30  # the largest Argos packages unpack to well under 1 GiB
    max_ratio: float = 100.0  # uncompressed/compressed, of the archive and of any entry over 1 MiB
    max_entries: int = 10_000
    max_metadata_bytes: int = 1 << 20


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class TokenizerFiles:
    """Which tokenizer a package carries: ``kind`` is ``"sentencepiece"`` or ``"bpe"``."""

    kind: str
    source: Path
    target: Path | None = None  # the target side's own model, when the vocabularies are separate

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.source,) if self.target is None else (self.source, self.target)


def tokenizer_files(package_dir: Path) -> TokenizerFiles | None:
    """The tokenizer files of an unpacked package, or None when it has none."""
    for name in SP_SOURCE_FILES:
        if (package_dir / name).is_file():
            target = package_dir / SP_TARGET_FILE
            return TokenizerFiles("sentencepiece", package_dir / name, target if target.is_file() else None)
    if (package_dir / BPE_SOURCE_FILE).is_file():
        target = package_dir / BPE_TARGET_FILE
        return TokenizerFiles("bpe", package_dir / BPE_SOURCE_FILE, target if target.is_file() else None)
    return None


@dataclass(frozen=True)
class PackageInfo:
    """An installed (or staged) Argos package."""

    name: str  # directory name, e.g. "translate-ar_en-1_0"
    path: Path
    from_code: str
    to_code: str
    from_name: str
    to_name: str
    package_version: str
    argos_version: str
    target_prefix: str = ""

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def tokenizer(self) -> TokenizerFiles:
        files = tokenizer_files(self.path)
        if files is None:
            raise ModelError(
                f"package {self.name} in {self.path.parent} has no tokenizer "
                f"({' or '.join((*SP_SOURCE_FILES, BPE_SOURCE_FILE))}); reinstall it"
            )
        return files

    @property
    def sp_model(self) -> Path:
        """The source-side tokenizer model (SentencePiece model or BPE codes)."""
        return self.tokenizer.source

    @property
    def pair(self) -> str:
        return f"{self.from_code}->{self.to_code}"

    @functools.cached_property
    def checksum(self) -> str:
        """sha256 over the model and tokenizer files (identifies the exact model of a run);
        computed once per loaded package, not at every run."""
        digest = hashlib.sha256()
        files = sorted(p for p in self.model_dir.rglob("*") if p.is_file())
        for file in [*files, *self.tokenizer.paths]:
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
    argos_version: str
    links: tuple[str, ...]
    name: str  # argospm name, e.g. "translate-ar_en"
    code: str = ""


@dataclass(frozen=True)
class Installed:
    """What was installed, from where (the file, or the index link used), and the index links
    skipped on the way."""

    package: PackageInfo
    source: str
    skipped: tuple[str, ...] = ()  # "LINK: reason"


# -- argostranslate's settings (the one place that reads them) --------------------------------
@dataclass(frozen=True)
class ArgosSettings:
    packages_dir: Path
    index_url: str
    downloads_dir: Path


def argos_settings(env: Mapping[str, str] | None = None) -> ArgosSettings:
    """argostranslate's settings resolved as its ``settings`` module does (environment first,
    then ``$XDG_CONFIG_HOME/argos-translate/settings.json``, then its defaults), but lazily and
    without creating any directory (importing ``argostranslate.settings`` creates four)."""
    env = os.environ if env is None else env
    home = Path(env["SNAP_USER_DATA"]) if "SNAP" in env and "SNAP_USER_DATA" in env else Path.home()
    data_dir = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "argos-translate"
    config_dir = Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "argos-translate"
    cache_dir = Path(env.get("XDG_CACHE_HOME") or home / ".local" / "cache") / "argos-translate"
    from_file: dict[str, Any] = {}
    try:
        raw = json.loads((config_dir / "settings.json").read_text(encoding="utf-8"))
        if isinstance(raw, dict):
            from_file = raw
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        pass  # argostranslate ignores an unreadable settings file too

    def setting(key: str, default: str) -> str:
        value = env.get(key)
        if value is None:
            value = from_file.get(key)
        return str(value) if value is not None else default

    index = setting("ARGOS_PACKAGE_INDEX", ARGOS_DEFAULT_INDEX)
    return ArgosSettings(
        packages_dir=Path(setting("ARGOS_PACKAGES_DIR", str(data_dir / "packages"))),
        index_url=index if index.endswith("/") else index + "/",
        downloads_dir=cache_dir / "downloads",
    )


def default_packages_dir() -> Path:
    """argostranslate's own setting: ARGOS_PACKAGES_DIR, its settings.json, or its default."""
    return argos_settings().packages_dir


def default_index_url() -> str:
    """argostranslate's package index (ARGOS_PACKAGE_INDEX or its default), ending with '/'."""
    return argos_settings().index_url


def default_downloads_dir() -> Path:
    return argos_settings().downloads_dir


# -- metadata ---------------------------------------------------------------------------------
def parse_json(data: bytes, what: str) -> Any:
    """JSON from bytes, with one clean error for bad encoding, bad syntax and absurd nesting."""
    try:
        return json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PackageError(f"{what} is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise PackageError(f"{what} is nested too deeply to be package metadata") from exc


def check_metadata(metadata: Any, what: str) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise PackageError(f"{what} must hold a JSON object")
    for key in REQUIRED_METADATA:
        if not isinstance(metadata.get(key), str) or not metadata[key]:
            raise PackageError(f"{what} has no {key}")
    if metadata.get("type", "translate") != "translate":
        raise PackageError(f"{what}: package type {metadata.get('type')!r} is not a translation package")
    return metadata


def _text(metadata: dict[str, Any], key: str) -> str:
    value = metadata.get(key)
    return value if isinstance(value, str) else ""


# -- validation -------------------------------------------------------------------------------
def validate_package_file(path: Path, limits: Limits = DEFAULT_LIMITS) -> tuple[str, dict[str, Any]]:
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
            _check_sizes(path, infos, limits)
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
            if top in {".", ""}:
                raise PackageError(f"{path}: bad top-level folder name {top!r}")
            if not any(n.startswith(top + "/") for n in names):
                raise PackageError(f"{path}: empty package")
            if f"{top}/metadata.json" not in names:
                raise PackageError(f"{path}: missing {top}/metadata.json")
            if not any(n.startswith(f"{top}/model/") for n in names):
                raise PackageError(f"{path}: missing {top}/model/ (the CTranslate2 model)")
            if f"{top}/model/model.bin" not in names:
                raise PackageError(f"{path}: missing {top}/model/model.bin")
            if not any(f"{top}/{n}" in names for n in (*SP_SOURCE_FILES, BPE_SOURCE_FILE)):
                raise PackageError(
                    f"{path}: missing {top}/sentencepiece.model (or {top}/{BPE_SOURCE_FILE}, the tokenizer)"
                )
            meta_info = zf.getinfo(f"{top}/metadata.json")
            if meta_info.file_size > limits.max_metadata_bytes:
                raise PackageError(
                    f"{path}: metadata.json is {meta_info.file_size} bytes, over the "
                    f"{limits.max_metadata_bytes}-byte limit"
                )
            metadata = parse_json(zf.read(meta_info), f"{path}: metadata.json")
    except zipfile.BadZipFile as exc:
        raise PackageError(f"{path}: corrupt archive: {exc}") from exc
    return top, check_metadata(metadata, f"{path}: metadata.json")


def _check_sizes(path: Path, infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Zip-bomb bounds from the central directory (zipfile never inflates an entry past its
    declared size, so these bound what extraction writes)."""
    if len(infos) > limits.max_entries:
        raise PackageError(f"{path}: {len(infos)} entries, over the limit of {limits.max_entries}")
    unpacked = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    if unpacked > limits.max_unpacked_bytes:
        raise PackageError(
            f"{path}: unpacks to {unpacked} bytes, over the limit of {limits.max_unpacked_bytes} bytes; refusing to install"
        )
    for info in infos:
        if info.file_size > (1 << 20) and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise PackageError(
                f"{path}: entry {info.filename!r} has compression ratio "
                f"{info.file_size / max(info.compress_size, 1):.0f}:1, over the limit of "
                f"{limits.max_ratio:.0f}:1 (a zip bomb?); refusing to install"
            )
    if unpacked > (1 << 20) and unpacked > limits.max_ratio * max(packed, 1):
        raise PackageError(
            f"{path}: compression ratio {unpacked / max(packed, 1):.0f}:1 is over the limit of "
            f"{limits.max_ratio:.0f}:1 (a zip bomb?); refusing to install"
        )


# -- installed packages -----------------------------------------------------------------------
def read_package(path: Path) -> PackageInfo | None:
    """The package unpacked at ``path``; None when it is not a translation package."""
    meta_path = path / "metadata.json"
    if not meta_path.is_file():
        return None
    try:
        if meta_path.stat().st_size > DEFAULT_LIMITS.max_metadata_bytes:
            raise PackageError(f"{meta_path}: over {DEFAULT_LIMITS.max_metadata_bytes} bytes")
        metadata = parse_json(meta_path.read_bytes(), str(meta_path))
    except OSError as exc:
        raise PackageError(f"{path}: unreadable package metadata: {exc}") from exc
    if not isinstance(metadata, dict) or metadata.get("type", "translate") != "translate":
        return None
    from_code, to_code = _text(metadata, "from_code"), _text(metadata, "to_code")
    if not from_code or not to_code:
        return None
    return PackageInfo(
        name=path.name,
        path=path,
        from_code=from_code,
        to_code=to_code,
        from_name=_text(metadata, "from_name"),
        to_name=_text(metadata, "to_name"),
        package_version=_text(metadata, "package_version"),
        argos_version=_text(metadata, "argos_version"),
        target_prefix=_text(metadata, "target_prefix"),
    )


def installed_packages(packages_dir: Path) -> list[PackageInfo]:
    """Translation packages in ``packages_dir`` (a folder with unreadable metadata is left out)."""
    if not packages_dir.is_dir():
        return []
    found = []
    for child in sorted(packages_dir.iterdir()):
        if child.is_dir() and not child.name.startswith("."):
            try:
                info = read_package(child)
            except PackageError:
                continue
            if info is not None:
                found.append(info)
    return found


def _version_key(version: str) -> Any:
    from packaging.version import InvalidVersion, Version

    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _complete(p: PackageInfo) -> bool:
    return (p.model_dir / "model.bin").is_file() and tokenizer_files(p.path) is not None


def find_package(packages_dir: Path, from_code: str, to_code: str) -> PackageInfo:
    """The installed package for a pair: the highest version that loads.

    With one candidate it is returned as is (loading it later gives the precise error).  With
    several, incomplete ones are skipped and the others are load-tested from the highest
    version down, so a broken package never shadows a working one."""
    candidates = sorted(
        (p for p in installed_packages(packages_dir) if (p.from_code, p.to_code) == (from_code, to_code)),
        key=lambda p: (_version_key(p.package_version), p.name),
        reverse=True,
    )
    if not candidates:
        raise ModelError(
            f"no {from_code}->{to_code} model installed in {packages_dir}; install one with "
            f"`translate-pipe models install {from_code} {to_code}` (online) or "
            f"`translate-pipe models install --from-file PACKAGE.argosmodel`"
        )
    complete = [p for p in candidates if _complete(p)]
    if not complete:
        raise ModelError(f"package {candidates[0].name} in {packages_dir} is incomplete; reinstall it")
    if len(complete) == 1:
        return complete[0]
    from .engine import check_loads

    errors = []
    for p in complete:
        try:
            check_loads(p)
        except ModelError as exc:
            errors.append(f"{p.name}: {exc}")
            continue
        return p
    raise ModelError(f"no installed {from_code}->{to_code} package loads: " + "; ".join(errors))


def install_from_file(
    path: Path, packages_dir: Path, *, force: bool = False, limits: Limits = DEFAULT_LIMITS
) -> PackageInfo:
    """Validate, extract beside ``packages_dir``, load-test, then move into place.

    An installed package of the same folder name is replaced only with ``force``, and only
    after the new one has passed the load test."""
    top, _metadata = validate_package_file(path, limits)
    target = packages_dir / top
    if target.exists() and not force:
        try:
            old = read_package(target)
        except PackageError:
            old = None
        what = f"{old.pair} version {old.package_version}" if old else "a folder"
        raise PackageError(
            f"{top} is already installed in {packages_dir} ({what}); use --force to replace it"
        )
    from .engine import check_loads

    try:
        packages_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".installing-", dir=packages_dir) as tmp:
            try:
                with zipfile.ZipFile(path) as zf:
                    zf.extractall(tmp)
            except zipfile.BadZipFile as exc:
                raise PackageError(f"{path}: corrupt archive: {exc}") from exc
            staged = Path(tmp) / top
            info = read_package(staged)
            if info is None:
                raise PackageError(f"{path}: not a translation package")
            try:
                check_loads(info)
            except ModelError as exc:
                kept = f"; {top} already installed is kept" if target.exists() else ""
                reason = str(exc).replace(str(staged), top)  # name files inside the package, not the staging folder
                raise PackageError(f"{path}: the package does not load ({reason}); nothing installed{kept}") from exc
            old_dir = Path(tmp) / ".old"
            if target.exists():
                target.rename(old_dir)
            try:
                staged.rename(target)
            except OSError:
                if old_dir.exists():  # put the installed package back
                    old_dir.rename(target)
                raise
    except OSError as exc:
        raise PackageError(f"cannot install {path} into {packages_dir}: {exc}") from exc
    installed = read_package(target)
    if installed is None:  # validated above; only a race could get here
        raise PackageError(f"{path}: installed package is unreadable")
    return installed


def remove_package(packages_dir: Path, name: str) -> None:
    if name not in {p.name for p in installed_packages(packages_dir)}:
        raise PackageError(f"no installed package named {name!r} in {packages_dir}; `translate-pipe models list` shows them")
    shutil.rmtree(packages_dir / name)


# -- online index -----------------------------------------------------------------------------
MAX_INDEX_BYTES = 64 << 20


def _open(url: str, timeout: float) -> Any:
    import urllib.request  # here: http.client and friends are a good part of a command's start-up

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 - http(s) checked by caller


def _check_scheme(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise PackageError(f"unsupported URL {url!r}: only http and https are supported")


def fetch_index(index_url: str, timeout: float = 30.0) -> list[AvailablePackage]:
    """Read ``index.json`` from an argospm-style package index."""
    url = index_url + "index.json" if index_url.endswith("/") else index_url + "/index.json"
    _check_scheme(url)
    try:
        with _open(url, timeout) as response:
            raw = response.read(MAX_INDEX_BYTES + 1)
    except OSError as exc:  # urllib's URLError is an OSError
        reason = getattr(exc, "reason", exc)
        raise PackageError(
            f"cannot read the package index {url}: {reason}; without network, install a package "
            f"file with `translate-pipe models install --from-file PACKAGE.argosmodel`"
        ) from exc
    if len(raw) > MAX_INDEX_BYTES:
        raise PackageError(f"the package index {url} is over {MAX_INDEX_BYTES} bytes")
    entries = parse_json(raw, f"the package index {url}")
    if not isinstance(entries, list):
        raise PackageError(f"the package index {url} must hold a JSON list")
    packages = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("type", "translate") != "translate":
            continue
        from_code, to_code = _text(entry, "from_code"), _text(entry, "to_code")
        links = entry.get("links")
        if not from_code or not to_code:
            continue
        packages.append(
            AvailablePackage(
                from_code=from_code,
                to_code=to_code,
                from_name=_text(entry, "from_name"),
                to_name=_text(entry, "to_name"),
                package_version=_text(entry, "package_version"),
                argos_version=_text(entry, "argos_version"),
                links=tuple(str(link) for link in links) if isinstance(links, list) else (),
                name=f"translate-{from_code}_{to_code}",  # argostranslate's argospm_package_name
                code=_text(entry, "code"),
            )
        )
    return packages


def download(
    url: str, dest: Path, progress: Progress | None = None, timeout: float = 60.0, max_bytes: int | None = None
) -> Path:
    """Stream ``url`` into ``dest`` (via a temporary file), reporting (done, total) bytes;
    at most ``max_bytes`` are accepted."""
    _check_scheme(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with _open(url, timeout) as response, open(tmp, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if max_bytes is not None and total is not None and total > max_bytes:
                raise PackageError(f"{url} is {total} bytes, over the limit of {max_bytes} bytes")
            done = 0
            if progress:
                progress(done, total)
            for block in iter(lambda: response.read(1 << 16), b""):
                out.write(block)
                done += len(block)
                if max_bytes is not None and done > max_bytes:
                    raise PackageError(f"download of {url} passed the limit of {max_bytes} bytes; stopped")
                if progress:
                    progress(done, total)
        if total is not None and done != total:
            raise PackageError(f"download of {url} stopped after {done} of {total} bytes")
        tmp.replace(dest)
    except OSError as exc:  # urllib's URLError is an OSError
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
    force: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> Installed:
    """Find the newest package for the pair in the index, download it from the first link that
    works (links that are not http(s), e.g. ``ipfs://``, are skipped), check that it is a valid
    package for the pair, load-test and install it."""
    available = [p for p in fetch_index(index_url) if (p.from_code, p.to_code) == (from_code, to_code)]
    if not available:
        raise PackageError(f"the package index {index_url} offers no {from_code}->{to_code} package")
    best = max(available, key=lambda p: _version_key(p.package_version))
    if not best.links:
        raise PackageError(f"the index entry for {best.name} {best.package_version} has no download link")
    skipped: list[str] = []
    for link in best.links:
        if not link.startswith(("http://", "https://")):
            skipped.append(f"{link}: not an http(s) link")
            continue
        dest = downloads_dir / f"{best.name}-{best.package_version}.argosmodel"
        try:
            download(link, dest, progress, max_bytes=limits.max_unpacked_bytes)
        except PackageError as exc:
            skipped.append(f"{link}: {exc}")
            continue
        try:
            _top, metadata = validate_package_file(dest, limits)
            if (metadata["from_code"], metadata["to_code"]) != (from_code, to_code):
                raise PackageError(
                    f"{link} holds a {metadata['from_code']}->{metadata['to_code']} package, "
                    f"not {from_code}->{to_code}"
                )
            info = install_from_file(dest, packages_dir, force=force, limits=limits)
        finally:
            dest.unlink(missing_ok=True)
        return Installed(info, link, tuple(skipped))
    raise PackageError(f"no link of {best.name} {best.package_version} could be downloaded: " + "; ".join(skipped))
