"""``translate-pipe serve``: LibreTranslate's HTTP API on Starlette + uvicorn, glossary-enforced.

Endpoints, as LibreTranslate answers them (so its clients, e.g. ``libretranslatepy``, work
unchanged): ``GET /languages``, ``POST /translate`` (form or JSON: ``q`` string or array,
``source``, ``target``, ``format`` text|html, ``alternatives``, ``api_key``), ``POST /detect``,
``POST /translate_file`` -> ``translatedFileUrl``, ``GET /download_file/<name>``,
``GET /health``, ``GET /frontend/settings``.  Errors are ``{"error": "..."}`` with 400 (bad
request), 403 (bad key), 413 (body too large), 429 (queue full).

Extensions (ignored by clients that don't send them): ``glossary=NAME`` (``glossary=none``
switches the server's default glossary off) and ``details=true`` (per-segment terms and
alignment in the ``translate --json`` shape, plus the stored run id).

Security: binds 127.0.0.1 unless told otherwise; API keys are kept only as SHA-256 digests and
compared with :func:`hmac.compare_digest` against every stored digest; request bodies are
limited before any parsing (Content-Length, then counted while streaming); downloads are only
names this server generated, resolved inside its folder; HTML is parsed by lxml and no input
text is ever put into an error message unescaped.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import GlossaryError, InputError, PipeError
from .service import Job, JobResult, QueueFull, ServiceConfig, TranslationService, details, render, unique_alternatives

LANGUAGE_NAMES = {"ar": "Arabic", "en": "English", "fr": "French", "de": "German", "es": "Spanish"}
_DOWNLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
FILE_TTL_SECONDS = 3600


class ApiKeys:
    """API keys as SHA-256 digests only.  The file holds one key per line (``#`` comments), or
    ``sha256:<hex>`` lines so that the plain keys need not be stored at all."""

    def __init__(self, digests: Sequence[bytes]) -> None:
        self._digests = list(digests)

    @classmethod
    def from_file(cls, path: Path) -> ApiKeys:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the API keys file {path}: {exc}") from None
        digests = []
        for n, raw in enumerate(lines, 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("sha256:"):
                try:
                    digest = bytes.fromhex(line[7:])
                except ValueError:
                    digest = b""
                if len(digest) != 32:
                    raise InputError(f"{path}:{n}: a sha256: line needs 64 hex digits")
                digests.append(digest)
            else:
                digests.append(hashlib.sha256(line.encode("utf-8")).digest())
        if not digests:
            raise InputError(f"{path}: no API keys in the file")
        return cls(digests)

    def check(self, key: str) -> bool:
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        ok = False
        for d in self._digests:  # no early exit: the time does not depend on which key matched
            ok |= hmac.compare_digest(d, digest)
        return ok


@dataclass(frozen=True)
class ServerConfig:
    char_limit: int = 5000  # characters per text (-1: none), as LibreTranslate's --char-limit
    batch_limit: int = 64  # texts per array request (-1: none)
    alternatives_limit: int = 3
    max_body_bytes: int = 10 * 1024 * 1024
    files_dir: Path | None = None  # None: a temporary folder removed at shutdown


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _esc(value: Any) -> str:
    """User input quoted in an error message: escaped, and cut short."""
    text = str(value)
    return html.escape(text[:40] + ("..." if len(text) > 40 else ""))


def detect_language(text: str) -> tuple[str | None, float]:
    """Script-based detection, enough for an Arabic->English server: the share of Arabic letters."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return None, 0.0
    share = sum(1 for ch in letters if _ARABIC.match(ch)) / len(letters)
    return ("ar", round(100 * share, 1)) if share >= 0.5 else (None, round(100 * (1 - share), 1))


class BodyLimit:
    """ASGI middleware: refuse bodies over ``max_bytes`` before the application reads them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = -1
                if length < 0 or length > self.max_bytes:
                    await self._refuse(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Any:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _ApiError(413, f"Invalid request: request body exceeds {self.max_bytes} bytes")
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _ApiError:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        import json

        body = json.dumps({"error": f"Invalid request: request body exceeds {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def create_app(service: TranslationService, config: ServerConfig, api_keys: ApiKeys | None = None) -> Any:
    """The Starlette application; ``service`` is started and stopped with it."""
    from starlette.applications import Starlette
    from starlette.datastructures import UploadFile
    from starlette.exceptions import HTTPException
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    from . import documents
    from .documents.html import parse_html
    from .documents.markup import document_text, translated_blocks

    pkg = service.engine.package
    files_dir = config.files_dir
    own_files_dir = files_dir is None
    state: dict[str, Path] = {}

    def lang_name(code: str) -> str:
        return LANGUAGE_NAMES.get(code, code)

    async def params(request: Request) -> dict[str, Any]:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith("application/json"):
            try:
                data = await request.json()
            except ValueError:
                raise _ApiError(400, "Invalid JSON format") from None
            if not isinstance(data, dict):
                raise _ApiError(400, "Invalid JSON format")
            return data
        out: dict[str, Any] = dict(request.query_params)
        if request.method == "POST" or ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form(max_files=1, max_fields=1000)
            for key in form:
                values = form.getlist(key)
                out[key] = values if key == "q" and len(values) > 1 else values[-1]
        return out

    def check_key(p: dict[str, Any]) -> None:
        if api_keys is None:
            return
        key = p.get("api_key")
        if not key:
            raise _ApiError(400, "Please contact the server operator to get an API key")
        if not isinstance(key, str) or not api_keys.check(key):
            raise _ApiError(403, "Invalid API key")

    def languages(p: dict[str, Any]) -> tuple[str, str, dict[str, Any] | None, Sequence[str]]:
        source, target = p.get("source"), p.get("target")
        if not source:
            raise _ApiError(400, "Invalid request: missing source parameter")
        if not target:
            raise _ApiError(400, "Invalid request: missing target parameter")
        detected = None
        if source == "auto":
            texts = p.get("_texts", [])
            code, confidence = detect_language(" ".join(texts))
            if code != pkg.from_code:
                raise _ApiError(
                    400, f"cannot detect the language as {pkg.from_code}; this server translates "
                    f"{pkg.from_code} to {pkg.to_code}: give source={pkg.from_code}"
                )
            detected = {"confidence": confidence, "language": code}
            source = code
        if source != pkg.from_code:
            raise _ApiError(400, f"{_esc(source)} is not supported")
        if target != pkg.to_code:
            raise _ApiError(400, f"{_esc(target)} is not supported")
        return source, target, detected, p.get("_texts", [])

    async def run_job(job: Job) -> JobResult:
        try:
            future = service.submit(job)
        except QueueFull as exc:
            raise _ApiError(429, f"Slowdown: {exc}") from None
        try:
            return await asyncio.wrap_future(future)
        except GlossaryError as exc:
            raise _ApiError(400, html.escape(str(exc))) from None
        except InputError as exc:
            raise _ApiError(400, html.escape(str(exc))) from None
        except PipeError as exc:
            raise _ApiError(500, f"Cannot translate text: {html.escape(str(exc))}") from None

    # -- endpoints ------------------------------------------------------------------------------
    async def get_languages(request: Request) -> Response:
        return JSONResponse(
            [
                {"code": pkg.from_code, "name": lang_name(pkg.from_code), "targets": [pkg.to_code]},
                {"code": pkg.to_code, "name": lang_name(pkg.to_code), "targets": []},
            ]
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def frontend_settings(request: Request) -> Response:
        return JSONResponse(
            {
                "charLimit": config.char_limit,
                "batchLimit": config.batch_limit,
                "apiKeys": api_keys is not None,
                "keyRequired": api_keys is not None,
                "filesTranslation": True,
                "supportedFilesFormat": list(documents.FORMATS),
                "language": {
                    "source": {"code": pkg.from_code, "name": lang_name(pkg.from_code)},
                    "target": {"code": pkg.to_code, "name": lang_name(pkg.to_code)},
                },
            }
        )

    async def detect(request: Request) -> Response:
        p = await params(request)
        check_key(p)
        q = p.get("q")
        if not q:
            raise _ApiError(400, "Invalid request: missing q parameter")
        text = " ".join(q) if isinstance(q, list) else str(q)
        code, confidence = detect_language(text)
        return JSONResponse([{"confidence": confidence, "language": code}] if code else [])

    async def translate(request: Request) -> Response:
        p = await params(request)
        check_key(p)
        q = p.get("q")
        if q is None or q == "" or q == []:
            raise _ApiError(400, "Invalid request: missing q parameter")
        batch = isinstance(q, list)
        texts = q if batch else [q]
        if not all(isinstance(t, str) for t in texts):
            raise _ApiError(400, "Invalid request: q must be a string or an array of strings")
        if not request.headers.get("content-type", "").startswith("application/json"):
            texts = ["\n".join(t.splitlines()) for t in texts]
        try:
            n_alt = max(0, int(p.get("alternatives", 0) or 0))
        except (TypeError, ValueError):
            raise _ApiError(400, "Invalid request: alternatives parameter is not a number") from None
        if config.alternatives_limit != -1 and n_alt > config.alternatives_limit:
            raise _ApiError(400, f"Invalid request: alternatives parameter must be <= {config.alternatives_limit}")
        if batch and config.batch_limit != -1 and len(texts) > config.batch_limit:
            raise _ApiError(400, f"Invalid request: request ({len(texts)}) exceeds text limit ({config.batch_limit})")
        if config.char_limit != -1:
            for t in texts:
                if len(t) > config.char_limit:
                    raise _ApiError(400, f"Invalid request: request ({len(t)}) exceeds text limit ({config.char_limit})")
        fmt = p.get("format") or "text"
        if fmt not in ("text", "html"):
            raise _ApiError(400, f"{_esc(fmt)} format is not supported")
        p["_texts"] = texts
        _, _, detected, _ = languages(p)
        glossary = service.resolve_glossary(p.get("glossary") if isinstance(p.get("glossary"), str) else None)
        want_details = _truthy(p.get("details", False))

        if fmt == "html":
            try:
                docs = [parse_html(t, fragment=True) for t in texts]
            except InputError as exc:
                raise _ApiError(400, html.escape(str(exc))) from None
            joined = [document_text(d.blocks) for d in docs]
            job = Job([j[0] for j in joined], glossary, 0)
            result = await run_job(job)
            outputs = []
            for d, (_, offsets), segs in zip(docs, joined, result.segments):
                d.apply(translated_blocks(d.blocks, offsets, [s for s, _ in segs]))
                outputs.append(d.serialize())
            alternatives: list[list[str]] = [[] for _ in texts]
        else:
            job = Job(texts, glossary, n_alt)
            result = await run_job(job)
            outputs = [render(t, segs) for t, segs in zip(texts, result.segments)]
            alternatives = [
                unique_alternatives(out, [render(t, segs, k) for k in range(1, n_alt + 1)])
                for t, out, segs in zip(texts, outputs, result.segments)
            ]
        body: dict[str, Any] = {"translatedText": outputs if batch else outputs[0]}
        if detected is not None:
            body["detectedLanguage"] = [detected] * len(texts) if batch else detected
        if n_alt > 0:
            body["alternatives"] = alternatives if batch else alternatives[0]
        if want_details:
            body["details"] = {
                **details(result, job.texts, pkg.name, pkg.package_version),
                "glossary": glossary,
                "glossary_version": job.glossary_version,
                "model_checksum": pkg.checksum,
            }
        return JSONResponse(body)

    async def translate_file(request: Request) -> Response:
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise _ApiError(400, "Invalid request: missing file parameter")
        form = await request.form(max_files=1, max_fields=100)
        p: dict[str, Any] = {k: v for k, v in form.items() if not isinstance(v, UploadFile)}
        check_key(p)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise _ApiError(400, "Invalid request: missing file parameter")
        name = Path(upload.filename or "").name
        if not name:
            raise _ApiError(400, "Invalid request: empty file")
        if documents.suffix(name) not in documents.FORMATS:
            raise _ApiError(400, "Invalid request: file format not supported")
        data = await upload.read()
        try:
            doc = documents.read_document(name, data)
            text = documents.check_translatable(name, doc)
        except InputError as exc:
            raise _ApiError(400, html.escape(str(exc))) from None
        if config.char_limit != -1 and len(text) > 50 * config.char_limit:
            raise _ApiError(400, f"Invalid request: request ({len(text)}) exceeds text limit ({50 * config.char_limit})")
        p["_texts"] = [text]
        languages(p)
        glossary = service.resolve_glossary(p.get("glossary") if isinstance(p.get("glossary"), str) else None)
        job = Job([text], glossary, 0, kind="serve-file")
        result = await run_job(job)
        out = documents.apply_translation(doc, [s for s, _ in result.segments[0]])
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", documents.output_name(name, pkg.from_code, pkg.to_code, doc)).lstrip(".")
        filename = f"{uuid.uuid4().hex}.{safe or 'translation' + doc.output_suffix}"
        folder = state["files"]
        _expire(folder)
        (folder / filename).write_bytes(out)
        url = str(request.url_for("download_file", filename=filename))
        return JSONResponse({"translatedFileUrl": url})

    async def download_file(request: Request) -> Response:
        filename = request.path_params["filename"]
        folder = state["files"].resolve()
        if not _DOWNLOAD_NAME.match(filename):
            raise _ApiError(400, "Invalid filename")
        path = (folder / filename).resolve()
        if path.parent != folder or not path.is_file():
            raise _ApiError(404, "File not found")
        return FileResponse(path, filename=filename.split(".", 1)[1], content_disposition_type="attachment")

    # -- errors ---------------------------------------------------------------------------------
    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, _ApiError)
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": html.escape(str(exc.detail))}, status_code=exc.status_code)

    async def server_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": f"internal error: {html.escape(type(exc).__name__)}"}, status_code=500)

    def lifespan(app: Any) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def span(app: Any) -> Any:
            if own_files_dir:
                state["files"] = Path(tempfile.mkdtemp(prefix="translate-pipe-files-"))
            else:
                assert files_dir is not None
                files_dir.mkdir(parents=True, exist_ok=True)
                state["files"] = files_dir
            service.start()
            try:
                yield
            finally:
                service.stop()
                if own_files_dir:
                    shutil.rmtree(state["files"], ignore_errors=True)

        return span(app)

    def wrap(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                return await handler(request)
            except _ApiError as exc:
                return JSONResponse({"error": exc.message}, status_code=exc.status)

        return endpoint

    routes = [
        Route("/languages", wrap(get_languages), methods=["GET", "POST"]),
        Route("/health", wrap(health), methods=["GET"]),
        Route("/frontend/settings", wrap(frontend_settings), methods=["GET"]),
        Route("/detect", wrap(detect), methods=["POST"]),
        Route("/translate", wrap(translate), methods=["POST"]),
        Route("/translate_file", wrap(translate_file), methods=["POST"]),
        Route("/download_file/{filename}", wrap(download_file), methods=["GET"], name="download_file"),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(BodyLimit, max_bytes=config.max_body_bytes)],
        exception_handlers={_ApiError: api_error, HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )


def _expire(folder: Path) -> None:
    """Translated files are kept for FILE_TTL_SECONDS."""
    cutoff = time.time() - FILE_TTL_SECONDS
    for f in folder.iterdir():
        try:
            if f.is_file() and f.stat().st_mtime < cutoff:
                f.unlink()
        except OSError:
            pass


def serve(
    *,
    db: Path,
    packages_dir: Path,
    host: str = "127.0.0.1",
    port: int = 5000,
    glossary: str | None = None,
    api_keys_file: Path | None = None,
    from_code: str = "ar",
    to_code: str = "en",
    server: ServerConfig = ServerConfig(),
    queue_size: int = 64,
    batch_wait_ms: float = 5.0,
    threads: int = 0,
    device: str = "cpu",
    align: str = "predict",
    log_level: str = "info",
) -> None:
    """Load the model once and serve until interrupted."""
    import uvicorn

    from .api import load_engine
    from .models import find_package

    keys = ApiKeys.from_file(api_keys_file) if api_keys_file is not None else None
    if glossary is not None:  # a bad default glossary is refused before the model loads
        from .store import Store

        with Store(db) as store:
            store.glossary(glossary)
    package = find_package(packages_dir, from_code, to_code)
    config = ServiceConfig(db=db, glossary=glossary, queue_size=queue_size, batch_wait_ms=batch_wait_ms, align=align)
    engine = load_engine(package, device=device, threads=threads)
    service = TranslationService(engine, config)
    app = create_app(service, server, keys)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, server_header=False,
                timeout_graceful_shutdown=10)
