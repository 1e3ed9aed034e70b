"""Documents in and out with their formatting: .docx, .html, .odt round trips (and PDF in).

The template model generalises and is trained with guided alignment, so its word alignment
is good enough to check that inline formatting lands on the aligned target words.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from lxml import html as lhtml

from translate_pipe import api
from translate_pipe.documents import read_document
from translate_pipe.errors import InputError
from translate_pipe.models import install_from_file
from translate_pipe.store import Store

from .servers import Client, running_server

ROOT = Path(__file__).resolve().parents[1]
ARABIC = re.compile(r"[\u0600-\u06FF]")
LEAD, BOLD, TAIL = "أعلنت ", "وزارة الخارجية الروسية", " إنشاء مناطق خفض التصعيد في حمص"
S2 = "رفضت تركيا تعزيز الدول الضامنة في "
LINK = "حلب"
S3 = "ناقش مجلس الأمن أهمية التسوية السياسية"
S4 = "أعلنت روسيا وقف إطلاق النار في حمص"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, template_package: Path) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("documents")
    install_from_file(template_package, tmp / "packages")
    return {"tmp": tmp, "packages": tmp / "packages", "db": tmp / "t.db", "out": tmp / "out"}


def translate(env: dict[str, Any], path: Path, **kw: Any) -> Any:
    """`translate` with attention alignment: right on this model (trained with guided alignment)."""
    api._ENGINES.clear()
    return api.translate(
        [str(path)], db=env["db"], packages_dir=env["packages"], output_dir=env["out"], align="attention", **kw
    )


def words_by_style(target: str, links: list[list[int]], src_range: tuple[int, int]) -> tuple[set[str], set[str]]:
    """Target words linked only inside src_range, and words linked only outside it."""
    inside: dict[tuple[int, int], set[bool]] = {}
    for ss, se, ts, te in links:
        inside.setdefault((ts, te), set()).add(src_range[0] <= ss and se <= src_range[1])
    styled = {target[ts:te] for (ts, te), v in inside.items() if v == {True}}
    plain = {target[ts:te] for (ts, te), v in inside.items() if v == {False}}
    return styled, plain


def segment_of(result: Any, text: str) -> Any:
    return next(s for s in result.run.documents[0].segments if text in s.segment.text)


# -- .docx --------------------------------------------------------------------------------------
def make_docx(path: Path) -> None:
    import docx
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    d = docx.Document()
    p = d.add_paragraph()
    p._p.get_or_add_pPr().append(OxmlElement("w:bidi"))
    p.add_run(LEAD)
    p.add_run(BOLD).bold = True
    p.add_run(TAIL)
    table = d.add_table(rows=1, cols=2)
    table.cell(0, 0).text = S3
    table.cell(0, 1).text = S4
    p2 = d.add_paragraph()
    p2.add_run(S2)
    r_id = d.part.relate_to("https://example.org/aleppo", RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), r_id)
    run = OxmlElement("w:r")
    t = OxmlElement("w:t")
    t.text = LINK
    run.append(t)
    link.append(run)
    p2._p.append(link)
    d.sections[0].footer.paragraphs[0].text = S3
    add_footnote(d, p2, S2 + LINK)
    d.save(str(path))


W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def add_footnote(d: Any, paragraph: Any, text: str) -> None:
    """A footnotes part (python-docx cannot write one) and a reference to footnote 1."""
    from docx.opc.constants import CONTENT_TYPE as CT
    from docx.opc.constants import RELATIONSHIP_TYPE as RT
    from docx.opc.packuri import PackURI
    from docx.opc.part import Part
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    xml = (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:footnotes xmlns:w="{W_NS}">'
        f'<w:footnote w:id="1"><w:p><w:r><w:t xml:space="preserve">{text}</w:t></w:r></w:p></w:footnote>'
        "</w:footnotes>"
    )
    part = Part(PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, xml.encode(), d.part.package)
    d.part.relate_to(part, RT.FOOTNOTES)
    run = OxmlElement("w:r")
    ref = OxmlElement("w:footnoteReference")
    ref.set(qn("w:id"), "1")
    run.append(ref)
    paragraph._p.append(run)


def footnote_texts(d: Any) -> list[str]:
    from lxml import etree

    part = next(p for p in d.part.package.iter_parts() if p.partname == "/word/footnotes.xml")
    root = etree.fromstring(part.blob)
    return ["".join(t.text or "" for t in p.iter(f"{{{W_NS}}}t")) for p in root.iter(f"{{{W_NS}}}p")]


def test_docx_round_trip(env: dict[str, Any]) -> None:
    import docx
    from docx.oxml.ns import qn

    src = env["tmp"] / "bulletin.ar.docx"
    make_docx(src)
    result = translate(env, src)
    out = env["out"] / "bulletin.en.docx"
    assert result.run.documents[0].output_path == str(out)
    d = docx.Document(str(out))  # opens in the same library
    body = [p.text for p in d.paragraphs if p.text.strip()]
    cells = [c.text for c in d.tables[0].rows[0].cells]
    footer = [p.text for p in d.sections[0].footer.paragraphs if p.text.strip()]
    assert len(body) == 2 and len(cells) == 2 and len(footer) == 1
    for text in [*body, *cells, *footer]:
        assert text.strip() and not ARABIC.search(text), text
    assert "Homs" in body[0] and "Aleppo" in body[1] and "Security Council" in footer[0]
    # the sentence across plain and bold runs was one segment; bold sits on the aligned words
    seg = segment_of(result, BOLD)
    assert LEAD.strip() in seg.segment.text and TAIL.strip() in seg.segment.text
    start = seg.segment.start + seg.segment.text.index(BOLD)
    bold_words, plain_words = words_by_style(seg.target, [list(link) for link in seg.alignment], (start, start + len(BOLD)))
    assert bold_words and plain_words
    bold_text = " ".join(r.text for r in d.paragraphs[0].runs if r.bold)
    plain_text = " ".join(r.text for r in d.paragraphs[0].runs if not r.bold)
    assert all(w in bold_text.split() for w in bold_words), (bold_text, bold_words)
    assert not any(w in bold_text.split() for w in plain_words), (bold_text, plain_words)
    assert "Foreign Ministry" in bold_text and "announced" in plain_text
    # the hyperlink survives, on the aligned word
    links = d.paragraphs[1]._p.findall(qn("w:hyperlink"))
    assert len(links) == 1 and "".join(t.text for t in links[0].iter(qn("w:t"))) == "Aleppo"
    assert d.part.rels[links[0].get(qn("r:id"))].target_ref == "https://example.org/aleppo"
    # footnotes too (a part python-docx keeps as bytes)
    notes = footnote_texts(d)
    assert len(notes) == 1 and "Aleppo" in notes[0] and not ARABIC.search(notes[0])
    # direction and language set for English
    assert d.paragraphs[0]._p.pPr.find(qn("w:bidi")) is None
    assert d.styles.element.find(".//" + qn("w:lang")).get(qn("w:val")) == "en-GB"
    # stored like any run: the document text, segments, alignment
    with Store(env["db"]) as store:
        assert len(store.translations(result.run.run_id)) == 6


# -- .html --------------------------------------------------------------------------------------
PAGE = f"""<!DOCTYPE html>
<html lang="ar" dir="rtl"><head><meta charset="utf-8"><title>{S3}</title></head>
<body>
  <h1>{S4}</h1>
  <p>
    {LEAD}<b>وزارة <i>الخارجية</i>
    الروسية</b>{TAIL}
  </p>
  <ul><li>{S2}<a href="https://example.org/?a=1&amp;b=2" title="{S4}">&#1581;&#1604;&#1576;</a></li></ul>
  <p>{S3} <code>a &lt; b &amp;&amp; c</code><script>var x = "لا تترجم";</script></p>
  <table><tr><td>{S4}</td></tr></table>
