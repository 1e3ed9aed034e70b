"""Split a document into segments for the model, keeping exact character offsets.

Every :class:`~translate_pipe.records.Segment` returned here satisfies
``document[segment.start:segment.end] == segment.text``.

Rules (see ``tests/test_segment.py`` for one example of each):

* **Paragraphs** are lines: every line break (``\\n``, ``\\r\\n``, ``\\r`` and the other
  separators :meth:`str.splitlines` knows) ends a paragraph, so blank lines are simply empty
  paragraphs.  Paragraphs that hold only whitespace (or invisible format characters such as
  a BOM or bidi marks) yield no segment.  ``Segment.paragraph`` numbers the non-empty
  paragraphs 0, 1, 2, ... in document order.
* **Sentences** end after a run of terminators (``. ? ! …``, plus ``؟`` and ``؛`` for Arabic)
  and any closing quotes or brackets right after it, when that point is followed by
  whitespace or the end of the paragraph.  A terminator is *not* a sentence end when:

  - it lies inside a quotation or brackets that close later in the same paragraph: a quoted
    statement stays whole with its attribution (``قال: "... . ...".`` is one segment), which
    is what a translator wants (balanced quotes, full context); :func:`split_long` breaks it
    at its inner sentence ends if it is too long for the model.  A quote that never closes
    within the paragraph protects nothing;
  - the run is a single ``.`` after an abbreviation: a single letter (``J.``, ``د.``, ``م.``,
    ``هـ.``, ``ص.``), letters joined by dots (``U.S.``, ``e.g.``, ``أ.د.``), a known
    abbreviation (``Dr.``, ``Mr.``, ``No.``, ...; Arabic ``مج.``, ...), or a number that opens
    the sentence (a list item ``1.``);
  - the run is an ellipsis (``...`` or ``…``): in Arabic never a boundary; otherwise only
    when the next word starts with a capital letter;
  - the next word starts with a lowercase (Latin) letter, which cannot start a sentence.

  Numbers never split: ``3.5``, ``1.000`` and ``4/7/2017`` have no whitespace after the dot,
  and ``-`` and ``/`` are not terminators.
* **Too long for the model**: :func:`split_long` splits a segment further, never cutting a
  word, and :func:`renumber` re-indexes the result.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import accumulate
from dataclasses import dataclass, replace

from translate_pipe.arabic import INVISIBLE, is_arabic
from translate_pipe.errors import SegmentationError
from translate_pipe.records import Segment

__all__ = [
    "Rules",
    "renumber",
    "rules_for",
    "split_document",
    "split_for_model",
    "split_long",
]

# Line breaks exactly as str.splitlines() understands them; "\r\n" first so it counts once.
_LINE_BREAK = re.compile("\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")

# Invisible characters are stripped from segment edges like whitespace: the one set of
# :data:`translate_pipe.arabic.INVISIBLE` (BOM, zero-width characters, bidi marks and controls).

# Paired delimiters: opener -> closer.  The straight double quote opens and closes itself.
_PAIRS = {
    '"': '"',
    "«": "»",
    "“": "”",
    "„": "“",
    "‹": "›",
    "(": ")",
    "[": "]",
    "{": "}",
}
_CLOSERS = frozenset(_PAIRS.values())
# Characters kept with the sentence when they directly follow its terminator, even when they
# close nothing we track (apostrophe-like single quotes are not paired, "don't").
_TRAILERS = _CLOSERS | frozenset("'’")
_OPENERS_TO_SKIP = frozenset(_PAIRS) | frozenset("'‘")

_TATWEEL = "\u0640"

# The same tests as the character loops they replace, as regular expressions (a paragraph or
# a segment may be megabytes long): ``\s`` is exactly ``str.isspace``, as in _is_blank.
_BLANK = "[\\s" + "".join(re.escape(c) for c in sorted(INVISIBLE)) + "]"
_NON_BLANK = "[^" + _BLANK[1:]
_DELIMITER = re.compile("[" + "".join(re.escape(c) for c in sorted(set(_PAIRS) | _CLOSERS)) + "]")
# after clause punctuation or a dash followed by a blank; a hyphen only with a blank before it
_CLAUSE_POINT = re.compile(f"(?:[,،;؛:—–]|(?<={_BLANK})-)(?={_BLANK})")
_SPACE_POINT = re.compile(f"(?<={_NON_BLANK}){_BLANK}")
_TERMINATOR_PATTERNS: dict[frozenset[str], re.Pattern[str]] = {}


def _terminator_pattern(terminators: frozenset[str]) -> re.Pattern[str]:
    if terminators not in _TERMINATOR_PATTERNS:
        _TERMINATOR_PATTERNS[terminators] = re.compile("[" + "".join(re.escape(c) for c in sorted(terminators)) + "]")
    return _TERMINATOR_PATTERNS[terminators]

# Abbreviations seen in English (and in Arabic text quoting Latin names), matched exactly,
# without their final dot.  "etc." is left out on purpose: it usually ends a sentence.
_LATIN_ABBREVIATIONS = frozenset(
    ["Mr", "Mrs", "Ms", "Messrs", "Dr", "Prof", "Sr", "Jr", "St", "Mt", "Ft", "Gen", "Col", "Lt", "Maj", "Capt", "Cmdr", "Adm", "Sgt", "Gov", "Sen", "Rep", "Pres", "Amb", "Hon", "Rev", "Fr", "Mme", "Mlle", "Mgr", "No", "Nos", "Vol", "Vols", "Fig", "Figs", "Art", "Arts", "Sec", "Ch", "Ed", "Eds", "vs", "cf", "al", "ca", "approx", "incl", "est", "dept", "Dept", "Inc", "Ltd", "Co", "Corp", "Bros", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", "pp", "op"]
)
# Arabic abbreviations written with a dot that are longer than one letter (single letters
# such as د. م. ص. هـ. are covered by the single-letter rule).
_ARABIC_ABBREVIATIONS = frozenset({"مج", "تح", "مم", "إ.هـ"})


@dataclass(frozen=True)
class Rules:
    """Language-specific sentence rules."""

    terminators: frozenset[str]
    abbreviations: frozenset[str]
    ellipsis_ends_sentence_before_capital: bool


_ARABIC_RULES = Rules(
    terminators=frozenset(".?!…؟؛"),
    abbreviations=_LATIN_ABBREVIATIONS | _ARABIC_ABBREVIATIONS,
    ellipsis_ends_sentence_before_capital=False,
)
_GENERIC_RULES = Rules(
    terminators=frozenset(".?!…"),
    abbreviations=_LATIN_ABBREVIATIONS,
    ellipsis_ends_sentence_before_capital=True,
)


def rules_for(lang: str) -> Rules:
    """Sentence rules for a language code (Arabic as :func:`translate_pipe.arabic.is_arabic`
    says: "ar", "ara", "arb", "ar-SY", "ar_EG"; else generic)."""
    return _ARABIC_RULES if is_arabic(lang) else _GENERIC_RULES


def _is_blank(ch: str) -> bool:
    return ch.isspace() or ch in INVISIBLE


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Shrink ``text[start:end]`` past blank characters on both sides."""
    while start < end and _is_blank(text[start]):
        start += 1
    while end > start and _is_blank(text[end - 1]):
        end -= 1
    return start, end


