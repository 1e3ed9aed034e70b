"""Tiny real Argos packages with the other tokenizer layouts found in the Argos index.

* :func:`build_bpe_package`: ``bpe.model`` (subword-nmt codes) instead of
  ``sentencepiece.model``, as in the converted OPUS-MT packages: sources are Moses-normalised
  and Moses-tokenised (XML-escaped) with sacremoses, then split by BPE with ``@@`` joiners;
  outputs are joined and Moses-detokenised.  This is argostranslate's ``BPETokenizer``,
  written out here with sacremoses and subword-nmt directly so the fixture does not depend on
  the code under test.
* :func:`build_separate_vocab_package`: a source SentencePiece model trained on the sources
  only (``sentencepiece.model``) and a target model trained on the targets only
  (``target.spm``), over one joint CTranslate2 vocabulary, as a package converted from an
  OPUS-MT model with ``source.spm``/``target.spm`` would be.

Both memorise their pairs until CTranslate2 reproduces every target exactly (greedy and beam
4), reusing :mod:`tests.tinymodel`'s trainer and spec writer, and are cached under the
fixture cache keyed by this file, the data and the library versions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .tinymodel import (
    TINY_PAIRS,
    FixtureBuildError,
    ModelConfig,
    _metadata,
    _train,
    cache_dir,
    make_spec,
    save_spec,
    train_sentencepiece,
)

_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
SPECIALS = ["<unk>", "<s>", "</s>"]


def write_archive(out_path: Path, name: str, files: dict[str, bytes], model_dir: Path) -> None:
    """Zip ``files`` and ``model/`` under ``name/`` with fixed timestamps."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f"{out_path.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def add(arc: str, data: bytes) -> None:
            info = zipfile.ZipInfo(arc, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)

        for arc, data in files.items():
            add(f"{name}/{arc}", data)
        for f in sorted(model_dir.iterdir()):
            add(f"{name}/model/{f.name}", f.read_bytes())
    os.replace(tmp, out_path)


def _key(kind: str, obj: Any) -> str:
    import ctranslate2
    import sentencepiece

    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    versions = [ctranslate2.__version__, sentencepiece.__version__]
    h.update(json.dumps([kind, obj, versions], sort_keys=True, ensure_ascii=False).encode())
    return h.hexdigest()[:24]


def _memorise(
    src: list[list[str]],
    tgt: list[list[str]],
    pieces: list[str],
    targets: Sequence[str],
    decode: Callable[[list[str]], str],
    cfg: ModelConfig,
    workdir: Path,
) -> Path:
    """Train until CTranslate2 reproduces ``targets`` (through ``decode``); return the model dir."""
    import ctranslate2
    import torch

    index = {p: i for i, p in enumerate(pieces)}
    src_ids = [[index[p] for p in s] for s in src]
    tgt_ids = [[index[p] for p in t] for t in tgt]
    model_dir = workdir / "model"

    def save(weights: dict[str, Any]) -> None:
        if model_dir.exists():
            shutil.rmtree(model_dir)
        save_spec(make_spec(weights, layers=cfg.layers, heads=cfg.heads, pieces=pieces), model_dir)

    def verify(weights: dict[str, Any]) -> bool:
        save(weights)
        tr = ctranslate2.Translator(str(model_dir), device="cpu", intra_threads=cfg.threads)
        for opts in ({"beam_size": 1}, {"beam_size": 4, "length_penalty": 0.2}):
            res = tr.translate_batch(src, replace_unknowns=True, **opts)
            if [decode(r.hypotheses[0]) for r in res] != list(targets):
                return False
        return True

    old_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    torch.set_flush_denormal(True)
    try:
        _train(src_ids, tgt_ids, None, len(pieces), cfg, verify)
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(old_threads)
    return model_dir


def _deliver(cached: Path, out_dir: Path | str) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / cached.name
    if target.resolve() != cached.resolve():
        shutil.copyfile(cached, target)
    return target


# -- BPE ------------------------------------------------------------------------------------------
def moses_bpe_pieces(text: str, lang: str, bpe: Any) -> list[str]:
    """argostranslate's BPETokenizer.encode: normalise, tokenise (escaped), BPE-segment."""
    from sacremoses import MosesPunctNormalizer, MosesTokenizer

    normalized = MosesPunctNormalizer(lang).normalize(text)
    tokenized = " ".join(MosesTokenizer(lang).tokenize(normalized))
    return list(bpe.segment_tokens(tokenized.strip("\r\n ").split(" ")))


def moses_bpe_decode(pieces: Sequence[str], lang: str) -> str:
    """argostranslate's BPETokenizer.decode: drop joiners, Moses-detokenise (unescaped)."""
    from sacremoses import MosesDetokenizer

    return str(MosesDetokenizer(lang).detokenize(" ".join(pieces).replace("@@ ", "").split(" ")))


BPE_PAIRS: tuple[tuple[str, str], ...] = (
    *TINY_PAIRS,
    ('قال الوزير: "نعم" & لا.', 'The minister said: "yes" & no.'),
)
"""TINY_PAIRS plus a pair with quotes and an ampersand (Moses escapes them)."""


def build_bpe_package(
    out_dir: Path | str,
    *,
    pairs: Sequence[tuple[str, str]] = BPE_PAIRS,
    name: str = "translate-ar_en-1_0",
    from_code: str = "ar",
    to_code: str = "en",
    package_version: str = "1.0",
    merges: int = 300,
    steps: int = 3000,
) -> Path:
    """A memorising package whose tokenizer is ``bpe.model``; returns the .argosmodel path."""
    cfg = ModelConfig(steps=steps, ffn=256)
    metadata = _metadata(name, from_code, to_code, package_version, None, None)
    key = _key("bpe", {"pairs": list(pairs), "merges": merges, "cfg": dataclasses.asdict(cfg), "meta": metadata})
    cached = cache_dir() / key / f"{name}.argosmodel"
    if not cached.exists():
        from sacremoses import MosesPunctNormalizer, MosesTokenizer
        from subword_nmt.apply_bpe import BPE
        from subword_nmt.learn_bpe import learn_bpe

        corpus = [
            " ".join(MosesTokenizer(lang).tokenize(MosesPunctNormalizer(lang).normalize(text)))
            for s, t in pairs
            for text, lang in ((s, from_code), (t, to_code))
        ]
        codes_out = io.StringIO()
        with contextlib.redirect_stderr(io.StringIO()):  # learn_bpe's progress bar
            learn_bpe(io.StringIO("\n".join(corpus) + "\n"), codes_out, merges, min_frequency=2)
        codes = codes_out.getvalue()
        bpe = BPE(io.StringIO(codes))
        src = [moses_bpe_pieces(s, from_code, bpe) for s, _ in pairs]
        tgt = [moses_bpe_pieces(t, to_code, bpe) for _, t in pairs]
        for pieces, (_, t) in zip(tgt, pairs):
            if moses_bpe_decode(pieces, to_code) != t:
                raise FixtureBuildError(f"target does not survive the Moses/BPE round trip: {t!r}")
        vocab = SPECIALS + sorted({p for seq in src + tgt for p in seq})
        with tempfile.TemporaryDirectory(prefix="tinybpe-") as tmp:
            model_dir = _memorise(
                src, tgt, vocab, [t for _, t in pairs], lambda h: moses_bpe_decode(h, to_code), cfg, Path(tmp)
            )
            files = {
                "metadata.json": (json.dumps(metadata, indent=2, ensure_ascii=False) + "\n").encode(),
                "bpe.model": codes.encode("utf-8"),
            }
            write_archive(cached, name, files, model_dir)
    return _deliver(cached, out_dir)


# -- separate source and target SentencePiece models ---------------------------------------------
def build_separate_vocab_package(
    out_dir: Path | str,
    *,
    pairs: Sequence[tuple[str, str]] = TINY_PAIRS,
    name: str = "translate-ar_en-1_0",
    from_code: str = "ar",
    to_code: str = "en",
    package_version: str = "1.0",
    steps: int = 3000,
) -> Path:
    """A memorising package with ``sentencepiece.model`` (sources only) and ``target.spm``
    (targets only) over one joint model vocabulary; returns the .argosmodel path."""
    cfg = ModelConfig(steps=steps, ffn=256)
    metadata = _metadata(name, from_code, to_code, package_version, None, None)
    key = _key("separate", {"pairs": list(pairs), "cfg": dataclasses.asdict(cfg), "meta": metadata})
    cached = cache_dir() / key / f"{name}.argosmodel"
    if not cached.exists():
        import sentencepiece as spm

        src_bytes = train_sentencepiece([s for s, _ in pairs], cfg.vocab_size)
        tgt_bytes = train_sentencepiece([t for _, t in pairs], cfg.vocab_size)
        src_sp = spm.SentencePieceProcessor(model_proto=src_bytes)
        tgt_sp = spm.SentencePieceProcessor(model_proto=tgt_bytes)
        src_pieces = [src_sp.id_to_piece(i) for i in range(src_sp.get_piece_size())]
        tgt_pieces = [tgt_sp.id_to_piece(i) for i in range(tgt_sp.get_piece_size())]
        if src_pieces[:3] != SPECIALS or tgt_pieces[:3] != SPECIALS:
            raise FixtureBuildError("unexpected special pieces")
        known = set(src_pieces)
        vocab = src_pieces + [p for p in tgt_pieces if p not in known]
        src = [list(src_sp.encode(s, out_type=str)) for s, _ in pairs]
        tgt = [list(tgt_sp.encode(t, out_type=str)) for _, t in pairs]
        with tempfile.TemporaryDirectory(prefix="tinysep-") as tmp:
            model_dir = _memorise(
                src, tgt, vocab, [t for _, t in pairs], lambda h: str(tgt_sp.decode_pieces(h)), cfg, Path(tmp)
            )
            files = {
                "metadata.json": (json.dumps(metadata, indent=2, ensure_ascii=False) + "\n").encode(),
                "sentencepiece.model": src_bytes,
                "target.spm": tgt_bytes,
            }
            write_archive(cached, name, files, model_dir)
    return _deliver(cached, out_dir)


def unpack(argosmodel: Path, dest: Path) -> Path:
    """Unzip a package into ``dest``; return its folder (as argostranslate installs it)."""
    with zipfile.ZipFile(argosmodel) as zf:
        zf.extractall(dest)
        top = zf.namelist()[0].split("/")[0]
    return dest / top
