"""Translation memory: approved segments, exact reuse at translation time, fuzzy matches, TMX 1.4b.

Keys and similarity
-------------------
A unit is stored with its source as written and its *normalised* source, made by the very
normalisation the glossary matcher uses (:func:`translate_pipe.arabic.normalise_text`: alef
forms, ta marbuta, alef maqsura, diacritics, tatweel, invisible controls, case, whitespace),
stripped.  Two segments are an **exact match** when their normalised sources are equal, so a
segment that differs only by diacritics or a tatweel is reused.

**Fuzzy similarity** (:func:`similarity`) is one minus the word-level Levenshtein distance
between the two normalised sources (words = runs between spaces, punctuation attached as
written) divided by the word count of the longer one, as a percentage (100 = identical), as
token-based CAT tools do.  A word-multiset bound rejects most candidates before any edit
distance is computed.  Fuzzy matches at or above :data:`FUZZY_THRESHOLD` (75) are offered to the
reviewer as alternatives in the review export; they are never used to translate.

Reuse at translation time (:func:`plan_reuse`)
----------------------------------------------
* a segment whose text already occurred earlier in the same run is not decoded again: it is
  a copy of the first occurrence (origin ``repeat``; its links are shifted to its own offsets);
* otherwise, a segment with an exact translation-memory match is not decoded: it takes the
  newest approved target (origin ``tm``), but only if that target contains the approved
  target of every glossary term matched in the segment (else it is decoded as usual);
* every other segment is decoded.

The pipeline plans a chunk at a time (:class:`ReusePlanner`): what each text became the first
time it was met (decoded at which segment, or taken from which unit) is kept in a
:class:`SeenIndex` by a 16-byte digest of the text -- in a temporary database for a run
(``store.SeenStore``), so the plan of a run of any size takes bounded memory -- and the
translation a repeat copies is read back from the store when its chunk is already committed.

TMX
---
:func:`write_tmx` writes TMX 1.4b (one ``<tu>`` per unit, sorted by source then target, no
dates: the file is deterministic).  :func:`read_tmx` reads TMX 1.1-1.4b: ``<tuv>`` languages
are compared on their primary subtag (``ar-SA`` is ``ar``); inline native codes (``bpt``,
``ept``, ``ph``, ``it``, ``ut``) are dropped, ``hi``/``sub`` text kept; units lacking either
language are skipped and counted.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from .arabic import normalise_text
from .errors import TMError
from .records import Segment, SegmentTranslation, TermMatch, TermOutcome

FUZZY_THRESHOLD = 75.0
"""Default minimum similarity (percent) of a fuzzy match offered in the review export."""

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def source_key(text: str, lang: str) -> str:
    """The normalised source a unit is stored and looked up under."""
    return normalise_text(text, lang).strip()


def _levenshtein(a: Sequence[str], b: Sequence[str], limit: int) -> int:
    """Edit distance, or ``limit + 1`` as soon as it must exceed ``limit``."""
    if len(a) < len(b):
        a, b = b, a
    if len(a) - len(b) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        best = i
        for j, cb in enumerate(b, 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            current.append(value)
            best = min(best, value)
        if best > limit:
            return limit + 1
        previous = current
    return previous[-1]


def similarity(a_norm: str, b_norm: str, threshold: float = 0.0) -> float:
    """Percent similarity of two normalised sources (see the module docstring); below
    ``threshold`` the value returned is only known to be below it."""
    a, b = a_norm.split(), b_norm.split()
    longest = max(len(a), len(b))
    if longest == 0:
        return 100.0
    limit = int(longest * (100.0 - threshold) / 100.0 + 1e-9)
    common = sum((Counter(a) & Counter(b)).values())
    if longest - common > limit:  # the distance is at least the words without a partner
        return 100.0 * (1.0 - (longest - common) / longest)
    distance = _levenshtein(a, b, limit)
    return 100.0 * (1.0 - distance / longest)


@dataclass(frozen=True)
class TMUnit:
    id: int
    source: str
    source_norm: str
    target: str
    origin: str
    author: str
    created_at: str


@dataclass(frozen=True)
class FuzzyMatch:
    similarity: float  # percent
    unit: TMUnit


class TranslationMemory:
    """The units of one language pair in a store; lookups are cached for the life of the object."""

    def __init__(self, store: Any, source_lang: str, target_lang: str) -> None:
        self.store = store
        self.source_lang = source_lang
        self.target_lang = target_lang
        self._all: list[TMUnit] | None = None

    def exact(self, text: str) -> TMUnit | None:
        """The newest unit whose normalised source equals the text's."""
        rows = self.store.tm_exact(self.source_lang, self.target_lang, source_key(text, self.source_lang))
        return TMUnit(**rows[0]) if rows else None

    def fuzzy(self, text: str, threshold: float = FUZZY_THRESHOLD, limit: int = 3) -> list[FuzzyMatch]:
        """Up to ``limit`` units with similarity >= threshold, best first (newest first on ties);
        one per distinct target."""
        if not 0 < threshold <= 100:
            raise TMError(f"fuzzy threshold {threshold} is not a percentage in (0, 100]")
        if self._all is None:
            self._all = [TMUnit(**r) for r in self.store.tm_units(self.source_lang, self.target_lang)]
        key = source_key(text, self.source_lang)
        found: list[FuzzyMatch] = []
        for unit in self._all:
            score = similarity(key, unit.source_norm, threshold)
            if score >= threshold:
                found.append(FuzzyMatch(round(score, 1), unit))
        found.sort(key=lambda m: -m.similarity)  # stable: newest first among equals
        out: list[FuzzyMatch] = []
        seen: set[str] = set()
        for m in found:
            if m.unit.target not in seen:
                seen.add(m.unit.target)
                out.append(m)
        return out[:limit]


