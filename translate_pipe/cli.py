"""The command line: a thin typer layer over the library, and the only module that prints or exits.

Exit codes: 0 success, 1 user error (one line on stderr), 2 usage error.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core

from .errors import PipeError

DEFAULT_DB = Path("outputs") / "translate_pipe.db"
DEFAULT_OUTPUT_DIR = Path("outputs")


def _fail(message: str) -> typer.Exit:
    """Print one plain line on stderr; the caller raises the returned Exit(1)."""
    first = message.splitlines()[0] if message else "failed"
    typer.echo(f"translate-pipe: error: {first}", err=True)
    return typer.Exit(1)


class _Group(typer.core.TyperGroup):
    """Turns every PipeError raised below into one line on stderr and exit code 1."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except PipeError as exc:
            raise _fail(str(exc) or type(exc).__name__) from None
        except KeyboardInterrupt:
            raise _fail("interrupted; documents not yet complete were not stored") from None


def _typer(help: str) -> typer.Typer:
    return typer.Typer(
        cls=_Group,
        help=help,
        no_args_is_help=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


app = _typer("Offline Arabic->English translation of bulletins, constrained by a curated glossary.")
models_app = _typer("Install and list Argos Translate packages (the models).")
glossary_app = _typer("Maintain glossaries: add, edit, deprecate, lint, history, exchange (CSV/TSV/PO/TBX).")
app.add_typer(models_app, name="models")
app.add_typer(glossary_app, name="glossary")
refs_app = _typer("Reference translations tied to documents.")
app.add_typer(refs_app, name="refs")
score_app = typer.Typer(
    cls=_Group,
    help="Score translations: BLEU, chrF, TER (sacrebleu) and terminology accuracy.",
    invoke_without_command=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(score_app, name="score")


@dataclass(frozen=True)
class Paths:
    """Paths resolved once (option > environment > default) and passed down."""

    db: Path
    packages_dir: Path


def _paths(ctx: typer.Context) -> Paths:
    obj = ctx.find_root().obj
    assert isinstance(obj, Paths)
    return obj


@app.callback()
def _root(
    ctx: typer.Context,
    db: Annotated[
        Path | None,
        typer.Option("--db", envvar="TRANSLATE_PIPE_DB", help="SQLite database [default: outputs/translate_pipe.db]"),
    ] = None,
    packages_dir: Annotated[
        Path | None,
        typer.Option(
            "--packages-dir",
            envvar="ARGOS_PACKAGES_DIR",
            help="Argos packages directory [default: argostranslate's own setting]",
        ),
    ] = None,
) -> None:
    if packages_dir is None:
        from .models import default_packages_dir

        packages_dir = default_packages_dir()
    ctx.obj = Paths(db=db or DEFAULT_DB, packages_dir=packages_dir)


def _open_store(paths: Paths) -> Any:
    from .store import Store

    return Store(paths.db)


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


@contextmanager
def _progress(label: str, enabled: bool = True) -> Iterator[Callable[[int, Any], None]]:
    """A progress bar on stderr when it is a terminal; silent otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    state: dict[str, Any] = {"bar": None, "done": 0}

    def update(done: int, total: Any) -> None:
        bar = state["bar"]
        if bar is None:
            bar = state["bar"] = typer.progressbar(length=total or 0, label=label, file=sys.stderr)
            bar.__enter__()
        bar.update(done - state["done"])
        state["done"] = done

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)


def _check_device(value: str) -> str:
    if value not in {"cpu", "cuda", "auto"}:
        raise typer.BadParameter(f"{value!r} is not one of cpu, cuda, auto")
    return value


# -- models -----------------------------------------------------------------------------------
@models_app.command("install")
def models_install(
    ctx: typer.Context,
    from_code: Annotated[str | None, typer.Argument(metavar="FROM_CODE", help="Source language code, e.g. ar")] = None,
    to_code: Annotated[str | None, typer.Argument(metavar="TO_CODE", help="Target language code, e.g. en")] = None,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="Install a local .argosmodel file (offline)")
    ] = None,
    index_url: Annotated[
        str | None,
        typer.Option("--index-url", envvar="ARGOS_PACKAGE_INDEX", help="Package index [default: argostranslate's]"),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an installed package of the same name (after the new one loads)")
    ] = False,
) -> None:
    """Install a model from the online package index, or from a file with --from-file."""
    from . import models

    paths = _paths(ctx)
    if from_file is not None:
        if from_code or to_code:
            raise typer.BadParameter("give either FROM TO or --from-file, not both")
        info = models.install_from_file(from_file, paths.packages_dir, force=force)
        source = str(from_file)
    else:
        if not (from_code and to_code):
            raise typer.BadParameter("give FROM and TO language codes (e.g. `ar en`) or --from-file FILE")
        with _progress(f"Downloading {from_code}->{to_code}") as bar:
            done = models.install_from_index(
                from_code,
                to_code,
                packages_dir=paths.packages_dir,
                index_url=index_url or models.default_index_url(),
                downloads_dir=models.default_downloads_dir(),
                progress=bar,
                force=force,
            )
        info, source = done.package, done.link
    typer.echo(
        f"installed {info.name} ({info.pair}, version {info.package_version}) in {paths.packages_dir} from {source}"
    )


@models_app.command("list")
def models_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """List installed packages with their version and language pair."""
    from . import models

    paths = _paths(ctx)
    pkgs = models.installed_packages(paths.packages_dir)
    if as_json:
        _print_json(
            [
                {
                    "name": p.name,
                    "from": p.from_code,
                    "to": p.to_code,
                    "version": p.package_version,
                    "path": str(p.path),
                }
                for p in pkgs
            ]
        )
        return
    if not pkgs:
        typer.echo(f"no packages installed in {paths.packages_dir}", err=True)
        return
    for p in pkgs:
        typer.echo(f"{p.name}\t{p.pair}\t{p.package_version}\t{p.from_name} -> {p.to_name}")


@models_app.command("remove")
def models_remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Package folder name, as `models list` shows")]
) -> None:
    """Uninstall a package."""
    from . import models

    paths = _paths(ctx)
    models.remove_package(paths.packages_dir, name)
    typer.echo(f"removed {name}")


# -- translate --------------------------------------------------------------------------------
@app.command("translate")
def translate(
    ctx: typer.Context,
    inputs: Annotated[list[str], typer.Argument(metavar="INPUTS", help="Files to translate; - reads standard input")],
    from_code: Annotated[str, typer.Option("--from", help="Source language")] = "ar",
    to_code: Annotated[str, typer.Option("--to", help="Target language")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout")] = False,
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Where NAME.en.txt files are written")
    ] = DEFAULT_OUTPUT_DIR,
    beam_size: Annotated[int, typer.Option("--beam-size", min=1, help="Beam size")] = 4,
    n_best: Annotated[int, typer.Option("--n-best", min=1, help="Hypotheses per segment (JSON shows alternatives)")] = 1,
    max_length: Annotated[
        int | None,
        typer.Option("--max-length", min=1, help="Bound on output tokens [default: 2 x source tokens + 10]"),
    ] = None,
    max_source_tokens: Annotated[
        int, typer.Option("--max-source-tokens", min=8, help="Longer segments are split further (never cut)")
    ] = 200,
    batch_tokens: Annotated[int, typer.Option("--batch-tokens", min=1, help="Source tokens per batch")] = 1024,
    chunk_segments: Annotated[
        int, typer.Option("--chunk-segments", min=1, help="Segments decoded per chunk (bounds memory)")
    ] = 512,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto", callback=_check_device)] = "cpu",
    threads: Annotated[int, typer.Option("--threads", min=0, help="CPU threads (0: CTranslate2's default)")] = 0,
    compute_type: Annotated[str, typer.Option("--compute-type", help="CTranslate2 compute type")] = "default",
    glossary: Annotated[
        str | None, typer.Option("--glossary", help="Enforce this glossary's terms")
    ] = None,
    soft: Annotated[bool, typer.Option("--soft", help="Prefer glossary targets, never force them")] = False,
    allow_failures: Annotated[
        bool, typer.Option("--allow-failures", help="Do not fail when a hard constraint cannot be enforced")
    ] = False,
) -> None:
    """Translate files (or - for stdin); store segments, translations and alignments."""
    from . import api

    if inputs.count("-") > 1:
        raise typer.BadParameter("standard input (-) can be given only once", param_hint="INPUTS")
    paths = _paths(ctx)
    with _progress("Translating", enabled=True) as bar:
        result = api.translate(
            inputs,
            db=paths.db,
            packages_dir=paths.packages_dir,
            from_code=from_code,
            to_code=to_code,
            output_dir=output_dir,
            beam_size=beam_size,
            n_best=n_best,
            max_length=max_length,
            max_source_tokens=max_source_tokens,
            batch_tokens=batch_tokens,
            chunk_segments=chunk_segments,
            device=device,
            threads=threads,
            compute_type=compute_type,
            glossary=glossary,
            soft=soft,
            allow_failures=allow_failures,
            stdin=lambda: sys.stdin.buffer.read(),
            progress=bar,
        )
    _report_run(result, as_json)


@app.command("retranslate")
def retranslate(
    ctx: typer.Context,
    glossary: Annotated[str, typer.Option("--glossary", help="The glossary whose edits to apply")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the re-run segments as JSON")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto", callback=_check_device)] = "cpu",
    threads: Annotated[int, typer.Option("--threads", min=0, help="CPU threads")] = 0,
    compute_type: Annotated[str, typer.Option("--compute-type", help="CTranslate2 compute type")] = "default",
    allow_failures: Annotated[bool, typer.Option("--allow-failures", help="Accept unenforceable terms")] = False,
) -> None:
    """Re-run only the segments whose matched glossary terms changed since their translation."""
    from . import api
    from .pipeline import to_json

    paths = _paths(ctx)
    with _progress("Retranslating") as bar:
        result = api.retranslate(
            glossary,
            db=paths.db,
            packages_dir=paths.packages_dir,
            device=device,
            threads=threads,
            compute_type=compute_type,
            allow_failures=allow_failures,
            progress=bar,
        )
    if as_json:
        if result.run is None:
            _print_json({"run_id": None, "model": None, "documents": [], "checked": result.checked})
        else:
            _print_json({**to_json(result.run), "checked": result.checked,
                         "reasons": [{"path": r.document, "index": r.segment_index, "reasons": list(r.reasons)} for r in result.reruns]})
        return
    for r in result.reruns:
        typer.echo(f"{r.document}: segment {r.segment_index}: {'; '.join(r.reasons)}")
    if result.run is None:
        typer.echo(f"{result.checked} segment(s) checked against {glossary} v{result.version}: nothing to re-run")
    else:
        typer.echo(
            f"run {result.run.run_id}: re-ran {len(result.reruns)} of {result.checked} segment(s) "
            f"translated with {glossary} (now v{result.version})"
        )


def _report_run(result: Any, as_json: bool) -> None:
    from .pipeline import to_json

    if as_json:
        _print_json(to_json(result.run))
        return
    for doc, text in zip(result.run.documents, result.texts):
        if doc.output_path is None:
            typer.echo(text, nl=False)
        else:
            typer.echo(f"{doc.name} -> {doc.output_path}", err=True)
    typer.echo(f"run {result.run.run_id}: {sum(len(d.segments) for d in result.run.documents)} segments", err=True)


# -- glossary ---------------------------------------------------------------------------------
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Glossary name")]
AuthorOpt = Annotated[
    str | None, typer.Option("--author", envvar="TRANSLATE_PIPE_AUTHOR", help="Recorded in the history [default: $USER]")
]
ContextOpt = Annotated[str, typer.Option("--context", help="Disambiguation context (PO msgctxt)")]


def _author(author: str | None) -> str:
    return author or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def _term_dict(st: Any) -> dict[str, Any]:
    t = st.term
    return {
        "id": st.id,
        "version": st.version,
        "source": t.source,
        "target": t.target,
        "variants": list(t.variants),
        "note": t.note,
        "domain": t.domain,
        "status": t.status,
        "context": t.context,
    }


@glossary_app.command("import")
def glossary_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A .csv, .tsv, .po or .tbx file")],
    name: Annotated[str, typer.Option("--name", help="Glossary to import into (created if new)")],
    fmt: Annotated[str | None, typer.Option("--format", help="csv, tsv, po or tbx [default: from the extension]")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Deprecate terms the file does not contain")] = False,
    from_code: Annotated[str, typer.Option("--from", help="Source language of CSV/TSV files")] = "ar",
    to_code: Annotated[str, typer.Option("--to", help="Target language of CSV/TSV files")] = "en",
    author: AuthorOpt = None,
) -> None:
    """Import a glossary file as one new version (all or nothing)."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        version, n = api.glossary_import(
            store, name, path, fmt=fmt, author=_author(author), source_lang=from_code, target_lang=to_code, replace=replace
        )
    if version is None:
        typer.echo(f"{name}: {n} terms read, nothing changed")
    else:
        typer.echo(f"{name}: {n} terms read, version {version}")


@glossary_app.command("add")
def glossary_add(
    ctx: typer.Context,
    name: NameArg,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Source term")],
    target: Annotated[str, typer.Argument(metavar="TARGET", help="Approved target")],
    variant: Annotated[list[str] | None, typer.Option("--variant", help="Another source form (repeatable)")] = None,
    note: Annotated[str | None, typer.Option("--note", help="Usage note")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Domain, e.g. diplomacy")] = None,
    context: ContextOpt = "",
    author: AuthorOpt = None,
) -> None:
    """Add a term; for a source that exists, update it (a new version)."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        version, what = api.glossary_add(
            store, name, source, target, author=_author(author), variants=variant, note=note, domain=domain, context=context
        )
    typer.echo(f"{name}: {source} -> {target}: {what}" + (f" (version {version})" if version else ""))


@glossary_app.command("remove")
def glossary_remove(
    ctx: typer.Context,
    name: NameArg,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Source term")],
    context: ContextOpt = "",
    author: AuthorOpt = None,
) -> None:
    """Deprecate a term; the history keeps it."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        version = api.glossary_remove(store, name, source, author=_author(author), context=context)
    typer.echo(f"{name}: {source}: " + (f"deprecated (version {version})" if version else "already deprecated"))


@glossary_app.command("list")
def glossary_list(
    ctx: typer.Context,
    name: NameArg,
    version: Annotated[int | None, typer.Option("--version", help="As it stood at this version")] = None,
    deprecated: Annotated[bool, typer.Option("--deprecated", help="Include deprecated terms")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List the terms of a glossary."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        terms = api.glossary_terms(store, name, version, deprecated=deprecated)
    if as_json:
        _print_json([_term_dict(st) for st in terms])
        return
    for st in terms:
        t = st.term
        flag = " [deprecated]" if t.status == "deprecated" else ""
        ctx_s = f" ({t.context})" if t.context else ""
        typer.echo(f"{t.source}{ctx_s}\t{t.target}{flag}")


@glossary_app.command("show")
def glossary_show(
    ctx: typer.Context,
    name: NameArg,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Source term")],
    context: ContextOpt = "",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Show a term and its history."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        history = api.glossary_show(store, name, source, context)
    if as_json:
        _print_json({"current": _term_dict(history[-1]), "history": [_term_dict(h) for h in history]})
        return
    t = history[-1].term
    typer.echo(f"source:   {t.source}")
    typer.echo(f"target:   {t.target}")
    typer.echo(f"variants: {' | '.join(t.variants)}")
    typer.echo(f"note:     {t.note}")
    typer.echo(f"domain:   {t.domain}")
    typer.echo(f"status:   {t.status}")
    if t.context:
        typer.echo(f"context:  {t.context}")
    typer.echo("history:")
    for h in history:
        typer.echo(f"  v{h.version}: {h.term.target} [{h.term.status}]")


@glossary_app.command("lint")
def glossary_lint(ctx: typer.Context, name: NameArg, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Check a glossary; exits 1 when there are errors (warnings alone exit 0)."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        issues = api.glossary_lint(store, name)
    if as_json:
        _print_json([{"level": i.level, "code": i.code, "source": i.source, "message": i.message} for i in issues])
    else:
        for i in issues:
            typer.echo(f"{i.level}: {i.code}: {i.source}: {i.message}")
        errors = sum(1 for i in issues if i.level == "error")
        typer.echo(f"{name}: {errors} error(s), {len(issues) - errors} warning(s)", err=True)
    if any(i.level == "error" for i in issues):
        raise typer.Exit(1)


@glossary_app.command("log")
def glossary_log(ctx: typer.Context, name: NameArg, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Version history: who changed what, when."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        log = api.glossary_log(store, name)
        changed = {v.version: store.term_changes(store.glossary(name).id, v.version) for v in log}
    if as_json:
        _print_json(
            [
                {**v.__dict__, "terms": [s for s, _ in changed[v.version]]}
                for v in log
            ]
        )
        return
    for v in log:
        typer.echo(f"v{v.version}\t{v.created_at}\t{v.author}\t{v.summary} ({len(changed[v.version])} term(s))")


def _term_line(t: Any) -> str:
    if t is None:
        return "-"
    extra = f" [{t.status}]" if t.status != "approved" else ""
    return f"{t.target}{extra}"


@glossary_app.command("diff")
def glossary_diff(
    ctx: typer.Context,
    name: NameArg,
    v1: Annotated[int, typer.Argument(metavar="V1", help="Old version (0: empty)")],
    v2: Annotated[int, typer.Argument(metavar="V2", help="New version")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """What changed between two versions."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        changes = api.glossary_diff(store, name, v1, v2)
    if as_json:
        _print_json(
            [
                {
                    "source": c.source,
                    "context": c.context,
                    "change": c.change,
                    "old": None if c.old is None else {**c.old.__dict__, "variants": list(c.old.variants)},
                    "new": None if c.new is None else {**c.new.__dict__, "variants": list(c.new.variants)},
                }
                for c in changes
            ]
        )
        return
    for c in changes:
        typer.echo(f"{c.change}\t{c.source}\t{_term_line(c.old)} -> {_term_line(c.new)}")


@glossary_app.command("export")
def glossary_export(
    ctx: typer.Context,
    name: NameArg,
    fmt: Annotated[str, typer.Option("--format", help="csv, tsv, po or tbx")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write [default: stdout]")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Export this past version")] = None,
    tbx_version: Annotated[str, typer.Option("--tbx-version", help="basic (TBX-Basic, default) or v3")] = "basic",
    dates: Annotated[bool, typer.Option("--dates", help="Put creation/revision dates in a PO header")] = False,
) -> None:
    """Export a glossary as CSV, TSV, PO or TBX (deterministic output)."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        text = api.glossary_export(
            store, name, fmt, output=output, version=version, tbx_version=tbx_version, include_dates=dates
        )
    if output is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"wrote {output}", err=True)


@glossary_app.command("match")
def glossary_match(
    ctx: typer.Context,
    name: NameArg,
    path: Annotated[str, typer.Argument(metavar="PATH", help="Text file, or - for standard input")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Find the glossary's terms in a text (offsets into the text as read)."""
    from . import api
    from .pipeline import read_input

    doc = read_input(path, lambda: sys.stdin.buffer.read())
    with _open_store(_paths(ctx)) as store:
        matches = api.glossary_match(store, name, doc.text)
    if as_json:
        _print_json(
            [{"source": m.source, "target": m.target, "start": m.start, "end": m.end, "text": m.text} for m in matches]
        )
        return
    for m in matches:
        typer.echo(f"{m.start}-{m.end}\t{m.text}\t{m.source}\t{m.target}")


# -- runs, references, scores -----------------------------------------------------------------
@app.command("runs")
def runs(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List stored runs."""
    with _open_store(_paths(ctx)) as store:
        infos = store.runs()
        docs = {r.id: len(store.run_documents(r.id)) for r in infos}
    if as_json:
        _print_json([{**r.__dict__, "documents": docs[r.id]} for r in infos])
        return
    for r in infos:
        gl = f" glossary v{r.glossary_version}" if r.glossary_id else ""
        typer.echo(
            f"{r.id}\t{r.kind}\t{r.status}\t{r.started_at}\t{r.model_name} {r.model_version}\t"
            f"{docs[r.id]} document(s){gl}"
        )


@refs_app.command("import")
def refs_import(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(metavar="SOURCE", help="The source document (as translated)")],
    reference: Annotated[Path, typer.Argument(metavar="REFERENCE", help="Reference translation, one paragraph per line")],
    name: Annotated[str | None, typer.Option("--name", help="Reference set name [default: file name]")] = None,
    from_code: Annotated[str, typer.Option("--from", help="Source language")] = "ar",
) -> None:
    """Store a reference translation for a document."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        document_id, refset, n, replaced = api.refs_import(
            store, source, reference, name=name, source_lang=from_code
        )
    what = "replaced; stored scores of its runs dropped" if replaced else "stored"
    typer.echo(f"reference {refset!r} {what}: {n} lines for document {document_id} ({source})")


def _print_scores(out: dict[str, Any]) -> None:
    level = f" ({out['level']} level)" if "level" in out else ""
    typer.echo(f"segments: {out['segments']}{level}")
    for m, label in (("bleu", "BLEU"), ("chrf", "chrF"), ("ter", "TER")):
        typer.echo(f"{label:5} {out[m]:5.1f}  {out['signatures'][m]}")
    if out.get("term_success") is not None or "terms" in out:
        ts = out.get("term_success")
        terms = out.get("terms", {})
        typer.echo(
            f"term success: {'n/a' if ts is None else f'{ts:.1%}'} "
            f"({terms.get('hits', 0)}/{terms.get('occurrences', 0)})"
        )
        for miss in terms.get("misses", []):
            typer.echo(f"  miss: segment {miss['segment']}: {miss['source']} -> {miss['target']}")
        if terms.get("consistency") is not None:
            typer.echo(f"consistency: {terms['consistency']:.1%}")
        for inc in terms.get("inconsistent", []):
            typer.echo(f"  inconsistent: {inc['source']}: {inc['translations']}")
        if terms.get("reference_agreement") is not None:
            typer.echo(f"references use the approved target: {terms['reference_agreement']:.1%}")
        for d in terms.get("reference_disagreements", []):
            typer.echo(f"  reference disagrees: segment {d['segment']}: {d['source']} -> {d['target']}")


@score_app.callback()
def score(
    ctx: typer.Context,
    hyp: Annotated[Path | None, typer.Option("--hyp", help="Hypothesis file, one segment per line")] = None,
    refs: Annotated[list[Path] | None, typer.Option("--refs", help="Reference file (repeatable)")] = None,
    src: Annotated[Path | None, typer.Option("--src", help="Source file, for --glossary with --hyp")] = None,
    run: Annotated[int | None, typer.Option("--run", help="Score a stored run against stored references")] = None,
    glossary: Annotated[str | None, typer.Option("--glossary", help="Add terminology metrics")] = None,
    recompute: Annotated[bool, typer.Option("--recompute", help="Recompute stored scores")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score a hypothesis file (--hyp/--refs) or a stored run (--run)."""
    from . import api

    if ctx.invoked_subcommand is not None:
        return
    if (hyp is None) == (run is None):
        raise typer.BadParameter("give either --hyp FILE --refs FILE or --run ID")
    if hyp is not None and not refs:
        raise typer.BadParameter("--hyp needs at least one --refs FILE")
    with _open_store(_paths(ctx)) as store:
        if hyp is not None:
            out = api.score_files(store, hyp, refs or [], glossary=glossary, src=src)
        else:
            assert run is not None
            out = api.score_run(store, run, glossary=glossary, recompute=recompute)
    if as_json:
        _print_json(out)
    else:
        _print_scores(out)


@score_app.command("compare")
def score_compare(
    ctx: typer.Context,
    run_a: Annotated[int, typer.Argument(metavar="RUN_A", help="Baseline run")],
    run_b: Annotated[int, typer.Argument(metavar="RUN_B", help="Run compared with it")],
    samples: Annotated[int, typer.Option("--samples", min=100, help="Bootstrap samples")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 12345,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Paired bootstrap resampling between two runs over the same documents."""
    from . import api

    with _open_store(_paths(ctx)) as store:
        cmp = api.score_compare(store, run_a, run_b, n_samples=samples, seed=seed)
    if as_json:
        _print_json(
            {
                "segments": cmp.segments,
                "samples": cmp.n_samples,
                "metrics": [
                    {"metric": m.metric, "a": round(m.score_a, 1), "b": round(m.score_b, 1),
                     "p_value": m.p_value, "signature": m.signature}
                    for m in cmp.metrics
                ],
                "wins": cmp.wins,
                "losses": cmp.losses,
                "ties": cmp.ties,
            }
        )
        return
    for m in cmp.metrics:
        star = " *" if m.p_value < 0.05 else ""
        typer.echo(f"{m.name:6} run {run_a}: {m.score_a:5.1f}  run {run_b}: {m.score_b:5.1f}  p = {m.p_value:.4f}{star}")
    typer.echo(
        f"segments (by {cmp.segment_metric}): run {run_b} better in {cmp.wins}, worse in {cmp.losses}, tied in {cmp.ties}"
    )


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # so a killed run is marked failed, as with Ctrl-C


def main() -> None:
    """Console-script entry point."""
    import signal

    signal.signal(signal.SIGTERM, _terminate)
    try:
        app(prog_name="translate-pipe")
    except SystemExit:
        raise
    except Exception as exc:  # a bug, not a user error: still one line, unless asked for more
        if os.environ.get("TRANSLATE_PIPE_DEBUG"):
            raise
        typer.echo(
            f"translate-pipe: internal error: {type(exc).__name__}: {exc} "
            "(set TRANSLATE_PIPE_DEBUG=1 for the traceback)",
            err=True,
        )
        sys.exit(1)
