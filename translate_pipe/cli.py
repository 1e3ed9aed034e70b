"""The command line: a thin typer layer over :mod:`.api`, and the only module that prints or exits.

Each command parses its options, calls the :mod:`.api` function of the same name, and prints
what :mod:`.report` makes of the records it returns.  It imports nothing else of the package
but :mod:`.errors`.  Paths are resolved once here (option > environment > default) and passed
down; the packages directory only for the commands that need models.

Exit codes: 0 success, 1 user error (one line on stderr), 2 usage error.
"""

from __future__ import annotations

import dataclasses
import functools
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

from . import api, report
from .errors import PipeError

DEFAULT_DB = Path("outputs") / "translate_pipe.db"
DEFAULT_OUTPUT_DIR = Path("outputs")


def _fail(message: str) -> typer.Exit:
    """Print one plain line on stderr; the caller raises the returned Exit(1)."""
    first = message.splitlines()[0] if message else "failed"
    typer.echo(f"translate-pipe: error: {first}", err=True)
    return typer.Exit(1)


def _metavar(param: typer.core.TyperOption, ctx: Any) -> str:
    """How a value is named in help, man-page style: ``N``, ``FILE``, ``DIR``, ``LANG``, ..."""
    if param.metavar:
        return param.metavar
    name = (param.name or "value").upper()
    typed = typer.core.TyperOption.display_type(param, ctx)  # "<int range>", "<path>", "<str>", ...
    if typed.startswith(("<int", "<float")):
        return "N"
    if typed == "<path>":
        return "DIR" if name.endswith("DIR") else "FILE"
    return "LANG" if name.endswith("_CODE") else name


def _man_page_help(command: Any) -> None:
    """Help without Python types: ``--beam-size N``, ``INPUTS...``, ``[NAME]``."""
    for param in command.params:
        if isinstance(param, typer.core.TyperArgument):
            label = (param.metavar or param.name or "ARG").upper().strip("[]")
            usage = (label if param.required else f"[{label}]") + ("..." if param.nargs != 1 else "")
            param._usage_display_name = functools.partial(str, usage)  # type: ignore[method-assign]
            param.display_type_rich = functools.partial(_no_type)  # type: ignore[method-assign]
        elif isinstance(param, typer.core.TyperOption) and not param.is_flag:
            param.display_type_rich = functools.partial(_metavar, param)  # type: ignore[method-assign]


def _no_type(ctx: Any) -> str:
    return ""


class _Group(typer.core.TyperGroup):
    """Turns every PipeError raised below into one line on stderr and exit code 1; help reads
    like a man page (no Python types)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _man_page_help(self)
        for command in self.commands.values():
            _man_page_help(command)

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
runs_app = typer.Typer(
    cls=_Group,
    help="List stored runs: kind, status, start, model, mode (plain, hard, soft) and inputs; `runs show N` shows one.",
    invoke_without_command=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(runs_app, name="runs")
db_app = _typer("Look after the database: check it, back it up.")
app.add_typer(db_app, name="db")


JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout")]


@dataclass(frozen=True)
class Paths:
    """Paths resolved once (option > environment > default) and passed down."""

    db: Path | api.DatabaseURL  # a SQLite file, or a postgresql:// URL
    packages_option: Path | None  # --packages-dir / ARGOS_PACKAGES_DIR, if given
    init: bool = False  # --init: add our tables to a database that holds other tables
    command: str = ""  # the command being run (for messages), e.g. "score compare"

    @property
    def packages_dir(self) -> Path:
        """The packages directory; argostranslate's default is looked up only when needed."""
        return self.packages_option if self.packages_option is not None else api.default_packages_dir()


def _paths(ctx: typer.Context) -> Paths:
    obj = ctx.find_root().obj
    assert isinstance(obj, Paths)
    command = ctx.command_path[len(ctx.find_root().command_path) :].strip()
    return dataclasses.replace(obj, command=command)


def _version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"translate-pipe {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Print the version and exit."),
    ] = False,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="TRANSLATE_PIPE_DB",
            metavar="PATH|URL",
            help="SQLite database file, or postgresql://USER@HOST:PORT/DBNAME (every command but serve "
            "and db) [default: outputs/translate_pipe.db]",
        ),
    ] = None,
    packages_dir: Annotated[
        Path | None,
        typer.Option(
            "--packages-dir",
            envvar="ARGOS_PACKAGES_DIR",
            help="Argos packages directory [default: argostranslate's own setting]",
        ),
    ] = None,
    init: Annotated[
        bool,
        typer.Option("--init", help="Add translate-pipe's tables to a --db that already holds other tables"),
    ] = False,
) -> None:
    ctx.obj = Paths(db=api.database_target(db) if db else DEFAULT_DB, packages_option=packages_dir, init=init)


