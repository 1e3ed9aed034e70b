"""``translate-pipe serve`` driven over HTTP by the real ``libretranslatepy`` client.

The server is a real subprocess on a free 127.0.0.1 port, serving the template model trained
to render some terms wrongly (``stopping of fire`` for وقف إطلاق النار), with the curated
glossary as its default: the glossary's ``ceasefire`` must come back through the API.
"""

from __future__ import annotations

import http.client
import json
import re
import sqlite3
import threading
import urllib.error
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from lxml import html as lhtml

from translate_pipe import api
from translate_pipe.models import install_from_file
from translate_pipe.store import Store

from .servers import Client, http_error, running_server

ROOT = Path(__file__).resolve().parents[1]
KEY = "k3y-for-tests"
S1 = "أعلنت روسيا وقف إطلاق النار في حمص"
S2 = "رفضت تركيا تعزيز الدول الضامنة في حلب"
S3 = "ناقش مجلس الأمن أهمية التسوية السياسية"
ARABIC = re.compile(r"[\u0600-\u06FF]")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, wrong_terms_package: Path) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("serve")
    packages = tmp / "packages"
    install_from_file(wrong_terms_package, packages)
    db = tmp / "t.db"
    with Store(db) as store:
        api.glossary_import(store, "diplomatic", ROOT / "glossaries" / "diplomatic.csv", author="test")
    with Store(tmp / "cli.db") as store:
        api.glossary_import(store, "diplomatic", ROOT / "glossaries" / "diplomatic.csv", author="test")
    keys = tmp / "keys.txt"
    keys.write_text(f"# test keys\n{KEY}\nsha256:{'0' * 64}\n", encoding="utf-8")
    return {"tmp": tmp, "packages": packages, "db": db, "keys": keys, "cli_db": tmp / "cli.db"}


@pytest.fixture(scope="module")
def server(env: dict[str, Any]) -> Iterator[str]:
    with running_server(
        env["db"], env["packages"], "--glossary", "diplomatic", "--api-keys", str(env["keys"]),
        "--char-limit", "400", "--batch-limit", "4", "--max-body-bytes", "65536", "--align", "attention",
    ) as url:
        yield url


@pytest.fixture()
def lt(server: str) -> Client:
    return Client(server, api_key=KEY)


def cli_translation(env: dict[str, Any], text: str, glossary: str | None) -> str:
    """The same text through `translate` (the CLI's library call), for comparison."""
    doc = env["tmp"] / "cli.ar.txt"
    doc.write_text(text + "\n", encoding="utf-8")
    r = api.translate([str(doc)], db=env["cli_db"], packages_dir=env["packages"], output_dir=None, glossary=glossary,
                      align="attention")
    return str(r.texts[0]).rstrip("\n")


# -- LibreTranslate's API ---------------------------------------------------------------------
def test_languages(lt: Client) -> None:
    assert lt.languages() == [
        {"code": "ar", "name": "Arabic", "targets": ["en"]},
        {"code": "en", "name": "English", "targets": []},
    ]


@pytest.mark.parametrize("text", [S1, S2, S3, f"{S2}\n\n{S3}"])
def test_text_is_the_pipeline_translation(lt: Client, env: dict[str, Any], text: str) -> None:
    got = lt.translate(text, "ar", "en")
    assert got == cli_translation(env, text, "diplomatic")
    assert not ARABIC.search(got)


def test_glossary_enforced_through_the_api(lt: Client, env: dict[str, Any]) -> None:
    plain = lt.translate_json(S1, glossary="none")
    assert "stopping of fire" in plain["translatedText"]  # the model's own wrong rendering
    enforced = lt.translate(S1, "ar", "en")  # the server's default glossary, unknown to the client
    assert "ceasefire" in enforced and "stopping of fire" not in enforced
    named = lt.translate_json(S1, glossary="diplomatic", details="true")
    assert named["translatedText"] == enforced
    d = named["details"]
    assert (d["glossary"], d["glossary_version"]) == ("diplomatic", 1)
    seg = d["documents"][0]["segments"][0]
    term = next(t for t in seg["terms"] if t["source"] == "وقف إطلاق النار")
    assert term["status"] == "enforced"
    assert seg["target"][term["target_start"] : term["target_end"]] == "ceasefire"
    assert seg["source"][term["source_start"] : term["source_end"]] == "وقف إطلاق النار"
    assert seg["alignment"] and all(len(link) == 4 for link in seg["alignment"])
    # stored like a run: glossary version and model checksum
    con = sqlite3.connect(env["db"])
    run = con.execute(
        "SELECT kind, glossary_version, model_checksum, status FROM runs WHERE id = ?", (d["run_id"],)
    ).fetchone()
    assert run == ("serve", 1, d["model_checksum"], "completed")
    stored = con.execute("SELECT target FROM translations WHERE run_id = ?", (d["run_id"],)).fetchall()
    assert stored == [(enforced,)]
    assert con.execute("SELECT count(*) FROM term_alignments t JOIN translations r ON r.id = t.translation_id "
                       "WHERE r.run_id = ? AND t.status = 'enforced'", (d["run_id"],)).fetchone()[0] == 1


