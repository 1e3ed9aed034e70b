"""Glossary term matching (Arabic-aware) and glossary lint.

Matching (:class:`Matcher`)
---------------------------
Terms and text are normalised with :mod:`translate_pipe.arabic` and split into tokens (runs of
letters/digits).  Every term form (its source and each variant) becomes a path in a trie whose
edges are word keys:

* the first word of a term may carry proclitics in the text (``و ف ب ك ل``, ``ال``, ``لل`` and
  their combinations, see :func:`translate_pipe.arabic.proclitic_readings`);
* on every word the article ``ال`` is optional, in the text and in the term (``مناطق خفض تصعيد``
  matches ``مناطق خفض التصعيد`` and the reverse); on stems of under three letters a term written
  with the article needs it in the text (``الله`` never matches ``له``), a term written without
  it matches with or without it (``رد`` matches ``الرد``);
* consecutive words of a term must be separated in the text by what separates them in the term,
  after normalisation: a space in the term accepts any run of whitespace (line breaks included)
  and invisible controls, but not punctuation;
* tokens are whole: a term never matches inside a longer word (``الأمن`` is not found in
  ``الأمني``, ``حمص`` is not found in ``حمصي``); enclitic pronouns are not stripped.

Results are leftmost-longest and non-overlapping: at the leftmost token where any term starts,
the term covering the most tokens wins; among readings of equal length the one with the shortest
proclitic prefix wins.  On a key collision between two forms, the first inserted form wins
(all canonical sources are inserted before any variant, in input order); :func:`lint` reports
such collisions.

Spans: offsets index the *original* text.  The span covers the term's words; proclitics are left
outside it: it starts after the shortest prefix for which the rest of the token matches the term.
So for the term ``الأمم المتحدة``, ``والأمم المتحدة`` gives the span of ``الأمم المتحدة``
(the article belongs to the term and is inside), while for the term ``مناطق خفض التصعيد``,
``والمناطق ...`` gives a span starting at ``مناطق`` (``وال`` outside), and ``للأمم المتحدة`` a
span starting at ``أمم`` (``لل`` holds the article's lam and is left outside as a whole).  Where
one lam stands for the article and the stem's own lam (``للجنة`` = ``ل`` + ``اللجنة``) only the
first lam is outside: ``لجنة``.  Diacritics and tatweel that follow the last letter are inside
the span; a presentation-form ligature split by the prefix (``ﻟﻼتفاق``) is inside as a whole.

Term ids: :class:`Matcher` accepts :class:`~translate_pipe.records.Term` objects (``term_id`` is
then ``None``) or ``(term_id, Term)`` pairs, mixed freely; the id is copied to
:attr:`TermMatch.term_id`.  Deprecated terms are ignored.

Also here, in a section of their own at the end: finding an approved target in English text
(:func:`find_target`, the one rule used by lint, the pipeline and the terminology metrics),
the difference between two sets of terms (:func:`diff_terms`) and why a translated segment
is stale after glossary edits (:func:`stale_reasons`).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from translate_pipe.arabic import (
    INVISIBLE,
    MIN_BARE_STEM,
    Normalised,
    article_keys,
    has_arabic_letter,
    is_arabic,
    normalise,
    normalise_text,
    proclitic_readings,
    reading_keys,
    text_word_keys,
    token_spans,
)
from translate_pipe.records import Term, TermMatch

__all__ = [
    "LintIssue",
    "Matcher",
    "TermChange",
    "diff_terms",
    "find_target",
    "lint",
    "normalise_key",
    "stale_reasons",
]

_END = ""  # trie key of the terminal entry (no real key is empty)
_CACHE_LIMIT = 200_000

TermInput = Term | tuple[int | None, Term]


def _words_and_gaps(text: str, lang: str) -> tuple[list[str], list[str]]:
    nt = normalise_text(text, lang)
    spans = token_spans(nt)
    words = [nt[s:e] for s, e in spans]
    gaps = [nt[spans[k][1] : spans[k + 1][0]] for k in range(len(spans) - 1)]
    return words, gaps


def normalise_key(source: str, lang: str = "ar") -> str:
    """Key under which two glossary sources are indistinguishable for the matcher.

    Normalised words joined by single spaces (punctuation dropped); for Arabic each word loses
    its leading article(s) as long as three letters or more remain, as the matcher ignores
    the article on such words.
    """
    words, _ = _words_and_gaps(source, lang)
    if is_arabic(lang):
        stripped = []
        for w in words:
            while w.startswith("\u0627\u0644") and len(w) - 2 >= MIN_BARE_STEM:
                w = w[2:]
            stripped.append(w)
        words = stripped
    return " ".join(words)


class Matcher:
    """Finds glossary terms in text; see the module docstring for the rules.

    ``terms``: :class:`Term` objects or ``(term_id, Term)`` pairs.  ``lang``: the source
    language code; Arabic rules apply when it names Arabic, plain case-folded matching otherwise.
    """

    def __init__(self, terms: Iterable[TermInput], lang: str = "ar") -> None:
        self.lang = lang
        self.arabic = is_arabic(lang)
        self._root: dict[str, Any] = {}
        self._entries: list[tuple[str, str, int | None]] = []
        self._first_cache: dict[str, tuple[tuple[int, dict[str, Any]], ...]] = {}
        variants: list[tuple[int, str]] = []
        for item in terms:
            term_id, term = (None, item) if isinstance(item, Term) else item
            if term.status == "deprecated":
                continue
            entry = len(self._entries)
            self._entries.append((term.source, term.target, term_id))
            self._insert(term.source, entry)
            variants.extend((entry, v) for v in term.variants)
        for entry, form in variants:
            self._insert(form, entry)

    def __len__(self) -> int:
        """Number of (non-deprecated) terms."""
        return len(self._entries)

    def _term_keys(self, word: str) -> tuple[str, ...]:
        return article_keys(word) if self.arabic else (word,)

    def _text_keys(self, word: str) -> tuple[str, ...]:
        return text_word_keys(word) if self.arabic else (word,)

    def _first_nodes(self, word: str) -> tuple[tuple[int, dict[str, Any]], ...]:
        """(prefix length, trie node) for each proclitic reading of a text token that starts a
        term, shortest prefix first.  Cached: the trie is not changed after construction."""
        nodes = self._first_cache.get(word)
        if nodes is None:
            if self.arabic:
                seen: dict[str, int] = {}
                for r in proclitic_readings(word):
                    for key in reading_keys(r):
                        seen.setdefault(key, len(r.prefix))
                keys = [(plen, key) for key, plen in seen.items()]
            else:
                keys = [(0, word)]
            nodes = tuple(
                (plen, node) for plen, key in keys if (node := self._root.get(key)) is not None
            )
            if len(self._first_cache) > _CACHE_LIMIT:
                self._first_cache.clear()
            self._first_cache[word] = nodes
        return nodes

    def _insert(self, form: str, entry: int) -> None:
        words, gaps = _words_and_gaps(form, self.lang)
        if not words:
            return
        options = [self._term_keys(words[0])]
        options += [
            tuple(gap + k for k in self._term_keys(w))
            for gap, w in zip(gaps, words[1:], strict=True)
        ]
        for path in itertools.product(*options):
            node = self._root
            for key in path:
                node = node.setdefault(key, {})
            node.setdefault(_END, entry)

    def _candidates(
        self, nt: str, spans: list[tuple[int, int]], words: list[str], i: int, longest: bool
    ) -> list[tuple[int, int, int]]:
        """Matches starting at token ``i``: (prefix length, last token index, entry).

        With ``longest``, only the best one (leftmost-longest rule), else every one.
        """
        found: list[tuple[int, int, int]] = []
        n = len(spans)
        for plen, node in self._first_nodes(words[i]):
            best_j, best_entry = -1, -1
            stack = [(node, i)]
            while stack:
                node, j = stack.pop()
                entry = node.get(_END)
                if entry is not None:
                    if not longest:
                        found.append((plen, j, entry))
                    elif j > best_j:
                        best_j, best_entry = j, entry
                if j + 1 < n and len(node) > (entry is not None):
                    gap = nt[spans[j][1] : spans[j + 1][0]]
                    nxt = [
                        child
                        for k in self._text_keys(words[j + 1])
                        if (child := node.get(gap + k)) is not None
                    ]
                    stack.extend((child, j + 1) for child in reversed(nxt))
            if longest and best_j >= 0 and (not found or best_j > found[0][1]):
                found = [(plen, best_j, best_entry)]
        return found

    def _match(
        self,
        text: str,
        norm: Normalised,
        spans: list[tuple[int, int]],
        plen: int,
        j: int,
        i: int,
        entry: int,
    ) -> TermMatch:
        start, end = norm.span(spans[i][0] + plen, spans[j][1])
        source, target, term_id = self._entries[entry]
        return TermMatch(source, target, start, end, text[start:end], term_id)

    def find(self, text: str) -> list[TermMatch]:
        """Leftmost-longest, non-overlapping matches, offsets into ``text``, in text order."""
        norm = normalise(text, self.lang)
        nt = norm.text
        spans = token_spans(nt)
        words = [nt[s:e] for s, e in spans]
        matches: list[TermMatch] = []
        first_nodes = self._first_nodes
        i, n = 0, len(spans)
        while i < n:
            if not first_nodes(words[i]):
                i += 1
                continue
            found = self._candidates(nt, spans, words, i, longest=True)
            if found:
                plen, j, entry = found[0]
                matches.append(self._match(text, norm, spans, plen, j, i, entry))
                i = j + 1
            else:
                i += 1
        return matches

    def find_all(self, text: str) -> list[TermMatch]:
        """Every match, overlapping ones included, sorted by (start, -end); for analysis/lint."""
        norm = normalise(text, self.lang)
        nt = norm.text
        spans = token_spans(nt)
        words = [nt[s:e] for s, e in spans]
        out: dict[tuple[int, int, int], TermMatch] = {}
        for i in range(len(spans)):
            # readings come shortest prefix first: keep that one per (first, last token, term)
            for plen, j, entry in self._candidates(nt, spans, words, i, longest=False):
                if (i, j, entry) not in out:
                    out[(i, j, entry)] = self._match(text, norm, spans, plen, j, i, entry)
        return sorted(out.values(), key=lambda m: (m.start, -m.end, m.source))


@dataclass(frozen=True)
class LintIssue:
    """One problem found by :func:`lint`; ``message`` says what to do about it."""

    level: Literal["error", "warning"]
    code: str
    source: str
    message: str


_WS_RUN = re.compile(r"\s{2,}|[^\S ]")


def unsafe_characters(value: str, *, line_breaks: bool = False) -> list[str]:
    """The characters of ``value`` that must not reach a translation: bidi controls,
    zero-width and other invisible characters, line breaks and tabs (unless ``line_breaks``)
    and other control characters; as ``U+202E RIGHT-TO-LEFT OVERRIDE``."""
    import unicodedata

    found: dict[str, None] = {}
    for ch in value:
        if ch in "\n\r\t" and line_breaks:
            continue
        if ch in INVISIBLE or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            found[f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"] = None
    return list(found)


def entry_problem(term: Term) -> str:
    """Why an entry would spoof or break the output (invisible or control characters in any
    field; notes may hold line breaks and tabs), or ``""``.  Import, ``add`` and ``translate --glossary``
    refuse such entries; lint reports them in databases that already hold some."""
    fields = [("source", term.source), ("target", term.target), ("context", term.context), ("domain", term.domain)]
    fields += [("variant", v) for v in term.variants] + [("note", term.note)]
    for name, value in fields:
        bad = unsafe_characters(value, line_breaks=name == "note")
        if bad:
            return f"the {name} of {term.source!r} contains {', '.join(bad)}; remove it"
    return ""


def _field_issues(term: Term, arabic: bool) -> list[LintIssue]:
    issues: list[LintIssue] = []
    src = term.source
    fields: list[tuple[str, str]] = [("source", term.source), ("target", term.target)]
    fields += [("variant", v) for v in term.variants]
    fields += [("note", term.note), ("domain", term.domain), ("context", term.context)]
    for name, value in fields:
        if name in {"source", "target", "variant"} and not value.strip():
            issues.append(
                LintIssue(
                    "error", "empty-field", src, f"The {name} is empty; fill it in or remove it."
                )
            )
            continue
        if value != value.strip() or (
            name in {"source", "target", "variant"} and _WS_RUN.search(value)
        ):
            issues.append(
                LintIssue(
                    "warning",
                    "untrimmed",
                    src,
                    f"The {name} {value!r} has leading/trailing whitespace, a line break or "
                    "repeated spaces; trim it to single spaces.",
                )
            )
        # line breaks in source/target/variant are reported as "untrimmed" above
        bad = unsafe_characters(value, line_breaks=name not in {"domain", "context"})
        if bad:
            issues.append(
                LintIssue(
                    "error",
                    "control-character",
                    src,
                    f"The {name} {value!r} contains invisible bidi/zero-width or control characters "
                    f"({', '.join(bad)}); delete them.",
                )
            )
        if arabic and name in {"source", "variant"} and not has_arabic_letter(value):
            issues.append(
                LintIssue(
                    "error",
                    "no-arabic-letters",
                    src,
                    f"The {name} {value!r} has no Arabic letter; check that source and target "
                    "are not swapped.",
                )
            )
    for v in term.variants:
        if v.strip() and v.strip() == src.strip():
            issues.append(
                LintIssue(
                    "warning",
                    "variant-equals-source",
                    src,
                    f"The variant {v!r} is the source itself; remove the variant.",
                )
            )
    return issues


def lint(terms: Sequence[Term], lang: str = "ar") -> list[LintIssue]:
    """Check a glossary; deprecated terms are ignored.  Errors first is not implied: issues come
    in the order of the checks (field checks term by term, then cross-term checks)."""
    arabic = is_arabic(lang)
    active = [t for t in terms if t.status != "deprecated"]
    issues: list[LintIssue] = []
    for t in active:
        issues.extend(_field_issues(t, arabic))

    # Identical sources (same context).
    by_source: dict[tuple[str, str], list[Term]] = defaultdict(list)
    for t in active:
        if t.source.strip():
            by_source[(t.source.strip(), t.context)].append(t)
    for (src, _), group in by_source.items():
        if len(group) < 2:
            continue
        targets = list(dict.fromkeys(t.target.strip() for t in group))
        if len(targets) > 1:
            issues.append(
                LintIssue(
                    "error",
                    "conflicting-targets",
                    src,
                    f"The source appears {len(group)} times with different targets "
                    f"({' | '.join(targets)}); keep one entry, or give each a different context.",
                )
            )
        else:
            issues.append(
                LintIssue(
                    "warning",
                    "duplicate-entry",
                    src,
                    f"The entry appears {len(group)} times; delete the duplicates.",
                )
            )

    # Forms (sources and variants) that the matcher cannot tell apart.
    forms: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for idx, t in enumerate(active):
        for form in (t.source, *t.variants):
            if form.strip():
                key = normalise_key(form, lang)
                if key:
                    forms[key].append((idx, form))
    for key, form_group in forms.items():
        reported_pairs: set[tuple[int, int]] = set()
        for (ia, fa), (ib, fb) in itertools.combinations(form_group, 2):
            a, b = active[ia], active[ib]
            if ia == ib:
                if fa.strip() != fb.strip():
                    issues.append(
                        LintIssue(
                            "warning",
                            "redundant-variant",
                            a.source,
                            f"{fb!r} normalises like {fa!r} (key {key!r}), so the matcher already "
                            f"finds it; remove the variant {fb!r}.",
                        )
                    )
                continue
            if (ia, ib) in reported_pairs:
                continue
            if a.source.strip() == b.source.strip() and a.context == b.context:
                continue  # reported as conflicting-targets / duplicate-entry
            if a.context != b.context:
                continue  # homographs told apart by context on purpose
            reported_pairs.add((ia, ib))
            same_target = a.target.strip() == b.target.strip()
            issues.append(
                LintIssue(
                    "warning" if same_target else "error",
                    "same-key",
                    a.source,
                    f"{fa!r} (term {a.source!r}) and {fb!r} (term {b.source!r}) normalise to "
                    f"the same key {key!r}, so the matcher cannot tell them apart; "
                    + (
                        f"merge them, keeping {fb!r} as a variant of {a.source!r}."
                        if same_target
                        else "merge them into one term with one target, or add a context."
                    ),
                )
            )

    # Shorter terms inside longer ones whose translation does not carry theirs.
    matcher = Matcher(((i, t) for i, t in enumerate(active) if t.source.strip()), lang)
    for ib, b in enumerate(active):
        if not b.source.strip():
            continue
        n_words = len(_words_and_gaps(b.source, lang)[0])
        seen: set[int] = set()
        for form in (b.source, *b.variants):
            for m in matcher.find_all(form):
                if m.term_id is None or m.term_id == ib or m.term_id in seen:
                    continue
                ia = m.term_id
                if len(_words_and_gaps(m.text, lang)[0]) >= n_words:
                    continue  # not shorter: a same-key matter
                a = active[ia]
                seen.add(ia)
                if a.target.strip() and not find_target(b.target, a.target.strip()):
                    issues.append(
                        LintIssue(
                            "warning",
                            "contained-term",
                            b.source,
                            f"It contains the term {a.source!r} ({a.target!r}) but its target "
                            f"{b.target!r} does not contain {a.target!r}; check that the two "
                            "translations agree, or add a note explaining the difference.",
                        )
                    )
    return issues


# =============================================================================================
# Targets in English text, term diffs, stale segments (used by pipeline, score and api; kept
# apart from the matcher and lint above).
# =============================================================================================

# Same-length folding of typographic quotes and hyphens, so offsets found in the folded text
# index the original text.
_FOLD = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2010": "-", "\u2011": "-"})


def fold_target_text(text: str) -> str:
    """Typographic apostrophes and hyphens -> ASCII (same length, offsets unchanged)."""
    return text.translate(_FOLD)


def target_key(target: str) -> str:
    """Identity of an approved target: folded, case-folded, inner whitespace collapsed."""
    return " ".join(fold_target_text(target).casefold().split())


def target_pattern(target: str) -> re.Pattern[str]:
    """Case-insensitive, whole-word pattern of an approved target (inner spaces may vary);
    apply it to :func:`fold_target_text` of the text."""
    words = [re.escape(w) for w in fold_target_text(target).split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def find_target(text: str, target: str) -> list[tuple[int, int]]:
    """Spans of ``target`` in ``text``: whole words, case-insensitive, typographic quotes and
    hyphens equal to ASCII ones, any whitespace between words."""
    if not target.strip():
        return []
    return [m.span() for m in target_pattern(target).finditer(fold_target_text(text))]


@dataclass(frozen=True)
class TermChange:
    """How one term differs between two versions of a glossary."""

    source: str
    context: str
    change: str  # "added" | "removed" | "changed" | "deprecated" | "restored"
    old: Term | None
    new: Term | None

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields whose value differs (every field for an added or removed term)."""
        names = ("target", "variants", "note", "domain", "status")
        if self.old is None or self.new is None:
            return names
        return tuple(n for n in names if getattr(self.old, n) != getattr(self.new, n))


