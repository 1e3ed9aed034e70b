"""The pipeline's own cost (issue 16): every target side by side in one run, before and after.

    python -m bench.bench_cost [--before REV] [--repeat 3] [--sizes 100,500,2000] [--tiny-lines 20000]

Workloads (each printed as a median of ``--repeat`` timed runs; one untimed warm-up run of each
configuration first; the model is loaded outside the timing on every path):

* **argos-size**: a realistic-size random-weight package (6+6 layers, d512, int8; built by
  bench/make_bench_model.py) on 100 / 500 / 2,000 distinct FLORES sentences, beam 4, output
  capped at 48 tokens (random weights never end a sentence, so every path decodes 48 tokens).
  ``raw`` decodes exactly the segments the pipeline made (read back from its database) with one
  ``translate_batch`` (tokens batching, 1,024 tokens, as the pipeline's ``--batch-tokens``),
  SentencePiece encoding and decoding included; nothing else.
* **tiny**: the enforcement test model (tests/tinymodel.py: d128, 3 layers, trained, it really
  translates; decoding is cheap so the pipeline's own work shows) on ``--tiny-lines`` distinct
  template sentences; raw as above (output bound ``2 x longest + 10``, as the pipeline's).
* **startup**: ``translate-pipe glossary list`` as a whole process (target < 0.2 s).
* **store**: ``Store.write_chunk`` alone, 20,000 segments with 12 word links each (rows/s).
* **constrained**: the same tiny model on 400 held-out sentences, unconstrained and with a
  glossary carried by about 30% and by 100% of the segments (renderings cache warm).

Each configuration is timed in a child process with ``PYTHONPATH`` set to the code measured:
this tree ("after") or ``git archive REV`` ("before"), interleaved run by run.  Both sides get
the same threads: the pipeline its default ``--threads 1`` (CTranslate2 ``intra_threads=1``,
``OMP_WAIT_POLICY=PASSIVE``), raw ``intra_threads=1``, ``inter_threads=1`` with the same
environment.  The pipeline's own Python work may run in other threads of its process (the
overlapped decoder), which raw has no use for; the machine's cores are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
FLORES = ROOT.parent / "shared" / "eval" / "flores101"
MAX_LENGTH = 48


# -- child side (runs with the measured code on PYTHONPATH; imports only translate_pipe) ----------
def _child(spec: dict[str, Any]) -> dict[str, Any]:
    os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    if spec["kind"] == "raw":
        return _child_raw(spec)
    if spec["kind"] == "store":
        return _child_store(spec)
    return _child_pipeline(spec)


def _child_store(spec: dict[str, Any]) -> dict[str, Any]:
    """``Store.write_chunk`` alone: chunks of 512 translated segments (12 word links each, a
    term on every third) into a new database file; rows are translations + links + terms."""
    from translate_pipe.records import Segment, SegmentTranslation, TermMatch, TermOutcome
    from translate_pipe.store import Store

    n, chunk = spec["segments"], 512
    words = [f"w{k}" for k in range(12)]
    line = " ".join(words)
    text = "\n".join([line] * n) + "\n"
    times, cpu, rows = [], [], 0
    for rep in range(spec["repeat"]):
        db = Path(spec["db"]).with_suffix(f".{rep}.db")
        db.unlink(missing_ok=True)
        with Store(db) as store:
            store.ensure_ops_tables()
            with store.transaction():
                run_id = store.start_run(model_name="m", model_version="1", model_checksum="0" * 64, source_lang="ar",
                                         target_lang="en", settings={}, glossary_id=None, glossary_version=None,
                                         kind="translate", parent_run_id=None)
                store.claim_run(run_id)
                (doc_id,) = store.register_run_documents(run_id, [(text, "ar", "bench.txt", None)])
            items = []
            for i in range(n):
                start = i * (len(line) + 1)
                seg = Segment(i, start, start + len(line), line, i)
                links = tuple((start + 3 * k, start + 3 * k + 2, 3 * k, 3 * k + 2) for k in range(12))
                terms: tuple[TermOutcome, ...] = ()
                if i % 3 == 0:
                    m = TermMatch("w0", "x0", start, start + 2, "w0")
                    terms = (TermOutcome(m, 0, 2, "enforced", "rendering"),)
                items.append((doc_id, SegmentTranslation(seg, line, links, terms, -0.5), ()))
            rows = n + 12 * n + len(range(0, n, 3))
            start_t, start_c = time.perf_counter(), time.process_time()
            for k in range(0, n, chunk):
                store.write_chunk(run_id, items[k : k + chunk], None, done=k + chunk)
            times.append(time.perf_counter() - start_t)
            cpu.append(time.process_time() - start_c)
    return {"times": times, "cpu": cpu, "rows": rows}


def _child_raw(spec: dict[str, Any]) -> dict[str, Any]:
    import ctranslate2
    import sentencepiece

    segments = json.loads(Path(spec["segments"]).read_text(encoding="utf-8"))
    sp = sentencepiece.SentencePieceProcessor(model_file=spec["sp_model"])
    translator = ctranslate2.Translator(spec["model_dir"], device="cpu", intra_threads=1, inter_threads=1)
    times, cpu = [], []
    for _ in range(spec["repeat"]):
        start, cpu_start = time.perf_counter(), time.process_time()
        tokens = sp.encode(segments, out_type=str)
        bound = spec["max_length"] or 2 * max(len(t) for t in tokens) + 10
        out = translator.translate_batch(
            tokens,
            beam_size=4,
            max_batch_size=1024,
            batch_type="tokens",
            max_decoding_length=bound,
            length_penalty=0.2,
            replace_unknowns=True,
        )
        [sp.decode(r.hypotheses[0]) for r in out]
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    return {"times": times, "cpu": cpu}


def _child_pipeline(spec: dict[str, Any]) -> dict[str, Any]:
    from translate_pipe import api
    from translate_pipe.models import find_package

    packages = Path(spec["packages"])
    api.load_engine(find_package(packages, "ar", "en"))
    db = Path(spec["db"])
    kwargs: dict[str, Any] = dict(
        db=db,
        packages_dir=packages,
        from_code="ar",
        to_code="en",
        output_dir=Path(spec["out"]),
        max_length=spec["max_length"],
        max_source_tokens=10_000,
        translation_memory=False,
        align=spec["align"],
        glossary=spec.get("glossary"),
    )
    # warm-up, untimed: the first lines of the input (imports, first calls)
    lines = Path(spec["input"]).read_text(encoding="utf-8").splitlines()
    warm = Path(spec["out"]) / "warm.ar.txt"
    warm.parent.mkdir(parents=True, exist_ok=True)
    warm.write_text("\n".join(lines[:20]) + "\n", encoding="utf-8")
    api.translate([str(warm)], **kwargs)
    times, cpu = [], []
    for _ in range(spec["repeat"]):
        start, cpu_start = time.perf_counter(), time.process_time()
        result = api.translate([spec["input"]], **kwargs)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - cpu_start)
    if spec.get("segments_out"):
        texts = [st.segment.text for d in result.run.documents for st in d.segments]
        Path(spec["segments_out"]).write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    return {"times": times, "cpu": cpu}


# -- parent side ----------------------------------------------------------------------------------
def _run_child(code_root: Path, spec: dict[str, Any], tmp: Path) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds of the whole process, every thread) of each timed run."""
    spec_path = tmp / "spec.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(code_root), "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_path)],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"child failed ({spec['kind']} {spec.get('label', '')}):\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    return list(zip(out["times"], out["cpu"]))


