"""Glossary term matching (Arabic-aware) and glossary lint.

Matching (:class:`Matcher`)
---------------------------
Terms and text are normalised with :mod:`translate_pipe.arabic` and split into tokens (runs of
letters/digits).  Every term form (its source and each variant) becomes a path in a trie whose
edges are word keys:

* the first word of a term may carry proclitics in the text (``و ف ب ك ل``, ``ال``, ``لل`` and
  their combinations, see :func:`translate_pipe.arabic.proclitic_readings`); a later word may
  carry ``ب ك ل`` (``وقف لإطلاق النار``) but ``و``/``ف`` only where the term has them too
  (``وسلامتها`` ~ ``والسلامة``; ``مجلس والأمن`` is not ``مجلس الأمن``);
* on every word the article ``ال`` is optional, in the text and in the term (``مناطق خفض تصعيد``
  matches ``مناطق خفض التصعيد`` and the reverse); on stems of under three letters a term written
  with the article needs it in the text (``الله`` never matches ``له``), a term written without
  it matches with or without it (``رد`` matches ``الرد``);
* every word may carry suffixes, read off each *text* token once and cached
  (:func:`translate_pipe.arabic.word_analyses`, :func:`~translate_pipe.arabic.suffix_readings`),
  never generated per entry: the trie holds only the glossary's own forms, so a suffix reading
  is accepted only when what remains is a glossary word.  Dual, sound plurals, construct
  endings, pronouns, ة written ت, the tanween alif, and feminine agreement on a later word after
  a dual or plural head.  A suffix that excludes the article (pronoun, construct, tanween) is
  not read on a word with the article (``الأمني`` is not ``الأمن`` + ي), and a bare ي or و right
  after a stem without ة may not end a term (``حمصي`` is the nisba, not ``حمص``);
* consecutive words of a term must be separated in the text by what separates them in the term,
  after normalisation and with brackets, quotes and guillemets dropped: a space in the term
  accepts any run of whitespace (line breaks included), invisible controls and any of those
  marks (``رقم (2254)``, ``مناطق «خفض التصعيد»``), but not other punctuation;
* tokens are whole: a term never matches inside a longer word (``الأمن`` is not found in
  ``الأمنية``, ``قرار`` is not found in ``استقرار``);
* an entry's ``blocked_in`` phrases (matched with the same rules) are contexts where it does not
  match: ``مجلس الأمن`` with ``blocked_in=("مجلس الأمن القومي",)`` is not found there, and the
  next candidate (``الأمن القومي``) may match instead.

Number: every match reports the grammatical number of its first word (the head of an Arabic
noun phrase): ``dual`` for ان/تان, ``plural`` for ون/ات/construct و and for a ``source_plurals``
form; ين and construct ي are dual after ة, plural on participles (م...) and nisba stems (...ي),
dual otherwise; a bare final ا after a stem without ة is the tanween alif (singular) when the
next word agrees (also ends in ا) or the word ends the term, a construct dual otherwise.
Pronouns do not change the number.  :attr:`TermMatch.target` is the form to enforce: the
approved target, or for a dual/plural match the entry's ``target_plural`` (``target_form``
``"plural"``), else the English plural derived with ``inflect`` (``"derived-plural"``).

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
from functools import lru_cache
from typing import Any, Literal, NamedTuple

from translate_pipe.arabic import (
    FINAL_TA_MARBUTA,
    INVISIBLE,
    MIN_BARE_STEM,
    TANWEEN,
    Analysis,
    Normalised,
    article_keys,
    has_arabic_letter,
    is_arabic,
    normalise,
    normalise_text,
    token_layout,
    word_analyses,
    word_analyses_both,
)
from translate_pipe.records import Term, TermMatch

__all__ = [
    "LintIssue",
    "Matcher",
    "derive_plural",
    "TermChange",
    "diff_terms",
    "find_target",
    "lint",
    "normalise_key",
    "stale_reasons",
]

_CONJ = ("\u0648", "\u0641")  # و ف
_TA_MARBUTA = frozenset("\u0629\ufe93\ufe94")  # ة and its presentation forms
_CACHE_LIMIT = 200_000

TermInput = Term | tuple[int | None, Term]


def _words_and_gaps(text: str, lang: str) -> tuple[list[str], list[str]]:
    words, gaps, _, _ = token_layout(normalise_text(text, lang))
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


_NUMBERS = {"s": "singular", "d": "dual", "p": "plural", "a": "singular"}
# brackets, quotes and guillemets: ignored between the words of a term
_QUOTES = "()[]{}\u00ab\u00bb\"'\u201c\u201d\u2018\u2019\u201e\u2039\u203a\ufd3e\ufd3f"
_QUOTE_TABLE = str.maketrans("", "", _QUOTES)
_PAIRS = {"(": ")", "[": "]", "{": "}", "\u00ab": "\u00bb", "\u201c": "\u201d", "\u2018": "\u2019",
          "\u2039": "\u203a", "\ufd3f": "\ufd3e"}
_SYMMETRIC = "\"'"
_CLOSERS = frozenset(_PAIRS.values()) | frozenset(_SYMMETRIC)


def _gap_key(gap: str) -> str:
    """What must separate two words of a term: brackets and quotes dropped, whitespace runs
    collapsed; ``""`` for plain whitespace (the common case, stored without a prefix)."""
    if gap == " ":
        return ""
    g = " ".join(gap.translate(_QUOTE_TABLE).split())
    return g


def _balance_end(original: str, start: int, end: int) -> int:
    """Extend ``end`` over closing brackets/quotes whose opening one is inside the span."""
    span = original[start:end]
    if span.translate(_QUOTE_TABLE) == span:
        return end
    for opener, closer in _PAIRS.items():
        missing = span.count(opener) - span.count(closer)
        while missing > 0 and end < len(original) and original[end] == closer:
            end += 1
            missing -= 1
    for q in _SYMMETRIC:
        if span.count(q) % 2 and end < len(original) and original[end] == q:
            end += 1
    return end


# An entry: (source, target, target plural, term id, has blocking contexts); plain tuples,
# which the garbage collector stops tracking.
_Entry = tuple[str, str, str, int | None, bool]
_TERMS, _BLOCKS = "T", "B"  # the roots of Matcher's trie
_SEP = "\u200b"  # between the word keys of a trie path: normalisation drops it from every key
_HAS_CHILDREN = 1


class Matcher:
    """Finds glossary terms in text; see the module docstring for the rules.

    ``terms``: :class:`Term` objects or ``(term_id, Term)`` pairs.  ``lang``: the source
    language code; Arabic rules apply when it names Arabic, plain case-folded matching otherwise.
    """

    def __init__(self, terms: Iterable[TermInput], lang: str = "ar") -> None:
        self.lang = lang
        self.arabic = is_arabic(lang)
        # The trie, flat: the path of a node (its root, then _SEP + word key for each word) ->
        # _HAS_CHILDREN | (1 + entry * 2 + 1 for a source plural form, else + 0) << 1 for a
        # form that ends there.  Strings and integers only: the garbage collector never walks
        # it (a 50,000-term glossary has some 300,000 nodes).
        self._trie: dict[str, int] = {}
        self._block_words = 0
        self._entries: list[_Entry] = []
        # terms, then blocking contexts; per token flags: token -> its starts (_first_nodes)
        self._caches: list[list[dict[str, tuple[_Start, ...]]]] = [[{} for _ in range(4)] for _ in range(2)]
        self._inner_caches: list[dict[str, _Inner]] = [{} for _ in range(4)]
        self._inner_keys: dict[str, None] = {}  # a dict, not a set: not walked by the collector
        self._plurals: dict[int, tuple[str, str]] = {}
        term_keys: dict[tuple[str, bool], tuple[str, ...]] = {}
        first_keys: set[str] = set()
        variants: list[tuple[int, str, bool]] = []
        for item in terms:
            term_id, term = (None, item) if isinstance(item, Term) else item
            if term.status == "deprecated":
                continue
            entry = len(self._entries)
            blocked = [b for b in term.blocked_in if b.strip()]
            self._entries.append((term.source, term.target, term.target_plural.strip(), term_id, bool(blocked)))
            self._insert(_TERMS, term.source, entry, False, term_keys, first_keys)
            variants.extend((entry, v, False) for v in term.variants)
            variants.extend((entry, v, True) for v in term.source_plurals)
            for b in blocked:
                words = self._insert(_BLOCKS, b, entry, False, term_keys, first_keys)
                self._block_words = max(self._block_words, words)
        for entry, form, plural in variants:
            self._insert(_TERMS, form, entry, plural, term_keys, first_keys)
        # every word key (without a conjunction), to skip suffix readings that cannot match
        keys = first_keys | set(self._inner_keys)
        self._stems = dict.fromkeys(keys | {k[1:] for k in keys if k[:1] in _CONJ})

    def __len__(self) -> int:
        """Number of (non-deprecated) terms."""
        return len(self._entries)

    # ---------------------------------------------------------------- trie construction

    def _term_keys(self, word: str, first: bool) -> tuple[str, ...]:
        if not self.arabic:
            return (word,)
        keys = article_keys(word)
        if not first and word[:1] in _CONJ and word[1:3] == "\u0627\u0644":
            keys += tuple(word[0] + k for k in article_keys(word[1:]))  # والسلامة ~ و + سلامة
        return keys

    def _insert(
        self,
        root: str,
        form: str,
        entry: int,
        plural: bool,
        memo: dict[tuple[str, bool], tuple[str, ...]],
        first_keys: set[str],
    ) -> int:
        """Add the paths of one term form under ``root``; the number of its words."""
        words, gaps = _words_and_gaps(form, self.lang)
        if not words:
            return 0
        options = []
        for k, w in enumerate(words):
            keys = memo.get((w, k == 0))
            if keys is None:
                keys = memo[(w, k == 0)] = self._term_keys(w, k == 0)
            if k:
                self._inner_keys.update(dict.fromkeys(keys))
                gap = _gap_key(gaps[k - 1])
                if gap:
                    keys = tuple(gap + key for key in keys)
            else:
                first_keys.update(keys)
            options.append(keys)
        trie = self._trie
        single = all(len(o) == 1 for o in options)
        for path in (tuple(o[0] for o in options),) if single else itertools.product(*options):
            node = root
            for k, key in enumerate(path):
                if k:
                    trie[node] |= _HAS_CHILDREN
                node = node + _SEP + key
                trie.setdefault(node, 0)
            if not trie[node] >> 1:  # the first form inserted wins
                trie[node] |= (1 + entry * 2 + plural) << 1
        return len(words)

    # ---------------------------------------------------------------- text analysis

    def _first_nodes(self, root: str, word: str, flags: int) -> tuple[_Start, ...]:
        """How a text token can start a term under ``root``: its readings (proclitics and
        suffixes stripped, shortest prefix first) that reach a trie node (see :data:`_Start`).
        Cached: the trie does not change."""
        cache = self._caches[root == _BLOCKS][flags]
        got = cache.get(word)
        if got is None:
            if root == _TERMS:
                self._learn(word, flags)
                return cache[word]
            analyses = word_analyses(word, flags, True, self._stems) if self.arabic else _plain(word)
            if len(cache) > _CACHE_LIMIT:
                cache.clear()
            got = cache[word] = self._starts(root, analyses)
        return got

    def _inner(self, word: str, flags: int) -> _Inner:
        """(key, last_ok, fem, alef) of a text token after the first word of a term, only the
        keys some term word has (cached)."""
        got = self._inner_caches[flags].get(word)
        if got is None:
            self._learn(word, flags)
            return self._inner_caches[flags][word]
        return got

    def _learn(self, word: str, flags: int) -> None:
        """Analyse a text token, once for the whole text: how it may start a term
        (:meth:`_first_nodes`) and how it may continue one (:meth:`_inner`)."""
        if self.arabic:
            firsts, laters = word_analyses_both(word, flags, self._stems)
        else:
            firsts = laters = _plain(word)
        starts, inner = self._caches[0][flags], self._inner_caches[flags]
        if len(starts) > _CACHE_LIMIT or len(inner) > _CACHE_LIMIT:
            starts.clear()
            inner.clear()
        starts[word] = self._starts(_TERMS, firsts)
        keys = self._inner_keys
        inner[word] = tuple((a[1], a[3], a[4], a[5]) for a in laters if a[1] in keys)

    def _starts(self, root: str, analyses: tuple[Analysis, ...]) -> tuple[_Start, ...]:
        trie = self._trie
        starts = []
        for a in analyses:
            node = root + _SEP + a[1]
            info = trie.get(node)
            if info is None:
                continue
            end = info >> 1
            hit = None
            if end and a[3]:
                hit = ((end - 1) >> 1, "plural" if (end - 1) & 1 else _NUMBERS[a[2]])
            starts.append((a[0], node, a[2], hit, not info & _HAS_CHILDREN))
        return tuple(starts)

    def _analyse(self, text: str) -> _Text:
        norm = normalise(text, self.lang)
        nt = norm.text
        words, gaps, starts, ends = token_layout(nt)
        flags = [0] * len(words)
        if self.arabic:
            origin = norm.origin
            for k in [k for k, w in enumerate(words) if w[-1] == "\u0647"]:
                if text[origin(ends[k] - 1)] in _TA_MARBUTA:
                    flags[k] = FINAL_TA_MARBUTA
            if "\u064b" in text:  # fathatan: the tanween alif may be marked
                for k in [k for k, w in enumerate(words) if w[-1] == "\u0627" and len(w) > 1]:
                    s, e = starts[k], ends[k]
                    if "\u064b" in text[origin(e - 2) : norm.span(s, e)[1]]:
                        flags[k] = TANWEEN
        # what separates token k from token k + 1, as a trie key prefix ("" for one space)
        keys = ["" if g == " " else _gap_key(g) for g in gaps]
        return _Text(text, norm, starts, ends, words, flags, keys, [None] * len(words))

    def _walk(self, t: _Text, i: int, starts: tuple[_Start, ...]) -> list[tuple[int, int, int, str]]:
        """Every term starting at token ``i`` (from its ``starts``, see :meth:`_first_nodes`):
        (prefix length, last token, entry, number), in preference order (shorter prefix first,
        then trie order).

        From each start, depth-first over the following tokens: at each trie node, every
        analysis of the next token is tried (the first analysis first) and the terms ending
        there are reported before going deeper (:meth:`_deeper`)."""
        found: list[tuple[int, int, int, str]] = []
        trie, nexts = self._trie, t.nexts
        analyses: _Inner | None = None
        for plen, node0, num0, hit, leaf in starts:
            if hit is not None:
                found.append((plen, i, hit[0], hit[1]))
            if leaf or i + 1 >= len(nexts):
                continue  # a leaf: the common case
            if analyses is None:
                analyses = nexts[i + 1]
                if analyses is None:  # each token is analysed once per text, only when reached
                    analyses = nexts[i + 1] = self._next_keys(t, i + 1)
            prefix = node0 + _SEP
            deeper: list[tuple[str, int, str]] | None = None
            for key, last, fem, alef in analyses:
                info = trie.get(prefix + key)
                if info is None:
                    continue
                num = num0 if num0 != "a" else ("s" if alef else "d")  # tanween if the next agrees
                if fem and num not in ("d", "p"):
                    continue
                end = info >> 1
                if end and last:
                    found.append((plen, i + 1, (end - 1) >> 1, "plural" if (end - 1) & 1 else _NUMBERS[num]))
                if info & _HAS_CHILDREN:
                    if deeper is None:
                        deeper = []
                    deeper.append((prefix + key, i + 1, num))
            if deeper:
                deeper.reverse()
                self._deeper(t, plen, deeper, found)
        return found

    def _deeper(
        self,
        t: _Text,
        plen: int,
        stack: list[tuple[str, int, str]],
        found: list[tuple[int, int, int, str]],
    ) -> None:
        """:meth:`_walk` from the third word of a term on (``stack``: trie node, its last token,
        the number of the match; the next one to visit last)."""
        trie, nexts = self._trie, t.nexts
        n = len(nexts)
        while stack:
            node, j, num = stack.pop()
            if j + 1 >= n:
                continue
            analyses = nexts[j + 1]
            if analyses is None:
                analyses = nexts[j + 1] = self._next_keys(t, j + 1)
            prefix = node + _SEP
            deeper = []
            for key, last, fem, _ in analyses:
                info = trie.get(prefix + key)
                if info is None or (fem and num not in ("d", "p")):
                    continue
                end = info >> 1
                if end and last:
                    found.append((plen, j + 1, (end - 1) >> 1, "plural" if (end - 1) & 1 else _NUMBERS[num]))
                if info & _HAS_CHILDREN:
                    deeper.append((prefix + key, j + 1, num))
            if deeper:
                deeper.reverse()
                stack.extend(deeper)

    def _next_keys(self, t: _Text, k: int) -> _Inner:
        """(trie key, may end a term, feminine agreement, alif) of token ``k`` (``k >= 1``) as a
        later word of a term: :meth:`_inner`, its keys prefixed with the gap before it."""
        word, flags = t.words[k], t.flags[k]
        got = self._inner_caches[flags].get(word)
        if got is None:
            got = self._inner(word, flags)
        gap = t.gaps[k - 1]
        if gap:
            got = tuple((gap + key, last, fem, alef) for key, last, fem, alef in got)
        return got

    def _blocked(self, t: _Text, entry: int, i: int, j: int) -> bool:
        """True when a blocking context of ``entry`` covers tokens ``i..j``."""
        for k in range(max(0, i - self._block_words + 1), i + 1):
            starts = self._first_nodes(_BLOCKS, t.words[k], t.flags[k])
            for _, jj, e, _ in self._walk(t, k, starts) if starts else ():
                if e == entry and jj >= j:
                    return True
        return False

    def _unblocked(
        self, t: _Text, i: int, found: list[tuple[int, int, int, str]]
    ) -> list[tuple[int, int, int, str]]:
        """``found`` (from :meth:`_walk` at token ``i``) without the terms in a blocking context."""
        entries = self._entries
        return [c for c in found if not (entries[c[2]][4] and self._blocked(t, c[2], i, c[1]))]

    def _matches(self, t: _Text, found: list[tuple[int, int, int, int, str]]) -> list[TermMatch]:
        """The :class:`TermMatch` of each (first token, prefix length, last token, entry,
        number) of ``found``."""
        text, entries = t.text, self._entries
        spans = t.norm.spans([(t.starts[i] + plen, t.ends[j]) for i, plen, j, _, _ in found])
        out = []
        for (_, _, _, entry, number), (start, end) in zip(found, spans):
            if end < len(text) and text[end] in _CLOSERS:
                end = _balance_end(text, start, end)
            source, target, _, term_id, _ = entries[entry]
            form = "approved"
            if number != "singular":
                target, form = self._plural(entry)
            out.append(TermMatch(source, target, start, end, text[start:end], term_id, number, form))
        return out

    def _plural(self, entry: int) -> tuple[str, str]:
        """The entry's plural target and where it comes from (cached)."""
        got = self._plurals.get(entry)
        if got is None:
            _, target, plural, _, _ = self._entries[entry]
            got = (plural, "plural") if plural else (derive_plural(target), "derived-plural")
            self._plurals[entry] = got
        return got

    def find(self, text: str) -> list[TermMatch]:
        """Leftmost-longest, non-overlapping matches, offsets into ``text``, in text order."""
        t = self._analyse(text)
        chosen: list[tuple[int, int, int, int, str]] = []
        words, flags = t.words, t.flags
        caches = self._caches[0]
        walk, blocking = self._walk, self._block_words > 0
        i, n = 0, len(words)
        while i < n:
            starts = caches[flags[i]].get(words[i])
            if starts is None:
                starts = self._first_nodes(_TERMS, words[i], flags[i])
            if not starts:
                i += 1
                continue
            found = walk(t, i, starts)
            if found and blocking:
                found = self._unblocked(t, i, found)
            if not found:
                i += 1
                continue
            best = found[0]
            for c in found:  # the first of the longest
                if c[1] > best[1]:
                    best = c
            plen, j, entry, number = best
            chosen.append((i, plen, j, entry, number))
            i = j + 1
        return self._matches(t, chosen)

    def find_all(self, text: str) -> list[TermMatch]:
        """Every match, overlapping ones included, sorted by (start, -end); for analysis/lint."""
        t = self._analyse(text)
        out: dict[tuple[int, int, int], tuple[int, int, int, int, str]] = {}
        for i in range(len(t.words)):
            # readings come shortest prefix first: keep that one per (first, last token, term)
            starts = self._first_nodes(_TERMS, t.words[i], t.flags[i])
            found = self._walk(t, i, starts) if starts else []
            if found and self._block_words:
                found = self._unblocked(t, i, found)
            for plen, j, entry, number in found:
                if (i, j, entry) not in out:
                    out[(i, j, entry)] = (i, plen, j, entry, number)
        return sorted(self._matches(t, list(out.values())), key=lambda m: (m.start, -m.end, m.source))


