"""CSV and TSV glossaries.

Layout: a header row, then one term per row.  Columns (any order, names case-insensitive):

* required: ``source``, ``target``;
* optional: ``variants`` (separated by ``|``; spaces around the separators and empty items
  are dropped), ``note``, ``domain``, ``status`` (``approved`` when empty, or ``deprecated``),
  ``context`` (disambiguation, like PO ``msgctxt``), ``target_plural`` (the target's plural,
  used for a dual or plural match), ``source_plurals`` (irregular plurals of the source, ``|``
  separated, matched as the plural) and ``blocked_in`` (longer phrases in which the term must
  not match, ``|`` separated).

Excel-style quoting (fields with the delimiter, quotes or line breaks are quoted, quotes
doubled); UTF-8 with or without BOM.  Empty rows are skipped.  Values other than variants are
kept exactly as written (lint reports untrimmed fields).  An unknown column, a missing
required column, a row with the wrong number of fields, an empty source or target and a
duplicate ``(source, context)`` are errors naming the file and the line.

The writer emits ``source,target,variants,note,domain`` and adds ``status``, ``context``,
``target_plural``, ``source_plurals`` and ``blocked_in`` only when some term has a non-default
value for them; no BOM, ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from translate_pipe.errors import FormatError
from translate_pipe.formats.common import Located
from translate_pipe.records import Term

BASE_COLUMNS: tuple[str, ...] = ("source", "target", "variants", "note", "domain")
EXTRA_COLUMNS: tuple[str, ...] = ("status", "context", "target_plural", "source_plurals", "blocked_in")
REQUIRED_COLUMNS: tuple[str, ...] = ("source", "target")
VARIANT_SEPARATOR = "|"


def _dialect(delimiter: str) -> type[csv.Dialect]:
    return csv.excel_tab if delimiter == "\t" else csv.excel


def read_csv(path: Path, text: str, *, delimiter: str = ",") -> list[Located]:
    """Parse CSV/TSV ``text`` read from ``path`` (used in messages)."""
    kind = "TSV" if delimiter == "\t" else "CSV"
    reader = csv.reader(io.StringIO(text, newline=""), dialect=_dialect(delimiter), strict=True)
    rows: list[tuple[int, list[str]]] = []
    last_line = 0
    try:
        for row in reader:
            rows.append((last_line + 1, row))
            last_line = reader.line_num
    except csv.Error as exc:
        raise FormatError(
            f"{path}: line {last_line + 1}: malformed {kind} ({exc}); check the quoting"
        ) from None
    rows = [(line, row) for line, row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise FormatError(f"{path}: empty file; expected a header row {','.join(BASE_COLUMNS)}")
    header_line, header = rows[0]
    columns = [cell.strip().lower() for cell in header]
    unknown = [
        header[i] for i, name in enumerate(columns) if name not in BASE_COLUMNS + EXTRA_COLUMNS
    ]
    if unknown:
        raise FormatError(
            f"{path}: line {header_line}: unknown column(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(BASE_COLUMNS + EXTRA_COLUMNS)}"
        )
    repeated = sorted({name for name in columns if columns.count(name) > 1})
    if repeated:
        raise FormatError(f"{path}: line {header_line}: repeated column(s) {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise FormatError(
            f"{path}: line {header_line}: missing required column(s) {', '.join(missing)}; "
            f"the header must name at least {','.join(REQUIRED_COLUMNS)}"
        )
    items: list[Located] = []
    for line, row in rows[1:]:
        if len(row) != len(columns):
            raise FormatError(
                f"{path}: line {line}: expected {len(columns)} fields, found {len(row)}; "
                "check for unquoted delimiters"
            )
        cell = dict(zip(columns, row))
        status = cell.get("status", "").strip().lower() or "approved"
        variants, plurals, blocked = (
            _split_list(cell.get(name, "")) for name in ("variants", "source_plurals", "blocked_in")
        )
        term = Term(
            source=cell["source"],
            target=cell["target"],
            variants=variants,
            note=cell.get("note", ""),
            domain=cell.get("domain", ""),
            status=status,
            context=cell.get("context", ""),
            target_plural=cell.get("target_plural", ""),
            source_plurals=plurals,
            blocked_in=blocked,
        )
        items.append(Located(term, f"line {line}"))
    return items


def _split_list(cell: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in cell.split(VARIANT_SEPARATOR) if v.strip())


def dumps_csv(terms: Sequence[Term], *, delimiter: str = ",") -> str:
    """Serialise ``terms`` (already sorted and checked) as CSV or TSV."""
    columns = list(BASE_COLUMNS)
    if any(t.status != "approved" for t in terms):
        columns.append("status")
    if any(t.context for t in terms):
        columns.append("context")
    if any(t.target_plural for t in terms):
        columns.append("target_plural")
    if any(t.source_plurals for t in terms):
        columns.append("source_plurals")
    if any(t.blocked_in for t in terms):
        columns.append("blocked_in")
    out = io.StringIO(newline="")
    writer = csv.writer(out, dialect=_dialect(delimiter), lineterminator="\n")
    writer.writerow(columns)
    for t in terms:
        values = {
            "source": t.source,
            "target": t.target,
            "variants": VARIANT_SEPARATOR.join(t.variants),
            "note": t.note,
            "domain": t.domain,
            "status": t.status,
            "context": t.context,
            "target_plural": t.target_plural,
            "source_plurals": VARIANT_SEPARATOR.join(t.source_plurals),
            "blocked_in": VARIANT_SEPARATOR.join(t.blocked_in),
        }
        writer.writerow([values[c] for c in columns])
    return out.getvalue()