def _paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    pos = 0
    for m in _LINE_BREAK.finditer(text):
        yield pos, m.start()
        pos = m.end()
    yield pos, len(text)


def _nesting_depth(text: str, start: int, end: int) -> dict[int, int]:
    """Depth of matched quotes/brackets *after* each position in ``text[start:end]``.

    Only pairs that close within the range count; an opener that is never closed
    protects nothing.  Returns a sparse map: position -> depth change at that position;
    use :func:`_depth_after` to read it.
    """
    stack: list[tuple[str, int]] = []  # (expected closer, position of opener)
    changes: dict[int, int] = {}
    for m in _DELIMITER.finditer(text, start, end):  # other characters change nothing
        i, ch = m.start(), m.group()
        if ch == '"':
            # Straight quote: closes the innermost open straight quote, else opens one.
            found = _find_open(stack, '"')
            if found is not None:
                _close(stack, found, i, changes)
            else:
                stack.append(('"', i))
        elif ch in _PAIRS and ch not in _CLOSERS:
            stack.append((_PAIRS[ch], i))
        elif ch in _CLOSERS:
            found = _find_open(stack, ch)
            if found is not None:
                _close(stack, found, i, changes)
            elif ch in _PAIRS:  # "“" closes "„" but also opens a “...” pair
                stack.append((_PAIRS[ch], i))
    return changes


def _find_open(stack: list[tuple[str, int]], closer: str) -> int | None:
    for k in range(len(stack) - 1, -1, -1):
        if stack[k][0] == closer:
            return k
    return None


def _close(stack: list[tuple[str, int]], k: int, close_pos: int, changes: dict[int, int]) -> None:
    open_pos = stack[k][1]
    del stack[k:]  # openers inside the pair that never closed are dropped
    changes[open_pos] = changes.get(open_pos, 0) + 1
    changes[close_pos] = changes.get(close_pos, 0) - 1


