"""The bilingual HTML report in a real headless Chromium (Debian's package, driven by Playwright;
Playwright's own browser downloads are not used)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from translate.storage import xliff as tt_xliff

from translate_pipe.report_html import outcome

from .reviewloop import PX_1, make_env, ok, translate

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# approved targets the template model does not produce: the constrainer enforces them
ENFORCING_GLOSSARY = (
    "source,target\nوقف إطلاق النار,truce\nمجلس الأمن,Security Council\nتبادل الأسرى,exchange of prisoners\n"
)


REFERENCE = [  # one line per segment of reviewloop.DOC1
    "The United Nations announced the monitoring of the exchange of prisoners during the meeting in Homs",
    "In Eastern Ghouta Turkey supported the expansion of the exchange of prisoners",
    "The Security Council endorsed the strengthening of the exchange of prisoners in Syria",
    "The Russian Foreign Ministry announced the importance of the truce in Sochi",
    "The Security Council endorsed the strengthening of the exchange of prisoners in Syria",
]


@pytest.fixture()
def report(tmp_path: Path, template_package: Path) -> Path:
    env = make_env(tmp_path, template_package, ENFORCING_GLOSSARY)
    (tmp_path / "doc1.en.txt").write_text("\n".join(REFERENCE) + "\n", encoding="utf-8")
    ok(env, "refs", "import", str(tmp_path / "doc1.ar.txt"), str(tmp_path / "doc1.en.txt"), "--name", "ref")
    run = translate(env, "doc1.ar.txt", "--allow-failures")
    xlf = tmp_path / "r.xlf"
    ok(env, "review", "export", str(run["run_id"]), "-o", str(xlf))
    store = tt_xliff.xlifffile.parsefile(str(xlf))
    unit = store.getunits()[0]
    unit.target = unit.target.replace("the monitoring of", "the monitoring of the")
    unit.markapproved(True)
    (tmp_path / "rr.xlf").write_bytes(bytes(store))
    ok(env, "review", "import", str(tmp_path / "rr.xlf"), "--reviewer", "A. Haddad")
    out = tmp_path / "run.html"
    ok(env, "report", str(run["run_id"]), "-o", str(out))
    return out


@pytest.fixture()
def page(report: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM) or Path(CHROMIUM).exists(), "install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1200, "height": 900})
        requests: list[str] = []
        pg.on("request", lambda r: requests.append(r.url))
        pg.goto(report.as_uri())
        pg.requests = requests
        yield pg
        browser.close()


def test_static_file_without_network_assets(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", html) and "@import" not in html and "url(" not in html
    assert "default-src 'none'" in html  # the page itself forbids loading anything


@pytest.mark.parametrize(
    ("status", "method", "expected"),
    [("present", "model", "present"), ("enforced", "replace", "enforced"), ("enforced", "insert", "inserted"),
     ("failed", "", "failed"), ("present", "tm", "present")],
)
def test_outcome_classes(status: str, method: str, expected: str) -> None:
    assert outcome(status, method) == expected


def test_report_in_chromium(page: Any, tmp_path: Path) -> None:
    assert page.requests == [page.url]  # nothing but the file itself was requested
    # Arabic cells are right to left, and laid out so
    src = page.locator("td.src").first
    assert src.get_attribute("lang") == "ar" and src.get_attribute("dir") == "rtl"
    assert src.evaluate("el => getComputedStyle(el).direction") == "rtl"
    words = src.locator(".w")
    first, second = words.nth(0).bounding_box(), words.nth(1).bounding_box()
    assert abs(first["y"] - second["y"]) < 2 and first["x"] > second["x"]  # the second word is left of the first
    assert page.locator("td.src").first.inner_text().startswith(PX_1.split()[0])
    # terms highlighted on both sides by outcome, with the approved target on hover
    enforced = page.locator("td.tgt mark.term-enforced")
    assert enforced.count() >= 3
    titles = {enforced.nth(i).get_attribute("data-approved") for i in range(enforced.count())}
    assert {"exchange of prisoners", "truce"} <= titles
    assert "→ exchange of prisoners (enforced)" in page.locator("td.src mark.term-enforced").first.get_attribute("title")
    assert page.locator("td.tgt mark.term-present").count() >= 1
    # hovering a source word highlights its aligned target words, and only while hovered
    word = page.locator("td.src .w[data-links]:not([data-links=''])").first
    linked = word.get_attribute("data-links").split()
    word.hover()
    for wid in linked:
        assert "linked" in page.locator(f'[data-w="{wid}"]').first.get_attribute("class")
    assert "hl" in word.get_attribute("class")
    page.mouse.move(0, 0)
    assert page.locator(".w.linked").count() == 0
    # keyboard: Tab reaches the words; focus highlights the aligned words too
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('w')"):
            break
    focused = page.evaluate("document.activeElement.getAttribute('data-links')").split()
    assert focused and all(
        "linked" in page.locator(f'[data-w="{wid}"]').first.get_attribute("class") for wid in focused
    )
    # summary and links: every in-page link leads somewhere
    assert "HTER" in page.locator("#summary").inner_text()
    for href in page.locator("a[href^='#']").evaluate_all("els => els.map(e => e.getAttribute('href'))"):
        assert page.locator(href).count() == 1, href
    assert page.locator("td.info .post-edit ins").count() >= 1  # the reviewer's change is marked
    # per-segment scores: sentence chrF against the reference, on every row
    chrf = page.locator("td.info .figure[title^='sentence chrF']")
    assert chrf.count() == 5 and all(re.fullmatch(r"chrF \d+\.\d", t) for t in chrf.all_inner_texts())
    # print: approved targets are written after source terms
    page.emulate_media(media="print")
    after = page.locator("td.src mark.term-enforced").first.evaluate("el => getComputedStyle(el, '::after').content")
    assert "exchange of prisoners" in after or "truce" in after
    page.emulate_media(media="screen")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
