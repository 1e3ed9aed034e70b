"""Benchmarks and checks that print figures; run them from the repository root as
``python -m bench.NAME`` (so that ``translate_pipe`` and ``tests.tinymodel`` import without path tricks)."""