SHARED_COMMANDS = "every command but serve and db"  # what PostgreSQL supports


def _sqlite(paths: Paths) -> Path:
    """The SQLite database file; the commands that work only on SQLite refuse a PostgreSQL URL."""
    if isinstance(paths.db, api.DatabaseURL):
        raise _fail(
            f"`{paths.command}` needs a SQLite database (--db FILE); a PostgreSQL database ({paths.db}) "
            f"works with {SHARED_COMMANDS}"
        )
    return paths.db


def _open_store(paths: Paths) -> api.Store:
    """The SQLite database, created when missing (commands that store something)."""
    return api.open_store(_sqlite(paths), init=paths.init)


def _read_store(paths: Paths) -> api.Store:
    """The SQLite database, which must exist: read-only commands never create one."""
    return api.open_store(_sqlite(paths), create=False, init=paths.init)


def _open_shared(paths: Paths) -> api.SharedStore:
    """As :func:`_open_store`, for the commands that work on PostgreSQL too."""
    return api.open_shared_store(paths.db, init=paths.init)


def _read_shared(paths: Paths) -> api.SharedStore:
    """As :func:`_read_store`, for the commands that work on PostgreSQL too."""
    return api.open_shared_store(paths.db, create=False, init=paths.init)


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _print_lines(lines: list[str], err: bool = False) -> None:
    for line in lines:
        typer.echo(line, err=err)


@contextmanager
def _progress(label: str, enabled: bool = True) -> Iterator[Callable[[int, Any], None]]:
    """A progress bar on stderr when it is a terminal; silent otherwise."""
    if not enabled or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    import time

    state: dict[str, Any] = {"bar": None, "done": 0, "start": time.monotonic(), "first": None}

    def update(done: int, total: Any) -> None:
        bar = state["bar"]
        if bar is None:
            bar = state["bar"] = typer.progressbar(
                length=total or 0, label=label, file=sys.stderr, show_eta=True, show_pos=True, item_show_func=lambda s: s
            )
            bar.__enter__()
            state["first"] = done  # segments done before (a resumed run): not this process's speed
        elapsed = time.monotonic() - state["start"]
        rate = (done - state["first"]) / elapsed if elapsed > 0 else 0.0
        bar.update(done - state["done"], f"{rate:.1f} seg/s")
        state["done"] = done

    try:
        yield update
    finally:
        if state["bar"] is not None:
            state["bar"].__exit__(None, None, None)


DEFAULT_MAX_INPUT_SIZE = "256M"
MaxSizeOpt = Annotated[
    str, typer.Option("--max-input-size", metavar="SIZE", help="Largest file or stream read, e.g. 512M or 2G")
]


def _size(value: str) -> int:
    """A --max-input-size value in bytes."""
    from .files import parse_size

    try:
        return parse_size(value)
    except PipeError as exc:
        raise typer.BadParameter(str(exc), param_hint="--max-input-size") from None


def _check_align(value: str) -> str:
    if value not in ("predict", "attention"):
        raise typer.BadParameter(f"{value!r} is not one of predict, attention")
    return value


def _check_ray_package(value: str) -> str:
    if value not in ("auto", "shared", "ship"):
        raise typer.BadParameter(f"{value!r} is not one of auto, shared, ship")
    return value


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
    paths = _paths(ctx)
    if from_file is not None:
        if from_code or to_code:
            raise typer.BadParameter("give either FROM TO or --from-file, not both")
        done = api.models_install(paths.packages_dir, from_file=from_file, force=force)
    else:
        if not (from_code and to_code):
            raise typer.BadParameter("give FROM and TO language codes (e.g. `ar en`) or --from-file FILE")
        with _progress(f"Downloading {from_code}->{to_code}") as bar:
            done = api.models_install(
                paths.packages_dir, from_code=from_code, to_code=to_code, index_url=index_url, progress=bar, force=force
            )
    info = done.package
    typer.echo(
        f"installed {info.name} ({info.pair}, version {info.package_version}) in {paths.packages_dir} from {done.source}"
    )


@models_app.command("list")
def models_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output")] = False,
) -> None:
    """List installed packages with their version and language pair."""
    paths = _paths(ctx)
    pkgs = api.models_list(paths.packages_dir)
    if as_json:
        _print_json(report.packages_json(pkgs))
        return
    if not pkgs:
        typer.echo(f"no packages installed in {paths.packages_dir}", err=True)
        return
    _print_lines(report.packages_lines(pkgs))