def test_unknown_glossary_is_a_bad_request(lt: Client) -> None:
    status, body = http_error(lt.translate_json, S1, glossary="nosuch")
    assert status == 400 and "nosuch" in body["error"]


def test_array(lt: Client) -> None:
    out = lt.translate_json([S1, S2, S3, S1], details=True)
    assert out["translatedText"] == [lt.translate(s, "ar", "en") for s in (S1, S2, S3, S1)]
    docs = out["details"]["documents"]
    assert [d["path"] for d in docs] == ["q[0]", "q[1]", "q[2]", "q[3]"]  # a repeated text is fine


@pytest.mark.parametrize("q", [S2, [S2, S3]])
def test_alternatives(lt: Client, q: str | list[str]) -> None:
    out = lt.translate_json(q, alternatives=2)
    texts = out["translatedText"] if isinstance(q, list) else [out["translatedText"]]
    alts = out["alternatives"] if isinstance(q, list) else [out["alternatives"]]
    assert len(alts) == len(texts)
    for text, a in zip(texts, alts):
        assert 1 <= len(a) <= 2 and text not in a and len(set(a)) == len(a)
        assert all(isinstance(x, str) and x and not ARABIC.search(x) for x in a)


def test_html_nested_inline_tags_and_entities(lt: Client) -> None:
    q = (
        '<div dir="rtl" lang="ar"><p>أعلنت <b>وزارة الخارجية <i>الروسية</i></b> إنشاء مناطق خفض التصعيد في '
        '<a href="https://example.org/?a=1&amp;b=2">&#1581;&#1605;&#1589;</a></p>'
        "<p>رفضت تركيا تعزيز الدول الضامنة في حلب <code>a&lt;b</code></p></div>"
    )
    out = lt.translate_json(q, format="html", details="true")
    text = out["translatedText"]
    root = lhtml.fragment_fromstring(text, create_parent="div")
    assert not ARABIC.search(root.text_content())
    div = root[0]
    assert (div.get("dir"), div.get("lang")) == ("ltr", "en")
    b = div[0].find("b")
    assert b is not None and b.find("i") is not None
    # the bold words are the target words aligned to the bold source words
    seg = out["details"]["documents"][0]["segments"][0]
    bold_src = (seg["source"].index("وزارة"), seg["source"].index("الروسية") + len("الروسية"))
    aligned = {(ts, te) for ss, se, ts, te in seg["alignment"] if bold_src[0] <= ss and se <= bold_src[1]}
    words = sorted({seg["target"][ts:te] for ts, te in aligned})
    assert words and all(w in b.text_content() for w in words)
    assert "Foreign Ministry" in b.text_content() and "announced" not in b.text_content()
    a = div[0].find("a")
    assert a is not None and a.get("href") == "https://example.org/?a=1&b=2"
    link_src = seg["source"].index("حمص")
    on_link: dict[tuple[int, int], set[bool]] = {}
    for ss, _, ts, te in seg["alignment"]:
        on_link.setdefault((ts, te), set()).add(ss == link_src)
    link_words = {seg["target"][ts:te] for (ts, te), v in on_link.items() if v == {True}}  # aligned only to حمص
    assert "Homs" in link_words and all(w in a.text_content().split() for w in link_words)
    assert "announced" not in a.text_content()
    assert "a&lt;b</code>" in text  # opaque code kept, escaped again


