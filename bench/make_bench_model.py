"""Build a realistic-size, random-weight Argos ar->en package for benchmarks.

6+6 layers, d_model 512, 8 heads, FFN 2048, shared SentencePiece vocabulary of
~8k pieces trained on FLORES-101 Arabic + English (../shared/eval/flores101),
converted to CTranslate2 with int8 quantisation and zipped as an
``.argosmodel``.  Random weights never emit ``</s>``: cap the output length
(e.g. ``max_decoding_length=48``) identically on every path you compare.

Usage: python -m bench.make_bench_model OUT_DIR [--flores DIR] [--vocab-size N]
Prints the path of the package.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.tinymodel import (
    ModelConfig,
    _metadata,
    _torch_modules,
    make_spec,
    save_spec,
    train_sentencepiece,
    write_package,
)

REPO = Path(__file__).resolve().parents[1]

DEFAULT_FLORES = REPO.parent / "shared" / "eval" / "flores101"


def build(out_dir: Path, flores: Path, vocab_size: int = 8000, name: str = "translate-ar_en-1_0") -> Path:
    import numpy as np
    import sentencepiece as spm
    import torch

    texts: list[str] = []
    for split in ("dev", "test"):
        for lang in ("ar", "en"):
            texts += (flores / f"flores-{split}.{lang}").read_text(encoding="utf-8").splitlines()
    sp_bytes = train_sentencepiece([t for t in texts if t.strip()], vocab_size, model_type="unigram")
    sp = spm.SentencePieceProcessor(model_proto=sp_bytes)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]

    cfg = ModelConfig(d_model=512, layers=6, heads=8, ffn=2048)
    torch.manual_seed(0)
    model = _torch_modules()(len(pieces), cfg)
    weights = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    weights["pe"] = model.pe.numpy()
    # An untied random output projection, and special tokens (<unk>, <s>, </s>) pushed down, so
    # that greedy/beam output is a varied sequence of real pieces (like text) rather than one
    # token copied from the input; like any random model it never ends the sentence.
    rng = np.random.default_rng(0)
    weights["proj.weight"] = rng.normal(0.0, cfg.d_model**-0.5, (len(pieces), cfg.d_model)).astype(np.float32)
    weights["out_bias"] = np.zeros(len(pieces), dtype=np.float32)
    weights["out_bias"][:3] = -20.0
    spec = make_spec(weights, layers=cfg.layers, heads=cfg.heads, pieces=pieces)
    out = out_dir / f"{name}.argosmodel"
    with tempfile.TemporaryDirectory(prefix="bench-model-") as tmp:
        model_dir = Path(tmp) / "model"
        save_spec(spec, model_dir, quantization="int8")
        write_package(
            out,
            name=name,
            model_dir=model_dir,
            sp_model=sp_bytes,
            metadata=_metadata(name, "ar", "en", "1.0", None, None),
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="directory to write the .argosmodel into")
    parser.add_argument(
        "--flores",
        type=Path,
        default=DEFAULT_FLORES,
        help="folder with flores-{dev,test}.{ar,en} for SentencePiece training",
    )
    parser.add_argument("--vocab-size", type=int, default=8000)
    args = parser.parse_args(argv)
    print(build(args.out_dir, args.flores, args.vocab_size))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