# How a text token starts a term: (prefix length, trie node, number, the term ending there
# as (entry, number) when the word may end a term, True when the node is a leaf)
_Start = tuple[int, str, str, tuple[int, str] | None, bool]


# (key, may end a term, feminine agreement, tanween/construct alif) of a text token after the
# first word of a term
_Inner = tuple[tuple[str, bool, bool, bool], ...]


class _Text(NamedTuple):
    text: str
    norm: Normalised
    starts: list[int]  # of each token in the normalised text
    ends: list[int]
    words: list[str]
    flags: list[int]
    gaps: list[str]  # gaps[k]: the trie key prefix between tokens k and k + 1
    nexts: list[_Inner | None]  # each token as a later word of a term (:meth:`Matcher._next_keys`)


def _plain(word: str) -> tuple[Analysis, ...]:
    analysis: Analysis = (0, word, "s", True, False, False)
    return (analysis,)


@lru_cache(maxsize=1 << 14)
def derive_plural(target: str) -> str:
    """English plural of a target phrase with ``inflect`` (its head noun pluralised:
    "de-escalation zone" -> "de-escalation zones", "round of talks" -> "rounds of talks").

    A target that is already plural ("de-escalation zones") is kept; a trailing number stays
    after the pluralised words ("resolution 2254" -> "resolutions 2254")."""
    words = target.split(" ")
    tail: list[str] = []
    while len(words) > 1 and not any(c.isalpha() for c in words[-1]):
        tail.insert(0, words.pop())
    head = " ".join(words)
    if not head or _is_plural(head):
        return target
    return " ".join([_inflect().plural_noun(head) or head, *tail])


