"""TBX glossaries: TBX-Basic (ISO 30042:2008, ``martif``) and TBX v3 (ISO 30042:2019, ``tbx``).

Reading accepts both structures (and mixes of their element names):
``martif/text/body/termEntry/langSet[@xml:lang]/(tig|ntig)//term`` and
``tbx/text/body/conceptEntry/langSec[@xml:lang]/termSec/term``.  Element prefixes and the
TBX v3 namespace are ignored.

Per entry:

* source-language terms: the first one whose ``termNote type="administrativeStatus"`` is
  ``preferredTerm-admn-sts`` is the source; else the first one not deprecated/superseded;
  else the first one.  All the others, in document order, are variants;
* target-language terms: chosen by the same rule; any other target terms are appended to
  the note as ``other <lang> terms: a | b (deprecated)`` so that nothing is lost silently;
* status is ``deprecated`` when every source term or every target term is
  ``deprecatedTerm-admn-sts``/``supersededTerm-admn-sts``;
* note: every ``<note>`` and ``<descrip type="definition">`` of the entry, of its source and
  target language sections and of their terms, in document order, joined by line breaks;
* domain: ``<descrip type="subjectField">`` (several are joined with ``"; "``);
* context (disambiguation): ``<descrip type="context">`` of the source term;
* number: a term with ``<termNote type="grammaticalNumber">plural</termNote>`` is never the
  main term; in the source language it is a source plural (matched as the plural), in the
  target language the first one is the target plural (enforced for a dual or plural match);
* blocking contexts: ``<descrip type="x-blockedContext">`` of the source term, one per phrase.

Languages come from ``xml:lang``.  If the file has the requested ``source_lang`` and
``target_lang`` (compared by primary subtag: ``ar-SA`` is ``ar``), those are read; otherwise
a two-language file is read with the root's ``xml:lang`` (or else the first language met)
as source.  An entry without a source or target term is an error.

Safety: the XML is parsed with expat directly: no external entity or DTD is ever loaded, a
``DOCTYPE`` with an internal subset, any entity declaration and any undefined entity are
refused (a plain ``<!DOCTYPE martif SYSTEM "TBXBasiccoreStructV02.dtd">``, as CAT tools
write, is accepted).  Only UTF-8 is accepted.

Writing (deterministic, sorted, no dates): TBX-Basic by default (``martif type="TBX-Basic"``
with ``xml:lang`` = source language, ``martifHeader``, ``termEntry id="tp-<hash>"``, where the
id is a hash of source and context so it is stable across exports), TBX v3 with
``version="v3"`` (``<tbx type="TBX-Basic" style="dca" xmlns="urn:iso:std:iso:30042:ed-2">``,
``conceptEntry``/``langSec``/``termSec``).  Each entry: ``descrip subjectField`` (domain),
``note``, then the source language section with the source term first
(``preferredTerm-admn-sts``, plus ``descrip context``) and one term per variant
(``admittedTerm-admn-sts``) and per source plural (also ``grammaticalNumber`` plural), then
the target section with one term (``preferredTerm-admn-sts``) and the target plural if any
(``admittedTerm-admn-sts``, ``grammaticalNumber`` plural).  In a deprecated entry every term is ``deprecatedTerm-admn-sts``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from translate_pipe.errors import FormatError
from translate_pipe.formats.common import Located
from translate_pipe.records import Term

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

XML_LANG = "xml:lang"
TBX_V3_NAMESPACE = "urn:iso:std:iso:30042:ed-2"
ENTRY_TAGS = frozenset({"termEntry", "conceptEntry"})
LANG_TAGS = frozenset({"langSet", "langSec"})
GROUP_TAGS = frozenset({"tig", "ntig", "termSec"})
PREFERRED = "preferredTerm-admn-sts"
ADMITTED = "admittedTerm-admn-sts"
DEPRECATED = "deprecatedTerm-admn-sts"
BLOCKED = "x-blockedContext"  # our data category: a longer phrase the term must not match in

_XML_INVALID = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ENCODING_DECL = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


class _Found(Exception):
    """Raised by the root sniffer to stop parsing at the first element."""

    def __init__(self, tag: str) -> None:
        super().__init__(tag)
        self.tag = tag


def _local(tag: str) -> str:
    return tag.rsplit(":", 1)[-1]


def _primary(lang: str) -> str:
    return lang.strip().lower().replace("_", "-").split("-")[0]


def xml_invalid_char(term: Term) -> str:
    """Return the first character of ``term`` that XML 1.0 cannot carry, or ``""``."""
    for value in (
        term.source,
        term.target,
        term.note,
        term.domain,
        term.context,
        term.target_plural,
        *term.variants,
        *term.source_plurals,
        *term.blocked_in,
    ):
        m = _XML_INVALID.search(value)
        if m:
            return m.group(0)
    return ""


# --------------------------------------------------------------------------- parsing


def _new_parser(
    path: Path, data: bytes, on_start: Callable[[str, dict[str, str], int], None]
) -> Any:
    """An expat parser that refuses entity declarations, internal DTD subsets and
    undefined entities, and never loads anything external."""
    from xml.parsers import expat

    m = _ENCODING_DECL.match(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    if m and m.group(1).decode("ascii").lower() not in ("utf-8", "utf8"):
        raise FormatError(
            f"{path}: line 1: the XML declares encoding {m.group(1).decode('ascii')}; "
            "only UTF-8 TBX files are supported: convert the file and its declaration"
        )
    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(name: str, sysid: str | None, pubid: str | None, internal: int) -> None:
        if internal:
            raise FormatError(
                f"{path}: line {parser.CurrentLineNumber}: DOCTYPE with an internal subset "
                "(entity or other declarations) refused for safety; remove the [...] part"
            )

    def entity_decl(name: str, *_: object) -> None:
        raise FormatError(
            f"{path}: line {parser.CurrentLineNumber}: entity declaration {name!r} refused "
            "for safety; TBX files need no entity declarations"
        )

    def skipped(name: str, is_parameter_entity: int) -> None:
        raise FormatError(
            f"{path}: line {parser.CurrentLineNumber}: undefined entity &{name}; "
            "use the character itself (UTF-8) or a numeric reference"
        )

    def start(tag: str, attrs: dict[str, str]) -> None:
        on_start(tag, attrs, parser.CurrentLineNumber)

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity_decl
    parser.UnparsedEntityDeclHandler = entity_decl
    parser.SkippedEntityHandler = skipped
    parser.StartElementHandler = start
    return parser


def _parse(path: Path, data: bytes) -> tuple[Element, dict[int, int]]:
    import xml.etree.ElementTree as ET
    from xml.parsers import expat

    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}

    def on_start(tag: str, attrs: dict[str, str], line: int) -> None:
        lines[id(builder.start(tag, attrs))] = line

    parser = _new_parser(path, data, on_start)
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise FormatError(
            f"{path}: line {exc.lineno}: XML is not well-formed: {expat.errors.messages[exc.code]}"
        ) from None
    return builder.close(), lines


def sniff_root(path: Path, data: bytes) -> str:
    """Return the local name of the root element of XML ``data`` (safely, without reading on)."""
    from xml.parsers import expat

    def on_start(tag: str, attrs: dict[str, str], line: int) -> None:
        raise _Found(tag)

    parser = _new_parser(path, data, on_start)
    try:
        parser.Parse(data, True)
    except _Found as found:
        return _local(found.tag)
    except expat.ExpatError as exc:
        raise FormatError(
            f"{path}: line {exc.lineno}: XML is not well-formed: {expat.errors.messages[exc.code]}"
        ) from None
    raise FormatError(f"{path}: no XML element found")


class _TermInfo(NamedTuple):
    text: str
    status: str  # "preferred" | "deprecated" | ""
    context: str
    plural: bool  # termNote grammaticalNumber = plural
    blocked: tuple[str, ...]  # descrip x-blockedContext


def _text(el: Element) -> str:
    return "".join(el.itertext())


def _admin_status(group: Element) -> str:
    for el in group.iter():
        if _local(el.tag) == "termNote" and el.get("type") == "administrativeStatus":
            value = _text(el).strip().lower()
            if value.startswith(("deprecated", "superseded")):
                return "deprecated"
            if value.startswith("preferred"):
                return "preferred"
            return ""
    return ""


def _pick(terms: Sequence[_TermInfo]) -> int:
    singular = [i for i, t in enumerate(terms) if not t.plural]
    if singular and len(singular) < len(terms):  # the plural forms are never the main term
        return singular[_pick([terms[i] for i in singular])]
    for i, t in enumerate(terms):
        if t.status == "preferred":
            return i
    for i, t in enumerate(terms):
        if t.status != "deprecated":
            return i
    return 0


def read_tbx(
    path: Path, data: bytes, *, source_lang: str, target_lang: str
) -> tuple[list[Located], str, str]:
    """Parse TBX ``data`` read from ``path``."""
    root, lines = _parse(path, data)
    if _local(root.tag) not in ("martif", "tbx"):
        raise FormatError(
            f"{path}: root element is <{root.tag}>, not TBX <martif> (TBX-Basic) or <tbx> (TBX v3)"
        )
    body = None
    for text in (c for c in root if _local(c.tag) == "text"):
        body = next((c for c in text if _local(c.tag) == "body"), None)
        break
    if body is None:
        raise FormatError(f"{path}: no <text><body> element; is this a TBX glossary?")
    entries = [c for c in body if _local(c.tag) in ENTRY_TAGS]

    def label(index: int, entry: Element) -> str:
        ident = entry.get("id")
        line = lines.get(id(entry))
        bits = ([f"id {ident!r}"] if ident else []) + ([f"line {line}"] if line else [])
        return f"{_local(entry.tag)} {index}" + (f" ({', '.join(bits)})" if bits else "")

    # Pass 1: languages.
    seen: dict[str, str] = {}  # primary subtag -> code as first written
    for index, entry in enumerate(entries, 1):
        for section in (c for c in entry if _local(c.tag) in LANG_TAGS):
            lang = section.get(XML_LANG, "").strip()
            if not lang:
                line = lines.get(id(section))
                raise FormatError(
                    f"{path}: {label(index, entry)}: <{_local(section.tag)}> without xml:lang"
                    + (f" at line {line}" if line else "")
                )
            seen.setdefault(_primary(lang), lang)
    src_p, tgt_p = _choose_languages(
        path, list(seen), root.get(XML_LANG, ""), source_lang, target_lang
    )
    src_code = seen.get(src_p) or (root.get(XML_LANG, "").strip() or source_lang)
    tgt_code = seen.get(tgt_p) or (target_lang if _primary(target_lang) == tgt_p else source_lang)

    # Pass 2: terms.
    items: list[Located] = []
    for index, entry in enumerate(entries, 1):
        where = label(index, entry)
        items.append(Located(_entry_term(path, where, entry, src_p, tgt_p, tgt_code), where))
    return items, src_code, tgt_code


def _choose_languages(
    path: Path, langs: list[str], root_lang: str, source_lang: str, target_lang: str
) -> tuple[str, str]:
    want_src, want_tgt = _primary(source_lang), _primary(target_lang)
    if not langs:  # no entries: trust the root's xml:lang, else the caller
        src = _primary(root_lang) or want_src
        return src, (want_tgt if want_tgt != src else want_src)
    if want_src in langs and want_tgt in langs and want_src != want_tgt:
        return want_src, want_tgt
    if len(langs) == 2:
        first = _primary(root_lang) if _primary(root_lang) in langs else langs[0]
        other = langs[1] if first == langs[0] else langs[0]
        return first, other
    raise FormatError(
        f"{path}: the file has languages {', '.join(langs)}; cannot find source "
        f"{source_lang!r} and target {target_lang!r}: name the source and target languages"
    )


def _entry_term(
    path: Path, where: str, entry: Element, src_p: str, tgt_p: str, tgt_code: str
) -> Term:
    src_groups: list[Element] = []
    tgt_groups: list[Element] = []
    note_scopes: list[Element] = []
    for child in entry:
        if _local(child.tag) in LANG_TAGS:
            primary = _primary(child.get(XML_LANG, ""))
            if primary == src_p:
                src_groups += [g for g in child if _local(g.tag) in GROUP_TAGS]
            elif primary == tgt_p:
                tgt_groups += [g for g in child if _local(g.tag) in GROUP_TAGS]
            else:
                continue
        note_scopes.append(child)
    src_terms = [_term_info(path, where, g) for g in src_groups]
    tgt_terms = [_term_info(path, where, g) for g in tgt_groups]
    if not src_terms:
        raise FormatError(f"{path}: {where}: no {src_p} term; every entry needs a source term")
    if not tgt_terms:
        raise FormatError(f"{path}: {where}: no {tgt_p} term; every entry needs a target term")
    s, t = _pick(src_terms), _pick(tgt_terms)
    notes: list[str] = []
    domains: list[str] = []
    for scope in note_scopes:
        for el in scope.iter():
            name, kind = _local(el.tag), el.get("type")
            if name == "note" or (name == "descrip" and kind == "definition"):
                notes.append(_text(el))
            elif name == "descrip" and kind == "subjectField":
                domain = _text(el)
                if domain not in domains:
                    domains.append(domain)
    plural_targets = [x for i, x in enumerate(tgt_terms) if i != t and x.plural and x.text.strip()]
    target_plural = plural_targets[0].text.strip() if plural_targets else ""
    others = [
        x
        for i, x in enumerate(tgt_terms)
        if i != t and x.text.strip() and not (plural_targets and x is plural_targets[0])
    ]
    if others:
        listed = " | ".join(
            x.text.strip() + (" (deprecated)" if x.status == "deprecated" else "") for x in others
        )
        notes.append(f"other {tgt_code} terms: {listed}")
    deprecated = all(x.status == "deprecated" for x in src_terms) or all(
        x.status == "deprecated" for x in tgt_terms
    )
    return Term(
        source=src_terms[s].text,
        target=tgt_terms[t].text,
        variants=tuple(
            x.text.strip()
            for i, x in enumerate(src_terms)
            if i != s and x.text.strip() and not x.plural
        ),
        source_plurals=tuple(
            x.text.strip() for i, x in enumerate(src_terms) if i != s and x.text.strip() and x.plural
        ),
        target_plural=target_plural,
        blocked_in=src_terms[s].blocked,
        note="\n".join(notes),
        domain="; ".join(domains),
        status="deprecated" if deprecated else "approved",
        context=src_terms[s].context,
    )


def _term_info(path: Path, where: str, group: Element) -> _TermInfo:
    term = next((el for el in group.iter() if _local(el.tag) == "term"), None)
    if term is None:
        raise FormatError(f"{path}: {where}: <{_local(group.tag)}> without a <term>")
    context = next(
        (
            _text(el)
            for el in group.iter()
            if _local(el.tag) == "descrip" and el.get("type") == "context"
        ),
        "",
    )
    plural = any(
        _local(el.tag) == "termNote"
        and el.get("type") == "grammaticalNumber"
        and _text(el).strip().lower() == "plural"
        for el in group.iter()
    )
    blocked = tuple(
        _text(el).strip()
        for el in group.iter()
        if _local(el.tag) == "descrip" and el.get("type") == BLOCKED and _text(el).strip()
    )
    return _TermInfo(_text(term), _admin_status(group), context, plural, blocked)


# --------------------------------------------------------------------------- writing


def _esc(value: str) -> str:
    return (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    )


def _attr(value: str) -> str:
    return _esc(value).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")


def entry_id(term: Term) -> str:
    """Stable ``termEntry``/``conceptEntry`` id derived from source and context."""
    digest = hashlib.sha1(f"{term.source}\x00{term.context}".encode()).hexdigest()
    return f"tp-{digest[:16]}"


def dumps_tbx(
    terms: Sequence[Term],
    *,
    source_lang: str,
    target_lang: str,
    name: str = "",
    version: str = "basic",
) -> str:
    """Serialise ``terms`` (already sorted and checked) as TBX-Basic or TBX v3."""
    if (
        _primary(source_lang) == _primary(target_lang)
        or not source_lang.strip()
        or not target_lang.strip()
    ):
        raise FormatError(
            f"cannot export as tbx: source and target languages must differ "
            f"(got {source_lang!r} and {target_lang!r})"
        )
    for value in (name, source_lang, target_lang):
        m = _XML_INVALID.search(value)
        if m:
            raise FormatError(f"cannot export as tbx: U+{ord(m.group(0)):04X} in {value!r}")
    basic = version == "basic"
    if basic:
        root, header, entry_tag, lang_tag, group_tag = (
            "martif",
            "martifHeader",
            "termEntry",
            "langSet",
            "tig",
        )
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<martif type="TBX-Basic" xml:lang="{_attr(source_lang)}">',
        ]
    else:
        root, header, entry_tag, lang_tag, group_tag = (
            "tbx",
            "tbxHeader",
            "conceptEntry",
            "langSec",
            "termSec",
        )
        out = [
            '<?xml version="1.0" encoding="UTF-8"?>',
            (
                f'<tbx type="TBX-Basic" style="dca" xmlns="{TBX_V3_NAMESPACE}" '
                f'xml:lang="{_attr(source_lang)}">'
            ),
        ]
    out += [f"  <{header}>", "    <fileDesc>"]
    if name:
        out += ["      <titleStmt>", f"        <title>{_esc(name)}</title>", "      </titleStmt>"]
    out += [
        "      <sourceDesc>",
        f"        <p>translate-pipe glossary, {_esc(source_lang)} to {_esc(target_lang)}</p>",
        "      </sourceDesc>",
        "    </fileDesc>",
    ]
    if basic:
        out += [
            "    <encodingDesc>",
            '      <p type="XCSURI">TBXBasicXCSV02.xcs</p>',
            "    </encodingDesc>",
        ]
    out += [f"  </{header}>", "  <text>", "    <body>"]
    for term in terms:
        dep = term.status == "deprecated"
        out.append(f'      <{entry_tag} id="{entry_id(term)}">')
        if term.domain:
            out.append(f'        <descrip type="subjectField">{_esc(term.domain)}</descrip>')
        if term.note:
            out.append(f"        <note>{_esc(term.note)}</note>")
        out.append(f'        <{lang_tag} xml:lang="{_attr(source_lang)}">')
        out += _group(
            group_tag, term.source, DEPRECATED if dep else PREFERRED, term.context, blocked=term.blocked_in
        )
        for variant in term.variants:
            out += _group(group_tag, variant, DEPRECATED if dep else ADMITTED, "")
        for plural in term.source_plurals:
            out += _group(group_tag, plural, DEPRECATED if dep else ADMITTED, "", plural=True)
        out.append(f"        </{lang_tag}>")
        out.append(f'        <{lang_tag} xml:lang="{_attr(target_lang)}">')
        out += _group(group_tag, term.target, DEPRECATED if dep else PREFERRED, "")
        if term.target_plural:
            out += _group(group_tag, term.target_plural, DEPRECATED if dep else ADMITTED, "", plural=True)
        out.append(f"        </{lang_tag}>")
        out.append(f"      </{entry_tag}>")
    out += ["    </body>", "  </text>", f"</{root}>"]
    return "\n".join(out) + "\n"


def _group(
    tag: str, text: str, status: str, context: str, *, plural: bool = False, blocked: Sequence[str] = ()
) -> list[str]:
    lines = [
        f"          <{tag}>",
        f"            <term>{_esc(text)}</term>",
        f'            <termNote type="administrativeStatus">{status}</termNote>',
    ]
    if plural:
        lines.append('            <termNote type="grammaticalNumber">plural</termNote>')
    if context:
        lines.append(f'            <descrip type="context">{_esc(context)}</descrip>')
    lines += [f'            <descrip type="{BLOCKED}">{_esc(b)}</descrip>' for b in blocked]
    lines.append(f"          </{tag}>")
    return lines
