"""translate-pipe: offline Arabic->English translation of bulletins with a curated glossary."""

__version__ = "0.1.0"