# -- reuse at translation time ----------------------------------------------------------------
def _target_pattern(target: str) -> re.Pattern[str]:
    body = r"\s+".join(re.escape(w) for w in target.split())
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


def find_term(text: str, target: str) -> list[tuple[int, int]]:
    """Whole-word, case-insensitive occurrences of an approved target in a translation."""
    return [m.span() for m in _target_pattern(target).finditer(text)]


def term_outcomes_in(target: str, matches: Sequence[TermMatch], method: str) -> list[TermOutcome] | None:
    """Outcomes ("present") for matches whose approved target is in ``target``; None when one is missing."""
    used: set[tuple[int, int]] = set()
    out = []
    for m in sorted(matches, key=lambda m: m.start):
        spans = [s for s in find_term(target, m.target) if s not in used]
        if not spans:
            return None
        used.add(spans[0])
        out.append(TermOutcome(match=m, target_start=spans[0][0], target_end=spans[0][1], status="present", method=method))
    return out


@dataclass(frozen=True)
class Reuse:
    """How one segment of a run is translated without decoding it."""

    origin: str  # "tm" | "repeat"
    translation: SegmentTranslation | None = None  # for "tm"
    of: tuple[int, int] | None = None  # for "repeat": (document position, segment index) decoded
    of_start: int | None = None  # for "repeat": where that segment starts in its document


Key = tuple[int, int]  # (document position in the run, segment index)


@dataclass(frozen=True)
class Seen:
    """What the first occurrence of a text in a run became: decoded (``doc``, ``index``,
    ``start``), or taken from the translation memory (``tm_unit_id``, ``tm_target``)."""

    doc: int
    index: int
    start: int
    tm_unit_id: int | None = None
    tm_target: str | None = None


class ExactMemory(Protocol):
    """What reuse planning asks of a translation memory."""

    def exact(self, text: str) -> TMUnit | None: ...


class MemorySnapshot:
    """Exact lookups in a copy of a translation memory taken when a run starts (in the run's
    temporary database, ``store.SeenStore.copy_memory``): usable from whichever thread reads
    the run's chunks, and the same answers throughout the run."""

    def __init__(self, copy: Any, source_lang: str) -> None:
        self.copy = copy
        self.source_lang = source_lang

    def exact(self, text: str) -> TMUnit | None:
        row = self.copy.memory_exact(source_key(text, self.source_lang))
        return TMUnit(**row) if row is not None else None


class SeenIndex(Protocol):
    """The texts a run has met so far, by digest (:func:`text_digest`); bounded in memory
    (:class:`translate_pipe.store.SeenStore` keeps it in a private temporary database)."""

    def lookup(self, digests: Sequence[bytes]) -> dict[bytes, Seen]: ...

    def add(self, entries: Sequence[tuple[bytes, Seen]]) -> None: ...