@models_app.command("remove")
def models_remove(
    ctx: typer.Context, name: Annotated[str, typer.Argument(metavar="NAME", help="Package folder name, as `models list` shows")]
) -> None:
    """Uninstall a package."""
    api.models_remove(_paths(ctx).packages_dir, name)
    typer.echo(f"removed {name}")


# -- translate --------------------------------------------------------------------------------
@app.command("translate")
def translate(
    ctx: typer.Context,
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="INPUTS",
            help="Files to translate (.txt, .html, .docx, .odt; .pdf in, .txt out); - reads standard input",
        ),
    ] = None,
    from_code: Annotated[str, typer.Option("--from", help="Source language")] = "ar",
    to_code: Annotated[str, typer.Option("--to", help="Target language")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout")] = False,
    json_file: Annotated[
        Path | None,
        typer.Option(
            "--json-file",
            metavar="PATH",
            help="Write the --json result to PATH (streamed, written atomically; for huge inputs), "
            "and report as without --json",
        ),
    ] = None,
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
    threads: Annotated[
        int, typer.Option("--threads", min=0, help="CPU threads per process (0: all cores, CTranslate2's default)")
    ] = 1,
    compute_type: Annotated[str, typer.Option("--compute-type", help="CTranslate2 compute type")] = "default",
    glossary: Annotated[
        str | None, typer.Option("--glossary", help="Enforce this glossary's terms")
    ] = None,
    soft: Annotated[bool, typer.Option("--soft", help="Prefer glossary targets, never force them")] = False,
    allow_failures: Annotated[
        bool, typer.Option("--allow-failures", help="Do not fail when a hard constraint cannot be enforced")
    ] = False,
    tm: Annotated[
        bool, typer.Option("--tm/--no-tm", help="Reuse exact translation-memory matches (status tm)")
    ] = True,
    align: Annotated[
        str,
        typer.Option(
            "--align",
            metavar="METHOD",
            help="Word alignment: predict (prediction difference; right on any model) or attention "
            "(cheaper; right only on models trained with guided alignment)",
            callback=_check_align,
        ),
    ] = "predict",
    resume: Annotated[
        int | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="Continue the interrupted run RUN from its last committed chunk (no INPUTS; "
            "its settings and documents are the stored ones)",
        ),
    ] = None,
    max_input_size: MaxSizeOpt = DEFAULT_MAX_INPUT_SIZE,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Decode on a Ray cluster: auto (the one `ray start` runs here, or RAY_ADDRESS) or the head's "
            "HOST:PORT; needs `pip install 'translate-pipe[ray]'` (README: on a cluster)",
        ),
    ] = None,
    actors: Annotated[
        int | None,
        typer.Option("--actors", min=1, help="Ray actors, each loading the model once [default: cluster CPUs / threads]"),
    ] = None,
    threads_per_actor: Annotated[
        int, typer.Option("--threads-per-actor", min=1, help="CPU threads (and Ray CPUs) per actor")
    ] = 1,
    ray_package: Annotated[
        str,
        typer.Option(
            "--ray-package",
            metavar="SOURCE",
            help="How actors get the model: auto (the shared models directory when the same package is there, "
            "else shipped), shared, or ship",
            callback=_check_ray_package,
        ),
    ] = "auto",
) -> None:
    """Translate files (or - for stdin); store segments, translations and alignments."""
    inputs = inputs or []
    if inputs.count("-") > 1:
        raise typer.BadParameter("standard input (-) can be given only once", param_hint="INPUTS")
    if resume is not None and inputs:
        raise typer.BadParameter("--resume continues a stored run: give no INPUTS", param_hint="INPUTS")
    if resume is None and not inputs:
        raise typer.BadParameter("give files to translate, - for standard input, or --resume RUN", param_hint="INPUTS")
    if ray is None and (actors is not None or threads_per_actor != 1 or ray_package != "auto"):
        raise typer.BadParameter("--actors, --threads-per-actor and --ray-package go with --ray", param_hint="--ray")
    cluster = (
        api.ClusterOptions(ray, actors=actors, threads_per_actor=threads_per_actor, package=ray_package)
        if ray is not None
        else None
    )
    limit = _size(max_input_size)
    paths = _paths(ctx)
    if resume is not None:
        with _read_shared(paths) as store, _progress("Segments", enabled=True) as bar:
            result = api.resume(
                resume, db=paths.db, packages_dir=paths.packages_dir, progress=bar, store=store, cluster=cluster
            )
            _report_run(result, as_json, json_file)
        return
    with _open_shared(paths) as store, _progress("Segments", enabled=True) as bar:
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
            translation_memory=tm,
            align=align,
            stdin=lambda: sys.stdin.buffer,
            progress=bar,
            max_input_bytes=limit,
            store=store,
            cluster=cluster,
        )
        _report_run(result, as_json, json_file)


