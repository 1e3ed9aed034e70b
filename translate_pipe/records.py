"""Frozen records passed between the stages of the pipeline.

Offsets are Python string indices (code points), end exclusive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class TermMatch:
    """A glossary term found in a text; offsets index the original text."""

    source: str  # canonical source term
    target: str  # approved target
    start: int
    end: int
    text: str  # surface form as it appears in the text (text[start:end])
    term_id: int | None = None


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
    # where the target came from: "mt" (decoded), "tm" (translation memory, exact match) or
    # "repeat" (copy of an identical segment decoded earlier in the same run)
    origin: str = "mt"
    tm_unit_id: int | None = None
