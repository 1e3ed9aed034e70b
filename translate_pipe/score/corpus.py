"""Corpus scores against reference translations: BLEU, chrF, TER, paired bootstrap (sacrebleu).

Pure functions returning frozen dataclasses: no SQL, no printing.  ``store.py`` saves what
these functions return and ``report.py`` shows it.  Terminology metrics are in :mod:`.terms`.

Conventions
-----------
* Automatic metrics go through sacrebleu with its default settings unless options are given;
  every value carries sacrebleu's signature string
  (``nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0``), to be stored next to it.
* Values are kept as unrounded floats.  :func:`format_score` and :meth:`MetricScore.format`
  round them exactly as the ``sacrebleu`` command line does (``-b -w 1`` -> ``f"{v:.1f}"``).
* References are given as *reference sets* (a.k.a. streams): ``[[ref1_seg1, ref1_seg2, ...],
  [ref2_seg1, ...]]``.  A flat list of strings is taken to be ONE reference set and is wrapped
  as ``[refs]`` in exactly one place, :func:`reference_sets`.  (Handing sacrebleu a flat list
  directly makes every character a "reference set" and silently scores about 0.)

Paragraph-level scoring
-----------------------
Our segmenter may split a paragraph into several segments while a reference file holds one
paragraph per line.  In that case join the segment translations of each paragraph with
:func:`group_by_paragraph` (one space between them) and score the joined paragraphs against
the reference lines; the scores are then paragraph-level scores (BLEU/chrF/TER statistics are
collected per paragraph), which is what the stored signature's segment count then refers to.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from translate_pipe.errors import ReferenceFileError, ScoreError

if TYPE_CHECKING:  # pragma: no cover
    from sacrebleu.metrics.base import Metric
    from sacrebleu.significance import Result

__all__ = [
    "METRICS",
    "Comparison",
    "CorpusScores",
    "MetricComparison",
    "MetricScore",
    "check_parallel",
    "compare_runs",
    "corpus_scores",
    "format_score",
    "group_by_paragraph",
    "read_lines",
    "reference_sets",
    "round_score",
    "segment_scores",
]

#: Metric keys understood by this module, in the order they are reported.
METRICS: tuple[str, ...] = ("bleu", "chrf", "ter")

#: Metrics where a lower value is better.
_LOWER_IS_BETTER = frozenset({"ter"})


# --------------------------------------------------------------------------- formatting


def format_score(value: float, width: int = 1) -> str:
    """Format ``value`` exactly as ``sacrebleu -b -w WIDTH`` prints it."""
    return f"{value:.{width}f}"


def round_score(value: float, width: int = 1) -> float:
    """``value`` rounded as sacrebleu rounds it in its JSON output (``float(f"{v:.wf}")``)."""
    return float(format_score(value, width))


# --------------------------------------------------------------------------- reading files


def read_lines(
    path: Path | str, *, role: str = "reference", allow_empty: bool = False, limit: int | None = None
) -> list[str]:
    """Read a one-segment-per-line UTF-8 file.

    Only the line terminator (``\\n`` or ``\\r\\n``) is removed; a UTF-8 byte-order mark at the
    start of the file is dropped.  ``role`` ("reference", "hypothesis", ...) names the file in
    error messages.

    Raises :class:`ReferenceFileError`, naming the file and the line, when the file is missing,
    empty, binary (NUL bytes), not UTF-8, has a bare carriage return inside a line (line counts
    would differ between tools), or has an empty/blank line (unless ``allow_empty``: a system
    may legitimately output an empty translation).
    """
    from translate_pipe.files import DEFAULT_MAX_INPUT_BYTES, read_limited

    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = read_limited(handle, f"{role} file {path}", limit or DEFAULT_MAX_INPUT_BYTES, ReferenceFileError)
    except FileNotFoundError:
        raise ReferenceFileError(f"{role} file {path} does not exist") from None
    except IsADirectoryError:
        raise ReferenceFileError(f"{role} file {path} is a directory, not a file") from None
    except OSError as e:
        raise ReferenceFileError(f"cannot read {role} file {path}: {e.strerror or e}") from None

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ReferenceFileError(f"{role} file {path} is UTF-16; save it as UTF-8 and try again")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise ReferenceFileError(f"{role} file {path} is empty; it must hold one segment per line")

    nul = data.find(b"\x00")
    if nul >= 0:
        at = data.count(b"\n", 0, nul) + 1
        raise ReferenceFileError(
            f"{role} file {path}, line {at}: NUL byte found; this looks like a binary file "
            "(or UTF-16); give a plain UTF-8 text file, one segment per line"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        at = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ReferenceFileError(
            f"{role} file {path}, line {at}: not valid UTF-8 (byte 0x{data[e.start]:02x} at "
            f"byte {column} of the line); convert the file to UTF-8, "
            "e.g. `iconv -f cp1256 -t utf-8`"
        ) from None

    raw = text.split("\n")
    if raw[-1] == "":
        raw.pop()  # the final line terminator does not start a new line
    lines: list[str] = []
    for number, line in enumerate(raw, 1):
        line = line.removesuffix("\r")
        if "\r" in line:
            raise ReferenceFileError(
                f"{role} file {path}, line {number}: carriage return (\\r) inside the line; "
                "other tools would count it as a line break, so line counts would disagree; "
                "remove it (e.g. `tr -d '\\r'`)"
            )
        if not allow_empty and not line.strip():
            raise ReferenceFileError(
                f"{role} file {path}, line {number}: empty line; every line must hold one "
                "segment (remove the line, and the matching line of the parallel files)"
            )
        lines.append(line)
    return lines


# --------------------------------------------------------------------------- references


def reference_sets(refs_sets: Sequence[Sequence[str]] | Sequence[str]) -> list[list[str]]:
    """Return references as sacrebleu wants them: a list of reference sets (streams).

    ``[[r1_s1, r1_s2], [r2_s1, r2_s2]]`` is two reference sets.  A flat list of strings
    ``[r1_s1, r1_s2]`` is ONE reference set and is wrapped as ``[refs]`` here - the only place
    in the project that does so.  Anything else raises :class:`ScoreError`.
    """
    if isinstance(refs_sets, str):
        raise ScoreError("references must be a list of lines (or a list of reference sets), "
                         "not a single string")
    items = list(refs_sets)
    if not items:
        raise ScoreError("no reference given; give at least one reference file")
    kinds = {isinstance(item, str) for item in items}
    if kinds == {True}:
        return [[str(line) for line in items]]  # one flat reference set -> [refs]
    if True in kinds:
        raise ScoreError("references mix lines and reference sets; give either one list of "
                         "lines or a list of reference sets")
    sets: list[list[str]] = []
    for number, item in enumerate(items, 1):
        lines = list(item)
        if not all(isinstance(line, str) for line in lines):
            raise ScoreError(f"reference set {number} must be a list of strings")
        sets.append(lines)
    return sets


def check_parallel(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    names: Sequence[str | Path] | None = None,
) -> None:
    """Raise :class:`ScoreError` unless ``hyps`` and every reference set have the same length.

    ``names`` names the hypothesis file first, then each reference set (defaults to
    "hypotheses", "reference 1", ...).  The message names the files and both line counts.
    """
    ref_list = [list(r) for r in refs]
    labels = [str(n) for n in names] if names is not None else []
    if len(labels) < 1 + len(ref_list):
        defaults = ["hypotheses"] + [f"reference {i}" for i in range(1, len(ref_list) + 1)]
        labels += defaults[len(labels):]
    if not ref_list:
        raise ScoreError("no reference given; give at least one reference file")
    if len(hyps) == 0:
        raise ScoreError(f"{labels[0]} has no lines; nothing to score")
    for label, ref in zip(labels[1:], ref_list):
        if len(ref) != len(hyps):
            raise ScoreError(
                f"line count mismatch: {labels[0]} has {len(hyps)} lines but {label} has "
                f"{len(ref)}; hypotheses and references must be line-parallel"
            )


# --------------------------------------------------------------------------- sacrebleu metrics


@dataclass(frozen=True)
class MetricScore:
    """One corpus-level score with its sacrebleu signature."""

    metric: str  # our key: "bleu" | "chrf" | "ter"
    name: str  # sacrebleu's name: "BLEU", "chrF2", "chrF2++", "TER"
    value: float  # unrounded
    signature: str  # e.g. "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0"

    def format(self, width: int = 1) -> str:
        """The value as ``sacrebleu -b -w WIDTH`` prints it."""
        return format_score(self.value, width)

    def rounded(self, width: int = 1) -> float:
        return round_score(self.value, width)


@dataclass(frozen=True)
class CorpusScores:
    """Corpus-level scores of one system output against one or more reference sets."""

    scores: tuple[MetricScore, ...]
    segments: int
    nrefs: int

    def get(self, metric: str) -> MetricScore:
        for score in self.scores:
            if score.metric == metric:
                return score
        raise ScoreError(f"metric {metric!r} was not computed; computed: "
                         f"{', '.join(s.metric for s in self.scores)}")

    def value(self, metric: str) -> float:
        return self.get(metric).value

    def signatures(self) -> dict[str, str]:
        return {s.metric: s.signature for s in self.scores}

    def as_dict(self, width: int | None = 1) -> dict[str, Any]:
        """``{"bleu": 29.5, "chrf": ..., "ter": ..., "signatures": {...}, "segments": N}``.

        Values are rounded as sacrebleu reports them unless ``width`` is None.
        """
        out: dict[str, Any] = {
            s.metric: (s.value if width is None else s.rounded(width)) for s in self.scores
        }
        out["signatures"] = self.signatures()
        out["segments"] = self.segments
        return out


def _metric_options(
    metrics: Sequence[str], options: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, dict[str, Any]]:
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise ScoreError(f"unknown metric(s) {', '.join(unknown)}; choose from "
                         f"{', '.join(METRICS)}")
    if not metrics:
        raise ScoreError("no metric requested")
    stray = sorted(set(options) - set(metrics))
    if stray:
        raise ScoreError(f"options given for metric(s) not requested: {', '.join(stray)}")
    return {m: dict(options.get(m) or {}) for m in metrics}


def _make_metric(metric: str, options: Mapping[str, Any], *, sentence: bool = False) -> Metric:
    """A sacrebleu metric object.  Sentence-level BLEU uses effective order, as the
    ``sacrebleu --sentence-level`` command line does."""
    from sacrebleu.metrics import BLEU, CHRF, TER

    classes: dict[str, Any] = {"bleu": BLEU, "chrf": CHRF, "ter": TER}
    kwargs = dict(options)
    if sentence and metric == "bleu":
        kwargs.setdefault("effective_order", True)
    try:
        result: Metric = classes[metric](**kwargs)
    except (TypeError, ValueError, AssertionError, RuntimeError) as e:
        raise ScoreError(f"invalid {metric} options {dict(options)!r}: {e}") from None
    return result


def corpus_scores(
    hyps: Sequence[str],
    refs_sets: Sequence[Sequence[str]] | Sequence[str],
    *,
    metrics: Sequence[str] = METRICS,
    **options: Mapping[str, Any] | None,
) -> CorpusScores:
    """Corpus BLEU/chrF/TER of ``hyps`` against one or more reference sets.

    ``options`` are per metric, passed to the sacrebleu class, e.g.
    ``corpus_scores(h, r, bleu={"tokenize": "intl"}, chrf={"word_order": 2})``; without them
    sacrebleu's defaults are used (those of the ``sacrebleu`` command line).
    """
    per_metric = _metric_options(metrics, options)
    refs = reference_sets(refs_sets)
    hyps = list(hyps)
    check_parallel(hyps, refs)
    scores = []
    for key in metrics:
        metric = _make_metric(key, per_metric[key])
        result = metric.corpus_score(hyps, refs)
        scores.append(MetricScore(metric=key, name=result.name, value=float(result.score),
                                  signature=metric.get_signature().format()))
    return CorpusScores(scores=tuple(scores), segments=len(hyps), nrefs=len(refs))


def segment_scores(
    hyps: Sequence[str],
    refs_sets: Sequence[Sequence[str]] | Sequence[str],
    metric: str = "chrf",
    **options: Any,
) -> list[float]:
    """Sentence-level score of each hypothesis (sacrebleu's ``sentence_score``), in order.

    Equal to ``sacrebleu REF -i HYP -sl -m METRIC``; sentence BLEU uses effective order.
    ``options`` go to the sacrebleu metric class.
    """
    _metric_options([metric], {})
    refs = reference_sets(refs_sets)
    hyps = list(hyps)
    check_parallel(hyps, refs)
    scorer = _make_metric(metric, options, sentence=True)
    return [
        float(scorer.sentence_score(hyp, [ref[i] for ref in refs]).score)
        for i, hyp in enumerate(hyps)
    ]


# --------------------------------------------------------------------------- paired significance


@dataclass(frozen=True)
class MetricComparison:
    """Run B against baseline run A on one metric (paired bootstrap resampling)."""

    metric: str
    name: str
    score_a: float
    score_b: float
    p_value: float
    mean_a: float | None  # bootstrap mean and 95% CI half-width, as sacrebleu reports them
    ci_a: float | None
    mean_b: float | None
    ci_b: float | None
    signature: str  # includes bs:N and seed:S

    @property
    def delta(self) -> float:
        """``score_b - score_a`` (for TER a negative delta means B is better)."""
        return self.score_b - self.score_a

    @property
    def b_better(self) -> bool:
        return self.delta < 0 if self.metric in _LOWER_IS_BETTER else self.delta > 0

    def significant(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


@dataclass(frozen=True)
class Comparison:
    """Paired comparison of two runs over the same segments; wins are B's."""

    metrics: tuple[MetricComparison, ...]
    segments: int
    n_samples: int
    seed: int | None
    segment_metric: str
    wins: int  # segments where B scores better than A on segment_metric
    losses: int
    ties: int
    segment_deltas: tuple[float, ...] = field(repr=False)  # B - A per segment

    def get(self, metric: str) -> MetricComparison:
        for m in self.metrics:
            if m.metric == metric:
                return m
        raise ScoreError(f"metric {metric!r} was not compared")


def compare_runs(
    hyps_a: Sequence[str],
    hyps_b: Sequence[str],
    refs_sets: Sequence[Sequence[str]] | Sequence[str],
    *,
    metrics: Sequence[str] = ("bleu", "chrf"),
    n_samples: int = 1000,
    seed: int | None = 12345,
    segment_metric: str = "chrf",
    **options: Mapping[str, Any] | None,
) -> Comparison:
    """Paired bootstrap resampling of run B against baseline run A (sacrebleu's own test,
    ``sacrebleu.significance.PairedTest`` with ``test_type="bs"``, i.e. ``--paired-bs``).

    With the default seed the p-values equal ``sacrebleu REF -i A B --paired-bs`` (whose seed
    is 12345 unless ``SACREBLEU_SEED`` is set; ``seed=None`` draws entropy from the OS).
    Deviation from sacrebleu: when both runs have exactly the same score the p-value is 1.0
    (sacrebleu's bootstrap reports the minimum, 1/(n+1), e.g. for identical outputs).

    Per-segment wins/losses/ties compare sentence-level ``segment_metric`` scores (with that
    metric's options when given; for TER lower is better; |delta| <= 1e-9 is a tie).
    """
    if seed is not None and seed <= 0:
        raise ScoreError("seed must be a positive integer, or None for a random seed")
    if n_samples < 1:
        raise ScoreError("n_samples must be at least 1")
    per_metric = _metric_options(metrics, options)
    _metric_options([segment_metric], {})
    refs = reference_sets(refs_sets)
    hyps_a, hyps_b = list(hyps_a), list(hyps_b)
    check_parallel(hyps_a, refs, ["run A"])
    check_parallel(hyps_b, refs, ["run B"])

    from sacrebleu.significance import PairedTest

    objects = {key: _make_metric(key, per_metric[key]) for key in metrics}
    with _sacrebleu_seed(seed):  # sacrebleu's public knob, read when the test is made
        test = PairedTest([("A", hyps_a), ("B", hyps_b)], objects, refs, test_type="bs",
                          n_samples=n_samples)
    signatures, results = test()
    names = [name for name in results if name != "System"]  # sacrebleu names, metric order
    compared = []
    for key, name in zip(metrics, names):
        base, other = cast("Result", results[name][0]), cast("Result", results[name][1])
        signature = signatures[name]
        signature.update("seed", str(seed).lower())
        same = float(base.score) == float(other.score)
        compared.append(MetricComparison(
            metric=key, name=name, score_a=float(base.score), score_b=float(other.score),
            p_value=1.0 if same else float(other.p_value or 0.0),
            mean_a=_opt_float(base.mean), ci_a=_opt_float(base.ci),
            mean_b=_opt_float(other.mean), ci_b=_opt_float(other.ci),
            signature=signature.format(),
        ))

    seg_options = per_metric.get(segment_metric, {})
    seg_a = segment_scores(hyps_a, refs, segment_metric, **seg_options)
    seg_b = segment_scores(hyps_b, refs, segment_metric, **seg_options)
    sign = -1.0 if segment_metric in _LOWER_IS_BETTER else 1.0
    deltas = tuple(b - a for a, b in zip(seg_a, seg_b))
    wins = sum(1 for d in deltas if sign * d > 1e-9)
    losses = sum(1 for d in deltas if sign * d < -1e-9)
    return Comparison(
        metrics=tuple(compared), segments=len(hyps_a), n_samples=n_samples, seed=seed,
        segment_metric=segment_metric, wins=wins, losses=losses,
        ties=len(deltas) - wins - losses, segment_deltas=deltas,
    )


@contextlib.contextmanager
def _sacrebleu_seed(seed: int | None) -> Iterator[None]:
    """Set ``SACREBLEU_SEED`` (``None``: OS entropy) for the duration of the block."""
    old = os.environ.get("SACREBLEU_SEED")
    os.environ["SACREBLEU_SEED"] = "None" if seed is None else str(seed)
    try:
        yield
    finally:
        if old is None:
            del os.environ["SACREBLEU_SEED"]
        else:
            os.environ["SACREBLEU_SEED"] = old


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


# --------------------------------------------------------------------------- paragraphs


def group_by_paragraph(segment_paragraphs: Sequence[int], hyps: Sequence[str]) -> list[str]:
    """Join the translations of consecutive segments of the same paragraph with one space.

    ``segment_paragraphs[i]`` is the paragraph index of segment ``i`` (``Segment.paragraph``).
    Returns one string per paragraph, in document order, to be scored against a reference
    file that holds one paragraph per line (see the module docstring).  Each piece is stripped
    and empty pieces are skipped.  Raises :class:`ScoreError` when the lengths differ or a
    paragraph's segments are not contiguous.
    """
    if len(segment_paragraphs) != len(hyps):
        raise ScoreError(f"{len(hyps)} translations but {len(segment_paragraphs)} segment "
                         "paragraph indices; give one paragraph index per segment")
    groups: list[list[str]] = []
    seen: set[int] = set()
    previous: int | None = None
    for paragraph, hyp in zip(segment_paragraphs, hyps):
        if paragraph != previous:
            if paragraph in seen:
                raise ScoreError(f"segments of paragraph {paragraph} are not contiguous; "
                                 "segments must be in document order")
            seen.add(paragraph)
            groups.append([])
            previous = paragraph
        piece = hyp.strip()
        if piece:
            groups[-1].append(piece)
    return [" ".join(group) for group in groups]