def _is_plural(phrase: str) -> bool:
    """True when inflect reads ``phrase`` as the plural of another form ("zones", "rounds of
    talks"); words in -is/-ss/-us ("crisis", "press", "consensus") are singular."""
    engine = _inflect()
    head = phrase.split(" of ", 1)[0]
    if head.endswith(("is", "ss", "us")):
        return False
    singular = engine.singular_noun(phrase)
    return bool(singular) and singular != phrase and engine.plural_noun(singular) == phrase


def plural_is_uncertain(target: str) -> bool:
    """True when the English plural of ``target`` is not a plain -s/-es/-ies form or inflect's
    classical and modern plurals differ ("memorandum": memoranda or memorandums)."""
    words = [w for w in target.split(" ") if any(c.isalpha() for c in w)]
    if not words or _is_plural(" ".join(words)):
        return False
    head = " ".join(words)
    derived = derive_plural(head)
    classical = _classical().plural_noun(head) or head
    before, sep, after = head.partition(" of ")
    last = before
    if re.search(r"(s|x|z|ch|sh)$", last):
        regular = last + "es"
    elif re.search(r"[^aeiou]y$", last):
        regular = last[:-1] + "ies"
    else:
        regular = last + "s"
    return derived != classical or derived != regular + sep + after


@lru_cache(maxsize=1)
def _inflect() -> Any:
    # lazily: only needed for a dual/plural match without a target_plural (the import takes
    # seconds: inflect's typeguard decorators re-parse its source)
    import inflect

    return inflect.engine()


