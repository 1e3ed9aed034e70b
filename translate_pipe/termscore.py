"""Terminology measures of the WMT 2021/2023 terminology shared tasks, which are not circular.

``term_success`` (score.py) counts whether the approved target is *present*: enforcement makes
that 100% by construction, even for word salad.  So it is reported as **presence**, next to the
measures of the WMT terminology task (Alam et al. 2021, "Findings of the WMT Shared Task on
Machine Translation Using Terminologies"; Anastasopoulos et al. 2021; reused by Semenov et al.
2023 for WMT 2023), computed against the reference:

Occurrences
    Every glossary match in a source segment (the matcher's ``find``).  An occurrence is
    *used by the reference* when its approved target occurs in a reference segment (whole word,
    case-insensitive, inner whitespace free; a target needed n times must occur n times).  Only
    those occurrences are scored: a term the reference renders otherwise has no reference usage
    to compare with.

``term_exact_match`` - exact-match term accuracy
    Occurrences used by the reference whose approved target also occurs in the hypothesis, over
    occurrences used by the reference.

``term_window_overlap`` - window overlap (window ``k`` = 2 words)
    For each occurrence used by the reference: the k words left and right of the target in the
    reference, and around the i-th occurrence of the same target in the hypothesis (lower-cased
    word tokens, punctuation dropped); the share of the reference window's words found in the
    hypothesis window (multiset intersection); 0 when the hypothesis lacks the target; mean over
    occurrences.  Word salad keeps the term but loses its neighbours: the overlap drops.

``term_ter`` - terminology-aware TER (TERm), lower is better
    sacrebleu's TER (its defaults) where every word of an approved target used by the reference
    weighs 2: each occurrence of such a target, in the references and in the hypotheses, is
    written twice (``ceasefire`` -> ``ceasefire ceasefire``) before scoring, so editing a term word
    costs two edits and the reference length counts term words twice.

Each value carries a signature: ``glossary:NAME@vN|nrefs:N|case:lc|match:whole-word|usage:reference``
plus ``|window:K`` or ``|term-weight:2|`` + sacrebleu's TER signature.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ScoreError
from .records import TermMatch
from .score import check_parallel, reference_sets

Finder = Callable[[str], Sequence[TermMatch]]
WINDOW = 2
_WORD = re.compile(r"\w+(?:[-'’]\w+)*")


def _pattern(target: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in target.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def _spans(text: str, target: str) -> list[tuple[int, int]]:
    return [m.span() for m in _pattern(target).finditer(text)]


def _window(text: str, span: tuple[int, int], k: int) -> list[str]:
    left = [w.casefold() for w in _WORD.findall(text[: span[0]])][-k:] if k else []
    right = [w.casefold() for w in _WORD.findall(text[span[1] :])][:k]
    return left + right


def _doubled(text: str, targets: Sequence[str]) -> str:
    """Every whole-word occurrence of the targets written twice (longest targets first)."""
    for target in sorted(set(targets), key=lambda t: (-len(t), t)):
        text = _pattern(target).sub(lambda m: f"{m.group(0)} {m.group(0)}", text)
    return text


@dataclass(frozen=True)
class TermMeasure:
    metric: str  # term_exact_match | term_window_overlap | term_ter
    value: float | None  # exact match and window overlap in [0, 1]; TERm as sacrebleu (0-100+)
    signature: str
    details: dict[str, Any] = field(default_factory=dict)


def wmt_measures(
    sources: Sequence[str],
    hyps: Sequence[str],
    refs_sets: Sequence[Sequence[str]] | Sequence[str],
    find: Finder,
    *,
    glossary: str = "glossary",
    window: int = WINDOW,
) -> list[TermMeasure]:
    """Exact-match accuracy, window overlap and TERm of ``hyps`` (see the module docstring)."""
    from .score import corpus_scores

    refs = reference_sets(refs_sets)
    check_parallel(hyps, refs)
    if len(sources) != len(hyps):
        raise ScoreError(f"{len(sources)} source lines but {len(hyps)} hypotheses")
    if window < 0:
        raise ScoreError("the window must be 0 or more words")
    eligible = hits = 0
    overlaps: list[float] = []
    misses: list[dict[str, Any]] = []
    doubled_hyps: list[str] = []
    doubled_refs: list[list[str]] = [[] for _ in refs]
    for i, (source, hyp) in enumerate(zip(sources, hyps)):
        needed = Counter(m.target for m in find(source))
        used_targets: list[str] = []
        for target, n in sorted(needed.items()):
            ref_spans = max(([(r, _spans(ref[i], target)) for r, ref in enumerate(refs)]), key=lambda x: len(x[1]))
            used = min(n, len(ref_spans[1]))
            if not used:
                continue
            used_targets.append(target)
            hyp_spans = _spans(hyp, target)
            eligible += used
            hits += min(used, len(hyp_spans))
            for k in range(used):
                ref_window = _window(refs[ref_spans[0]][i], ref_spans[1][k], window)
                if k >= len(hyp_spans):
                    overlaps.append(0.0)
                    misses.append({"segment": i, "target": target})
                    continue
                if not ref_window:
                    overlaps.append(1.0)
                    continue
                common = Counter(ref_window) & Counter(_window(hyp, hyp_spans[k], window))
                overlaps.append(sum(common.values()) / len(ref_window))
        doubled_hyps.append(_doubled(hyp, used_targets))
        for r, ref in enumerate(refs):
            doubled_refs[r].append(_doubled(ref[i], used_targets))
    base = f"glossary:{glossary}|nrefs:{len(refs)}|case:lc|match:whole-word|usage:reference"
    ter = corpus_scores(doubled_hyps, doubled_refs, metrics=["ter"]).get("ter")
    return [
        TermMeasure(
            "term_exact_match", hits / eligible if eligible else None, base,
            {"occurrences": eligible, "hits": hits, "misses": misses},
        ),
        TermMeasure(
            "term_window_overlap", sum(overlaps) / len(overlaps) if overlaps else None, f"{base}|window:{window}",
            {"occurrences": len(overlaps)},
        ),
        TermMeasure("term_ter", ter.value, f"{base}|term-weight:2|{ter.signature}", {"occurrences": eligible}),
    ]
