"""Tokeniser throughput (CPU seconds): SentencePiece pieces with character spans as the engine
computes them (``serialized_proto`` decoded in Python, works on every sentencepiece release)
against the ``proto`` object of sentencepiece >= 0.2.2, and BPE (sacremoses + subword-nmt).

Models are trained here on the seed bulletin (a few seconds); prints characters per CPU second.

    python bench/bench_tokenize.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import sentencepiece as spm
    from subword_nmt.learn_bpe import learn_bpe

    from translate_pipe.engine import BPETokenizer, SentencePieceTokenizer, _byte_to_char

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    lines = [x for x in (ROOT / "seeds" / "astana-bulletin.ar.txt").read_text(encoding="utf-8").splitlines() if x]
    chars = sum(map(len, lines)) * args.repeat
    with tempfile.TemporaryDirectory() as tmp:
        sp_path = Path(tmp) / "sentencepiece.model"
        buf = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(lines), model_writer=buf, vocab_size=400, model_type="bpe", minloglevel=2
        )
        sp_path.write_bytes(buf.getvalue())
        codes = io.StringIO()
        with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
            learn_bpe(io.StringIO("\n".join(lines) + "\n"), codes, 400, min_frequency=2)
        bpe_path = Path(tmp) / "bpe.model"
        bpe_path.write_text(codes.getvalue(), encoding="utf-8")

        sp_tok = SentencePieceTokenizer(sp_path)
        bpe_tok = BPETokenizer(bpe_path, "ar", "en")

        def proto_object(text: str) -> list[tuple[str, int, int]]:
            b2c = _byte_to_char(text)
            return [(p.piece, b2c[p.begin], b2c[p.end]) for p in sp_tok.sp.encode(text, out_type="proto").pieces]

        rows = [("sentencepiece, engine (serialized_proto)", sp_tok.encode), ("bpe, engine (Moses + subword-nmt)", bpe_tok.encode)]
        if not isinstance(sp_tok.sp.encode("x", out_type="proto"), bytes):
            rows.insert(1, ("sentencepiece, proto object (>= 0.2.2 only)", proto_object))
        print(f"sentencepiece {spm.__version__}; {chars} characters per row")
        for name, fn in rows:
            start = time.process_time()
            for _ in range(args.repeat):
                for line in lines:
                    fn(line)
            cpu = time.process_time() - start
            print(f"{name:48s} {chars / cpu / 1000:8.0f} k chars/CPU s")


if __name__ == "__main__":
    main()
