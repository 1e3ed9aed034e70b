"""PDF with a text layer, as input only (pypdf); the translation is written as plain text.

Each page's text is extracted; its lines are joined into paragraphs, which only blank lines
and page ends separate, so a sentence broken across lines is one segment.
A PDF without a text layer (a scan) is refused: run OCR first.
"""

from __future__ import annotations

import io
import re

from ..errors import InputError
from .markup import PlainParts


_LEADING_PUNCT = re.compile(r"^([.!?\u060c\u061b\u061f:]+)\s*(?=[\u0600-\u06FF])")


def _logical(line: str) -> str:
    """An Arabic line's closing punctuation is extracted at its visual start (the left end of a
    right-to-left line): put it back at the end."""
    m = _LEADING_PUNCT.match(line)
    return line[m.end() :] + m.group(1) if m else line


class PdfDocument(PlainParts):
    output_suffix = ".txt"

    def __init__(self, name: str, data: bytes) -> None:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError

        try:
            reader = PdfReader(io.BytesIO(data))
            pages = [page.extract_text() or "" for page in reader.pages]
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{name}: not a readable PDF ({exc})") from None
        if reader.is_encrypted:
            raise InputError(f"{name}: the PDF is encrypted; decrypt it first")
        paragraphs: list[str] = []
        for text in pages:
            for para in re.split(r"\n\s*\n", text):
                joined = " ".join(_logical(line.strip()) for line in para.splitlines() if line.strip())
                if joined:
                    paragraphs.append(joined)
        if not any(any(ch.isalpha() for ch in p) for p in paragraphs):
            raise InputError(f"{name}: the PDF has no text layer (a scan?); run OCR first")
        super().__init__(paragraphs)

    def to_bytes(self) -> bytes:
        return ("\n\n".join(self.parts) + "\n").encode("utf-8")