@app.command("retranslate")
def retranslate(
    ctx: typer.Context,
    glossary: Annotated[str, typer.Option("--glossary", help="The glossary whose edits to apply")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the re-run segments as JSON")] = False,
    device: Annotated[str, typer.Option("--device", help="cpu, cuda or auto", callback=_check_device)] = "cpu",
    threads: Annotated[
        int, typer.Option("--threads", min=0, help="CPU threads per process (0: all cores, CTranslate2's default)")
    ] = 1,
    compute_type: Annotated[str, typer.Option("--compute-type", help="CTranslate2 compute type")] = "default",
    allow_failures: Annotated[bool, typer.Option("--allow-failures", help="Accept unenforceable terms")] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Refresh output files even if a later run without the glossary wrote them")
    ] = False,
) -> None:
    """Re-run only the segments whose matched glossary terms changed since their translation."""
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
            overwrite=overwrite,
            progress=bar,
        )
    warning = report.truncation_warning(result.run) if result.run is not None else None
    if warning:
        typer.echo(f"translate-pipe: {warning}", err=True)
    terms = report.run_term_summary(result.run) if result.run is not None else None
    if terms is not None:
        typer.echo(terms, err=True)
    if as_json:
        _print_json(report.retranslate_json(result))
    else:
        _print_lines(report.retranslate_lines(result, glossary))


def _report_run(result: api.TranslateResult, as_json: bool, json_file: Path | None = None) -> None:
    if json_file is not None:
        api.write_run_json(result, json_file)
        typer.echo(f"JSON result -> {json_file}", err=True)
    warning = report.truncation_warning(result.run)
    if warning:
        typer.echo(f"translate-pipe: {warning}", err=True)
    terms = report.run_term_summary(result.run)
    if terms is not None:
        typer.echo(terms, err=True)
    if as_json:
        for piece in report.iter_run_json(result.run):
            sys.stdout.write(piece)
        sys.stdout.write("\n")
        return
    for doc in result.run.documents:
        if doc.output_path is None:
            for piece in doc.iter_text():
                sys.stdout.write(piece)
        else:
            typer.echo(f"{doc.name} -> {doc.output_path}", err=True)
    typer.echo(report.run_summary(result.run), err=True)


# -- glossary ---------------------------------------------------------------------------------
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="Glossary name")]
AuthorOpt = Annotated[
    str | None, typer.Option("--author", envvar="TRANSLATE_PIPE_AUTHOR", help="Recorded in the history [default: $USER]")
]
ContextOpt = Annotated[str, typer.Option("--context", help="Disambiguation context (PO msgctxt)")]


def _author(author: str | None) -> str:
    return author or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


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
    max_input_size: MaxSizeOpt = "256M",
) -> None:
    """Import a glossary file as one new version (all or nothing)."""
    limit = _size(max_input_size)
    with _open_shared(_paths(ctx)) as store:
        version, n = api.glossary_import(
            store, name, path, fmt=fmt, author=_author(author), source_lang=from_code, target_lang=to_code,
            replace=replace, max_input_bytes=limit,
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
    target: Annotated[
        str | None, typer.Argument(metavar="TARGET", help="Approved target (required for a new term)")
    ] = None,
    variant: Annotated[
        list[str] | None,
        typer.Option("--variant", help="Another source form (repeatable; replaces the term's variants)"),
    ] = None,
    note: Annotated[str | None, typer.Option("--note", help="Usage note (replaces the term's note)")] = None,
    domain: Annotated[str | None, typer.Option("--domain", help="Domain, free text (the curated glossary uses diplomacy, un, law, geo, ...)")] = None,
    context: ContextOpt = "",
    author: AuthorOpt = None,
    target_plural: Annotated[
        str | None, typer.Option("--target-plural", help="Plural of the target, for dual/plural matches")
    ] = None,
    plural: Annotated[
        list[str] | None, typer.Option("--plural", help="Irregular (broken) plural of the source (repeatable)")
    ] = None,
    not_in: Annotated[
        list[str] | None, typer.Option("--not-in", help="Longer phrase in which the term must not match (repeatable)")
    ] = None,
) -> None:
    """Add a term, or edit one: only the fields given change (a new version)."""
    with _open_shared(_paths(ctx)) as store:
        version, what, term = api.glossary_add(
            store,
            name,
            source,
            target,
            author=_author(author),
            variants=variant,
            note=note,
            domain=domain,
            context=context,
            target_plural=target_plural,
            source_plurals=plural,
            blocked_in=not_in,
        )
    typer.echo(f"{name}: {source} -> {term.target}: {what}" + (f" (version {version})" if version else ""))