@lru_cache(maxsize=1)
def _classical() -> Any:
    import inflect

    engine = inflect.engine()
    engine.classical(all=True)
    return engine


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
    fields += [("variant", v) for v in term.variants] + [("target plural", term.target_plural)]
    fields += [("source plural", v) for v in term.source_plurals] + [("blocking context", v) for v in term.blocked_in]
    fields += [("note", term.note)]
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

    # Shorter terms inside longer ones whose translation does not carry theirs, unless a
    # blocking context keeps the shorter one out (then the matcher does not find it here).
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
                            f"translations agree, give {a.source!r} a blocking context "
                            f"({b.source!r}) if it must not match there, or add a note "
                            "explaining the difference.",
                        )
                    )
    if arabic:
        issues.extend(_plural_issues(active))
    return issues


# Head nouns that are (in this domain) mass or uncountable: a term headed by one has no plural to
# give.  Words ending in -ism and -ness are taken as such too (:func:`_is_mass_noun`).
def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_MASS_NOUNS = _word_set(
    """
    access accountability advice aid assistance autonomy calm cessation compliance condemnation consent
    cooperation coordination corruption de-escalation democracy development dialogue diplomacy
    disengagement displacement disarmament enrichment escalation evidence extremism funding governance health help
    humanity immunity impunity independence information infrastructure integrity intelligence
    interference justice knowledge legitimacy leadership liberty momentum neutrality news
    non-interference non-proliferation occupation opposition oversight peace peacekeeping progress prosperity
    protection reconciliation reconstruction recovery relief research restraint rhetoric safety
    security self-determination self-defence shelling sovereignty stability stabilisation
    stabilization solidarity support sustainability territorial tolerance trade transparency
    unity unrest vigilance violence welfare
    """
)
# English words ending in an adjective suffix that are (also) countable nouns
_NOUNS_LIKE_ADJECTIVES = _word_set(
    """
    animal approval arrival capital cardinal criminal denial dismissal festival general hospital
    individual initiative journal memorial minimal national official periodical principal
    professional proposal referral refusal removal renewal representative rival signal survival
    terminal trial tribunal withdrawal objective directive executive alternative explosive
    incentive narrative perspective collective relative mechanic
    """
)
_ADJECTIVE_ENDINGS = ("al", "ic", "ical", "ous", "ive", "ful", "less", "able", "ible", "ed", "ian", "ese")
_COMPOUND_ADJECTIVE_ENDINGS = ("-level", "-term", "-scale", "-range", "-wide", "-based", "-led", "-backed", "-run")
_FUNCTION_WORDS = _word_set("a an and at by de for from in of on or the to with")