class DictIndex:
    """A :class:`SeenIndex` in a dict (small inputs and tests)."""

    def __init__(self) -> None:
        self.entries: dict[bytes, Seen] = {}

    def lookup(self, digests: Sequence[bytes]) -> dict[bytes, Seen]:
        return {d: self.entries[d] for d in digests if d in self.entries}

    def add(self, entries: Sequence[tuple[bytes, Seen]]) -> None:
        self.entries.update(entries)


def text_digest(text: str) -> bytes:
    """The key of a segment's text in a :class:`SeenIndex` (16 bytes of BLAKE2b)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


class ReusePlanner:
    """:func:`plan_reuse` one chunk at a time: the run's earlier texts are looked up in
    ``index`` instead of being held, so planning a run of any size takes bounded memory.
    Chunks must be given in run order, each once (a resumed run gives the committed ones
    too, to :meth:`plan` as well, and ignores their plan)."""

    def __init__(self, index: SeenIndex, memory: ExactMemory | None) -> None:
        self.index = index
        self.memory = memory

    def plan(self, items: Sequence[tuple[Key, Segment, Sequence[TermMatch]]]) -> dict[Key, Reuse]:
        """Which of these segments (key, segment, glossary matches with document offsets)
        need no decoding."""
        digests = [text_digest(seg.text) for _, seg, _ in items]
        known = self.index.lookup(list(dict.fromkeys(digests)))
        new: dict[bytes, Seen] = {}
        plan: dict[Key, Reuse] = {}
        for (key, seg, matches), digest in zip(items, digests):
            seen = known.get(digest) or new.get(digest)
            if seen is not None:
                if seen.tm_unit_id is not None and seen.tm_target is not None:
                    hit = SegmentTranslation(seg, seen.tm_target, origin="tm", tm_unit_id=seen.tm_unit_id)
                    plan[key] = _tm_reuse(seg, hit, list(matches))
                else:
                    plan[key] = Reuse("repeat", of=(seen.doc, seen.index), of_start=seen.start)
                continue
            terms: list[TermOutcome] | None = None
            unit = self.memory.exact(seg.text) if self.memory is not None else None
            if unit is not None:
                terms = term_outcomes_in(unit.target, list(matches), "tm")
            if unit is not None and terms is not None:
                hit = SegmentTranslation(seg, unit.target, terms=tuple(terms), origin="tm", tm_unit_id=unit.id)
                plan[key] = Reuse("tm", translation=hit)
                new[digest] = Seen(key[0], key[1], seg.start, unit.id, unit.target)
            else:
                new[digest] = Seen(key[0], key[1], seg.start)
        if new:
            self.index.add(list(new.items()))
        return plan


def plan_reuse(
    segmented: Sequence[Sequence[Segment]],
    memory: TranslationMemory | None,
    matches: dict[Key, list[TermMatch]],
) -> dict[Key, Reuse]:
    """Which segments need no decoding (see the module docstring); ``matches`` are the
    glossary matches of each segment (document offsets).  All at once, in memory (the
    pipeline plans a chunk at a time with :class:`ReusePlanner`)."""
    planner = ReusePlanner(DictIndex(), memory)
    items = [((d, seg.index), seg, matches.get((d, seg.index), [])) for d, segments in enumerate(segmented) for seg in segments]
    return planner.plan(items)


def _tm_reuse(seg: Segment, hit: SegmentTranslation, matches: list[TermMatch]) -> Reuse:
    terms = term_outcomes_in(hit.target, matches, "tm") or []
    return Reuse("tm", translation=replace(hit, segment=seg, terms=tuple(terms)))


def copy_translation(original: SegmentTranslation, segment: Segment) -> SegmentTranslation:
    """The translation of an identical segment elsewhere, moved to ``segment``'s offsets."""
    delta = segment.start - original.segment.start
    return replace(
        original,
        segment=segment,
        alignment=tuple((s + delta, e + delta, ts, te) for s, e, ts, te in original.alignment),
        terms=tuple(
            replace(o, match=replace(o.match, start=o.match.start + delta, end=o.match.end + delta))
            for o in original.terms
        ),
        origin="repeat",
    )