def _flores_lines(n: int, flores: Path) -> list[str]:
    lines: list[str] = []
    for split in ("dev", "test"):
        lines += [x.strip() for x in (flores / f"flores-{split}.ar").read_text(encoding="utf-8").splitlines() if x.strip()]
    lines = list(dict.fromkeys(lines))
    if len(lines) < n:
        raise SystemExit(f"only {len(lines)} distinct FLORES sentences")
    return lines[:n]


def _install(pkg: Path, packages: Path) -> Any:
    from translate_pipe.models import install_from_file

    return install_from_file(pkg, packages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--before", help="a git revision (or a folder holding translate_pipe/) to measure beside this tree")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sizes", default="100,500,2000", help="argos-size workloads (sentences)")
    ap.add_argument("--tiny-lines", type=int, default=20_000)
    ap.add_argument("--constrained-lines", type=int, default=400)
    ap.add_argument("--only", default="startup,store,argos,tiny,constrained", help="workload groups to run")
    ap.add_argument("--aligns", default="predict,attention", help="alignment methods of the pipeline-vs-raw rows")
    ap.add_argument("--flores", type=Path, default=FLORES, help="folder with flores-{dev,test}.ar")
    ap.add_argument("--package", type=Path, help="the argos-size .argosmodel (default: build it)")
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(_child(json.loads(args.child.read_text(encoding="utf-8")))))
        return

    from bench.bench_enforcement import _glossary
    from tests.tinymodel import _TERMS, build_enforcement_package, enforcement_split, template_pairs

    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-cost-") as t:
        tmp = Path(t)
        os.environ.setdefault("XDG_DATA_HOME", str(tmp / "xdg"))
        sides: dict[str, Path] = {"after": ROOT}
        if args.before and (Path(args.before) / "translate_pipe").is_dir():
            sides = {"before": Path(args.before).resolve(), **sides}  # a tree holding translate_pipe/
        elif args.before:
            before = tmp / "before"
            before.mkdir()
            archive = subprocess.run(["git", "archive", args.before, "translate_pipe"], cwd=ROOT, check=True, capture_output=True).stdout
            (tmp / "before.tar").write_bytes(archive)
            with tarfile.open(tmp / "before.tar") as tar:
                tar.extractall(before)  # noqa: S202 (our own archive)
            sides = {"before": before, **sides}

        rows: list[Row] = []

        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; medians of {args.repeat} runs; "
              "pipeline --threads 1 (intra_threads=1, OMP_WAIT_POLICY=PASSIVE; its Python stages in other threads); "
              "raw intra_threads=1, inter_threads=1, same environment")
        print("wall: elapsed seconds; CPU: CPU seconds of the whole process (all threads), which a busy machine "
              "does not inflate as much")
        print("sides: after = this tree" + (f", before = {args.before}" if args.before else ""))
        sys.stdout.flush()

        def pipeline_vs_raw(group: str, name: str, info: Any, packages: Path, lines: list[str], max_length: int | None, aligns: list[str]) -> None:
            doc = tmp / f"{group}-{len(lines)}.ar.txt"
            doc.write_text("\n".join(lines) + "\n", encoding="utf-8")
            seg_file = tmp / f"{group}-{len(lines)}.segments.json"
            common = dict(kind="pipeline", packages=str(packages), input=str(doc), out=str(tmp / "out"), max_length=max_length, repeat=args.repeat)
            for align in aligns:
                pipe: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
                raw: list[tuple[float, float]] = []
                for r in range(args.repeat):  # interleaved: raw, before, after, raw, ...
                    for side, root in sides.items():
                        spec = {**common, "align": align, "db": str(tmp / f"{group}-{side}.db"), "repeat": 1,
                                "segments_out": str(seg_file) if r == 0 else ""}
                        pipe[side] += _run_child(root, spec, tmp)
                    raw += _run_child(ROOT, dict(kind="raw", segments=str(seg_file), sp_model=str(info.sp_model),
                                                 model_dir=str(info.model_dir), max_length=max_length, repeat=1), tmp)
                raw_s = _median(raw)
                n = len(json.loads(seg_file.read_text(encoding="utf-8")))
                rows.append(Row(group, f"{name}, {n} segments", "raw", raw_s))
                for side in sides:
                    rows.append(Row(group, f"{name}, {n} segments, --align {align}", side, _median(pipe[side]), raw_s, "raw"))
                _print_rows(rows[-1 - len(sides):])

        if "startup" in only:
            gdb = tmp / "startup.db"
            (tmp / "startup.csv").write_text("source,target\nوقف إطلاق النار,ceasefire\n", encoding="utf-8")
            env0 = {**os.environ, "PYTHONPATH": str(ROOT)}
            subprocess.run([sys.executable, "-m", "translate_pipe", "--db", str(gdb), "glossary", "import",
                            str(tmp / "startup.csv"), "--name", "g"], env=env0, check=True, capture_output=True)
            runs_start: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
            for _ in range(5 * args.repeat):
                for side, root in sides.items():
                    env = {**os.environ, "PYTHONPATH": str(root)}
                    before_usage = os.times()
                    start_w = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "translate_pipe", "--db", str(gdb), "glossary", "list"],
                                   env=env, check=True, capture_output=True)
                    after_usage = os.times()
                    cpu_child = (after_usage.children_user - before_usage.children_user) + (
                        after_usage.children_system - before_usage.children_system)
                    runs_start[side].append((time.perf_counter() - start_w, cpu_child))
            for side in sides:
                rows.append(Row("startup", "translate-pipe glossary list (whole process)", side, _median(runs_start[side])))
            _print_rows(rows[-len(sides):])

        if "store" in only:
            n_store = 20_000
            runs_store: dict[str, list[tuple[float, float]]] = {side: [] for side in sides}
            for _ in range(args.repeat):
                for side, root in sides.items():
                    spec = dict(kind="store", segments=n_store, db=str(tmp / f"store-{side}.db"), repeat=1)
                    runs_store[side] += _run_child(root, spec, tmp)
            rows_per_segment = 1 + 12 + 1 / 3
            for side in sides:
                wall, cpu_s = _median(runs_store[side])
                rows.append(Row("store", f"write_chunk, {n_store} segments: {n_store / wall:,.0f} segments/s, "
                                f"{n_store * rows_per_segment / wall:,.0f} rows/s", side, (wall, cpu_s)))
            _print_rows(rows[-len(sides):])

        if "argos" in only:
            from bench.bench_translate import build_package

            pkg = args.package or build_package(tmp / "model")
            packages = tmp / "packages-argos"
            info = _install(pkg, packages)
            for n in [int(x) for x in args.sizes.split(",") if x]:
                aligns = args.aligns.split(",")
                pipeline_vs_raw("argos-size", f"{n} FLORES sentences", info, packages, _flores_lines(n, args.flores), MAX_LENGTH, aligns)

        if "tiny" in only or "constrained" in only:
            pkg = build_enforcement_package(tmp / "model-tiny", guided=False)
            packages = tmp / "packages-tiny"
            info = _install(pkg, packages)
        if "tiny" in only:
            lines = [p.source for p in template_pairs(args.tiny_lines, seed=5)]
            pipeline_vs_raw("tiny", f"{len(lines)} template lines", info, packages, lines, None, args.aligns.split(","))

        if "constrained" in only:
            from translate_pipe.glossary import Matcher
            from translate_pipe.records import Term

            _, pairs = enforcement_split(n_test=args.constrained_lines)
            full = {ar: en for ar, _, en, _ in _TERMS}
            full.update({"أستانا": "Astana", "الغوطة الشرقية": "Eastern Ghouta"})
            share30: dict[str, str] = {}
            for ar, en in sorted(full.items()):
                trial = {**share30, ar: en}
                m = Matcher([Term(a, e) for a, e in trial.items()])
                if sum(1 for p in pairs if m.find(p.source)) <= 0.3 * len(pairs):
                    share30 = trial
            doc = tmp / "constrained.ar.txt"
            doc.write_text("\n".join(p.source for p in pairs) + "\n", encoding="utf-8")
            shares = {}
            for g, entries in (("g30", share30), ("g100", full)):
                _glossary(tmp / f"{g}.csv", entries)
                m = Matcher([Term(a, e) for a, e in entries.items()])
                shares[g] = sum(1 for p in pairs if m.find(p.source)) / len(pairs)
            from translate_pipe import api

            for side in sides:
                with api.open_store(tmp / f"constrained-{side}.db") as store:
                    for g in ("g30", "g100"):
                        api.glossary_import(store, g, tmp / f"{g}.csv", author="bench")
            for align in args.aligns.split(","):
                times: dict[tuple[str, str], list[tuple[float, float]]] = {}
                for r in range(args.repeat + 1):  # the first round is untimed (renderings cache)
                    for g in (None, "g30", "g100"):
                        for side, root in sides.items():
                            spec = dict(kind="pipeline", packages=str(packages), input=str(doc), out=str(tmp / "out"),
                                        max_length=None, repeat=1, align=align, glossary=g,
                                        db=str(tmp / f"constrained-{side}.db"))
                            t_run = _run_child(root, spec, tmp)
                            if r:
                                times.setdefault((side, g or "plain"), []).extend(t_run)
                for side in sides:
                    plain = _median(times[(side, "plain")])
                    rows.append(Row("constrained", f"{len(pairs)} lines, plain, --align {align}", side, plain))
                    for g in ("g30", "g100"):
                        rows.append(Row("constrained", f"{len(pairs)} lines, {shares[g]:.0%} with terms, --align {align}", side,
                                        _median(times[(side, g)]), plain, "plain"))
                _print_rows(rows[-3 * len(sides):])

        print()
        print("== all figures ==")
        print("targets: glossary list < 0.2 s; argos-size <= 1.03x raw at 100/500/2000; tiny <= 1.10x raw; constrained <= 1.5x plain at 30%, <= 2.5x at 100% (default --align predict)")
        _print_rows(rows)


class Row(NamedTuple):
    group: str
    workload: str
    side: str
    secs: tuple[float, float]  # median wall, median CPU (all threads of the process)
    base: tuple[float, float] | None = None  # what the ratio is taken against
    base_name: str = ""


def _median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs)


def _print_rows(rows: list[Row]) -> None:
    for r in rows:
        ratio = ""
        if r.base is not None:
            ratio = f"{r.secs[0] / r.base[0]:5.2f}x {r.base_name:5} (CPU {r.secs[1] / r.base[1]:5.2f}x)"
        print(f"{r.group:11} {r.workload:52} {r.side:6} wall {r.secs[0]:7.2f} s  CPU {r.secs[1]:7.2f} s  {ratio}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
