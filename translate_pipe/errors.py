"""One family of errors for the whole library.

The CLI catches :class:`PipeError` once, prints its message as one line on
stderr and exits 1.  Every message should say what went wrong and, where it
can, what to do next.
"""

from __future__ import annotations


class PipeError(Exception):
    """Base class of every error translate-pipe raises on purpose."""


class InputError(PipeError):
    """An input document cannot be used (missing, empty, binary, not UTF-8)."""


class ModelError(PipeError):
    """No usable model, or a model failed to load or run."""


class PackageError(ModelError):
    """An Argos package cannot be downloaded, validated or installed."""


class SegmentationError(PipeError):
    """Text could not be segmented for the model."""


class GlossaryError(PipeError):
    """A glossary operation is not possible (unknown glossary, unknown term, ...)."""


class FormatError(GlossaryError):
    """A glossary or reference file is malformed; the message names file and line/entry."""


class ConstraintError(PipeError):
    """Hard terminology constraints could not be enforced."""


class StoreError(PipeError):
    """The database cannot be opened, migrated or written."""


class ScoreError(PipeError):
    """Scoring is not possible with the given hypotheses/references."""


class ReferenceFileError(ScoreError):
    """A reference file is malformed; the message names file and line."""


class ReviewError(PipeError):
    """A review file cannot be exported or imported (wrong run, changed source, broken file, ...);
    nothing is stored."""


class TMError(PipeError):
    """A translation-memory (TMX) file is malformed, or a translation memory operation failed."""


class ClusterError(PipeError):
    """A run cannot use the Ray cluster (Ray not installed, cluster unreachable or too small,
    every actor lost)."""
