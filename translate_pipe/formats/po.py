"""PO (gettext) glossaries, through polib.

Mapping (as translate-toolkit's ``tbx2po`` does): ``msgid`` = source term, ``msgstr`` = target
term, ``msgctxt`` = context (disambiguation; absent when the context is empty).  The other
fields are extracted comments (``#.``), one line per non-empty field, in this order::

    #. variants: مذكرة التفاهم | مذكرة تفاهم مشتركة
    #. note: first line\\nsecond line
    #. domain: diplomacy
    #. status: deprecated
    #. plurals: مذكرات تفاهم
    #. blocked_in: مجلس الأمن القومي | ...

Number (PO's own plural forms, in the target language, English: ``nplurals=2``): a term with
a ``target_plural`` is a plural entry, ``msgid_plural`` = its first source plural (or the
``msgid`` again when it has none), ``msgstr[0]`` = target, ``msgstr[1]`` = target plural; any
further source plurals, and all of them for a term without a target plural, are in
``#. plurals:``.  The header then has ``Plural-Forms: nplurals=2; plural=(n != 1);``.

Values are escaped so that each stays on one line and survives polib/gettext untouched:
``\\\\`` for a backslash, ``\\n``, ``\\r``, ``\\t``, ``\\uXXXX`` (``\\UXXXXXXXX``) for any other
non-printable character (including NBSP and bidi controls) and for a trailing space; inside
``variants`` a literal ``|`` is written ``\\u007c``.  ``status`` is written only for
deprecated terms; deprecated terms stay ordinary (non-obsolete) entries so that their
comments survive (gettext tools drop ``#.`` comments on obsolete ``#~`` entries).

Reading also accepts PO files from other tools: obsolete (``#~``) entries are deprecated
terms; extracted comments without one of the keys above and translator comments (``#``)
become the note (after a ``note:`` value, one per line); ``fuzzy`` flags are ignored.
Plural entries with other than two forms, empty ``msgstr``, a header charset other than UTF-8
and syntax errors are errors naming the line.

The header has ``Project-Id-Version`` (the glossary name), ``Language`` (target),
``X-Source-Language`` (source), ``MIME-Version``, ``Content-Type`` (UTF-8) and
``Content-Transfer-Encoding``; ``POT-Creation-Date``/``PO-Revision-Date`` only with
``include_dates=True``.  Entries are sorted by ``(source, context)``; no line wrapping.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

from translate_pipe.errors import FormatError
from translate_pipe.formats.common import Located
from translate_pipe.records import Term

COMMENT_KEYS: tuple[str, ...] = ("variants", "note", "domain", "status", "plurals", "blocked_in")
_KEYED = re.compile(r"^(variants|note|domain|status|plurals|blocked_in):(?: (.*))?$", re.DOTALL)
_LIST_KEYS = ("variants", "plurals", "blocked_in")
PLURAL_FORMS = "nplurals=2; plural=(n != 1);"
_UNESCAPE = re.compile(r"\\(?:(n)|(r)|(t)|(\\)|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8}))")
_SIMPLE_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_LINE_IN_POLIB_ERROR = re.compile(r"\(line (\d+)\)")


def escape_value(value: str, *, pipe: bool = False) -> str:
    """Escape ``value`` for one ``#.`` comment line (see the module docstring)."""
    out: list[str] = []
    last = len(value) - 1
    for i, ch in enumerate(value):
        if ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif (pipe and ch == "|") or not ch.isprintable() or (ch == " " and i == last):
            code = ord(ch)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


