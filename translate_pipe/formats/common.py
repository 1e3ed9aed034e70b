"""What every glossary format shares: the file record, the rules on terms, decoding.

The format modules (:mod:`.csvfmt`, :mod:`.po`, :mod:`.tbx`) import from here, never from the
package ``__init__``, which is only the public face and the format table.

Rules shared by all formats (checked on read and on write):

* ``source`` and ``target`` must not be empty or blank;
* ``(source, context)`` is unique in a file;
* ``status`` is ``"approved"`` or ``"deprecated"``;
* variants, source plurals and blocking contexts are non-empty, trimmed, single-line strings
  (readers trim and drop empty ones); a target plural is trimmed and single-line (or empty);
* no NUL characters anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from translate_pipe.errors import FormatError
from translate_pipe.files import decode_utf8 as _decode
from translate_pipe.records import Term

STATUSES: tuple[str, ...] = ("approved", "deprecated")


@dataclass(frozen=True)
class GlossaryFile:
    """The content of one glossary file: its terms (in file order) and its language pair."""

    terms: tuple[Term, ...]
    source_lang: str
    target_lang: str


class Located(NamedTuple):
    """A term as read, with where it was found ("line 12", "termEntry 3 (id 'x', line 40)")."""

    term: Term
    where: str


def decode_utf8(path: Path, data: bytes) -> str:
    """Decode UTF-8 (with or without BOM) or raise :class:`FormatError` naming the line."""
    return _decode(path, data, FormatError)


def check_read_terms(path: Path, items: Sequence[Located]) -> tuple[Term, ...]:
    """Apply the shared rules to terms read from ``path``; all or nothing."""
    seen: dict[tuple[str, str], str] = {}
    for term, where in items:
        problem = term_problem(term) or _entry_problem(term)
        if problem:
            raise FormatError(f"{path}: {where}: {problem}")
        key = (term.source, term.context)
        if key in seen:
            ctx = f" with context {term.context!r}" if term.context else ""
            raise FormatError(
                f"{path}: {where}: duplicate source term {term.source!r}{ctx} "
                f"(first at {seen[key]}); merge the two entries or give them different contexts"
            )
        seen[key] = where
    return tuple(item.term for item in items)


def _entry_problem(term: Term) -> str:
    """Invisible or control characters that would reach a translation (refused on read;
    export still writes what a database already holds, lint reports it)."""
    from translate_pipe.glossary import entry_problem

    return entry_problem(term)


def term_problem(term: Term) -> str:
    """Return why ``term`` breaks the shared rules, or ``""``."""
    if not term.source.strip():
        return "empty source term"
    if not term.target.strip():
        return f"empty target for source term {term.source!r}"
    if term.status not in STATUSES:
        return (
            f"unknown status {term.status!r} for source term {term.source!r}; "
            f"use one of {', '.join(STATUSES)}"
        )
    lists = (("variant", term.variants), ("source plural", term.source_plurals))
    for name, values in (*lists, ("blocking context", term.blocked_in)):
        for variant in values:
            if not variant.strip():
                return f"empty {name} for source term {term.source!r}"
            if variant != variant.strip() or "\n" in variant or "\r" in variant:
                return f"{name} {variant!r} of {term.source!r} has surrounding spaces or line breaks"
    if term.source in term.source_plurals:
        return f"the source {term.source!r} is listed as its own plural"
    if term.target_plural != term.target_plural.strip() or "\n" in term.target_plural:
        return f"target plural {term.target_plural!r} of {term.source!r} has surrounding spaces or line breaks"
    fields = (
        term.source,
        term.target,
        term.note,
        term.domain,
        term.context,
        term.target_plural,
        *term.variants,
        *term.source_plurals,
        *term.blocked_in,
    )
    if any("\x00" in value for value in fields):
        return f"NUL character in the entry for source term {term.source!r}"
    return ""
