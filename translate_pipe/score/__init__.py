"""Quality scores: corpus metrics (:mod:`.corpus`: sacrebleu BLEU, chrF, TER, paired
bootstrap) and terminology metrics (:mod:`.terms`), each stored with its signature.

Pure functions returning frozen dataclasses: no SQL, no printing.
"""

from translate_pipe.score.corpus import (
    METRICS,
    Comparison,
    CorpusScores,
    MetricComparison,
    MetricScore,
    check_parallel,
    compare_runs,
    corpus_scores,
    format_score,
    group_by_paragraph,
    read_lines,
    reference_sets,
    round_score,
    segment_scores,
)
from translate_pipe.score.terms import (
    ReferenceDisagreement,
    TermConsistency,
    TermMiss,
    TermReport,
    term_metrics,
    term_signature,
)

__all__ = [
    "METRICS",
    "Comparison",
    "CorpusScores",
    "MetricComparison",
    "MetricScore",
    "ReferenceDisagreement",
    "TermConsistency",
    "TermMiss",
    "TermReport",
    "check_parallel",
    "compare_runs",
    "corpus_scores",
    "format_score",
    "group_by_paragraph",
    "read_lines",
    "reference_sets",
    "round_score",
    "segment_scores",
    "term_metrics",
    "term_signature",
]
