"""Terminology metrics of a run, and the signature stored with them.

Pure functions: the glossary matches of every source line come in through ``find`` (a
:class:`~translate_pipe.glossary.Matcher`'s ``find``); targets are found in English text with
:func:`translate_pipe.glossary.find_target`'s rules (whole words, case-insensitive, curly and
straight quotes equal).  :func:`term_signature` is the one place the signature is built.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from translate_pipe.errors import ScoreError
from translate_pipe.glossary import fold_target_text, target_key, target_pattern
from translate_pipe.records import TermMatch
from translate_pipe.score.corpus import check_parallel, reference_sets

__all__ = [
    "ReferenceDisagreement",
    "TermConsistency",
    "TermMiss",
    "TermReport",
    "term_metrics",
    "term_signature",
]


def term_signature(glossary: str, version: int) -> str:
    """The signature stored with a term success rate (like sacrebleu's, ``key:value|...``)."""
    return f"glossary:{glossary}|version:{version}|case:insensitive|match:whole-word"


Finder = Callable[[str], Sequence[TermMatch]]
TranslationOf = Callable[[int, TermMatch], "str | None"]


def _count_targets(text: str, needed: Mapping[str, int], targets: Mapping[str, str]) -> dict[
    str, int
]:
    """How many of the ``needed[key]`` occurrences of each target are found in ``text``.

    Whole-word, case-insensitive.  Longer targets are matched first and a stretch of text
    counts for one target only, so "Minister" is not found inside a counted "Foreign Minister".
    """
    norm = fold_target_text(text)
    taken: list[tuple[int, int]] = []
    found: dict[str, int] = {}
    for key in sorted(needed, key=lambda k: (-len(k), k)):
        count = 0
        for m in target_pattern(targets[key]).finditer(norm):
            if count >= needed[key]:
                break
            if any(m.start() < end and start < m.end() for start, end in taken):
                continue
            taken.append((m.start(), m.end()))
            count += 1
        found[key] = count
    return found


@dataclass(frozen=True)
class TermMiss:
    """A source term occurrence whose approved target is not in the hypothesis."""

    segment: int
    source: str  # canonical source term
    source_text: str  # as written in the source segment
    target: str  # approved target
    hypothesis: str
    expected: int  # occurrences of this target the segment needs
    found: int  # occurrences found in the hypothesis


@dataclass(frozen=True)
class TermConsistency:
    """How one source term was translated across the run.

    ``translations`` counts, per occurrence, the translation used: the approved target when it
    was found, else what ``translation_of`` said (case-folded), else None (unknown: the approved
    target was not used, and without alignment we cannot tell what was used instead).
    ``consistent`` is True when every occurrence used one translation, False when at least two
    different translations were used (the approved target in some segments and not in others
    counts as two), None when unknown translations leave it undecided.
    """

    source: str
    target: str
    occurrences: int
    segments: tuple[int, ...]
    translations: tuple[tuple[str | None, int], ...]
    consistent: bool | None


@dataclass(frozen=True)
class ReferenceDisagreement:
    """A matched term whose approved target no reference uses: glossary vs. reference."""

    segment: int
    source: str
    source_text: str
    target: str
    references: tuple[str, ...]
    expected: int
    found: int  # best count over the reference sets


@dataclass(frozen=True)
class TermReport:
    """Terminology metrics of a run.

    ``term_success`` = hits / occurrences (None when no term matched a source).
    ``reference_agreement`` = occurrences whose approved target a reference uses / occurrences
    (None without references or matches).
    """

    segments: int
    occurrences: int
    hits: int
    term_success: float | None
    misses: tuple[TermMiss, ...]
    consistency: tuple[TermConsistency, ...]
    reference_agreed: int
    reference_agreement: float | None
    reference_disagreements: tuple[ReferenceDisagreement, ...]

    @property
    def inconsistent(self) -> tuple[TermConsistency, ...]:
        return tuple(c for c in self.consistency if c.consistent is False)

    def details(self) -> dict[str, Any]:
        """The report as stored with the score and shown by ``score --json`` (``"terms"``)."""
        return {
            "occurrences": self.occurrences,
            "hits": self.hits,
            "misses": [
                {"segment": m.segment, "source": m.source, "text": m.source_text, "target": m.target,
                 "hypothesis": m.hypothesis}
                for m in self.misses
            ],
            "consistency": self.consistency_rate,
            "inconsistent": [
                {"source": c.source, "target": c.target, "translations": [list(t) for t in c.translations]}
                for c in self.inconsistent
            ],
            "reference_agreement": self.reference_agreement,
            "reference_disagreements": [
                {"segment": d.segment, "source": d.source, "target": d.target, "references": list(d.references)}
                for d in self.reference_disagreements
            ],
        }

    @property
    def consistency_rate(self) -> float | None:
        """Share of decided terms used consistently; None when none is decided."""
        decided = [c for c in self.consistency if c.consistent is not None]
        if not decided:
            return None
        return sum(1 for c in decided if c.consistent) / len(decided)


def term_metrics(
    sources: Sequence[str],
    hyps: Sequence[str],
    refs_sets: Sequence[Sequence[str]] | Sequence[str] | None,
    find: Finder,
    *,
    translation_of: TranslationOf | None = None,
) -> TermReport:
    """Term success rate, consistency and reference agreement of a run.

    ``find(source_segment)`` returns the glossary matches of a source segment
    (``translate_pipe.glossary.Matcher(terms).find``).  Decisions:

    * Matching in the hypothesis/reference is case-insensitive and whole-word: a target is
      found only between non-word characters, so "UN" is not found in "UNESCO" but is found in
      "UN-led"; inner whitespace may vary (``\\s+``); curly and straight apostrophes are equal.
      Inflected forms ("ambassadors" for "ambassador") do NOT count.
    * Occurrences are counted per segment: a target needed twice (a term appearing twice in
      the source, or two source terms with the same approved target) must appear twice in the
      hypothesis; with one occurrence, one hit and one miss are counted.  The first source
      occurrences are the hits, the later ones the misses.
    * Longer targets are matched first, and a stretch of hypothesis counts for one target only.
    * With several reference sets an occurrence agrees with the references when at least one
      reference set uses the approved target (counted the same way).
    * ``translation_of(segment, match)``, optional (e.g. from word alignment), says which
      hypothesis text translated a missed occurrence; it refines consistency only.
    """
    sources, hyps = list(sources), list(hyps)
    if len(sources) != len(hyps):
        raise ScoreError(f"line count mismatch: the sources have {len(sources)} lines but the "
                         f"hypotheses have {len(hyps)}")
    refs: list[list[str]] = []
    if refs_sets is not None:
        refs = reference_sets(refs_sets)
        check_parallel(hyps, refs)

    occurrences = hits = agreed = 0
    misses: list[TermMiss] = []
    disagreements: list[ReferenceDisagreement] = []
    # (source, target) -> list of (segment, translation used)
    used: dict[tuple[str, str], list[tuple[int, str | None]]] = {}

    for index, (source, hyp) in enumerate(zip(sources, hyps)):
        matches = sorted(find(source), key=lambda m: (m.start, m.end))
        if not matches:
            continue
        groups: dict[str, list[TermMatch]] = {}
        targets: dict[str, str] = {}
        for match in matches:
            key = target_key(match.target)
            groups.setdefault(key, []).append(match)
            targets.setdefault(key, match.target)
        needed = {key: len(group) for key, group in groups.items()}
        found = _count_targets(hyp, needed, targets)
        ref_found = [_count_targets(ref[index], needed, targets) for ref in refs]

        for key, group in groups.items():
            n_found = found[key]
            occurrences += len(group)
            hits += n_found
            for rank, match in enumerate(group):
                hit = rank < n_found
                translation: str | None = match.target if hit else None
                if not hit:
                    misses.append(TermMiss(
                        segment=index, source=match.source, source_text=match.text,
                        target=match.target, hypothesis=hyp, expected=len(group),
                        found=n_found))
                    if translation_of is not None:
                        said = translation_of(index, match)
                        translation = " ".join(said.casefold().split()) if said else None
                        if translation == target_key(match.target):
                            translation = match.target
                used.setdefault((match.source, match.target), []).append((index, translation))
            if refs:
                best = max(counts[key] for counts in ref_found)
                agreed += best
                if best < len(group):
                    first = group[best]
                    disagreements.append(ReferenceDisagreement(
                        segment=index, source=first.source, source_text=first.text,
                        target=first.target, references=tuple(ref[index] for ref in refs),
                        expected=len(group), found=best))

    consistency = tuple(
        _consistency(source, target, entries)
        for (source, target), entries in sorted(used.items())
    )
    return TermReport(
        segments=len(hyps),
        occurrences=occurrences,
        hits=hits,
        term_success=hits / occurrences if occurrences else None,
        misses=tuple(misses),
        consistency=consistency,
        reference_agreed=agreed,
        reference_agreement=agreed / occurrences if refs and occurrences else None,
        reference_disagreements=tuple(disagreements),
    )


def _consistency(
    source: str, target: str, entries: Sequence[tuple[int, str | None]]
) -> TermConsistency:
    counts = Counter(translation for _, translation in entries)
    known = {t for t in counts if t is not None}
    consistent: bool | None
    if len(entries) == 1 or (len(known) == 1 and None not in counts):
        consistent = True
    elif len(known) > 1 or (target in known and None in counts):
        consistent = False  # a None occurrence did not use the approved target
    else:
        consistent = None
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0] is None, item[0] or ""))
    return TermConsistency(
        source=source, target=target, occurrences=len(entries),
        segments=tuple(sorted({segment for segment, _ in entries})),
        translations=tuple(ordered), consistent=consistent,
    )
