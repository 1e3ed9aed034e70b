"""Frozen records passed between the stages of the pipeline, and the contracts between stages.

Offsets are Python string indices (code points), end exclusive.

Three groups:

* what flows through a run: :class:`Segment`, :class:`Term`, :class:`TermMatch`,
  :class:`Tokens`, :class:`WorkItem`, :class:`Hypothesis`, :class:`TermOutcome`,
  :class:`SegmentTranslation`;
* what the store returns: :class:`RunInfo`, :class:`RunDocument`, :class:`StoredTranslation`,
  :class:`GlossaryInfo`, :class:`StoredTerm`, :class:`VersionInfo`, :class:`StoredScore`,
  :class:`RefSet`;
* the stage contracts, as protocols: :class:`Engine` (a loaded model, implemented by
  :class:`translate_pipe.engine.Engine` and by the tests' fake engines),
  :class:`Constrainer` (terminology enforcement, implemented by
  :class:`translate_pipe.constrain.Constrainer`), :class:`TermFinder` (a glossary matcher) and
  :class:`ChunkDecoder` (where a run's chunks are decoded).

This module imports nothing of the package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

# One word link: (source_start, source_end, target_start, target_end).
# Source offsets are relative to the *document*, target offsets to the translation.
Link = tuple[int, int, int, int]


@dataclass(frozen=True)
class Segment:
    """A piece of a document sent to the model as one unit."""

    index: int  # position in the document, 0-based
    start: int  # offset of the first character in the document
    end: int  # offset one past the last character
    text: str  # == document_text[start:end]
    paragraph: int = 0  # index of the paragraph the segment belongs to


@dataclass(frozen=True)
class Term:
    """A glossary entry."""

    source: str
    target: str
    variants: tuple[str, ...] = ()
    note: str = ""
    domain: str = ""
    status: str = "approved"  # "approved" | "deprecated"
    context: str = ""  # disambiguation (PO msgctxt)
    target_plural: str = ""  # the target's plural ("" = derive it with inflect, marked derived)
    source_plurals: tuple[str, ...] = ()  # irregular (broken) plurals of the source
    blocked_in: tuple[str, ...] = ()  # longer phrases inside which the term must not match


@dataclass(frozen=True)
class TermMatch:
    """A glossary term found in a text; offsets index the original text.

    ``target`` is the form to enforce: the approved target for a singular match, its plural for
    a dual or plural one (``target_form`` says where that plural came from: ``"plural"``, the
    entry's own ``target_plural``; ``"derived-plural"``, derived with ``inflect`` for review).
    """

    source: str  # canonical source term
    target: str  # the target form to enforce (see above)
    start: int
    end: int
    text: str  # surface form as it appears in the text (text[start:end])
    term_id: int | None = None
    number: str = "singular"  # "singular" | "dual" | "plural", as found in the text
    target_form: str = "approved"  # "approved" | "plural" | "derived-plural"


@dataclass(frozen=True)
class Tokens:
    """Model pieces of a text with each piece's character span in that text."""

    pieces: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class DecodeOptions:
    """Beam search settings, stored with every run."""

    beam_size: int = 4
    num_hypotheses: int = 1
    max_length: int | None = None  # absolute bound in target tokens; None: relative bound
    length_ratio: float = 2.0
    length_slack: int = 10
    length_penalty: float = 0.2  # as argostranslate
    max_batch_tokens: int = 1024
    return_attention: bool = True
    # decoding work of a batch: segments x beam x output length bound (what the beam search
    # holds in memory); 6144 = 32 segments x beam 4 x 48 tokens
    max_batch_work: int = 6144

    def bound(self, source_len: int) -> int:
        if self.max_length is not None:
            return self.max_length
        return int(self.length_ratio * source_len) + self.length_slack


@dataclass(frozen=True)
class WorkItem:
    """One segment on its way through the model: what the constrainer receives.

    ``matches`` are the glossary terms found in the segment, with offsets into the *document*
    (like ``segment.start``); ``tokens`` are the segment's source pieces with spans into the
    segment's text.
    """

    doc_index: int  # position of the document in the run
    segment: Segment
    tokens: Tokens
    matches: tuple[TermMatch, ...] = ()

    @property
    def source_pieces(self) -> tuple[str, ...]:
        return self.tokens.pieces

    @property
    def source_spans(self) -> tuple[tuple[int, int], ...]:
        return self.tokens.spans


@dataclass(frozen=True)
class Hypothesis:
    """One decoded translation of a segment."""

    text: str
    tokens: tuple[str, ...]
    score: float | None = None
    # attention[target_token][source_token], without the end token rows (CTranslate2's own
    # lists, not copied: they are the largest objects of a run)
    attention: Sequence[Sequence[float]] = ()


@dataclass(frozen=True)
class TermOutcome:
    """What happened to one matched term during constrained translation."""

    match: TermMatch
    target_start: int | None  # offsets into the final translation
    target_end: int | None
    status: str  # "enforced" | "present" | "failed"
    method: str = ""
    reason: str = ""


@dataclass(frozen=True)
class SegmentTranslation:
    segment: Segment
    target: str
    alignment: tuple[Link, ...] = ()
    terms: tuple[TermOutcome, ...] = field(default_factory=tuple)
    score: float | None = None
    truncated: bool = False  # the translation reached the output length bound (--max-length): probably cut
    # where the target came from: "mt" (decoded), "tm" (translation memory, exact match) or
    # "repeat" (copy of an identical segment decoded earlier in the same run)
    origin: str = "mt"
    tm_unit_id: int | None = None


# -- what the store returns ---------------------------------------------------------------------
@dataclass(frozen=True)
class RunInfo:
    id: int
    kind: str
    model_name: str
    model_version: str
    model_checksum: str
    source_lang: str
    target_lang: str
    settings: dict[str, Any]
    glossary_id: int | None
    glossary_version: int | None
    started_at: str
    finished_at: str | None
    status: str
    parent_run_id: int | None = None
    error: str | None = None


class RunDocument(NamedTuple):
    """A document of a run: where it was read from and where its translation was written."""

    document_id: int
    path: str | None
    output_path: str | None


@dataclass(frozen=True)
class StoredTranslation:
    translation_id: int
    run_id: int
    document_id: int
    segment: Segment
    target: str
    truncated: bool = False


@dataclass(frozen=True)
class GlossaryInfo:
    id: int
    name: str
    source_lang: str
    target_lang: str
    version: int


@dataclass(frozen=True)
class StoredTerm:
    id: int
    version: int  # the version that last changed this term
    term: Term


@dataclass(frozen=True)
class VersionInfo:
    version: int
    created_at: str
    author: str
    action: str
    summary: str


@dataclass(frozen=True)
class RefSet:
    """A reference translation of one document: one line per paragraph."""

    name: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class RefSetInfo:
    """A stored reference set: which document it translates, from which file, how many lines."""

    document_id: int
    document_path: str | None
    name: str
    path: str | None
    lines: int
    created_at: str


@dataclass(frozen=True)
class StoredScore:
    metric: str
    value: float | None
    signature: str
    refset: str
    level: str
    details: Mapping[str, Any]
    created_at: str = ""


# -- stage contracts ---------------------------------------------------------------------------
class ModelInfo(Protocol):
    """What a run records about its model (an installed Argos package)."""

    @property
    def name(self) -> str: ...
    @property
    def package_version(self) -> str: ...
    @property
    def checksum(self) -> str: ...
    @property
    def from_code(self) -> str: ...
    @property
    def to_code(self) -> str: ...


class Engine(Protocol):
    """A loaded translation model, as the pipeline and the constrainer use it."""

    @property
    def package(self) -> ModelInfo: ...

    def tokenize(self, text: str) -> Tokens:
        """Source pieces of ``text`` with their character spans."""

    def count_tokens(self, text: str) -> int: ...

    def decode(self, pieces: Sequence[str]) -> tuple[str, list[tuple[int, int]]]:
        """Target pieces -> (text, each piece's character span in it), as the package's tokenizer decodes."""

    def word_starts(self, pieces: Sequence[str], spans: Sequence[tuple[int, int]]) -> list[bool]:
        """Whether each piece starts a word (SentencePiece ``▁``; BPE: no ``@@`` joiner before it)."""

    def literal(self, text: str) -> list[str]:
        """Pieces that decode to exactly ``text``, for a target the vocabulary cannot spell."""

    def translate(
        self,
        sources: Sequence[Sequence[str]],
        options: DecodeOptions,
        target_prefix: Sequence[Sequence[str] | None] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> list[list[Hypothesis]]:
        """``options.num_hypotheses`` hypotheses per source, best first; ``on_batch(n)`` after
        each decoded batch of ``n`` sources (progress)."""

    def score_tokens(
        self, sources: Sequence[Sequence[str]], targets: Sequence[Sequence[str]], max_batch_tokens: int = 1024
    ) -> list[list[float]]:
        """Log-probability of every target token (then of the end token) given its source."""

    def encode_target(self, text: str) -> list[str]:
        """Target-side pieces of ``text``."""

    def forced_attention(
        self, sources: Sequence[Sequence[str]], targets: Sequence[Sequence[str]], max_batch_tokens: int = 1024
    ) -> list[list[list[float]]]:
        """Attention over each source while the model is forced to write the given target."""


class Constrainer(Protocol):
    """Terminology enforcement on decoded hypotheses (see :mod:`translate_pipe.constrain`)."""

    @property
    def n_best(self) -> int:
        """Hypotheses wanted per segment with terms (the pipeline decodes that many)."""

    def apply(
        self,
        engine: Engine,
        work: Sequence[WorkItem],
        hyps: Sequence[Sequence[Hypothesis]],
        options: DecodeOptions,
    ) -> tuple[list[Hypothesis], list[list[TermOutcome]]]:
        """For every work item, the final hypothesis and the outcome of each of its matches
        (items without matches: their best hypothesis, no outcomes)."""


Translated = tuple[SegmentTranslation, tuple[str, ...]]  # a translation and its alternatives


class ChunkDecoder(Protocol):
    """Where the decoding of a run happens: in this process (:class:`translate_pipe.pipeline.LocalDecoder`)
    or elsewhere (a cluster).  The driver keeps segmenting, matching, reuse and storage."""

    def decode_chunks(
        self, chunks: Iterable[Sequence[WorkItem]], on_decoded: Callable[[int], None] | None = None
    ) -> Iterator[list[Translated]]:
        """For each chunk, in order, the translation (and alternatives) of each of its items,
        in order.  May read ahead in ``chunks``; ``on_decoded(n)`` as segments are decoded."""


class TermFinder(Protocol):
    """A glossary matcher (:class:`translate_pipe.glossary.Matcher`)."""

    def find(self, text: str) -> list[TermMatch]: ...