</body></html>
"""


def test_html_round_trip(env: dict[str, Any]) -> None:
    src = env["tmp"] / "page.ar.html"
    src.write_text(PAGE, encoding="utf-8")
    result = translate(env, src)
    out = (env["out"] / "page.en.html").read_text(encoding="utf-8")
    assert out.startswith("<!DOCTYPE html>")
    root = lhtml.document_fromstring(out)
    assert (root.get("lang"), root.get("dir")) == ("en", "ltr")
    for el in root.iter("title", "h1", "p", "li", "td", "b", "i", "a"):
        text = el.text_content()
        if el.tag == "p" and el.find("script") is not None:
            text = text.replace(el.find("script").text_content(), "").replace(el.find("code").text_content(), "")
        assert text.strip() and not ARABIC.search(text), (el.tag, text)
    assert root.find(".//script").text == 'var x = "لا تترجم";'  # scripts untouched
    assert "<code>a &lt; b &amp;&amp; c</code>" in out  # code untouched, escaped again
    a = root.find(".//a")
    assert a.get("href") == "https://example.org/?a=1&b=2" and a.text_content() == "Aleppo"
    assert "Homs" in a.get("title") and not ARABIC.search(a.get("title"))  # attributes translated too
    b = root.find(".//b")
    assert b.find("i") is not None  # nesting kept
    seg = segment_of(result, "وزارة الخارجية الروسية")
    start = seg.segment.start + seg.segment.text.index("وزارة")
    bold_words, plain_words = words_by_style(seg.target, [list(x) for x in seg.alignment], (start, start + len(BOLD)))
    assert all(w in b.text_content().split() for w in bold_words)
    assert not any(w in b.text_content().split() for w in plain_words)


# -- .odt ---------------------------------------------------------------------------------------
def make_odt(path: Path) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.style import Footer, MasterPage, PageLayout, ParagraphProperties, Style, TextProperties
    from odf.table import Table, TableCell, TableColumn, TableRow
    from odf.text import A, P, Span

    doc = OpenDocumentText()
    bold = Style(name="Bold", family="text")
    bold.addElement(TextProperties(fontweight="bold", language="ar", country="SY"))
    doc.automaticstyles.addElement(bold)
    rtl = Style(name="Rtl", family="paragraph")
    rtl.addElement(ParagraphProperties(writingmode="rl-tb"))
    doc.automaticstyles.addElement(rtl)
    layout = PageLayout(name="pm1")
    doc.automaticstyles.addElement(layout)
    master = MasterPage(name="Standard", pagelayoutname=layout)
    footer = Footer()
    footer.addElement(P(text=S3))
    master.addElement(footer)
    doc.masterstyles.addElement(master)
    p = P(stylename=rtl)
    p.addText(LEAD)
    p.addElement(Span(stylename=bold, text=BOLD))
    p.addText(TAIL)
    doc.text.addElement(p)
    p2 = P()
    p2.addText(S2)
    p2.addElement(A(href="https://example.org/aleppo", text=LINK))
    doc.text.addElement(p2)
    table = Table(name="T")
    table.addElement(TableColumn())
    row = TableRow()
    cell = TableCell()
    cell.addElement(P(text=S4))
    row.addElement(cell)
    table.addElement(row)
    doc.text.addElement(table)
    doc.save(str(path))


def _odf_text(node: Any) -> str:
    from odf import teletype

    return str(teletype.extractText(node))


def test_odt_round_trip(env: dict[str, Any]) -> None:
    from odf import text as odftext
    from odf.opendocument import load

    src = env["tmp"] / "note.ar.odt"
    make_odt(src)
    result = translate(env, src)
    doc = load(str(env["out"] / "note.en.odt"))  # opens in the same library
    paragraphs = [_odf_text(p) for p in doc.getElementsByType(odftext.P)]
    assert len(paragraphs) == 4  # body x2, table cell, footer
    for text in paragraphs:
        assert text.strip() and not ARABIC.search(text), text
    spans = [s for s in doc.getElementsByType(odftext.Span) if s.getAttribute("stylename") == "Bold"]
    bold_text = " ".join(_odf_text(s) for s in spans)
    seg = segment_of(result, BOLD)
    start = seg.segment.start + seg.segment.text.index(BOLD)
    bold_words, plain_words = words_by_style(seg.target, [list(x) for x in seg.alignment], (start, start + len(BOLD)))
    assert bold_words and all(w in bold_text.split() for w in bold_words)
    assert not any(w in bold_text.split() for w in plain_words)
    links = doc.getElementsByType(odftext.A)
    assert len(links) == 1 and _odf_text(links[0]) == "Aleppo" and links[0].getAttribute("href") == "https://example.org/aleppo"
    xml = doc.xml().decode() if isinstance(doc.xml(), bytes) else doc.xml()
    assert 'style:writing-mode="rl-tb"' not in xml and 'fo:language="ar"' not in xml


# -- PDF in, plain text out -----------------------------------------------------------------------
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core (.ci/run)


def make_pdf(path: Path, pages: list[str]) -> None:
    """A PDF with a text layer as word processors write it: shaped Arabic (fpdf2 + HarfBuzz)."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("dejavu", fname=str(FONT))
    pdf.set_font("dejavu", size=12)
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl", script="arab", language="ar")
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(120, 8, text)
    pdf.output(str(path))