@glossary_app.command("remove")
def glossary_remove(
    ctx: typer.Context,
    name: NameArg,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Source term")],
    context: ContextOpt = "",
    author: AuthorOpt = None,
) -> None:
    """Deprecate a term; the history keeps it."""
    with _open_shared(_paths(ctx)) as store:
        version = api.glossary_remove(store, name, source, author=_author(author), context=context)
    typer.echo(f"{name}: {source}: " + (f"deprecated (version {version})" if version else "already deprecated"))


@glossary_app.command("list")
def glossary_list(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Glossary name; without it, the glossaries are listed")
    ] = None,
    version: Annotated[int | None, typer.Option("--version", help="As it stood at this version")] = None,
    deprecated: Annotated[bool, typer.Option("--deprecated", help="Include deprecated terms")] = False,
    as_json: JsonOpt = False,
) -> None:
    """List the terms of a glossary, or the glossaries."""
    if name is None:
        with _read_shared(_paths(ctx)) as store:
            glossaries = api.glossaries(store)
        if as_json:
            _print_json(report.glossaries_json(glossaries))
        else:
            _print_lines(report.glossaries_lines(glossaries))
        return
    with _read_shared(_paths(ctx)) as store:
        terms = api.glossary_terms(store, name, version, deprecated=deprecated)
    if as_json:
        _print_json([report.stored_term_json(st) for st in terms])
    else:
        _print_lines(report.terms_lines(terms))


@glossary_app.command("show")
def glossary_show(
    ctx: typer.Context,
    name: NameArg,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Source term")],
    context: ContextOpt = "",
    as_json: JsonOpt = False,
) -> None:
    """Show a term and its history."""
    with _read_shared(_paths(ctx)) as store:
        history = api.glossary_show(store, name, source, context)
    if as_json:
        _print_json(report.term_show_json(history))
    else:
        _print_lines(report.term_show_lines(history))


