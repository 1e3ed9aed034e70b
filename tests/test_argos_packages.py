"""Every package layout of the Argos index, end to end through the real code: served with an
index in the real shape from a local HTTP server, installed with `models install FROM TO`,
then used by `translate` (a subprocess each, as a user runs them).

Layouts: SentencePiece (``sentencepiece.model``), BPE (``bpe.model``, Moses + subword-nmt, as
the converted OPUS-MT packages) and separate source/target SentencePiece models
(``sentencepiece.model`` + ``target.spm``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .servers import static_files
from .tinymodel import TINY_PAIRS
from .tinyvariants import BPE_PAIRS, build_bpe_package, build_separate_vocab_package, unpack

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = ["sentencepiece", "bpe", "separate-vocab"]
PAIRS = {"sentencepiece": TINY_PAIRS, "bpe": BPE_PAIRS, "separate-vocab": TINY_PAIRS}


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    with static_files(root) as base:
        yield base, root


def _package(layout: str, tiny_package: Path, out: Path) -> Path:
    if layout == "bpe":
        return build_bpe_package(out)
    if layout == "separate-vocab":
        return build_separate_vocab_package(out)
    return tiny_package


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "translate_pipe", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_install_from_real_index_and_translate(
    tmp_path: Path, served: tuple[str, Path], tiny_package: Path, layout: str
) -> None:
    base, root = served
    package = _package(layout, tiny_package, tmp_path / "build")
    (root / "translate-ar_en-1_0.argosmodel").write_bytes(package.read_bytes())
    ipfs = "ipfs://QmQJ5uNgMbXEWo1rsEFHRLtvBtKZGZ3QXGnKqCEjGmbB3y"
    index = [
        {
            "package_version": "1.0",
            "argos_version": "1.0",
            "from_code": "ar",
            "from_name": "Arabic",
            "to_code": "en",
            "to_name": "English",
            "links": [ipfs, base + "translate-ar_en-1_0.argosmodel"],
            "code": "translate-ar_en",
        }
    ]
    (root / "index.json").write_text(json.dumps(index), encoding="utf-8")
    packages = tmp_path / "packages"
    common = ["--packages-dir", str(packages), "--db", str(tmp_path / "t.db")]

    installed = _run([*common, "models", "install", "ar", "en", "--index-url", base], tmp_path)
    assert installed.returncode == 0, installed.stderr
    assert f"from {base}translate-ar_en-1_0.argosmodel" in installed.stdout

    pairs = PAIRS[layout]
    doc = tmp_path / "doc.ar.txt"
    doc.write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
    # attention alignment links every target token, so every word grouping is exercised
    args = ["translate", str(doc), "--json", "--align", "attention", "--output-dir", str(tmp_path / "out")]
    result = _run([*common, *args], tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    segments = out["documents"][0]["segments"]
    text = doc.read_text(encoding="utf-8")
    assert [s["target"] for s in segments] == [t for _, t in pairs]
    assert [text[s["source_start"] : s["source_end"]] for s in segments] == [s for s, _ in pairs]
    assert (tmp_path / "out" / "doc.en.txt").read_text(encoding="utf-8") == "".join(t + "\n" for _, t in pairs)
    for seg in segments:
        assert seg["alignment"], f"no word links for {seg['source']!r}"
        for ss, se, ts, te in seg["alignment"]:
            source_word, target_word = text[ss:se], seg["target"][ts:te]
            assert source_word and not any(ch.isspace() for ch in source_word)  # one word, as the tokenizer groups them
            assert any(ch.isalnum() for ch in target_word) and not any(ch.isspace() for ch in target_word)
            assert seg["source_start"] <= ss < se <= seg["source_end"]


def test_glossary_enforcement_on_a_bpe_package(tmp_path: Path) -> None:
    package = build_bpe_package(tmp_path / "build")
    common = ["--packages-dir", str(tmp_path / "packages"), "--db", str(tmp_path / "t.db")]
    assert _run([*common, "models", "install", "--from-file", str(package)], tmp_path).returncode == 0
    (tmp_path / "g.csv").write_text("source,target\nحمص,Hims\n", encoding="utf-8")
    assert _run([*common, "glossary", "import", str(tmp_path / "g.csv"), "--name", "g"], tmp_path).returncode == 0
    doc = tmp_path / "doc.ar.txt"
    doc.write_text(TINY_PAIRS[2][0] + "\n", encoding="utf-8")
    result = _run([*common, "translate", str(doc), "--glossary", "g", "--json", "-o", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 0, result.stderr
    [segment] = json.loads(result.stdout)["documents"][0]["segments"]
    target = segment["target"]
    assert "\u2581" not in target and "@@" not in target
    assert target == "Ceasefire in Hims."  # only the term changed
    assert [t["status"] for t in segment["terms"]] == ["enforced"]


class _WholeText:
    """A sentence splitter that does not split (argostranslate's own ones download models)."""

    def split_sentences(self, text: str) -> list[str]:
        return [text]


@pytest.fixture(scope="module")
def bpe_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return unpack(build_bpe_package(tmp_path_factory.mktemp("bpe-build")), tmp_path_factory.mktemp("bpe"))


@pytest.mark.parametrize(("source", "target"), BPE_PAIRS, ids=[f"pair{i}" for i in range(len(BPE_PAIRS))])
def test_bpe_package_is_one_argostranslate_translates(bpe_root: Path, source: str, target: str) -> None:
    """The BPE fixture is a real Argos package: argostranslate picks its BPETokenizer and
    translates with it exactly as translate-pipe does."""
    import ctranslate2
    from argostranslate.package import Package
    from argostranslate.translate import apply_packaged_translation

    pkg = Package(bpe_root)
    assert type(pkg.tokenizer).__name__ == "BPETokenizer"
    translator = ctranslate2.Translator(str(bpe_root / "model"), device="cpu", intra_threads=1)
    hyps = apply_packaged_translation(pkg, source, translator, _WholeText(), num_hypotheses=1)
    assert hyps[0].value == target


def test_predict_alignment_scores_the_models_own_bpe_pieces() -> None:
    """align.py groups words by ▁: the pipeline hands it word-marked pieces and gives the model
    its own BPE pieces back, with whole BPE words masked."""
    from translate_pipe.align import AlignItem, align
    from translate_pipe.engine import mark_words
    from translate_pipe.pipeline import _own_pieces

    source = ["وق@@", "ف", "حمص", "."]
    spans = [(0, 2), (2, 3), (4, 7), (7, 8)]
    target = ["Cease@@", "fire", "Homs", "."]
    tspans = [(0, 5), (5, 9), (10, 14), (14, 15)]
    seen: list[list[str]] = []

    class Scorer:
        def score_tokens(self, sources, targets, max_batch_tokens=1024):  # type: ignore[no-untyped-def]
            seen.extend(list(s) for s in sources)
            assert all(list(t) == target for t in targets)
            # target word 0 depends on source word 0, target word 1 on source word 1
            return [[-1.0 - 5.0 * (s[0] == "<unk>"), -1.0 - 5.0 * (s[0] == "<unk>"), -1.0 - 5.0 * (s[2] == "<unk>"), -1.0, -1.0] for s in sources]

    src_marked = mark_words(source, [True, False, True, False])
    tgt_marked = mark_words(target, [True, False, True, False])
    item = AlignItem(src_marked, spans, tgt_marked, tspans, "Ceasefire Homs.", 0, ())
    links = align([item], "predict", _own_pieces(Scorer(), [(source, src_marked, target)]))  # type: ignore[arg-type]
    assert seen == [source, ["<unk>", "<unk>", "حمص", "."], ["وق@@", "ف", "<unk>", "."]]
    assert links == [[(0, 3, 0, 9), (4, 7, 10, 14)]]