def _target_head(target: str) -> str:
    """The head word of an English noun phrase: the last word before "of", else the last word
    (numbers and brackets ignored), lower-cased."""
    before = target.split(" of ", 1)[0]
    words = [w.strip("()[]\"'.,;:") for w in before.split()]
    words = [w for w in words if any(c.isalpha() for c in w)]
    return words[-1].casefold() if words else ""


def _is_proper_name(target: str) -> bool:
    """Every content word capitalised ("Homs", "Security Council", "UN Special Envoy for
    Syria"), or an acronym."""
    words = [w for w in target.split() if any(c.isalpha() for c in w)]
    content = [w for w in words if w.casefold() not in _FUNCTION_WORDS]
    return bool(content) and all(w[:1].isupper() for w in content)


def _is_mass_noun(head: str) -> bool:
    return head in _MASS_NOUNS or head.endswith(("ism", "ness"))


def _is_noun_head(target: str, head: str) -> bool:
    """False when the head is clearly not a noun: an infinitive ("to ratify"), an adverb, or a
    one-word target with an adjective or participle ending ("bilateral", "displaced") or a
    compound adjective ("high-level")."""
    if target.casefold().startswith("to ") or head.endswith("ly") or head in _FUNCTION_WORDS:
        return False
    words = [w for w in target.split() if any(c.isalpha() for c in w)]
    if len(words) == 1 and head.endswith(_ADJECTIVE_ENDINGS) and head not in _NOUNS_LIKE_ADJECTIVES:
        return False
    return not (len(words) == 1 and head.endswith(_COMPOUND_ADJECTIVE_ENDINGS))  # "high-level"