@glossary_app.command("lint")
def glossary_lint(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Check a glossary; exits 1 when there are errors (warnings alone exit 0).

    Warnings acknowledged with `glossary ack` are not listed (the summary counts them) until
    the term is edited again.
    """
    with _read_shared(_paths(ctx)) as store:
        result = api.glossary_lint(store, name)
    if as_json:
        _print_json(report.lint_json(result.issues))
    else:
        _print_lines(report.lint_lines(result.issues))
        typer.echo(report.lint_summary(name, result.issues, len(result.acknowledged)), err=True)
    if any(i.level == "error" for i in result.issues):
        raise typer.Exit(1)


@glossary_app.command("ack")
def glossary_ack(
    ctx: typer.Context,
    name: NameArg,
    source: Annotated[str, typer.Argument(metavar="SOURCE", help="Source term whose warning is acknowledged")],
    code: Annotated[str, typer.Option("--code", help="The lint warning, as lint names it")] = "contained-term",
    context: ContextOpt = "",
    author: AuthorOpt = None,
) -> None:
    """Acknowledge a lint warning of one entry (e.g. a contained-term its note explains) until
    the entry is edited."""
    with _open_shared(_paths(ctx)) as store:
        issue = api.glossary_ack(store, name, source, code=code, author=_author(author), context=context)
    typer.echo(f"{name}: {source}: {issue.code} acknowledged")


@glossary_app.command("log")
def glossary_log(ctx: typer.Context, name: NameArg, as_json: JsonOpt = False) -> None:
    """Version history: who changed what, when."""
    with _read_shared(_paths(ctx)) as store:
        log = api.glossary_log(store, name)
    if as_json:
        _print_json(report.log_json(log))
    else:
        _print_lines(report.log_lines(log))


@glossary_app.command("diff")
def glossary_diff(
    ctx: typer.Context,
    name: NameArg,
    v1: Annotated[int, typer.Argument(metavar="V1", help="Old version (0: empty)")],
    v2: Annotated[int, typer.Argument(metavar="V2", help="New version")],
    as_json: JsonOpt = False,
) -> None:
    """What changed between two versions."""
    with _read_shared(_paths(ctx)) as store:
        changes = api.glossary_diff(store, name, v1, v2)
    if as_json:
        _print_json(report.diff_json(changes))
    else:
        _print_lines(report.diff_lines(changes))


@glossary_app.command("export")
def glossary_export(
    ctx: typer.Context,
    name: NameArg,
    fmt: Annotated[str, typer.Option("--format", help="csv, tsv, po or tbx")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File to write [default: stdout]")] = None,
    version: Annotated[int | None, typer.Option("--version", help="Export this past version")] = None,
    tbx_version: Annotated[str, typer.Option("--tbx-version", help="basic (TBX-Basic, default) or v3")] = "basic",
    dates: Annotated[bool, typer.Option("--dates", help="Put creation/revision dates in a PO header")] = False,
    deprecated: Annotated[
        bool,
        typer.Option(
            "--deprecated",
            help="Also write deprecated terms to a PO file (as entries with a '#. status: deprecated' comment); "
            "CSV, TSV and TBX always carry them with their status",
        ),
    ] = False,
) -> None:
    """Export a glossary as CSV, TSV, PO or TBX (deterministic output)."""
    with _read_shared(_paths(ctx)) as store:
        text = api.glossary_export(
            store, name, fmt, output=output, version=version, tbx_version=tbx_version, include_dates=dates,
            deprecated=deprecated,
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
    as_json: JsonOpt = False,
) -> None:
    """Find the glossary's terms in a text (offsets into the text as read)."""
    with _read_shared(_paths(ctx)) as store:
        matches = api.glossary_match_input(store, name, path, lambda: sys.stdin.buffer.read())
    if as_json:
        _print_json(report.matches_json(matches))
    else:
        _print_lines(report.matches_lines(matches))


# -- runs, references, scores -----------------------------------------------------------------
@runs_app.callback()
def runs(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List stored runs: kind, status, start, model, mode, inputs (`runs show N` for one run)."""
    if ctx.invoked_subcommand is not None:
        return
    with _read_shared(_paths(ctx)) as store:
        infos = api.runs(store)
    if as_json:
        _print_json(report.runs_json(infos))
    else:
        _print_lines(report.runs_lines(infos))


@runs_app.command("show")
def runs_show(
    ctx: typer.Context,
    run_id: Annotated[int, typer.Argument(metavar="N", help="Run number, as `runs` lists them")],
    as_json: JsonOpt = False,
) -> None:
    """One run: input and output files, mode, settings, counts per term outcome, error."""
    with _read_shared(_paths(ctx)) as store:
        detail = api.runs_show(store, run_id)
    if as_json:
        _print_json(report.run_detail_json(detail))
    else:
        _print_lines(report.run_detail_lines(detail))


@refs_app.command("import")
def refs_import(
    ctx: typer.Context,
    source: Annotated[Path, typer.Argument(metavar="SOURCE", help="The source document (as translated)")],
    reference: Annotated[Path, typer.Argument(metavar="REFERENCE", help="Reference translation, one paragraph per line")],
    name: Annotated[str | None, typer.Option("--name", help="Reference set name [default: file name]")] = None,
    from_code: Annotated[str, typer.Option("--from", help="Source language")] = "ar",
    max_input_size: MaxSizeOpt = "256M",
) -> None:
    """Store a reference translation for a document."""
    limit = _size(max_input_size)
    with _open_shared(_paths(ctx)) as store:
        document_id, refset, n, replaced = api.refs_import(
            store, source, reference, name=name, source_lang=from_code, max_input_bytes=limit
        )
    what = "replaced; stored scores of its runs dropped" if replaced else "stored"
    typer.echo(f"reference {refset!r} {what}: {n} lines for document {document_id} ({source})")


@refs_app.command("list")
def refs_list(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reference sets as JSON")] = False,
) -> None:
    """List the stored reference sets: document, name, number of lines, file."""
    with _read_shared(_paths(ctx)) as store:
        refsets = api.refs_list(store)
    if as_json:
        _print_json(report.refs_json(refsets))
    else:
        _print_lines(report.refs_lines(refsets))


@score_app.callback()
def score(
    ctx: typer.Context,
    hyp: Annotated[Path | None, typer.Option("--hyp", help="Hypothesis file, one segment per line")] = None,
    refs: Annotated[list[Path] | None, typer.Option("--refs", help="Reference file (repeatable)")] = None,
    src: Annotated[Path | None, typer.Option("--src", help="Source file, for --glossary with --hyp")] = None,
    run: Annotated[int | None, typer.Option("--run", help="Score a stored run against stored references")] = None,
    glossary: Annotated[str | None, typer.Option("--glossary", help="Add terminology metrics")] = None,
    recompute: Annotated[bool, typer.Option("--recompute", help="Recompute stored scores")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Score a hypothesis file (--hyp/--refs) or a stored run (--run)."""
    if ctx.invoked_subcommand is not None:
        return
    if (hyp is None) == (run is None):
        raise typer.BadParameter("give either --hyp FILE --refs FILE or --run ID")
    if hyp is not None and not refs:
        raise typer.BadParameter("--hyp needs at least one --refs FILE")
    if hyp is not None and glossary is None:
        out = api.score_files(None, hyp, refs or [], src=src)  # no database needed
    else:
        with _read_shared(_paths(ctx)) as store:
            if hyp is not None:
                out = api.score_files(store, hyp, refs or [], glossary=glossary, src=src)
            else:
                assert run is not None
                out = api.score_run(store, run, glossary=glossary, recompute=recompute)
    data = report.scores_json(out)
    if as_json:
        _print_json(data)
    else:
        _print_lines(report.scores_lines(data))


@score_app.command("compare")
def score_compare(
    ctx: typer.Context,
    run_a: Annotated[int, typer.Argument(metavar="RUN_A", help="Baseline run")],
    run_b: Annotated[int, typer.Argument(metavar="RUN_B", help="Run compared with it")],
    samples: Annotated[int, typer.Option("--samples", min=100, help="Bootstrap samples")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed")] = 12345,
    as_json: JsonOpt = False,
) -> None:
    """Paired bootstrap resampling between two runs over the same documents."""
    with _read_shared(_paths(ctx)) as store:
        cmp = api.score_compare(store, run_a, run_b, n_samples=samples, seed=seed)
    if as_json:
        _print_json(report.compare_json(cmp))
    else:
        _print_lines(report.compare_lines(cmp, run_a, run_b))


# -- database -----------------------------------------------------------------------------------
@db_app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Run SQLite's integrity check and foreign-key check; exit 1 when anything is wrong."""
    paths = _paths(ctx)
    with _read_store(paths) as store:
        problems = api.db_check(store)
    if problems:
        _print_lines([f"{paths.db}: {p}" for p in problems], err=True)
        raise _fail(f"{paths.db}: {len(problems)} problem(s) found; restore a backup (`db backup` makes one)")
    typer.echo(f"{paths.db}: ok (integrity and foreign keys)")


@db_app.command("backup")
def db_backup(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(metavar="FILE", help="The copy to write (must not exist)")],
) -> None:
    """Copy the database to FILE with SQLite's online backup (safe while translations run)."""
    paths = _paths(ctx)
    with _read_store(paths) as store:
        api.db_backup(store, target)
    typer.echo(f"{paths.db} backed up to {target}")


# -- serve (issue 13) ---------------------------------------------------------------------------
@app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Address to bind; keep 127.0.0.1 unless behind a proxy")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port")] = 5000,
    glossary: Annotated[
        str | None, typer.Option("--glossary", help="Default glossary (requests may send glossary=NAME or glossary=none)")
    ] = None,
    api_keys: Annotated[
        Path | None, typer.Option("--api-keys", help="File of API keys (one per line, or sha256:HEX); keys required")
    ] = None,
    char_limit: Annotated[int, typer.Option("--char-limit", min=-1, help="Characters per text (-1: no limit)")] = 5000,
    batch_limit: Annotated[int, typer.Option("--batch-limit", min=-1, help="Texts per array request (-1: no limit)")] = 64,
    queue_size: Annotated[int, typer.Option("--queue-size", min=1, help="Requests waiting at most; more get 429")] = 64,
    batch_wait_ms: Annotated[
        float, typer.Option("--batch-wait-ms", min=0, help="How long a batch waits for more requests")
    ] = 5.0,
    max_body_bytes: Annotated[int, typer.Option("--max-body-bytes", min=1024, help="Largest request body")] = 10 * 1024 * 1024,
    files_dir: Annotated[
        Path | None, typer.Option("--files-dir", help="Where translated files wait for download [default: a temporary folder]")
    ] = None,
    threads: Annotated[
        int, typer.Option("--threads", min=0, help="CPU threads per process (0: all cores, CTranslate2's default)")
    ] = 1,
    align: Annotated[
        str,
        typer.Option("--align", metavar="METHOD", help="Word alignment: predict or attention (as translate --align)",
                     callback=_check_align),
    ] = "predict",
) -> None:
    """Serve LibreTranslate's HTTP API (glossary-enforced) until interrupted."""
    from .serve import ServerConfig
    from .serve import serve as run_server

    paths = _paths(ctx)
    if host not in ("127.0.0.1", "localhost", "::1") and api_keys is None:
        typer.echo(f"translate-pipe: warning: serving on {host} without --api-keys", err=True)
    run_server(
        db=_sqlite(paths),
        packages_dir=paths.packages_dir,
        host=host,
        port=port,
        glossary=glossary,
        api_keys_file=api_keys,
        server=ServerConfig(char_limit=char_limit, batch_limit=batch_limit, max_body_bytes=max_body_bytes, files_dir=files_dir),
        queue_size=queue_size,
        batch_wait_ms=batch_wait_ms,
        threads=threads,
        align=align,
    )