class _Depth:
    """``depth[i - start]`` = nesting depth after the character at position i, read from the
    sparse changes of :func:`_nesting_depth` (a bisection per read, no table as long as the
    text: a paragraph may be megabytes long)."""

    def __init__(self, changes: dict[int, int], start: int) -> None:
        self.positions = sorted(changes)
        self.levels = list(accumulate(changes[p] for p in self.positions))
        self.start = start

    def __getitem__(self, i: int) -> int:
        k = bisect_right(self.positions, self.start + i)
        return self.levels[k - 1] if k else 0


def _word_before(text: str, start: int, dot: int) -> str:
    """The non-blank token that ends right before ``text[dot]``, without leading openers."""
    i = dot
    while i > start and not _is_blank(text[i - 1]):
        i -= 1
    word = text[i:dot]
    while word and word[0] in _OPENERS_TO_SKIP:
        word = word[1:]
    return word


def _is_abbreviation(word: str, rules: Rules) -> bool:
    if not word:
        return False
    if word in rules.abbreviations:
        return True
    # Single letters and dotted letter sequences: J, U.S, e.g, أ.د, هـ, ص.ب
    parts = word.split(".")
    return all(_is_single_letter(part) for part in parts)


def _is_single_letter(part: str) -> bool:
    core = part.rstrip(_TATWEEL)
    return len(core) == 1 and core.isalpha()


def _next_visible(text: str, pos: int, end: int) -> str:
    while pos < end and _is_blank(text[pos]):
        pos += 1
    while pos < end and text[pos] in _OPENERS_TO_SKIP:
        pos += 1
    return text[pos] if pos < end else ""


def _sentence_ends(
    text: str, start: int, end: int, rules: Rules, *, respect_nesting: bool = True
) -> list[int]:
    """Positions (exclusive ends) where sentences end within ``text[start:end]``."""
    depth = _Depth(_nesting_depth(text, start, end) if respect_nesting else {}, start)
    ends: list[int] = []
    sentence_start = start
    i = start
    terminator = _terminator_pattern(rules.terminators)
    while i < end:
        if text[i] not in rules.terminators:
            found = terminator.search(text, i, end)  # the next one
            if found is None:
                break
            i = found.start()
        run_start = i
        while i < end and text[i] in rules.terminators:
            i += 1
        run = text[run_start:i]
        cut = i
        while cut < end and text[cut] in _TRAILERS:
            cut += 1
        if cut < end and not _is_blank(text[cut]):
            continue  # "3.5", "U.S.A", "example.com", "؟!x": not followed by a space
        if depth[cut - 1 - start] != 0:
            continue  # inside a quotation or brackets that close later
        if cut < end and not _run_ends_sentence(
            text, sentence_start, run_start, run, cut, end, rules
        ):
            continue
        ends.append(cut)
        sentence_start = cut
        i = cut
    return ends


def _run_ends_sentence(
    text: str, sentence_start: int, run_start: int, run: str, cut: int, end: int, rules: Rules
) -> bool:
    nxt = _next_visible(text, cut, end)
    if nxt.isalpha() and nxt.islower():
        return False  # "approx. the", '"Really?" he asked'
    is_ellipsis = set(run) <= {".", "…"} and (len(run) > 1 or run == "…")
    if is_ellipsis:
        return rules.ellipsis_ends_sentence_before_capital and nxt.isupper()
    if run == ".":
        word = _word_before(text, sentence_start, run_start)
        if _is_abbreviation(word, rules):
            return False
        head = text[sentence_start:run_start].strip()
        if head.isdigit() and len(head) <= 3:
            return False  # list item "1. ..."
    return True


def split_document(text: str, lang: str = "ar") -> list[Segment]:
    """Split ``text`` into paragraphs and sentences; offsets index ``text``.

    ``lang`` is the source language code; Arabic rules apply when it is "ar" (or a regional
    variant such as "ar-SY"), generic Latin-script rules otherwise.
    """
    return list(iter_document(text, lang))


def iter_document(text: str, lang: str = "ar") -> Iterator[Segment]:
    """:func:`split_document` one segment at a time (memory bounded by one paragraph)."""
    rules = rules_for(lang)
    count = 0
    paragraph = 0
    for p_start, p_end in _paragraph_spans(text):
        p_start, p_end = _strip_span(text, p_start, p_end)
        if p_start == p_end:
            continue
        bounds = [p_start, *_sentence_ends(text, p_start, p_end, rules)]
        if bounds[-1] != p_end:
            bounds.append(p_end)
        for s_start, s_end in zip(bounds, bounds[1:]):
            s_start, s_end = _strip_span(text, s_start, s_end)
            if s_start == s_end:
                continue
            yield Segment(index=count, start=s_start, end=s_end, text=text[s_start:s_end], paragraph=paragraph)
            count += 1
        paragraph += 1


