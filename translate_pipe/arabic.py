"""Text normalisation for term matching, with an offset map back to the original text.

Two schemes, chosen by the source language code (:func:`is_arabic`):

**Arabic** (``"ar"``, ``"ara"``, ``"arb"``, ``"ar-XX"``, ``"arb_Arab"``, ...), per character:

* presentation forms U+FB50–U+FDFF and U+FE70–U+FEFF are folded with NFKC (one original
  character may become several: ``ﻻ`` -> ``لا``, ``ﷲ`` -> ``الله``; isolated-mark forms such as
  U+FE70 become nothing);
* alef forms ``أ إ آ ٱ`` -> ``ا``; the other hamza seats ``ؤ ئ`` -> ``ء`` (so ``مسؤول`` =
  ``مسئول`` = ``مسءول``); ``ة`` -> ``ه``; ``ى`` -> ``ي``; Persian keheh ``ک`` -> ``ك`` and
  Persian yeh ``ی`` -> ``ي``;
* Eastern Arabic digits ``٠-٩`` and Persian digits ``۰-۹`` -> ASCII ``0-9``;
* diacritics U+064B–U+065F and dagger alef U+0670 are removed, and so is tatweel U+0640;
* zero-width and bidi control characters are removed (:data:`INVISIBLE`);
* Latin letters are case-folded;
* every run of whitespace (line breaks included) becomes one space.

**Plain** (any other language): case folding, invisible controls removed, whitespace runs
collapsed.

:func:`normalise` returns a :class:`Normalised` that maps every normalised character back to the
original character it came from, so that spans found in the normalised text can be reported
against the real text (:meth:`Normalised.span`).  A span's end is extended over diacritics and
tatweel that follow its last letter, so ``المتحدةُ`` is reported with its final damma.

:func:`token_spans` gives the tokens of a normalised text (runs of letters and digits, Arabic or
Latin; punctuation is never part of a token); :meth:`Normalised.span` maps them back.

Proclitics (:func:`proclitic_readings`)
---------------------------------------
A normalised Arabic token is read as ``prefix + stem`` where the prefix is an optional
conjunction (``و`` or ``ف``), then an optional preposition (``ب``, ``ك`` or ``ل``), then an optional
article ``ال``; ``ل`` + ``ال`` is written ``لل`` (the alef drops:
``للمناطق`` = ``ل`` + ``المناطق``),
and before a stem that itself starts with ``ل`` one lam drops as well (``للجنة`` = ``ل`` +
``اللجنة``, ``لله`` = ``ل`` + ``الله``).  Rules for short stems, to keep look-alike words apart:

* a reading that strips the article (``ال`` or ``لل``) needs a stem of at least
  :data:`MIN_STEM` (2) letters;
* a reading that strips only one-letter proclitics (``و ف ب ك ل`` and their combinations, no
  article) needs a stem of at least :data:`MIN_BARE_STEM` (3) letters, because in a
  three-letter word the first letter is far more often a root letter than a clitic:
  ``ولد`` (boy), ``بلد`` (country), ``فرد``, ``كرد``, ``ورد`` are never read as
  clitic + two letters;
* the article is ignored when comparing stems of three letters or more (``الأمن`` ~ ``أمن``),
  but for a two-letter stem it is part of the word (:func:`word_key`): a term written with it
  needs it in the text (``الله`` does not match ``له``, ``اللد`` (Lod) does not match ``لد``),
  while a term written without it also matches the text with it (``رد`` matches ``الرد``), see
  :func:`reading_keys`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from array import array
from collections.abc import Callable, Container
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "INVISIBLE",
    "MIN_BARE_STEM",
    "MIN_STEM",
    "Normalised",
    "FINAL_TA_MARBUTA",
    "Analysis",
    "PRONOUNS",
    "TANWEEN",
    "Inflection",
    "Reading",
    "article_keys",
    "has_arabic_letter",
    "is_arabic",
    "normalise",
    "normalise_text",
    "proclitic_readings",
    "reading_keys",
    "suffix_readings",
    "text_word_keys",
    "token_layout",
    "token_spans",
    "word_analyses",
    "word_analyses_both",
    "word_key",
]

MIN_STEM = 2
MIN_BARE_STEM = 3

# Zero-width and bidi control characters, dropped by both schemes.
INVISIBLE = frozenset(
    "\u00ad"  # soft hyphen
    "\u034f"  # combining grapheme joiner
    "\u061c"  # arabic letter mark (ALM)
    "\u180e"  # mongolian vowel separator
    "\u200b\u200c\u200d"  # ZWSP, ZWNJ, ZWJ
    "\u200e\u200f"  # LRM, RLM
    "\u202a\u202b\u202c\u202d\u202e"  # LRE, RLE, PDF, LRO, RLO
    "\u2060\u2061\u2062\u2063\u2064"  # word joiner, invisible operators
    "\u2066\u2067\u2068\u2069"  # LRI, RLI, FSI, PDI
    "\ufeff"  # BOM / zero-width no-break space
)

# Removed from Arabic text and attached to the preceding letter for span ends.
_ARABIC_MARKS = frozenset(
    [chr(c) for c in range(0x064B, 0x0660)]
    + ["\u0670", "\u0640"]  # harakat..., dagger alef, tatweel
)

_ARABIC_LETTER_MAP = {
    "\u0623": "\u0627",  # أ -> ا
    "\u0625": "\u0627",  # إ -> ا
    "\u0622": "\u0627",  # آ -> ا
    "\u0671": "\u0627",  # ٱ -> ا
    "\u0629": "\u0647",  # ة -> ه
    "\u0649": "\u064a",  # ى -> ي
    "\u06a9": "\u0643",  # Persian keheh ک -> ك
    "\u06cc": "\u064a",  # Persian yeh ی -> ي
    "\u0624": "\u0621",  # ؤ -> ء  (hamza seats are told apart no more than alef forms)
    "\u0626": "\u0621",  # ئ -> ء
    **{chr(0x0660 + d): str(d) for d in range(10)},  # Eastern Arabic digits -> ASCII
    **{chr(0x06F0 + d): str(d) for d in range(10)},  # Persian digits -> ASCII
}

_ALEF = "\u0627"
_LAM = "\u0644"
_ARTICLE = "\u0627\u0644"  # ال
_CONJUNCTIONS = ("", "\u0648", "\u0641")  # و ف
_PREPOSITIONS = ("", "\u0628", "\u0643", "\u0644")  # ب ك ل
# the first letter of every proclitic prefix: و ف ب ك ل and the article's ا
_PROCLITIC_INITIALS = frozenset("\u0648\u0641\u0628\u0643\u0644\u0627")


def is_arabic(lang: str) -> bool:
    """True when ``lang`` names Arabic: ``ar``, ``ara``, ``arb`` with any region/script suffix."""
    primary = lang.strip().lower().replace("_", "-").split("-", 1)[0]
    return primary in {"ar", "ara", "arb"}


def _is_presentation_form(c: str) -> bool:
    o = ord(c)
    return 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF


def _map_arabic_char(c: str) -> str:
    """Normalised form of one character under the Arabic scheme ('' when dropped)."""
    if c in INVISIBLE or c in _ARABIC_MARKS:
        return ""
    if _is_presentation_form(c):
        folded = unicodedata.normalize("NFKC", c)
        if folded != c:
            out = "".join(_map_arabic_char(x) for x in folded)
            # isolated forms of marks decompose to " " + mark: keep no stray spaces
            return re.sub(r"\s+", " ", out).strip()
    mapped = _ARABIC_LETTER_MAP.get(c)
    if mapped is not None:
        return mapped
    return c.casefold()


def _map_plain_char(c: str) -> str:
    if c in INVISIBLE:
        return ""
    return c.casefold()


class _Scheme:
    """Per-character mapping plus the tables used by the fast path of :func:`normalise`."""

    def __init__(self, char_map: Callable[[str], str], arabic: bool) -> None:
        self.char_map = char_map
        self.arabic = arabic
        scheme = self

        class _Table(dict):  # type: ignore[type-arg]
            """str.translate table computed lazily, one code point at a time."""

            def __missing__(self, key: int) -> str:
                value = scheme.char_map(chr(key))
                self[key] = value
                return value

        # Characters whose mapping is not exactly one character ("irregular") are handled one
        # by one; everything between them is translated in bulk.  Only these can be irregular:
        # invisible controls, Arabic marks, presentation forms and the (BMP-only) characters
        # whose case folding expands.
        candidates = set(INVISIBLE) | _casefold_expanders()
        if arabic:
            candidates |= _ARABIC_MARKS
            candidates |= {chr(i) for i in range(0xFB50, 0xFE00)}
            candidates |= {chr(i) for i in range(0xFE70, 0xFF00)}
        irregular = sorted(ord(c) for c in candidates if not c.isspace() and len(char_map(c)) != 1)
        self.table: dict[int, str] = _Table()
        self.irregular_re = re.compile(
            r"(\s{2,}|[^\S ])|[" + _char_class(irregular) + "]" if irregular else r"(\s{2,}|[^\S ])"
        )
        self.attached = frozenset(
            chr(i) for i in irregular if char_map(chr(i)) == "" and chr(i) not in INVISIBLE
        )


def _char_class(codepoints: list[int]) -> str:
    """Regex character class body for sorted code points, as ranges."""
    parts: list[str] = []
    start = prev = codepoints[0]
    for cp in [*codepoints[1:], -1]:
        if cp == prev + 1:
            prev = cp
            continue
        parts.append(f"\\U{start:08x}" if start == prev else f"\\U{start:08x}-\\U{prev:08x}")
        start = prev = cp
    return "".join(parts)


@lru_cache(maxsize=1)
def _casefold_expanders() -> set[str]:
    return {chr(i) for i in range(0x10000) if len(chr(i).casefold()) != 1}


@lru_cache(maxsize=2)
def _scheme(arabic: bool) -> _Scheme:
    return _Scheme(_map_arabic_char if arabic else _map_plain_char, arabic)


@lru_cache(maxsize=1)
def _token_re() -> re.Pattern[str]:
    # combining marks keep a word together (BMP marks; astral ones are too rare to matter)
    return re.compile(r"(?:[^\W_]|[" + _char_class(_marks()) + "])+")


@lru_cache(maxsize=1)
def _token_re_no_underscore() -> re.Pattern[str]:
    """:func:`_token_re` for a text without ``_``: one character class, twice as fast."""
    return re.compile(r"[\w" + _char_class(_marks()) + "]+")


@lru_cache(maxsize=1)
def _marks() -> list[int]:
    return [i for i in range(0x10000) if unicodedata.category(chr(i)).startswith("M")]


class Normalised:
    """A normalised text with, for every normalised character, the original index it came from."""

    __slots__ = ("_attached", "_origin", "original", "text")

    def __init__(self, original: str, text: str, origin: array, attached: frozenset[str]) -> None:
        self.original = original
        self.text = text
        self._origin = origin
        self._attached = attached

    def __repr__(self) -> str:
        return f"Normalised({self.text!r})"

    def origin(self, index: int) -> int:
        """Index in the original text of the character that produced ``text[index]``."""
        return self._origin[index]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original ``(start, end)`` for the normalised span ``text[start:end]`` (end exclusive).

        The start is the original character of the first normalised character (a ligature
        that is only partly inside still counts as a whole).  The end is one past the original
        character of the last normalised character, extended over the diacritics and tatweel
        that follow it.
        """
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span ({start}, {end}) is empty or outside 0..{len(self.text)}")
        o_start = self._origin[start]
        o_end = self._origin[end - 1] + 1
        original = self.original
        n = len(original)
        while o_end < n and original[o_end] in self._attached:
            o_end += 1
        return o_start, o_end

    def spans(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """:meth:`span` of each of ``spans``."""
        origin, original, attached = self._origin, self.original, self._attached
        n, size = len(original), len(self.text)
        out = []
        for start, end in spans:
            if not 0 <= start < end <= size:
                raise ValueError(f"span ({start}, {end}) is empty or outside 0..{size}")
            o_end = origin[end - 1] + 1
            while o_end < n and original[o_end] in attached:
                o_end += 1
            out.append((origin[start], o_end))
        return out


def normalise(text: str, lang: str = "ar") -> Normalised:
    """Normalise ``text`` for matching (scheme chosen by :func:`is_arabic`), keeping offsets."""
    scheme = _scheme(is_arabic(lang))
    table = scheme.table
    pieces: list[str] = []
    origin = array("q")
    prev_space = False
    pos = 0
    for m in scheme.irregular_re.finditer(text):
        s = m.start()
        if s > pos:
            pos, prev_space = _regular(text, pos, s, table, pieces, origin, prev_space)
        if m.group(1) is not None:  # whitespace to collapse
            if not prev_space:
                pieces.append(" ")
                origin.append(s)
                prev_space = True
        else:
            mapped = scheme.char_map(text[s])
            if mapped:
                if prev_space and mapped[0] == " ":
                    mapped = mapped[1:]
                pieces.append(mapped)
                origin.extend([s] * len(mapped))
                prev_space = mapped[-1:] == " " if mapped else prev_space
        pos = m.end()
    if pos < len(text):
        _regular(text, pos, len(text), table, pieces, origin, prev_space)
    return Normalised(text, "".join(pieces), origin, scheme.attached)


def _regular(
    text: str,
    start: int,
    end: int,
    table: dict[int, str],
    pieces: list[str],
    origin: array,
    prev_space: bool,
) -> tuple[int, bool]:
    """Append text[start:end] (only one-to-one characters, no whitespace runs) in bulk."""
    piece = text[start:end].translate(table)
    if prev_space and piece[0] == " ":
        piece = piece[1:]
        start += 1
    if piece:
        pieces.append(piece)
        origin.extend(range(start, end))
        prev_space = piece[-1] == " "
    return end, prev_space


def normalise_text(text: str, lang: str = "ar") -> str:
    """Only the normalised string (``normalise(text, lang).text``), faster, without offsets."""
    scheme = _scheme(is_arabic(lang))
    table = scheme.table
    out = text.translate(table)  # irregular characters go through the same lazy table
    return re.sub(r"\s+", " ", out)


def token_spans(normalised_text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each token in an already normalised text."""
    return [m.span() for m in _token_re().finditer(normalised_text)]


def token_layout(normalised_text: str) -> tuple[list[str], list[str], list[int], list[int]]:
    """The tokens of an already normalised text with what lies between them and where they
    are: ``(words, gaps, starts, ends)``, ``gaps[k]`` between ``words[k]`` and ``words[k + 1]``
    (the same tokens as :func:`token_spans`, found in bulk)."""
    token_re = _token_re() if "_" in normalised_text else _token_re_no_underscore()
    words = token_re.findall(normalised_text)
    pieces = token_re.split(normalised_text)  # [before, gap, ..., gap, after]
    parts = [""] * (2 * len(words) + 1)
    parts[0::2] = pieces
    parts[1::2] = words
    offsets = list(itertools.accumulate(map(len, parts)))  # start0, end0, start1, end1, ...
    return words, pieces[1:-1], offsets[0:-1:2], offsets[1::2]


class Reading(NamedTuple):
    """One analysis of a token: ``token == prefix + stem``.

    ``definite`` is True when the reading contains the article, written (``ال``) or elided
    (``لل``).
    """

    prefix: str
    stem: str
    definite: bool


def word_key(stem: str, definite: bool) -> str:
    """Key under which a stem is compared: the article only counts for stems under 3 letters."""
    if definite and len(stem) < MIN_BARE_STEM:
        return _ARTICLE + stem
    return stem


def proclitic_readings(token: str) -> tuple[Reading, ...]:
    """All proclitic readings of a *normalised* Arabic token, shortest prefix first.

    The first reading is always ``Reading("", token, False)``.  See the module docstring for the
    prefixes and the minimum stem lengths.
    """
    return tuple(Reading(*r) for r in _proclitic_splits(token))


@lru_cache(maxsize=1 << 16)
def _proclitic_splits(token: str) -> tuple[tuple[str, str, bool], ...]:
    """:func:`proclitic_readings` as plain tuples (which the garbage collector stops tracking)."""
    if token[:1] not in _PROCLITIC_INITIALS:
        return (("", token, False),)
    readings = [("", token, False)]
    for conj in _CONJUNCTIONS:
        if not token.startswith(conj):
            continue
        for prep in _PREPOSITIONS:
            prefix = conj + prep
            if not token.startswith(prefix):
                continue
            rest = token[len(prefix) :]
            if prefix and len(rest) >= MIN_BARE_STEM:
                readings.append((prefix, rest, False))
            if prep == _LAM:
                if rest.startswith(_LAM):
                    if len(rest) - 1 >= MIN_STEM:  # لل + stem: ل + ال + stem
                        readings.append((prefix + _LAM, rest[1:], True))
                    if len(rest) >= MIN_STEM:  # ل + ال + ل... with one lam dropped
                        readings.append((prefix, rest, True))
            elif rest.startswith(_ARTICLE) and len(rest) - 2 >= MIN_STEM:
                readings.append((prefix + _ARTICLE, rest[2:], True))
    readings.sort(key=lambda r: len(r[0]))
    return tuple(dict.fromkeys(readings))


def article_keys(word: str) -> tuple[str, ...]:
    """Keys of a normalised Arabic *term* word, its article optional (literal key first)."""
    if word.startswith(_ARTICLE) and len(word) - 2 >= MIN_STEM:
        stripped = word_key(word[2:], True)
        if stripped != word:
            return (word, stripped)
    return (word,)


def reading_keys(reading: Reading) -> tuple[str, ...]:
    """Keys under which a *text* reading may match a term word.

    Its :func:`word_key`, plus the bare stem when a written article (``ال`` or ``لل``) was
    stripped from a stem of under three letters: a term without the article also matches the
    text with it (``رد`` in ``الرد``), but not the reverse (``الله`` never in ``له``).
    """
    key = word_key(reading.stem, reading.definite)
    if key != reading.stem and reading.prefix.endswith((_ARTICLE, _LAM + _LAM)):
        return (key, reading.stem)
    return (key,)


@lru_cache(maxsize=1 << 16)
def text_word_keys(word: str) -> tuple[str, ...]:
    """Keys of a normalised Arabic text word that follows the first word of a term: the
    article is its only proclitic (literal key first)."""
    readings = [Reading("", word, False)]
    if word.startswith(_ARTICLE) and len(word) - 2 >= MIN_STEM:
        readings.append(Reading(_ARTICLE, word[2:], True))
    return tuple(dict.fromkeys(k for r in readings for k in reading_keys(r)))


def has_arabic_letter(text: str) -> bool:
    """True when ``text`` contains at least one Arabic letter (any Arabic block)."""
    for c in text:
        o = ord(c)
        if (
            0x0600 <= o <= 0x06FF
            or 0x0750 <= o <= 0x077F
            or 0x08A0 <= o <= 0x08FF
            or 0xFB50 <= o <= 0xFDFF
            or 0xFE70 <= o <= 0xFEFF
        ) and unicodedata.category(c).startswith("L"):
            return True
    return False


# --------------------------------------------------------------------------- suffixes
#
# Suffix readings of a normalised token are generated here, per *text* token (never per
# glossary entry), and cached: the glossary trie holds only the canonical forms.

FINAL_TA_MARBUTA = 1  # token flag: its last letter is written ة in the original (not ه)
TANWEEN = 2  # token flag: the original carries fathatan at its end (اً)

_TA = "\u062a"  # ت
_HA = "\u0647"  # ه (also ة, normalised)
_YA = "\u064a"  # ي
_WAW = "\u0648"  # و
_NUMBER_ENDINGS = ("\u0627\u062a", "\u0627\u0646", "\u064a\u0646", "\u0648\u0646")  # ات ان ين ون
# possessive/object pronouns, longest first: هما كما ها هم هن كم كن نا ه ك ي
PRONOUNS = (
    "\u0647\u0645\u0627",
    "\u0643\u0645\u0627",
    "\u0647\u0627",
    "\u0647\u0645",
    "\u0647\u0646",
    "\u0643\u0645",
    "\u0643\u0646",
    "\u0646\u0627",
    "\u0647",
    "\u0643",
    "\u064a",
)
MIN_SUFFIX_STEM = 3
_SUFFIX_LAST = frozenset("\u0627\u064a\u0646\u062a\u0647\u0643\u0645\u0648")  # ا ي ن ت ه ك م و


# One suffix reading of a token: (stem, number, bound, last_ok, fem, alef), plain tuples because
# they are made by the hundred thousand.  ``stem``: normalised, ة restored as ه.  ``number``:
# "s" singular, "d" dual, "p" plural, or "a" for a bare final ا after a stem without ة, which is
# either the tanween alif (singular) or a dual in construct; the matcher decides from the next
# word (see :mod:`translate_pipe.glossary`).  ``bound``: the suffix excludes the article on the
# same word (pronouns, construct endings, tanween).  ``last_ok``: the word may end a term (False
# for a bare ي or و right after a stem without ة: ``أمني``, ``حمصي`` are nisba adjectives far
# more often than "my ..." or a construct).  ``fem``: a feminine agreement ending (ة, تان, تين)
# was added to the stem, which only an adjective after a dual or plural head takes.  ``alef``:
# the word ends in the tanween/construct ا.
Inflection = tuple[str, str, bool, bool, bool, bool]


def _oblique_number(stem: str, restored: bool) -> str:
    """Number of ين / construct ي, which write both the dual and the masculine plural: dual
    after ة; plural for participles (م...) and nisba adjectives (...ي); dual otherwise."""
    if restored:
        return "d"
    return "p" if stem.startswith("\u0645") or stem.endswith(_YA) else "d"


# Suffix rules in priority order: (ending, kind).  Kinds: "at" sound feminine plural (the ة of
# the singular drops), "an"/"in"/"un" dual/oblique/plural with nun, "fan"/"fin" feminine dual
# of an adjective, "a"/"y"/"w" construct endings (and the tanween alif), "fem" feminine ة,
# "pron" a pronoun after the bare stem, "at+"/"a+"/"y+"/"w+" a pronoun after a number ending.
_RULES: list[tuple[str, str]] = [
    ("\u0627\u062a", "at"),
    ("\u062a\u0627\u0646", "fan"),
    ("\u0627\u0646", "an"),
    ("\u062a\u064a\u0646", "fin"),
    ("\u064a\u0646", "in"),
    ("\u0648\u0646", "un"),
    ("\u0627", "a"),
    ("\u064a", "y"),
    ("\u0648", "w"),
    (_HA, "fem"),
]
for _p in PRONOUNS:
    _RULES += [(_p, "pron"), ("\u0627\u062a" + _p, "at+"), ("\u0627" + _p, "a+")]
    _RULES += [(_YA + _p, "y+"), (_WAW + _p, "w+")]
_BY_ENDING: dict[str, list[tuple[int, str, str]]] = {}
for _pri, (_end, _kind) in enumerate(_RULES):
    _BY_ENDING.setdefault(_end, []).append((_pri, _end, _kind))
_MAX_ENDING = max(len(e) for e, _ in _RULES)


@lru_cache(maxsize=1 << 17)
def suffix_readings(stem: str, flags: int = 0) -> tuple[Inflection, ...]:
    """Suffix readings of a normalised (proclitic-free) stem, the bare reading first.

    ``flags``: :data:`FINAL_TA_MARBUTA` and/or :data:`TANWEEN`, read from the original text.
    Endings: dual ان/ين (construct ا/ي), sound plurals ون/ين/ات (construct و/ي), the pronouns
    :data:`PRONOUNS` (after the bare stem, ات, or a construct ending), ة written ت before any
    suffix, the tanween alif, and for adjectives the feminine ة/تان/تين.  Every stem is at least
    :data:`MIN_SUFFIX_STEM` letters.
    """
    bare: Inflection = (stem, "s", False, True, False, False)
    n = len(stem)
    if n <= MIN_SUFFIX_STEM or stem[-1] not in _SUFFIX_LAST:
        return (bare,)
    rules: list[tuple[int, str, str]] = []
    for k in range(1, min(_MAX_ENDING, n - MIN_SUFFIX_STEM + 1) + 1):
        rules.extend(_BY_ENDING.get(stem[-k:], ()))
    if not rules or not stem.isalpha():
        return (bare,)
    rules.sort()
    ta_marbuta = flags & FINAL_TA_MARBUTA
    out = [bare]
    seen = {(stem, False)}
    for _, ending, kind in rules:
        base = stem[: -len(ending)]
        if kind in ("at", "at+"):  # the ة of the singular drops before ات
            cands = [(base + _HA, True), (base, False)]
        elif kind in ("fan", "fin", "un", "w", "w+", "fem") or not base.endswith(_TA):
            cands = [(base, False)]
        else:  # ة written ت before the suffix
            cands = [(base[:-1] + _HA, True), (base, False)]
        if (kind == "fem") != bool(ta_marbuta):
            continue  # a final ة is only the feminine ending (never the pronoun ه)
        for s, restored in cands:
            if len(s) < MIN_SUFFIX_STEM:
                continue
            fem = kind in ("fan", "fin", "fem")
            if (s, fem) in seen:
                continue
            seen.add((s, fem))
            last_ok, alef, bound = True, False, kind not in ("at", "an", "in", "un", "fan", "fin", "fem")
            if kind in ("at", "at+", "un", "w", "w+"):
                number = "p"
                last_ok = kind != "w"
            elif kind in ("an", "fan", "fin", "a+"):
                number = "d"
            elif kind in ("in", "y", "y+"):
                number = _oblique_number(s, restored)
                last_ok = kind != "y" or restored
            elif kind == "a":
                number = "d" if restored else ("s" if flags & TANWEEN else "a")
                alef = True
            else:  # pron, fem
                number = "s"
            out.append((s, number, bound, last_ok, fem, alef))
    return tuple(out)


def _may_inflect(stem: str, stems: Container[str]) -> bool:
    """True when some suffix reading of ``stem`` could be in ``stems``: for an ending of
    :func:`suffix_readings` that ``stem`` has, what is left, as it is, with ة (``ه``) added, or
    with a final ت read as ة."""
    n = len(stem)
    if n <= MIN_SUFFIX_STEM or stem[-1] not in _SUFFIX_LAST:
        return False
    for k in range(1, min(_MAX_ENDING, n - MIN_SUFFIX_STEM + 1) + 1):
        if stem[n - k :] in _BY_ENDING:
            base = stem[: n - k]
            if base in stems or base + _HA in stems or (base[-1] == _TA and base[:-1] + _HA in stems):
                return True
    return False


# One way a text token can stand for a glossary word: (plen, key, number, last_ok, fem, alef).
# ``key`` is looked up in the trie; ``plen`` is the length of the proclitic prefix left outside
# (first word of a term); the rest comes from the :data:`Inflection`.
Analysis = tuple[int, str, str, bool, bool, bool]


def word_analyses(
    word: str, flags: int = 0, first: bool = True, stems: Container[str] | None = None
) -> tuple[Analysis, ...]:
    """Every key of a normalised Arabic text token, proclitics and suffixes stripped, each key
    once (shortest prefix, then bare before suffixed readings, wins).

    On the first word of a term every proclitic is dropped from the key.  On a later word the
    prepositions ``ب ك ل`` and the article are dropped, but a conjunction ``و``/``ف`` stays in
    the key, so it matches only a term word that has it too (``وسلامتها`` ~ ``والسلامة``, while
    ``مجلس والأمن`` is not ``مجلس الأمن``).  A suffix that excludes the article (pronoun,
    construct, tanween) is not read on a word that has one (``الأمني`` is never ``الأمن`` + ي).

    ``stems``: when given (a matcher's glossary word keys), suffixes are only read off a stem
    when one of the stems they would leave is in it (:func:`_may_inflect`), since no other
    reading can match; this only saves time, the result for those keys is the same.

    Not cached here: :class:`~translate_pipe.glossary.Matcher` keeps what it needs of the
    result per distinct text token (from :func:`word_analyses_both`).
    """
    return word_analyses_both(word, flags, stems)[0 if first else 1]


def word_analyses_both(
    word: str, flags: int = 0, stems: Container[str] | None = None
) -> tuple[tuple[Analysis, ...], tuple[Analysis, ...]]:
    """:func:`word_analyses` of a token as the first word of a term and as a later word, in one
    pass over its readings."""
    readings = _proclitic_splits(word)
    if len(readings) == 1 and (stems is not None and not _may_inflect(word, stems) or len(suffix_readings(word, flags)) == 1):
        bare: tuple[Analysis, ...] = ((0, word, "s", True, False, False),)
        return bare, bare  # the common case: no proclitic, no suffix
    firsts: dict[str, Analysis] = {}
    laters: dict[str, Analysis] = {}
    for prefix, stem, definite in readings:
        conj = prefix[0] if prefix[:1] in ("\u0648", "\u0641") else ""
        plen = len(prefix)
        if stems is None or _may_inflect(stem, stems):
            infs = suffix_readings(stem, flags)
        else:
            infs = ((stem, "s", False, True, False, False),)
        short = definite and len(stem) < MIN_BARE_STEM
        keys = [_ARTICLE + stem if short else stem]
        if short and prefix.endswith((_ARTICLE, _LAM + _LAM)):  # see reading_keys
            keys.append(stem)
        for key in keys:
            if key not in firsts:
                firsts[key] = (plen, key, "s", True, False, False)
            if conj + key not in laters:
                laters[conj + key] = (plen, conj + key, "s", True, False, False)
        for s, number, bound, last_ok, fem, alef in infs[1:]:
            if bound and definite:
                continue
            key = _ARTICLE + s if definite and len(s) < MIN_BARE_STEM else s
            if not fem and key not in firsts:
                firsts[key] = (plen, key, number, last_ok, fem, alef)
            if conj + key not in laters:
                laters[conj + key] = (plen, conj + key, number, last_ok, fem, alef)
    return tuple(firsts.values()), tuple(laters.values())