# == review loop, translation memory, report (issue 12) =======================================
review_app = _typer("Post-editing round trip: export a run for a CAT tool, import the reviewed file.")
tm_app = _typer("Translation memory: approved segments reused by translate; TMX 1.4b exchange.")
app.add_typer(review_app, name="review")
app.add_typer(tm_app, name="tm")


def _check_fuzzy(value: float) -> float:
    if not 0 < value <= 100:
        raise typer.BadParameter(f"{value} is not a percentage in (0, 100]")
    return value


@review_app.command("export")
def review_export(
    ctx: typer.Context,
    run: Annotated[int, typer.Argument(metavar="RUN", help="Run id (`translate-pipe runs`)")],
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="File to write [default: stdout]")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", metavar="FORMAT", help="xliff (XLIFF 1.2) or po [default: from -o, else xliff]")
    ] = None,
    fuzzy: Annotated[
        float,
        typer.Option("--fuzzy", metavar="PERCENT", help="Minimum similarity of translation-memory alternatives", callback=_check_fuzzy),
    ] = 75.0,
) -> None:
    """Export a run for review: one unit per segment, needs-review state, terms and TM matches as notes."""
    with _read_shared(_paths(ctx)) as store:
        text = api.review_export(store, run, fmt, output=output, fuzzy=fuzzy)
    if output is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"wrote {output}", err=True)