# --- splitting segments that are too long for the model --------------------------------



def _clause_points(text: str) -> list[int]:
    """Split points (exclusive ends of the left piece) after clause punctuation and dashes.

    A comma before a word starting with the conjunction و gives the point right after the
    comma, so "و" opens the next piece.  A hyphen counts only when it stands alone between
    spaces (" - "), so "4-5" is never split.
    """
    return [m.end() for m in _CLAUSE_POINT.finditer(text)]


def _space_points(text: str) -> list[int]:
    """Starts of the blank runs that follow a word."""
    return [m.start() for m in _SPACE_POINT.finditer(text)]


# A segment longer than this many characters (and than _BLOCK_TOKENS_CHARS per allowed token)
# is first cut into blocks of about that size, each then split as below: the search for the
# point nearest the middle is then never made over megabytes (one line of 10 MB, no
# punctuation), and pieces this long are too long for any tokenizer without counting them.
_BLOCK_CHARS = 20_000
_BLOCK_CHARS_PER_TOKEN = 64


def _block_size(max_tokens: int) -> int:
    return max(_BLOCK_CHARS, _BLOCK_CHARS_PER_TOKEN * max_tokens)


_SENTENCE_GAP = re.compile(r"[.?!…؟؛][\"»”›)\]}'’]*\s+")
_CLAUSE_GAP = re.compile(r"[,،;؛:—–-]\s+")
_GAP = re.compile(r"\s+")