def test_pdf_text_layer_in_plain_text_out(env: dict[str, Any]) -> None:
    src = env["tmp"] / "scan.ar.pdf"
    # a sentence broken across lines is joined again before segmentation
    make_pdf(src, [f"{S4}.\n{S2}\n{LINK}.", f"{S3}."])
    result = translate(env, src)
    out = (env["out"] / "scan.en.txt").read_text(encoding="utf-8")
    assert not ARABIC.search(out)
    assert "Homs" in out and "Aleppo" in out and "Security Council" in out
    sources = [s.segment.text for s in result.run.documents[0].segments]
    assert sources == [f"{S4}.", f"{S2}{LINK}.", f"{S3}."]


def test_pdf_without_text_layer_is_refused() -> None:
    from pypdf import PdfWriter

    buf = io.BytesIO()
    w = PdfWriter()
    w.add_blank_page(200, 200)
    w.write(buf)
    with pytest.raises(InputError, match="no text layer"):
        read_document("scan.pdf", buf.getvalue())


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("x.docx", b"not a zip", "not a Word .docx file"),
        ("x.odt", b"not a zip", "not an OpenDocument text file"),
        ("x.pdf", b"%PDF-broken", "not a readable PDF"),
        ("x.rtf", b"{\\rtf1}", "unsupported file type .rtf"),
        ("x.html", b"   ", "empty file"),
    ],
)
def test_bad_documents(name: str, data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=re.escape(message)):
        read_document(name, data)