def assemble(
    d: int,
    segments: Sequence[Segment],
    decoded: Mapping[Key, tuple[SegmentTranslation, Sequence[str]]],
    plan: dict[Key, Reuse],
) -> list[tuple[SegmentTranslation, Sequence[str]]] | None:
    """Document ``d``'s translations in order once every segment is available, else None."""
    out = []
    for seg in segments:
        key = (d, seg.index)
        reuse = plan.get(key)
        if reuse is None:
            if key not in decoded:
                return None
            out.append(decoded[key])
        elif reuse.origin == "tm":
            assert reuse.translation is not None
            out.append((reuse.translation, ()))
        else:
            assert reuse.of is not None
            if reuse.of not in decoded:
                return None
            st, alts = decoded[reuse.of]
            out.append((copy_translation(st, seg), alts))
    return out


# -- TMX --------------------------------------------------------------------------------------
def _primary(lang: str) -> str:
    return lang.replace("_", "-").split("-")[0].lower()


def write_tmx(units: Sequence[TMUnit], source_lang: str, target_lang: str, version: str) -> str:
    """TMX 1.4b text of the units (deterministic)."""
    root = ET.Element("tmx", version="1.4")
    ET.SubElement(
        root,
        "header",
        {
            "creationtool": "translate-pipe",
            "creationtoolversion": version,
            "segtype": "sentence",
            "o-tmf": "translate-pipe",
            "adminlang": "en",
            "srclang": source_lang,
            "datatype": "plaintext",
        },
    )
    body = ET.SubElement(root, "body")
    for unit in sorted(units, key=lambda u: (u.source, u.target)):
        tu = ET.SubElement(body, "tu")
        prop = ET.SubElement(tu, "prop", type="x-origin")
        prop.text = unit.origin
        if unit.author:
            note = ET.SubElement(tu, "prop", type="x-author")
            note.text = unit.author
        for lang, text in ((source_lang, unit.source), (target_lang, unit.target)):
            tuv = ET.SubElement(tu, "tuv", {XML_LANG: lang})
            seg = ET.SubElement(tuv, "seg")
            seg.text = text
    ET.indent(root)
    body_text = ET.tostring(root, encoding="unicode")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n' + body_text + "\n"
    )


_NATIVE = {"bpt", "ept", "ph", "it", "ut"}


def _seg_text(seg: ET.Element) -> str:
    parts = [seg.text or ""]
    for child in seg:
        tag = child.tag.rsplit("}", 1)[-1]
        if tag not in _NATIVE:
            parts.append(_seg_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


@dataclass(frozen=True)
class TMXData:
    units: list[tuple[str, str]]  # (source, target)
    skipped: int  # units lacking either language or with an empty segment


def read_tmx(path: Path, source_lang: str, target_lang: str) -> TMXData:
    """Read the (source, target) pairs of a TMX file; raises TMError naming the file and line."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TMError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise TMError(f"{path}: not a valid TMX file (XML error at line {exc.position[0]}: {exc.msg})") from None
    if root.tag.rsplit("}", 1)[-1] != "tmx":
        raise TMError(f"{path}: not a TMX file (root element <{root.tag}>, expected <tmx>)")
    body = root.find("body")
    if body is None:
        raise TMError(f"{path}: TMX file without a <body>")
    header = root.find("header")
    default_src = _primary(header.get("srclang", "")) if header is not None else ""
    src, tgt = _primary(source_lang), _primary(target_lang)
    units: list[tuple[str, str]] = []
    skipped = 0
    for tu in body.iter("tu"):
        texts: dict[str, str] = {}
        for tuv in tu.findall("tuv"):
            lang = _primary(tuv.get(XML_LANG) or tuv.get("lang") or "")
            seg = tuv.find("seg")
            if seg is None or not lang:
                continue
            texts.setdefault(lang, _seg_text(seg).strip())
        if default_src and default_src not in (src, "*all*") and src not in texts:
            skipped += 1
            continue
        if texts.get(src) and texts.get(tgt):
            units.append((texts[src], texts[tgt]))
        else:
            skipped += 1
    return TMXData(units, skipped)