def diff_terms(old: Iterable[Term], new: Iterable[Term]) -> list[TermChange]:
    """Term changes from one set of terms to another, by ``(source, context)``."""
    a_terms = {(t.source, t.context): t for t in old}
    b_terms = {(t.source, t.context): t for t in new}
    changes = []
    for key in sorted(set(a_terms) | set(b_terms)):
        a, b = a_terms.get(key), b_terms.get(key)
        if a == b:
            continue
        if a is None:
            kind = "added"
        elif b is None:
            kind = "removed"
        elif a.status != "deprecated" and b.status == "deprecated":
            kind = "deprecated"
        elif a.status == "deprecated" and b.status != "deprecated":
            kind = "restored"
        else:
            kind = "changed"
        changes.append(TermChange(key[0], key[1], kind, a, b))
    return changes


def stale_reasons(old: Sequence[TermMatch], new: Sequence[TermMatch]) -> list[str]:
    """Why a segment matched ``old`` with the glossary version of its translation and ``new``
    with the current one needs retranslating (empty: it does not)."""
    before = {(m.start, m.end, m.source): m.target for m in old}
    after = {(m.start, m.end, m.source): m.target for m in new}
    reasons = []
    for key in sorted(set(before) | set(after)):
        if key not in before:
            reasons.append(f"new term {key[2]!r} -> {after[key]!r}")
        elif key not in after:
            reasons.append(f"term {key[2]!r} no longer applies (deprecated or replaced)")
        elif before[key] != after[key]:
            reasons.append(f"target of {key[2]!r} changed: {before[key]!r} -> {after[key]!r}")
    return reasons
