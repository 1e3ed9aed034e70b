"""Inference: an installed Argos package's CTranslate2 model and SentencePiece model, used directly.

Not through :mod:`argostranslate.translate`: its sentence splitters download models at run
time, and it exposes neither attention nor target prefixes.  Tokenisation mirrors
argostranslate's (SentencePiece pieces, no ``</s>`` appended to the source) and keeps the
character span of every piece, which alignment needs.

All segments handed to :meth:`Engine.translate` are decoded together: sorted by length and
cut into batches of at most ``max_batch_tokens`` source tokens, so short and long segments
are not padded against each other.  The output length of every batch is bounded
(``max_length``, or by default ``length_ratio * longest source + length_slack``) so a
degenerate model cannot loop to CTranslate2's 256-token default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .errors import ModelError
from .models import PackageInfo
from .records import DecodeOptions, Hypothesis, Tokens

DEFAULT_THREADS = 1
"""CTranslate2 intra_threads per process (``--threads``): measured by bench/bench_threads.py
on the 2-core CI machine, 1 thread with OMP_WAIT_POLICY=PASSIVE is the fastest alone and
with two processes at once; 0 (all cores, spinning) collapses when two processes run."""

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
SPACE = "\u2581"


def _byte_to_char(text: str) -> list[int]:
    """Map every UTF-8 byte offset (0..len(bytes)) to the character offset it falls in."""
    out = []
    for i, ch in enumerate(text):
        out.extend([i] * len(ch.encode("utf-8")))
    out.append(len(text))
    return out


def detokenize(pieces: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
    """Pieces -> text, with each piece's character span in that text.

    ``▁`` becomes a space, byte-fallback pieces are joined and decoded as UTF-8 (the span
    of the decoded character is given to the last byte piece, earlier ones are empty),
    and the leading space of the first word is dropped.
    """
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    pending: list[int] = []  # indices of byte pieces waiting to be decoded
    pending_bytes = bytearray()

    def flush() -> None:
        nonlocal pos
        if not pending:
            return
        decoded = pending_bytes.decode("utf-8", errors="replace")
        for k in pending[:-1]:
            spans[k] = (pos, pos)
        spans[pending[-1]] = (pos, pos + len(decoded))
        parts.append(decoded)
        pos += len(decoded)
        pending.clear()
        pending_bytes.clear()

    for i, piece in enumerate(pieces):
        m = _BYTE_PIECE.match(piece)
        spans.append((pos, pos))
        if m:
            pending.append(i)
            pending_bytes.append(int(m.group(1), 16))
            continue
        flush()
        surface = piece.replace(SPACE, " ")
        parts.append(surface)
        lead = 1 if piece.startswith(SPACE) else 0  # the word's space is not part of the word
        spans[i] = (pos + lead, pos + len(surface))
        pos += len(surface)
    flush()
    text = "".join(parts)
    lead = len(text) - len(text.lstrip(" "))
    trail = len(text.rstrip(" "))
    text = text[lead:trail]
    n = len(text)
    spans = [(min(max(s - lead, 0), n), min(max(e - lead, 0), n)) for s, e in spans]
    return text, spans


class Engine:
    """A loaded model.  Create it once per process; it is not cheap."""

    def __init__(
        self,
        package: PackageInfo,
        *,
        device: str = "cpu",
        intra_threads: int = DEFAULT_THREADS,
        inter_threads: int = 1,
        compute_type: str = "default",
    ) -> None:
        import os

        # OpenMP threads that spin while waiting starve every other process on a shared machine
        # (README "Operations: threads"); read when ctranslate2 loads, so set before the import.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import ctranslate2
        import sentencepiece

        self.package = package
        try:
            self.sp = sentencepiece.SentencePieceProcessor(model_file=str(package.sp_model))
        except (OSError, RuntimeError) as exc:
            raise ModelError(f"cannot load {package.sp_model}: {exc}") from exc
        try:
            self.translator = ctranslate2.Translator(
                str(package.model_dir),
                device=device,
                compute_type=compute_type,
                intra_threads=intra_threads,
                inter_threads=inter_threads,
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load the model in {package.model_dir}: {exc}") from exc
        self.target_prefix_token: str = ""
        try:
            import json

            meta = json.loads((package.path / "metadata.json").read_text(encoding="utf-8"))
            self.target_prefix_token = str(meta.get("target_prefix", "") or "")
        except (OSError, ValueError):
            self.target_prefix_token = ""

    # -- tokenisation -----------------------------------------------------------------------
    def tokenize(self, text: str) -> Tokens:
        """Pieces exactly as argostranslate's SentencePieceTokenizer.encode, plus char spans."""
        proto = self.sp.encode(text, out_type="proto")
        b2c = _byte_to_char(text)
        pieces = []
        spans = []
        for p in proto.pieces:
            start, end = b2c[p.begin], b2c[p.end]
            # skip the space a word-initial piece's surface covers
            while start < end and text[start].isspace():
                start += 1
            pieces.append(p.piece)
            spans.append((start, end))
        return Tokens(tuple(pieces), tuple(spans))

    def count_tokens(self, text: str) -> int:
        return len(self.sp.encode(text, out_type=int))

    # -- decoding ---------------------------------------------------------------------------
    def _prefixes(
        self, n: int, target_prefix: Sequence[Sequence[str] | None] | None
    ) -> list[list[str]] | None:
        base = [self.target_prefix_token] if self.target_prefix_token else []
        if target_prefix is None and not base:
            return None
        out = []
        for i in range(n):
            extra = list(target_prefix[i] or []) if target_prefix is not None else []
            out.append(base + extra)
        return out

    def translate(
        self,
        sources: Sequence[Sequence[str]],
        options: DecodeOptions,
        target_prefix: Sequence[Sequence[str] | None] | None = None,
    ) -> list[list[Hypothesis]]:
        """Decode token sequences; returns ``options.num_hypotheses`` hypotheses per source."""
        results: list[list[Hypothesis]] = [[] for _ in sources]
        order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
        prefixes = self._prefixes(len(sources), target_prefix)
        batch: list[int] = []
        batch_tokens = 0
        for i in order:
            n = max(len(sources[i]), 1)
            if batch and (batch_tokens + n > options.max_batch_tokens):
                self._run_batch(batch, sources, prefixes, options, results)
                batch, batch_tokens = [], 0
            batch.append(i)
            batch_tokens += n
        if batch:
            self._run_batch(batch, sources, prefixes, options, results)
        return results

    def _run_batch(
        self,
        batch: list[int],
        sources: Sequence[Sequence[str]],
        prefixes: list[list[str]] | None,
        options: DecodeOptions,
        results: list[list[Hypothesis]],
    ) -> None:
        src = [list(sources[i]) for i in batch]
        longest = max(len(s) for s in src)
        kwargs: dict[str, Any] = dict(
            beam_size=max(options.beam_size, options.num_hypotheses),
            num_hypotheses=options.num_hypotheses,
            length_penalty=options.length_penalty,
            max_decoding_length=options.bound(longest),
            return_scores=True,
            return_attention=options.return_attention,
            replace_unknowns=True,
            max_batch_size=0,
        )
        pfx = None
        if prefixes is not None:
            pfx = [prefixes[i] for i in batch]
            kwargs["target_prefix"] = pfx
        try:
            out = self.translator.translate_batch(src, **kwargs)
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"the model failed to translate: {exc}") from exc
        skip = len(self.target_prefix_token and [1] or [])
        for i, res in zip(batch, out):
            hyps = []
            for k, tokens in enumerate(res.hypotheses):
                tokens = list(tokens)[skip:]
                text, _ = detokenize(tokens)
                attention: Sequence[Sequence[float]] = ()
                if options.return_attention and res.attention:
                    attention = res.attention[k][skip : skip + len(tokens)]
                hyps.append(
                    Hypothesis(
                        text=text,
                        tokens=tuple(tokens),
                        score=res.scores[k] if res.scores else None,
                        attention=attention,
                    )
                )
            results[i] = hyps

    def score_tokens(
        self,
        sources: Sequence[Sequence[str]],
        targets: Sequence[Sequence[str]],
        max_batch_tokens: int = 1024,
    ) -> list[list[float]]:
        """Log-probability of every target token (then of </s>) given its source: one call,
        cut by CTranslate2 into batches of at most ``max_batch_tokens`` tokens."""
        if not sources:
            return []
        base = [self.target_prefix_token] if self.target_prefix_token else []
        try:
            out = self.translator.score_batch(
                [list(s) for s in sources],
                [base + list(t) for t in targets],
                max_batch_size=max_batch_tokens,
                batch_type="tokens",
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"the model failed to score: {exc}") from exc
        return [list(r.log_probs)[len(base) :] for r in out]

    def forced_attention(
        self, sources: Sequence[Sequence[str]], targets: Sequence[Sequence[str]], max_batch_tokens: int = 1024
    ) -> list[list[list[float]]]:
        """Attention of the model over each source while it is forced to write the given target."""
        if not sources:
            return []
        base = [self.target_prefix_token] if self.target_prefix_token else []
        try:
            out = self.translator.translate_batch(
                [list(s) for s in sources],
                target_prefix=[base + list(t) for t in targets],
                max_decoding_length=max(len(t) for t in targets) + len(base) + 1,
                beam_size=1,
                return_attention=True,
                max_batch_size=max_batch_tokens,
                batch_type="tokens",
            )
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"the model failed to translate: {exc}") from exc
        skip = len(base)
        return [[list(r) for r in res.attention[0][skip : skip + len(t)]] for res, t in zip(out, targets)]

    def encode_target(self, text: str) -> list[str]:
        """Pieces of a target-language text (the vocabulary is shared with the source)."""
        return list(self.sp.encode(text, out_type=str))