@review_app.command("import")
def review_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The reviewed .xlf or .po file")],
    reviewer: Annotated[
        str | None,
        typer.Option("--reviewer", metavar="NAME", envvar="TRANSLATE_PIPE_REVIEWER", help="Recorded with each post-edit [default: $USER]"),
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", metavar="FORMAT", help="xliff or po [default: from the extension]")] = None,
    run: Annotated[int | None, typer.Option("--run", metavar="RUN", help="Refuse the file unless it belongs to this run")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Store the post-edits of a reviewed file (all or nothing) with their HTER."""
    with _open_shared(_paths(ctx)) as store:
        res = api.review_import(store, path, reviewer=_author(reviewer), fmt=fmt, run=run)
    if as_json:
        _print_json(report.review_import_json(res))
        return
    _print_lines(report.review_import_warnings(res), err=True)
    _print_lines(report.review_import_lines(res))


@tm_app.command("export")
def tm_export(
    ctx: typer.Context,
    output: Annotated[Path | None, typer.Option("--output", "-o", metavar="FILE", help="File to write [default: stdout]")] = None,
    from_code: Annotated[str, typer.Option("--from", metavar="LANG", help="Source language")] = "ar",
    to_code: Annotated[str, typer.Option("--to", metavar="LANG", help="Target language")] = "en",
) -> None:
    """Export the translation memory as TMX 1.4b (deterministic)."""
    with _read_shared(_paths(ctx)) as store:
        text, n = api.tm_export(store, source_lang=from_code, target_lang=to_code, output=output)
    if output is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"wrote {n} unit(s) to {output}", err=True)


@tm_app.command("import")
def tm_import(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A .tmx file")],
    from_code: Annotated[str, typer.Option("--from", metavar="LANG", help="Source language")] = "ar",
    to_code: Annotated[str, typer.Option("--to", metavar="LANG", help="Target language")] = "en",
    author: AuthorOpt = None,
) -> None:
    """Add the units of a TMX file to the translation memory (all or nothing)."""
    with _open_shared(_paths(ctx)) as store:
        n, skipped = api.tm_import(store, path, source_lang=from_code, target_lang=to_code, author=_author(author))
    typer.echo(f"{path}: {n} unit(s) stored" + (f", {skipped} skipped (missing {from_code} or {to_code} text)" if skipped else ""))


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    run: Annotated[int, typer.Argument(metavar="RUN", help="Run id")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="HTML file to write")],
) -> None:
    """Write a static bilingual HTML page of a run: terms, word links, scores, post-edits."""
    with _read_shared(_paths(ctx)) as store:
        api.report_html(store, run, output=output)
    typer.echo(f"wrote {output}", err=True)


@glossary_app.command("suggest")
def glossary_suggest(
    ctx: typer.Context,
    name: NameArg,
    min_count: Annotated[int, typer.Option("--min-count", metavar="N", min=1, help="Segments a correction must recur in")] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Propose entries from corrections reviewers made the same way in several segments (post-edits of runs translated with NAME)."""
    with _read_shared(_paths(ctx)) as store:
        found = api.glossary_suggest(store, name, min_count=min_count)
    if as_json:
        _print_json(report.suggestions_json(found))
        return
    if not found:
        typer.echo(f"{name}: no correction recurs in {min_count} or more segments", err=True)
    _print_lines(report.suggestions_lines(found, name))


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