def plural_missing_reason(term: Term) -> str:
    """Why the plural of ``term`` is probably missing, or ``""``.

    Reported: a countable noun term (its English head is a noun, neither mass nor uncountable,
    and it is not a proper name) whose target is singular, with no ``target_plural``, no
    ``source_plurals`` and no note.  Not reported: proper names (every content word
    capitalised: "Homs", "Security Council"), mass nouns ("sovereignty", "humanitarian aid",
    words in -ism and -ness), targets that are already plural ("de-escalation zones") or that
    do not change in the plural, non-noun heads ("to ratify", "bilateral"), and any entry with a
    note (the note is where a reviewer says how the term is used in the plural)."""
    target = " ".join(term.target.split())
    if not target or term.target_plural.strip() or term.source_plurals or term.note.strip():
        return ""
    head = _target_head(target)
    if not head or _is_proper_name(target) or _is_mass_noun(head) or not _is_noun_head(target, head):
        return ""
    if _is_plural(target) or derive_plural(target) == target:
        return ""  # already plural, or no plural to give
    if plural_is_uncertain(target):
        return f"its English plural is irregular or disputed (inflect gives {derive_plural(target)!r})"
    return (
        f"a dual or plural match would be translated with the derived plural {derive_plural(target)!r},"
        " unreviewed"
    )


def _plural_issues(terms: Sequence[Term]) -> list[LintIssue]:
    """Noun terms whose plural is probably missing (:func:`plural_missing_reason`)."""
    issues: list[LintIssue] = []
    for t in terms:
        why = plural_missing_reason(t)
        if why:
            issues.append(
                LintIssue(
                    "warning",
                    "plural-missing",
                    t.source,
                    f"No plural form, and {why}; add target_plural (and source_plurals for a broken "
                    "plural of the source), or a note saying how the term is used in the plural.",
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