def test_files_txt_and_html(lt: Client) -> None:
    txt = lt.translate_file("bulletin.ar.txt", f"{S1}\n\n{S2}\n".encode())
    assert txt.decode() == f"{lt.translate(S1, 'ar', 'en')}\n\n{lt.translate(S2, 'ar', 'en')}\n"
    page = f'<!DOCTYPE html><html lang="ar" dir="rtl"><head><title>{S3}</title></head><body><p>{S2}</p></body></html>'
    out = lt.translate_file("page.html", page.encode()).decode()
    root = lhtml.document_fromstring(out)
    assert (root.get("lang"), root.get("dir")) == ("en", "ltr")
    assert root.findtext(".//title") == lt.translate(S3, "ar", "en")
    assert not ARABIC.search(root.text_content())


# -- errors, keys, limits ---------------------------------------------------------------------
def test_bad_and_missing_keys(server: str) -> None:
    assert http_error(Client(server, api_key="wrong").translate, S1, "ar", "en") == (403, {"error": "Invalid API key"})
    status, body = http_error(Client(server).translate, S1, "ar", "en")
    assert status == 400 and "API key" in body["error"]
    status, _ = http_error(Client(server, api_key="wrong").translate_file, "a.txt", S1.encode())
    assert status == 403


@pytest.mark.parametrize(
    ("q", "extra", "status", "message"),
    [
        ("ا" * 401, {}, 400, "Invalid request: request (401) exceeds text limit (400)"),
        ([S1] * 5, {}, 400, "Invalid request: request (5) exceeds text limit (4)"),
        ("", {}, 400, "Invalid request: missing q parameter"),
        (S1, {"target": "fr"}, 400, "fr is not supported"),
        (S1, {"source": "<script>alert(1)</script>"}, 400, "&lt;script&gt;alert(1)&lt;/script&gt; is not supported"),
        (S1, {"format": "<b>x</b>"}, 400, "&lt;b&gt;x&lt;/b&gt; format is not supported"),
        (S1, {"alternatives": "many"}, 400, "Invalid request: alternatives parameter is not a number"),
        (S1, {"alternatives": 9}, 400, "Invalid request: alternatives parameter must be <= 3"),
        ("word " * 14000, {}, 413, "Invalid request: request body exceeds 65536 bytes"),
    ],
)
def test_bad_requests(lt: Client, q: Any, extra: dict[str, Any], status: int, message: str) -> None:
    assert http_error(lt.translate_json, q, **extra) == (status, {"error": message})


def test_oversize_body_refused_before_parsing_even_when_streamed(server: str) -> None:
    parts = urlsplit(server)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("POST", "/translate")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.endheaders()
    chunk = b"x" * 32768
    try:
        for _ in range(4):
            conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        conn.send(b"0\r\n\r\n")
    except OSError:
        pass  # the server may close the connection once it has answered
    resp = conn.getresponse()
    assert resp.status == 413 and "exceeds" in json.loads(resp.read())["error"]


def test_source_auto_detects_arabic(lt: Client) -> None:
    out = lt.translate_json(S1, source="auto")
    assert out["detectedLanguage"]["language"] == "ar" and out["translatedText"] == lt.translate(S1, "ar", "en")
    assert lt.detect(S1)[0]["language"] == "ar"
    status, body = http_error(lt.translate_json, "hello world", source="auto")
    assert status == 400 and "source=ar" in body["error"]


@pytest.mark.parametrize(
    "path",
    [
        "/download_file/..%2F..%2F..%2Fetc%2Fpasswd",
        "/download_file/%2e%2e%2fkeys.txt",
        "/download_file/..",
        "/download_file/0123456789abcdef0123456789abcdef.missing.txt",
        "/download_file/0123456789abcdef0123456789abcdef.%2e%2e%2f%2e%2e%2ft.db",
    ],
)
def test_download_cannot_escape_its_folder(server: str, path: str) -> None:
    parts = urlsplit(server)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    assert resp.status in (400, 404)
    assert b"root:" not in body and b"SQLite" not in body


def test_full_queue_answers_429(env: dict[str, Any]) -> None:
    with running_server(env["db"], env["packages"], "--queue-size", "1", "--batch-wait-ms", "1500") as url:
        client = Client(url)
        barrier = threading.Barrier(4)
        results: list[Any] = []

        def call() -> None:
            barrier.wait()
            try:
                results.append(client.translate(S2, "ar", "en"))
            except urllib.error.HTTPError as exc:
                results.append((exc.code, json.loads(exc.read())))

        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        refused = [r for r in results if isinstance(r, tuple)]
        served = [r for r in results if isinstance(r, str)]
        assert served and refused
        assert all(code == 429 and body["error"].startswith("Slowdown:") for code, body in refused)
        assert client.translate(S2, "ar", "en") == served[0]  # the queue drains