# -- documents through the service, with the glossary ---------------------------------------------
def test_docx_and_odt_through_translate_file_with_glossary(
    tmp_path: Path, wrong_terms_package: Path
) -> None:
    import docx

    packages = tmp_path / "packages"
    install_from_file(wrong_terms_package, packages)
    db = tmp_path / "t.db"
    with Store(db) as store:
        api.glossary_import(store, "diplomatic", ROOT / "glossaries" / "diplomatic.csv", author="test")
    src = tmp_path / "in.docx"
    make_docx(src)
    odt = tmp_path / "in.odt"
    make_odt(odt)
    with running_server(db, packages, "--glossary", "diplomatic", "--align", "attention") as url:
        out = Client(url).translate_file("in.ar.docx", src.read_bytes())
        odt_out = Client(url).translate_file("in.ar.odt", odt.read_bytes())
    from odf import text as odftext
    from odf.opendocument import load

    odt_texts = [_odf_text(p) for p in load(io.BytesIO(odt_out)).getElementsByType(odftext.P)]
    assert len(odt_texts) == 4 and any("ceasefire" in t for t in odt_texts)
    assert not any(ARABIC.search(t) for t in odt_texts)
    d = docx.Document(io.BytesIO(out))
    cell = d.tables[0].rows[0].cells[1].text  # S4: the model alone says "stopping of fire"
    assert "ceasefire" in cell
    # the same document through `translate --glossary`: the same translation
    api._ENGINES.clear()
    api.translate([str(src)], db=db, packages_dir=packages, output_dir=tmp_path / "out", glossary="diplomatic",
                  align="attention")
    cli = docx.Document(str(tmp_path / "out" / "in.en.docx"))
    assert [c.text for c in cli.tables[0].rows[0].cells] == [c.text for c in d.tables[0].rows[0].cells]
    assert [p.text for p in cli.paragraphs] == [p.text for p in d.paragraphs]
    with Store(db) as store:
        run = next(r for r in store.runs() if r.kind == "serve-file")  # the .docx
        assert (run.kind, run.glossary_version, run.status) == ("serve-file", 1, "completed")
        outcomes = [o for t in store.translations(run.id) for o in store.term_alignments(t.translation_id)]
        assert any(o["source_term"] == "وقف إطلاق النار" and o["status"] == "enforced" for o in outcomes)