def _blocks(text: str, start: int, end: int, size: int) -> Iterator[tuple[int, int]]:
    """Stripped spans of ``text[start:end]``, each about ``size`` characters or less, cut in
    the second half of each ``size`` window after the last sentence end, else clause mark,
    else space (a word longer than the window ends its block at its own end)."""
    pos = start
    while end - pos > size:
        window = text[pos + size // 2 : pos + size]
        cut = None
        for gap in (_SENTENCE_GAP, _CLAUSE_GAP, _GAP):
            found = list(gap.finditer(window))[-1:]  # the last one
            if found:
                cut = pos + size // 2 + found[0].start() + len(found[0].group().rstrip())
                break
        if cut is None:  # one long word: its end (never cut inside it)
            m = _GAP.search(text, pos + size, end)
            cut = m.start() if m else end
        s, e = _strip_span(text, pos, cut)
        if s < e:
            yield s, e
        pos = cut
    s, e = _strip_span(text, pos, end)
    if s < e:
        yield s, e


def _nearest(points: Sequence[int], middle: float) -> Iterator[int]:
    """``points`` (ascending) by distance to ``middle``, the leftmost first on a tie."""
    right = bisect_left(points, middle)
    left = right - 1
    while left >= 0 or right < len(points):
        if right >= len(points) or (left >= 0 and middle - points[left] <= points[right] - middle):
            yield points[left]
            left -= 1
        else:
            yield points[right]
            right += 1


def _split_point(
    text: str, start: int, end: int
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """The two stripped halves (local spans) ``text[start:end]`` is split into, or None
    (one word).  Its own function, so that nothing it builds outlives the choice."""
    local = text[start:end]
    depth = _Depth(_nesting_depth(local, 0, len(local)), 0)
    finders: tuple[Callable[[str], list[int]], ...] = (
        lambda s: _sentence_ends(s, 0, len(s), _ARABIC_RULES, respect_nesting=False),
        _clause_points,
        _space_points,
    )
    points = [find(local) for find in finders]
    # Prefer points at the shallowest nesting found between words (outside quotes and
    # brackets when there is anything outside them), then fall back to any depth.
    shallowest = min((depth[p - 1] for p in points[-1]), default=0)
    middle = len(local) / 2
    for only_shallow in (True, False):
        for level_points in points:
            for point in _nearest(level_points, middle):
                if only_shallow and depth[point - 1] != shallowest:
                    continue
                left = _strip_span(local, 0, point)
                right = _strip_span(local, point, len(local))
                if left[0] < left[1] and right[0] < right[1]:
                    return left, right
    return None


def _fits(text: str, start: int, end: int, max_tokens: int, count_tokens: Callable[[str], int]) -> bool:
    """Whether ``text[start:end]`` has at most ``max_tokens`` tokens.  A long text is first
    judged by its words in the first ``_BLOCK_CHARS_PER_TOKEN * max_tokens`` characters
    (tokenizers split words apart): too many there, and the whole is not tokenized."""
    bound = _BLOCK_CHARS_PER_TOKEN * max_tokens
    if end - start > bound:
        gap = text.rfind(" ", start, start + bound)
        if gap > start and count_tokens(text[start:gap]) > max_tokens:
            return False
    return count_tokens(text[start:end]) <= max_tokens


def _pieces(
    text: str,
    start: int,
    end: int,
    max_tokens: int,
    count_tokens: Callable[[str], int],
) -> list[tuple[int, int]]:
    """Spans of ``text[start:end]`` (already stripped) that each fit, or cannot be split."""
    if _fits(text, start, end, max_tokens, count_tokens):
        return [(start, end)]
    halves = _split_point(text, start, end)
    if halves is None:
        return [(start, end)]  # a single word longer than max_tokens: never cut
    left, right = halves
    return _pieces(text, start + left[0], start + left[1], max_tokens, count_tokens) + _pieces(
        text, start + right[0], start + right[1], max_tokens, count_tokens
    )


def split_long(
    segment: Segment, max_tokens: int, count_tokens: Callable[[str], int]
) -> list[Segment]:
    """Split ``segment`` into pieces of at most ``max_tokens`` tokens each, never cutting words.

    Tries, in order: sentence ends inside the segment (e.g. inside a quotation), clause
    boundaries (after ، , ; ؛ : and dashes), then whitespace, first among points outside
    quotes and brackets (more exactly: at the shallowest nesting found between the
    segment's words), then anywhere.  At each step the candidate nearest the middle wins
    (the leftmost on a tie) and both halves are split again if still too long.  A single
    word longer than ``max_tokens`` stays whole.  Pieces keep ``segment.paragraph`` and
    document offsets; their indices are provisional (``segment.index + k``): call
    :func:`renumber` on the whole document afterwards.
    """
    if max_tokens < 1:
        raise SegmentationError(f"max_tokens must be at least 1, got {max_tokens}")
    text = segment.text
    lo, hi = _strip_span(text, 0, len(text))
    if lo == hi:
        return [segment]
    return list(_iter_split(segment, lo, hi, max_tokens, count_tokens))


def _iter_split(
    segment: Segment, lo: int, hi: int, max_tokens: int, count_tokens: Callable[[str], int]
) -> Iterator[Segment]:
    """:func:`split_long`'s pieces one at a time (a segment of megabytes is cut into blocks
    of :func:`_block_size` characters first, and each block split when it is reached)."""
    text = segment.text
    size = _block_size(max_tokens)
    blocks = _blocks(text, lo, hi, size) if hi - lo > size else iter([(lo, hi)])
    k = 0
    for b_lo, b_hi in blocks:
        spans = _pieces(text, b_lo, b_hi, max_tokens, count_tokens)
        if spans == [(0, len(text))]:
            yield segment
            return
        for s, e in spans:
            yield Segment(
                index=segment.index + k,
                start=segment.start + s,
                end=segment.start + e,
                text=text[s:e],
                paragraph=segment.paragraph,
            )
            k += 1


def renumber(segments: Iterable[Segment]) -> list[Segment]:
    """Return the segments, in the given order, with indices 0..n-1."""
    return [replace(s, index=i) if s.index != i else s for i, s in enumerate(segments)]


def split_for_model(
    text: str,
    lang: str,
    max_tokens: int,
    count_tokens: Callable[[str], int],
) -> list[Segment]:
    """:func:`split_document`, then :func:`split_long` on every segment, then :func:`renumber`."""
    return list(iter_for_model(text, lang, max_tokens, count_tokens))


def iter_for_model(
    text: str,
    lang: str,
    max_tokens: int,
    count_tokens: Callable[[str], int],
) -> Iterator[Segment]:
    """:func:`split_for_model` one segment at a time: the same segments, numbered 0..n-1,
    without holding the list (long inputs are streamed through the pipeline)."""
    index = 0
    if max_tokens < 1:
        raise SegmentationError(f"max_tokens must be at least 1, got {max_tokens}")
    for segment in iter_document(text, lang):
        lo, hi = _strip_span(segment.text, 0, len(segment.text))
        pieces = _iter_split(segment, lo, hi, max_tokens, count_tokens) if lo < hi else iter([segment])
        for piece in pieces:
            yield replace(piece, index=index) if piece.index != index else piece
            index += 1