def unescape_value(value: str) -> str:
    """Inverse of :func:`escape_value`; unknown backslash sequences are kept as written."""

    def repl(m: re.Match[str]) -> str:
        n, r, t, backslash, u4, u8 = m.groups()
        if n:
            return "\n"
        if r:
            return "\r"
        if t:
            return "\t"
        if backslash:
            return "\\"
        code = int(u4 or u8, 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return m.group(0)
        return chr(code)

    return _UNESCAPE.sub(repl, value)


def read_po(
    path: Path, data: bytes, *, source_lang: str, target_lang: str
) -> tuple[list[Located], str, str]:
    """Parse a PO file (``data`` is its already checked UTF-8 content)."""
    import polib

    _check_strings(path, data)
    try:
        catalog = polib.pofile(str(path), encoding="utf-8", wrapwidth=0)
    except (OSError, ValueError, IndexError, KeyError, TypeError, UnicodeError) as exc:
        detail = str(exc)
        m = _LINE_IN_POLIB_ERROR.search(detail)
        where = f"line {m.group(1)}: " if m else ""
        detail = re.sub(r"^Syntax error in po file .*?\(line \d+\):?\s*", "", detail)
        detail = detail or "expected a comment, msgctxt, msgid, msgstr or a quoted string"
        raise FormatError(f"{path}: {where}PO syntax error: {detail}") from None
    charset = _charset(catalog.metadata.get("Content-Type", ""))
    if (
        charset
        and charset.lower().replace("_", "-") not in ("utf-8", "utf8")
        and not data.isascii()
    ):
        raise FormatError(
            f"{path}: the header declares charset {charset}; convert the file to UTF-8 "
            "(msgconv --to-code=UTF-8) and fix the header"
        )
    src = catalog.metadata.get("X-Source-Language", "").strip() or source_lang
    tgt = catalog.metadata.get("Language", "").strip() or target_lang
    items: list[Located] = []
    for entry in catalog:
        where = f"line {entry.linenum}"
        comments = _parse_comments(path, where, entry.comment)
        target, target_plural, plurals = entry.msgstr, "", comments.lists["plurals"]
        if entry.msgid_plural:
            forms = [entry.msgstr_plural.get(k, "") for k in sorted(entry.msgstr_plural)]
            if len(forms) != 2:
                raise FormatError(
                    f"{path}: {where}: plural entry {entry.msgid!r} has {len(forms)} forms; "
                    "a glossary entry has two (msgstr[0] the target, msgstr[1] its plural)"
                )
            target, target_plural = forms
            if entry.msgid_plural != entry.msgid:
                plurals = (entry.msgid_plural, *plurals)
        note_parts = comments.note_parts + ([entry.tcomment] if entry.tcomment else [])
        status = comments.status or ("deprecated" if entry.obsolete else "approved")
        term = Term(
            source=entry.msgid,
            target=target,
            variants=comments.lists["variants"],
            note="\n".join(note_parts),
            domain=comments.domain,
            status=status.strip().lower(),
            context=entry.msgctxt or "",
            target_plural=target_plural,
            source_plurals=plurals,
            blocked_in=comments.lists["blocked_in"],
        )
        items.append(Located(term, where))
    return items, src, tgt


_KEYWORD_LINE = re.compile(r'^(?:#~\s*)?(?:msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)?\s*"')
_QUOTED_LINE = re.compile(r'^(?:#~\s*)?(?:msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)?\s*"(?:[^"\\]|\\.)*"\s*$')


def _check_strings(path: Path, data: bytes) -> None:
    """Refuse a quoted string that is not closed on its line (polib would cut it short)."""
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        stripped = line.strip()
        if _KEYWORD_LINE.match(stripped) and not _QUOTED_LINE.match(stripped):
            raise FormatError(f"{path}: line {number}: unterminated string (no closing quote): {stripped[:60]}")


class _Comments(NamedTuple):
    lists: dict[str, tuple[str, ...]]  # variants, plurals, blocked_in
    note_parts: list[str]
    domain: str
    status: str | None


def _parse_comments(path: Path, where: str, comment: str) -> _Comments:
    values: dict[str, str] = {}
    lists: dict[str, tuple[str, ...]] = dict.fromkeys(_LIST_KEYS, ())
    free: list[str] = []
    for line in comment.split("\n") if comment else ():
        m = _KEYED.match(line)
        if not m:
            free.append(line)
            continue
        key, raw = m.group(1), m.group(2) or ""
        if key in values:
            raise FormatError(f"{path}: {where}: repeated '#. {key}:' comment")
        values[key] = raw
        if key in _LIST_KEYS:
            lists[key] = tuple(unescape_value(v.strip()) for v in raw.split("|") if v.strip())
    keyed_note = [unescape_value(values["note"])] if "note" in values else []
    return _Comments(
        lists=lists,
        note_parts=keyed_note + free,
        domain=unescape_value(values.get("domain", "")),
        status=unescape_value(values["status"]) if "status" in values else None,
    )


def _charset(content_type: str) -> str:
    m = re.search(r"charset\s*=\s*([^\s;]+)", content_type, re.IGNORECASE)
    return m.group(1) if m else ""


def dumps_po(
    terms: Sequence[Term],
    *,
    source_lang: str,
    target_lang: str,
    name: str = "",
    include_dates: bool = False,
    now: datetime | None = None,
) -> str:
    """Serialise ``terms`` (already sorted and checked) as a PO file."""
    import polib

    catalog = polib.POFile(wrapwidth=0)
    catalog.header = (
        f"Glossary {name or '(unnamed)'}: {source_lang} -> {target_lang}, written by translate-pipe.\n"
        "msgid = source term, msgstr = target term, msgctxt = context; extracted comments\n"
        "carry variants (separated by |), note, domain and status (escaped, one line each)."
    )
    metadata = {
        "Project-Id-Version": name or "glossary",
        "Last-Translator": "translate-pipe",
        "Language-Team": "translate-pipe",
        "Language": target_lang,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "X-Source-Language": source_lang,
    }
    if include_dates:
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M%z")
        metadata["POT-Creation-Date"] = stamp
        metadata["PO-Revision-Date"] = stamp
    if any(t.target_plural for t in terms):
        metadata["Plural-Forms"] = PLURAL_FORMS
    catalog.metadata = metadata
    for t in terms:
        lines: list[str] = []
        if t.variants:
            lines.append("variants: " + " | ".join(escape_value(v, pipe=True) for v in t.variants))
        if t.note:
            lines.append("note: " + escape_value(t.note))
        if t.domain:
            lines.append("domain: " + escape_value(t.domain))
        if t.status != "approved":
            lines.append("status: " + escape_value(t.status))
        in_comment = t.source_plurals[1:] if t.target_plural else t.source_plurals
        for key, values in (("plurals", in_comment), ("blocked_in", t.blocked_in)):
            if values:
                lines.append(f"{key}: " + " | ".join(escape_value(v, pipe=True) for v in values))
        if t.target_plural:
            entry = polib.POEntry(
                msgid=t.source,
                msgid_plural=t.source_plurals[0] if t.source_plurals else t.source,
                msgstr_plural={0: t.target, 1: t.target_plural},
                msgctxt=t.context or None,
                comment="\n".join(lines),
            )
        else:
            entry = polib.POEntry(
                msgid=t.source, msgstr=t.target, msgctxt=t.context or None, comment="\n".join(lines)
            )
        catalog.append(entry)
    text = str(catalog)
    return text if text.endswith("\n") else text + "\n"
