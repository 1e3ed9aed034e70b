"""Inference: an installed Argos package's CTranslate2 model and SentencePiece model, used directly.

Not through :mod:`argostranslate.translate`: its sentence splitters download models at run
time, and it exposes neither attention nor target prefixes.

Tokenisation (:class:`Tokenizer`) gives exactly the pieces argostranslate gives (no ``</s>``
appended to the source) and, beside them, the character span of every piece, which
alignment and terminology enforcement need:

* :class:`SentencePieceTokenizer` (``sentencepiece.model``): pieces and byte offsets come from
  ``encode(out_type="serialized_proto")``, decoded here (the two fields of the
  ``SentencePieceText`` message that are needed), because that is the one output that is the
  same on every sentencepiece release from 0.1.99 to 0.2.x (``out_type="proto"`` returns
  bytes on 0.1.99-0.2.1, and the ``sentencepiece_pb2`` module shipped with 0.1.99 cannot be
  imported with protobuf 4 or later).  Byte offsets are turned into character offsets.
* :class:`BPETokenizer` (``bpe.model``): argostranslate's ``BPETokenizer`` exactly, i.e.
  sacremoses punctuation normalisation and tokenisation (XML-escaped) of the source language,
  subword-nmt BPE with ``@@`` joiners, and for decoding the joiners removed and sacremoses
  detokenisation of the target language.  Character spans are found by aligning the pieces'
  characters with the text (normalisation changes quotes, dashes and ellipses).

A package with separate vocabularies carries the target side's model too (``target.spm`` or
``target.bpe``); :meth:`Tokenizer.encode_target` uses it.

All segments handed to :meth:`Engine.translate` are decoded together: sorted by length and
cut into batches of at most ``max_batch_tokens`` source tokens and at most ``max_batch_work``
decoding work (segments x beam x output length bound, what the beam search holds in memory:
many short segments no longer decode together), so short and long segments are not padded
against each other.  The output length of every batch is bounded
(``max_length``, or by default ``length_ratio * longest source + length_slack``) so a
degenerate model cannot loop to CTranslate2's 256-token default.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from .align import SPACE
from .errors import ModelError
from .models import PackageInfo
from .records import DecodeOptions, Hypothesis, Tokens

DEFAULT_THREADS = 1
"""CTranslate2 intra_threads per process (``--threads``): measured by bench/bench_threads.py
on the 2-core CI machine, 1 thread with OMP_WAIT_POLICY=PASSIVE is the fastest alone and
with two processes at once; 0 (all cores, spinning) collapses when two processes run."""

_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
BPE_JOINER = "@@"

Span = tuple[int, int]


class Tokenizer(Protocol):
    """The tokenizer of a package, as the pipeline, alignment and enforcement use it.

    ``kind`` is ``"sentencepiece"`` or ``"bpe"``.  Spans are ``(start, end)`` Python string
    indices (end exclusive) into the text that was encoded, or into the text ``decode``
    returned; a piece that stands for no character of the text (e.g. a lone ``▁``, or a
    byte-fallback piece before the last one of its character) has an empty span.
    """

    kind: str

    def encode(self, text: str) -> Tokens:
        """Source-side pieces of ``text`` (exactly argostranslate's) with their spans."""
        ...

    def count(self, text: str) -> int:
        """Number of source-side pieces of ``text`` (cheaper than :meth:`encode`)."""
        ...

    def encode_target(self, text: str) -> list[str]:
        """Pieces of a target-language text, as the model would produce them (the target
        side's own model when the package has one)."""
        ...

    def decode(self, pieces: Sequence[str]) -> tuple[str, list[Span]]:
        """Target pieces -> (text, each piece's span in that text).

        BPE: exactly argostranslate's decoding.  SentencePiece: SentencePiece's own
        ``decode_pieces`` (argostranslate also turns every ``_`` into a space; we keep it)."""
        ...

    def literal(self, text: str) -> list[str]:
        """Pieces that :meth:`decode` turns back into exactly ``text`` (one piece per word,
        whatever the vocabulary), for a target the vocabulary cannot spell."""
        ...

    def word_starts(self, pieces: Sequence[str], spans: Sequence[Span]) -> list[bool]:
        """For each piece, whether it starts a word (the first piece always does).

        SentencePiece: the piece starts with ``▁``.  BPE: the previous piece does not end
        with the ``@@`` joiner and the piece is separated from it by white space in the text
        (``spans``), so punctuation Moses split off stays with its word, as with
        SentencePiece.
        """
        ...


# -- SentencePiece ------------------------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def sentencepiece_text_pieces(serialized: bytes) -> list[tuple[str, int, int]]:
    """(piece, begin byte, end byte) of a serialized ``sentencepiece.SentencePieceText``
    (field 2: repeated ``SentencePiece`` with piece=1, begin=4, end=5).

    Written for speed (tokenising is on the path of every segment): the tags of the fields
    read here are single bytes, and so are most lengths and offsets."""
    out = []
    buf = serialized
    n = len(buf)
    pos = 0
    while pos < n:
        tag, pos = (buf[pos], pos + 1) if buf[pos] < 0x80 else _varint(buf, pos)
        if tag != 0x12:  # not a SentencePiece: skip the field
            pos = _skip(buf, pos, tag)
            continue
        size, pos = (buf[pos], pos + 1) if buf[pos] < 0x80 else _varint(buf, pos)
        stop = pos + size
        if stop > n:
            raise ValueError("truncated field")
        piece, begin, end = "", 0, 0
        while pos < stop:
            t, pos = (buf[pos], pos + 1) if buf[pos] < 0x80 else _varint(buf, pos)
            if t == 0x0A:  # piece
                size, pos = (buf[pos], pos + 1) if buf[pos] < 0x80 else _varint(buf, pos)
                piece = buf[pos : pos + size].decode("utf-8")
                pos += size
            elif t == 0x20:  # begin
                begin, pos = (buf[pos], pos + 1) if buf[pos] < 0x80 else _varint(buf, pos)
            elif t == 0x28:  # end
                end, pos = (buf[pos], pos + 1) if buf[pos] < 0x80 else _varint(buf, pos)
            else:
                pos = _skip(buf, pos, t)
        out.append((piece, begin, end))
    return out


def _skip(buf: bytes, pos: int, tag: int) -> int:
    wire = tag & 7
    if wire == 0:
        return _varint(buf, pos)[1]
    if wire == 2:
        size, pos = _varint(buf, pos)
        if pos + size > len(buf):
            raise ValueError("truncated field")
        return pos + size
    if wire == 5:
        return pos + 4
    if wire == 1:
        return pos + 8
    raise ValueError(f"unsupported wire type {wire}")


def _byte_to_char(text: str) -> list[int]:
    """Map every UTF-8 byte offset (0..len(bytes)) to the character offset it falls in."""
    out = []
    for i, ch in enumerate(text):
        out.extend([i] * len(ch.encode("utf-8")))
    out.append(len(text))
    return out


class _CharOffsets:
    """Byte offset -> character offset in one text, for the few offsets a tokenisation needs
    (the character a byte falls in: the number of whole characters before it)."""

    def __init__(self, text: str) -> None:
        self.data = text.encode("utf-8")
        self.ascii = len(self.data) == len(text)
        self.memo: dict[int, int] = {}

    def __call__(self, byte: int) -> int:
        byte = min(byte, len(self.data))
        if self.ascii:
            return byte
        found = self.memo.get(byte)
        if found is None:
            found = self.memo[byte] = len(self.data[:byte].decode("utf-8", errors="ignore"))
        return found


def detokenize(pieces: Sequence[str]) -> tuple[str, list[Span]]:
    """SentencePiece pieces -> text, with each piece's character span in that text.

    ``▁`` becomes a space, byte-fallback pieces are joined and decoded as UTF-8 (the span
    of the decoded character is given to the last byte piece, earlier ones are empty),
    and the leading space of the first word is dropped.
    """
    parts: list[str] = []
    spans: list[Span] = []
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
        if piece.startswith("<0x"):
            m = _BYTE_PIECE.match(piece)
            if m:
                spans.append((pos, pos))
                pending.append(i)
                pending_bytes.append(int(m.group(1), 16))
                continue
        if pending:
            flush()
        surface = piece.replace(SPACE, " ")
        parts.append(surface)
        end = pos + len(surface)
        spans.append((pos + 1 if piece.startswith(SPACE) else pos, end))  # a word's space is not part of it
        pos = end
    flush()
    text = "".join(parts)
    lead = len(text) - len(text.lstrip(" "))
    trail = len(text.rstrip(" "))
    if lead == 0 and trail == len(text):
        return text, spans
    text = text[lead:trail]
    n = len(text)
    spans = [(min(max(s - lead, 0), n), min(max(e - lead, 0), n)) for s, e in spans]
    return text, spans


def _load_sentencepiece(path: Path) -> Any:
    import sentencepiece

    try:
        return sentencepiece.SentencePieceProcessor(model_file=str(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise ModelError(f"cannot load the SentencePiece model {path}: {exc}") from exc


class SentencePieceTokenizer:
    """argostranslate's ``SentencePieceTokenizer`` pieces, with character spans."""

    kind = "sentencepiece"

    def __init__(self, model: Path, target_model: Path | None = None) -> None:
        self.sp = _load_sentencepiece(model)
        self.target_sp = _load_sentencepiece(target_model) if target_model is not None else self.sp

    def encode(self, text: str) -> Tokens:
        b2c = _CharOffsets(text)
        pieces = []
        spans = []
        for piece, begin, end in sentencepiece_text_pieces(self.sp.encode(text, out_type="serialized_proto")):
            start, stop = b2c(begin), b2c(end)
            while start < stop and text[start].isspace():  # the space a word-initial piece covers
                start += 1
            pieces.append(piece)
            spans.append((start, stop))
        return Tokens(tuple(pieces), tuple(spans))

    def count(self, text: str) -> int:
        return len(self.sp.encode(text, out_type=int))

    def encode_target(self, text: str) -> list[str]:
        return list(self.target_sp.encode(text, out_type=str))

    def decode(self, pieces: Sequence[str]) -> tuple[str, list[Span]]:
        return detokenize(pieces)

    def literal(self, text: str) -> list[str]:
        return [SPACE + word for word in text.split(" ")]

    def word_starts(self, pieces: Sequence[str], spans: Sequence[Span]) -> list[bool]:
        return [i == 0 or p.startswith(SPACE) for i, p in enumerate(pieces)]


# -- BPE (Moses + subword-nmt) ---------------------------------------------------------------
_XML_ENTITIES = {"&amp;": "&", "&#124;": "|", "&lt;": "<", "&gt;": ">", "&apos;": "'", "&quot;": '"', "&#91;": "[", "&#93;": "]"}
_ENTITY = re.compile("|".join(re.escape(e) for e in _XML_ENTITIES))


def _unescape_map(escaped: str) -> tuple[str, list[int]]:
    """Moses-unescaped text, and for every character of ``escaped`` the index of the
    unescaped character it belongs to (all characters of an entity map to one)."""
    out: list[str] = []
    owner: list[int] = []
    pos = 0
    for m in _ENTITY.finditer(escaped):
        for ch in escaped[pos : m.start()]:
            owner.append(len(out))
            out.append(ch)
        owner.extend([len(out)] * (m.end() - m.start()))
        out.append(_XML_ENTITIES[m.group()])
        pos = m.end()
    for ch in escaped[pos:]:
        owner.append(len(out))
        out.append(ch)
    return "".join(out), owner


def project_spans(text: str, units: Sequence[str]) -> list[Span]:
    """The span in ``text`` of each unit, where ``text`` is the units' characters re-spaced
    and perhaps normalised (quotes, dashes, ellipses): white space is ignored on both sides and
    the rest is aligned with :class:`difflib.SequenceMatcher`.  A unit none of whose
    characters is found gets an empty span where it would be."""
    import difflib

    positions = [i for i, ch in enumerate(text) if not ch.isspace()]
    a = "".join(text[i] for i in positions)
    owner: list[int] = []
    b_chars: list[str] = []
    for k, unit in enumerate(units):
        for ch in unit:
            if not ch.isspace():
                b_chars.append(ch)
                owner.append(k)
    hits: list[list[int]] = [[] for _ in units]
    matcher = difflib.SequenceMatcher(None, a, "".join(b_chars), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for d in range(i2 - i1):
                hits[owner[j1 + d]].append(positions[i1 + d])
        elif tag == "replace":
            for j in range(j1, j2):
                hits[owner[j]].append(positions[i1 + (j - j1) * (i2 - i1) // (j2 - j1)])
            last = owner[j2 - 1]  # text characters past the proportional share go to the last unit
            hits[last].extend(positions[i] for i in range(i1, i2) if positions[i] > max(hits[last]))
    spans: list[Span] = []
    prev_end = 0
    for h in hits:
        if h:
            start, end = max(min(h), prev_end), max(h) + 1
            spans.append((start, max(start, end)))
            prev_end = max(prev_end, end)
        else:
            spans.append((prev_end, prev_end))
    return spans


class BPETokenizer:
    """argostranslate's ``BPETokenizer`` (sacremoses + subword-nmt), with character spans."""

    kind = "bpe"

    def __init__(self, codes: Path, from_code: str, to_code: str, target_codes: Path | None = None) -> None:
        from sacremoses import MosesDetokenizer, MosesPunctNormalizer, MosesTokenizer

        self.from_code, self.to_code = from_code, to_code
        self.normalizer = MosesPunctNormalizer(from_code)
        self.tokenizer = MosesTokenizer(from_code)
        self.detokenizer = MosesDetokenizer(to_code)
        self.bpe = self._load_codes(codes)
        self.target_normalizer = MosesPunctNormalizer(to_code)
        self.target_tokenizer = MosesTokenizer(to_code)
        self.target_bpe = self._load_codes(target_codes) if target_codes is not None else self.bpe

    @staticmethod
    def _load_codes(path: Path) -> Any:
        """subword-nmt's ``BPE`` over a checked codes file (subword-nmt itself calls
        ``sys.exit`` on a bad line)."""
        from subword_nmt.apply_bpe import BPE

        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ModelError(f"cannot read the BPE codes {path}: {exc}") from exc
        lines = text.rstrip("\n").split("\n")
        first = 0
        if lines and lines[0].startswith("#version:"):
            if lines[0].split()[-1] not in {"0.1", "0.2"}:
                raise ModelError(f"{path}: unsupported BPE codes version {lines[0]!r}")
            first = 1
        for n, line in enumerate(lines[first:], start=first + 1):
            if len(line.strip("\r\n ").split(" ")) != 2:
                raise ModelError(f"{path}: line {n} is not a BPE merge (two symbols separated by a space)")
        import io

        return BPE(io.StringIO(text))

    def _pieces(self, text: str, normalizer: Any, tokenizer: Any, bpe: Any) -> list[str]:
        # argostranslate: normalize, tokenize (XML-escaped), join, strip, split(" "), segment
        normalized = normalizer.normalize(text)
        tokenized = " ".join(tokenizer.tokenize(normalized))
        return list(bpe.segment_tokens(tokenized.strip("\r\n ").split(" ")))

    def _surfaces(self, pieces: Sequence[str]) -> list[str]:
        """Each piece's characters in the unescaped text (joiners removed; an XML entity split
        across pieces is given to the piece holding its first character)."""
        out = ["" for _ in pieces]
        i = 0
        while i < len(pieces):
            j = i  # the pieces i..j form one Moses token
            while j < len(pieces) - 1 and pieces[j].endswith(BPE_JOINER):
                j += 1
            parts = [p[: -len(BPE_JOINER)] if p.endswith(BPE_JOINER) else p for p in pieces[i : j + 1]]
            escaped = "".join(parts)
            unescaped, owner = _unescape_map(escaped)
            piece_of_char = [k for k, part in enumerate(parts) for _ in part]
            given: set[int] = set()
            for c, u in enumerate(owner):
                if u not in given:
                    given.add(u)
                    out[i + piece_of_char[c]] += unescaped[u]
            i = j + 1
        return out

    def encode(self, text: str) -> Tokens:
        pieces = self._pieces(text, self.normalizer, self.tokenizer, self.bpe)
        return Tokens(tuple(pieces), tuple(project_spans(text, self._surfaces(pieces))))

    def count(self, text: str) -> int:
        return len(self._pieces(text, self.normalizer, self.tokenizer, self.bpe))

    def encode_target(self, text: str) -> list[str]:
        return self._pieces(text, self.target_normalizer, self.target_tokenizer, self.target_bpe)

    def decode(self, pieces: Sequence[str]) -> tuple[str, list[Span]]:
        text = self.detokenizer.detokenize(" ".join(pieces).replace(BPE_JOINER + " ", "").split(" "))
        return text, project_spans(text, self._surfaces(pieces))

    def literal(self, text: str) -> list[str]:
        return text.split(" ")

    def word_starts(self, pieces: Sequence[str], spans: Sequence[Span]) -> list[bool]:
        return [
            i == 0 or (not pieces[i - 1].endswith(BPE_JOINER) and spans[i][0] > spans[i - 1][1])
            for i in range(len(pieces))
        ]


def load_tokenizer(package: PackageInfo) -> Tokenizer:
    """The tokenizer of a package (ModelError when it cannot be loaded)."""
    files = package.tokenizer
    if files.kind == "bpe":
        try:
            return BPETokenizer(files.source, package.from_code, package.to_code, files.target)
        except ImportError as exc:
            raise ModelError(f"package {package.name} uses BPE, which needs sacremoses and subword-nmt: {exc}") from exc
    return SentencePieceTokenizer(files.source, files.target)


def mark_words(pieces: Sequence[str], starts: Sequence[bool]) -> list[str]:
    """``pieces`` in SentencePiece's word convention (a word-initial piece starts with ``▁``,
    no other does), for code that groups words by ``▁``."""
    return [(SPACE + p.lstrip(SPACE)) if s else p.lstrip(SPACE) for p, s in zip(pieces, starts)]


PROBE = "test"
_DECODED_KEPT = 4096  # decodings an Engine keeps (a few chunks' hypotheses)


def check_loads(package: PackageInfo) -> None:
    """Load test: the tokenizer loads and encodes, and the model loads and translates a probe;
    ModelError otherwise."""
    import ctranslate2

    tokenizer = load_tokenizer(package)
    try:
        pieces = tokenizer.encode(PROBE).pieces
        tokenizer.decode(list(pieces))
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ModelError(f"the tokenizer of {package.name} fails: {exc}") from exc
    try:
        translator = ctranslate2.Translator(str(package.model_dir), device="cpu", intra_threads=1)
        prefix = [[package.target_prefix]] if package.target_prefix else None
        translator.translate_batch([list(pieces)], beam_size=1, max_decoding_length=4, target_prefix=prefix)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(f"cannot load the model in {package.model_dir}: {exc}") from exc


def batches(lengths: Sequence[int], options: DecodeOptions) -> list[list[int]]:
    """How :meth:`Engine.translate` batches sources of these lengths (in pieces): indices
    sorted by length, cut at ``max_batch_tokens`` source tokens and ``max_batch_work``.  (The
    Ray decoder cuts its blocks with it, so that every batch is the one a local run decodes.)"""
    out: list[list[int]] = []
    batch: list[int] = []
    batch_tokens = 0
    beam = max(options.beam_size, options.num_hypotheses)
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        n = max(lengths[i], 1)
        # sorted by length: the new source is the batch's longest, and sets its length bound
        work = (len(batch) + 1) * beam * options.bound(n)
        if batch and (batch_tokens + n > options.max_batch_tokens or work > options.max_batch_work):
            out.append(batch)
            batch, batch_tokens = [], 0
        batch.append(i)
        batch_tokens += n
    if batch:
        out.append(batch)
    return out


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

        self.package = package
        self.tokenizer: Tokenizer = load_tokenizer(package)
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
        self.target_prefix_token: str = package.target_prefix
        self._decoded: dict[tuple[str, ...], tuple[str, list[Span]]] = {}
        self._decoded_lock = threading.Lock()

    # -- tokenisation (the package's Tokenizer) ---------------------------------------------
    def tokenize(self, text: str) -> Tokens:
        """Source pieces exactly as argostranslate's tokenizer gives them, plus char spans."""
        return self.tokenizer.encode(text)

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

    def decode(self, pieces: Sequence[str]) -> tuple[str, list[Span]]:
        """Target pieces -> (text, span of each piece in it).  The last decodings are kept
        (a hypothesis is decoded by the beam search, then by enforcement and alignment)."""
        key = tuple(pieces)
        found = self._decoded.get(key)
        if found is None:
            found = self.tokenizer.decode(key)
            with self._decoded_lock:  # the overlapped decoder decodes in two threads
                if len(self._decoded) >= _DECODED_KEPT:
                    self._decoded.pop(next(iter(self._decoded)))  # the oldest
                self._decoded[key] = found
        return found[0], list(found[1])

    def word_starts(self, pieces: Sequence[str], spans: Sequence[Span]) -> list[bool]:
        return self.tokenizer.word_starts(pieces, spans)

    def literal(self, text: str) -> list[str]:
        """Pieces that decode to exactly ``text`` (one per word) when the vocabulary cannot spell it."""
        return self.tokenizer.literal(text)

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
        on_batch: Callable[[int], None] | None = None,
    ) -> list[list[Hypothesis]]:
        """Decode token sequences; returns ``options.num_hypotheses`` hypotheses per source.
        ``on_batch(n)`` is called after each decoded batch of ``n`` sources."""
        results: list[list[Hypothesis]] = [[] for _ in sources]
        prefixes = self._prefixes(len(sources), target_prefix)
        for batch in batches([len(s) for s in sources], options):
            self._run_batch(batch, sources, prefixes, options, results)
            if on_batch is not None:
                on_batch(len(batch))
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
                text, _ = self.decode(tokens)
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
        """Pieces of a target-language text (the target side's model when the package has one)."""
        return self.tokenizer.encode_target(text)
