"""Check translate_pipe.score against the sacrebleu command line and the known FLORES-101 table.

Usage:  python -m bench.check_flores [EVAL_DIR] [--width 1] [--no-paired]

EVAL_DIR defaults to ../shared/eval relative to the repository root and must hold flores101/.
For argos, opusmt, nllb and bergamot-base on flores-dev and flores-test this script

1. scores BLEU, chrF and TER through translate_pipe.score (read_lines + corpus_scores),
2. runs `sacrebleu REF -i HYP -b -w 1 -m METRIC` for each and compares the printed values,
3. compares the signatures with `sacrebleu REF -i HYP -w 1 -m bleu chrf ter -f json` (once),
4. compares BLEU with the known table in EVAL_DIR/README.md,
5. (unless --no-paired) compares compare_runs p-values with `sacrebleu --paired-bs` for
   argos vs opusmt and bergamot-base vs bergamot-base-memory on flores-test,

prints a table and exits 1 on any disagreement (2 when the data is missing).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from translate_pipe.score import (
    compare_runs,
    corpus_scores,
    format_score,
    read_lines,
)

REPO = Path(__file__).resolve().parent.parent

SYSTEMS = ("argos", "opusmt", "nllb", "bergamot-base")
SPLITS = ("flores-dev", "flores-test")
METRICS = ("bleu", "chrf", "ter")
# Pairs for the paired bootstrap check: one clear difference, one close call.
PAIRS = (("argos", "opusmt"), ("bergamot-base", "bergamot-base-memory"))
# Known BLEU from EVAL_DIR/README.md ("Known figures, sacreBLEU 2.x defaults").
KNOWN_BLEU = {
    ("argos", "flores-dev"): "30.0", ("argos", "flores-test"): "29.5",
    ("opusmt", "flores-dev"): "33.9", ("opusmt", "flores-test"): "33.9",
    ("nllb", "flores-dev"): "37.5", ("nllb", "flores-test"): "36.5",
    ("bergamot-base", "flores-dev"): "39.6", ("bergamot-base", "flores-test"): "38.9",
}


def sacrebleu_cli() -> list[str]:
    exe = shutil.which("sacrebleu", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "sacrebleu"]


def run_cli(args: list[str]) -> str:
    proc = subprocess.run(sacrebleu_cli() + args, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"sacrebleu {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


TABLE_ROW = re.compile(r"\|\s*([\w-]+)(?:\s*\([^)]*\))?\s*\|\s*([\d.]+)\s*\|\s*([\d.]+)\s*\|")


def readme_table(eval_dir: Path) -> dict[tuple[str, str], str]:
    """The known-figures table of the README, if it can be parsed (else the built-in copy)."""
    found: dict[tuple[str, str], str] = {}
    readme = eval_dir / "README.md"
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            m = TABLE_ROW.match(line)
            if m and m.group(1) in SYSTEMS:
                found[(m.group(1), "flores-dev")] = m.group(2)
                found[(m.group(1), "flores-test")] = m.group(3)
    return found or dict(KNOWN_BLEU)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("eval_dir", nargs="?", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--width", type=int, default=1)
    parser.add_argument("--no-paired", action="store_true")
    args = parser.parse_args()
    flores = args.eval_dir / "flores101"
    if not flores.is_dir():
        print(f"no {flores}; give the eval folder as argument", file=sys.stderr)
        return 2
    width = args.width
    known = readme_table(args.eval_dir)
    for key, value in KNOWN_BLEU.items():
        if known.get(key) != value:
            print(f"warning: README value for {key} is {known.get(key)}, built-in {value}",
                  file=sys.stderr)

    failures: list[str] = []
    header = f"{'system':15} {'split':12} {'metric':6} {'ours':>7} {'cli':>7} {'known':>7}  ok"
    print(header)
    print("-" * len(header))
    for split in SPLITS:
        ref_path = flores / f"{split}.en"
        refs = read_lines(ref_path)
        for system in SYSTEMS:
            hyp_path = flores / f"{split}.{system}.en"
            hyps = read_lines(hyp_path, role="hypothesis", allow_empty=True)
            ours = corpus_scores(hyps, [refs])
            for metric in METRICS:
                mine = ours.get(metric).format(width)
                cli = run_cli([str(ref_path), "-i", str(hyp_path), "-b", "-w", str(width),
                               "-m", metric])
                expected = known.get((system, split)) if metric == "bleu" and width == 1 else None
                ok = mine == cli and (expected is None or mine == expected)
                if not ok:
                    failures.append(f"{system} {split} {metric}: ours {mine}, cli {cli}, "
                                    f"known {expected}")
                print(f"{system:15} {split:12} {metric:6} {mine:>7} {cli:>7} "
                      f"{expected or '':>7}  {'ok' if ok else 'MISMATCH'}")

    # signatures, once
    ref_path, hyp_path = flores / "flores-test.en", flores / "flores-test.argos.en"
    ours = corpus_scores(read_lines(hyp_path, role="hypothesis"), [read_lines(ref_path)])
    cli_json = json.loads(run_cli([str(ref_path), "-i", str(hyp_path), "-w", str(width),
                                   "-m", *METRICS, "-f", "json"]))
    for metric, entry in zip(METRICS, cli_json):
        mine = ours.get(metric).signature
        ok = mine == entry["signature"]
        print(f"signature {metric}: {mine}  {'ok' if ok else 'MISMATCH ' + entry['signature']}")
        if not ok:
            failures.append(f"signature {metric}: ours {mine}, cli {entry['signature']}")

    if not args.no_paired:
        ref_lines = [read_lines(ref_path)]
        for name_a, name_b in PAIRS:
            a_path = flores / f"flores-test.{name_a}.en"
            b_path = flores / f"flores-test.{name_b}.en"
            comparison = compare_runs(read_lines(a_path, role="hypothesis"),
                                      read_lines(b_path, role="hypothesis"),
                                      ref_lines, metrics=("bleu", "chrf"))
            out = run_cli([str(ref_path), "-i", str(a_path), str(b_path), "--paired-bs",
                           "-m", "bleu", "chrf", "-w", str(width), "-f", "text"])
            cli_p = re.findall(r"\(p = ([\d.]+)\)", out)
            cli_ci = re.findall(r"\(([\d.]+) ± ([\d.]+)\)", out)[len(cli_p):]  # row of B
            mine_p = [f"{m.p_value:.4f}" for m in comparison.metrics]
            mine_ci = [(format_score(m.mean_b or 0.0, width), format_score(m.ci_b or 0.0, width))
                       for m in comparison.metrics]
            ok = cli_p == mine_p and cli_ci == mine_ci
            print(f"paired-bs {name_a} vs {name_b} (flores-test; bleu, chrf): p ours {mine_p} "
                  f"cli {cli_p}; B mean/CI ours {mine_ci} cli {cli_ci}  "
                  f"{'ok' if ok else 'MISMATCH'}; segment wins/losses/ties by chrF: "
                  f"{comparison.wins}/{comparison.losses}/{comparison.ties}")
            if not ok:
                failures.append(f"paired {name_a} vs {name_b}: ours {mine_p} {mine_ci}, "
                                f"cli {cli_p} {cli_ci}")

    if failures:
        print(f"\n{len(failures)} disagreement(s):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure}", file=sys.stderr)
        return 1
    print("\nall agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
