"""Test-session isolation and shared tiny-model fixtures.

The environment is set first, before anything can import argostranslate
(whose ``settings`` module reads it and creates directories at import time):
no test touches the real home directory, and the package index points at a
closed localhost port so nothing can reach the network.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_SESSION_DIR = tempfile.mkdtemp(prefix="translate-pipe-tests-")
for _var, _sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
    os.environ[_var] = os.path.join(_SESSION_DIR, _sub)
os.environ["ARGOS_PACKAGES_DIR"] = os.path.join(_SESSION_DIR, "argos-packages")
os.environ["ARGOS_PACKAGE_INDEX"] = "http://127.0.0.1:9/"
os.environ["TRANSLATE_PIPE_DB"] = os.path.join(_SESSION_DIR, "translate_pipe.db")
os.environ.pop("ARGOS_TRANSLATE_PACKAGE_DIR", None)  # legacy argostranslate override

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from .tinymodel import (  # noqa: E402
    TINY_PAIRS,
    WRONG_RENDERINGS,
    AlignedPair,
    build_package,
    build_template_package,
    template_split,
)

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def seed_pairs() -> list[tuple[str, str]]:
    """The 9 Arabic paragraphs of the seed bulletin paired with the 9 lines of its reference."""
    ar = (SEEDS / "astana-bulletin.ar.txt").read_text(encoding="utf-8").splitlines()
    en = (SEEDS / "astana-bulletin.en.ref.txt").read_text(encoding="utf-8").splitlines()
    assert len(ar) == len(en) == 9
    return list(zip(ar, en))


@pytest.fixture(scope="session")
def tiny_pairs() -> list[tuple[str, str]]:
    """The pairs :func:`tiny_package` reproduces exactly."""
    return list(TINY_PAIRS)


@pytest.fixture(scope="session")
def tiny_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Memorising ar->en .argosmodel for :data:`tinymodel.TINY_PAIRS` (a few seconds, cached)."""
    return build_package(TINY_PAIRS, tmp_path_factory.mktemp("tiny-package"))


@pytest.fixture(scope="session")
def template_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Guided-alignment template model that generalises to unseen combinations (~1 min once, cached)."""
    return build_template_package(tmp_path_factory.mktemp("template-package"))


@pytest.fixture(scope="session")
def template_heldout() -> list[AlignedPair]:
    """Held-out sentences (never trained on) with gold word links for :func:`template_package`."""
    return template_split()[1]


@pytest.fixture(scope="session")
def wrong_terms_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Template model trained to render :data:`tinymodel.WRONG_RENDERINGS` wrongly (~1 min once, cached)."""
    return build_template_package(tmp_path_factory.mktemp("wrong-terms-package"), term_renderings=WRONG_RENDERINGS)


@pytest.fixture(scope="session")
def wrong_terms_heldout() -> list[AlignedPair]:
    """Held-out sentences for :func:`wrong_terms_package`; their targets carry the wrong renderings."""
    return template_split(term_renderings=WRONG_RENDERINGS)[1]


@pytest.fixture(scope="session")
def enforcement_unsupervised_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generalising model with terms rendered wrongly, trained WITHOUT guided alignment, the way
    real Argos packages were (~2 min once, cached)."""
    from .tinymodel import build_enforcement_package

    return build_enforcement_package(tmp_path_factory.mktemp("enforcement-unsupervised"), guided=False)


@pytest.fixture(scope="session")
def enforcement_guided_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same model trained with guided alignment (~2 min once, cached)."""
    from .tinymodel import build_enforcement_package

    return build_enforcement_package(tmp_path_factory.mktemp("enforcement-guided"), guided=True)
