"""Build tiny but *real* Argos Translate packages for tests.

A package built here is an ordinary ``.argosmodel`` zip: one top-level
directory holding ``metadata.json``, ``sentencepiece.model`` and ``model/`` (a
CTranslate2 Transformer, pre-norm, ``<s>`` as decoder start token, no
``</s>`` on the source side, exactly like the OpenNMT-py models Argos ships).
argostranslate installs it and translates with it.

Two kinds of model:

* :func:`build_package` memorises a handful of sentence pairs until
  CTranslate2 reproduces every target *exactly*, with greedy search and with
  argostranslate's own beam settings (beam 4, length penalty 0.2).
* :func:`build_template_package` trains on a few thousand synthetic
  template sentences (:func:`template_split`) with a guided-alignment loss on
  one decoder layer's head-averaged cross-attention, and sets the CTranslate2
  spec's ``alignment_layer``/``alignment_heads`` to that layer, so
  ``translate_batch(..., return_attention=True)`` aligns words on unseen
  combinations.  ``term_renderings`` trains it to render chosen terms wrongly.

The model is a small hand-written PyTorch Transformer whose weights are
copied straight into a ``ctranslate2.specs.TransformerSpec`` (no
``transformers`` import, which alone costs ~5 s).  Builds are deterministic
(fixed seeds and thread count) and cached under ``<repo>/.cache/fixtures/``
(or ``$TRANSLATE_PIPE_FIXTURE_CACHE``), keyed by a hash of the data, the
parameters, this file's source and the library versions.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import math
import os
import random
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
CACHE_ENV = "TRANSLATE_PIPE_FIXTURE_CACHE"
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_MAX_POSITIONS = 1024

_log = logging.getLogger(__name__)

Link = tuple[int, int]
"""(source word index, target word index); words are whitespace-separated tokens."""


LAST_BUILD_STATS: dict[str, Any] = {}
"""Diagnostics of the last build in this process (steps, verify calls, seconds)."""


class FixtureBuildError(RuntimeError):
    """A fixture model could not be trained to the required quality."""


# --------------------------------------------------------------------------
# Public data helpers
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AlignedPair:
    """A sentence pair with gold word links (indices of whitespace-split words)."""

    source: str
    target: str
    links: tuple[Link, ...]
    kind: str = ""  # the template that made it (see :data:`ENFORCEMENT_TEMPLATES`)

    def target_links(self) -> dict[int, frozenset[int]]:
        """Target word index -> set of gold source word indices (linked words only)."""
        out: dict[int, set[int]] = {}
        for s, t in self.links:
            out.setdefault(t, set()).add(s)
        return {t: frozenset(s) for t, s in out.items()}


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` of the whitespace-separated words of ``text``."""
    spans: list[tuple[int, int]] = []
    start = -1
    for i, ch in enumerate(text):
        if ch.isspace():
            if start >= 0:
                spans.append((start, i))
                start = -1
        elif start < 0:
            start = i
    if start >= 0:
        spans.append((start, len(text)))
    return spans


def cache_dir() -> Path:
    """Where built packages are cached (``$TRANSLATE_PIPE_FIXTURE_CACHE`` or ``<repo>/.cache/fixtures``)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else REPO_ROOT / ".cache" / "fixtures"


# --------------------------------------------------------------------------
# Synthetic template data
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Item:
    ar: str
    en: str
    links: tuple[Link, ...]  # local (ar word, en word) indices


def _it(ar: str, en: str, *links: Link) -> _Item:
    if not links:  # default: every Arabic word linked to every English word
        na, ne = len(ar.split()), len(en.split())
        links = tuple((a, e) for a in range(na) for e in range(ne))
    return _Item(ar, en, links)


# (item, grammatical gender of the subject: "f" or "m")
_SUBJECTS: tuple[tuple[_Item, str], ...] = (
    (_it("وزارة الخارجية الروسية", "the Russian Foreign Ministry", (0, 3), (1, 2), (2, 1)), "f"),
    (_it("الحكومة السورية", "the Syrian government", (0, 2), (1, 1)), "f"),
    (_it("مجلس الأمن", "the Security Council", (0, 2), (1, 1)), "m"),
    (_it("الأمم المتحدة", "the United Nations", (0, 2), (1, 1)), "f"),
    (_it("المعارضة السورية", "the Syrian opposition", (0, 2), (1, 1)), "f"),
    (_it("روسيا", "Russia"), "f"),
    (_it("تركيا", "Turkey"), "f"),
    (_it("إيران", "Iran"), "f"),
    (_it("الوفد الروسي", "the Russian delegation", (0, 2), (1, 1)), "m"),
    (_it("المبعوث الأممي", "the UN envoy", (0, 2), (1, 1)), "m"),
    (_it("الجيش السوري", "the Syrian army", (0, 2), (1, 1)), "m"),
    (_it("الأردن", "Jordan"), "m"),
)

# feminine form, masculine form, English
_VERBS: tuple[tuple[str, str, str], ...] = (
    ("أعلنت", "أعلن", "announced"),
    ("دعمت", "دعم", "supported"),
    ("رفضت", "رفض", "rejected"),
    ("ناقشت", "ناقش", "discussed"),
    ("اقترحت", "اقترح", "proposed"),
    ("أيدت", "أيد", "endorsed"),
    ("انتقدت", "انتقد", "criticised"),
)

_NOUNS: tuple[_Item, ...] = (
    _it("إنشاء", "the establishment of", (0, 1)),
    _it("تعزيز", "the strengthening of", (0, 1)),
    _it("مراقبة", "the monitoring of", (0, 1)),
    _it("توسيع", "the expansion of", (0, 1)),
    _it("أهمية", "the importance of", (0, 1)),
    _it("تمديد", "the extension of", (0, 1)),
)

# Arabic term, English determiner ("" for none), default English rendering, links
_TERMS: tuple[tuple[str, str, str, tuple[Link, ...]], ...] = (
    ("مناطق خفض التصعيد", "", "de-escalation zones", ((0, 1), (1, 0), (2, 0))),
    ("وقف إطلاق النار", "the", "ceasefire", ((0, 0), (1, 0), (2, 0))),
    ("وقف الأعمال القتالية", "the", "cessation of hostilities", ((0, 0), (1, 2), (2, 2))),
    ("التسوية السياسية", "the", "political settlement", ((0, 1), (1, 0))),
    ("مذكرة التفاهم", "the", "memorandum of understanding", ((0, 0), (1, 2))),
    ("مجموعة العمل المشتركة", "the", "joint working group", ((0, 2), (1, 1), (2, 0))),
    ("المساعدات الإنسانية", "", "humanitarian aid", ((0, 1), (1, 0))),
    ("الممرات الإنسانية", "the", "humanitarian corridors", ((0, 1), (1, 0))),
    ("تبادل الأسرى", "the", "prisoner exchange", ((0, 1), (1, 0))),
    ("الدول الضامنة", "the", "guarantor states", ((0, 1), (1, 0))),
    ("المحادثات السياسية", "the", "political talks", ((0, 1), (1, 0))),
)

_PLACES: tuple[_Item, ...] = (
    _it("حمص", "Homs"),
    _it("إدلب", "Idlib"),
    _it("حلب", "Aleppo"),
    _it("دمشق", "Damascus"),
    _it("درعا", "Daraa"),
    _it("الغوطة الشرقية", "Eastern Ghouta", (0, 1), (1, 0)),
    _it("دير الزور", "Deir ez-Zor", (0, 0), (1, 1)),
    _it("أستانا", "Astana"),
    _it("جنيف", "Geneva"),
    _it("سوتشي", "Sochi"),
    _it("موسكو", "Moscow"),
    _it("سوريا", "Syria"),
)

_IN = _it("في", "in")
_WITH = _it("مع", "with")
_DURING = _it("خلال الاجتماع", "during the meeting", (0, 0), (1, 2))

# Templates: slot order on the Arabic side, slot order on the English side.
# Slots: S subject, S2 second subject, V verb, N noun, T term, IN/WITH/DURING literals, P place.
_TEMPLATES: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("V", "S", "N", "T", "IN", "P"), ("S", "V", "N", "T", "IN", "P")),
    (("V", "S", "T", "IN", "P"), ("S", "V", "T", "IN", "P")),
    (("V", "S", "WITH", "S2", "T", "IN", "P"), ("S", "V", "T", "WITH", "S2", "IN", "P")),
    (("IN", "P", "V", "S", "N", "T"), ("IN", "P", "S", "V", "N", "T")),
    (("V", "S", "DURING", "IN", "P", "N", "T"), ("S", "V", "N", "T", "DURING", "IN", "P")),
    (("V", "S", "N", "T"), ("S", "V", "N", "T")),
)

def _conjoined(item: _Item) -> _Item:
    """``X`` -> ``وX`` / ``and X``: the Arabic conjunction is a proclitic on the first word."""
    return _Item("و" + item.ar, "and " + item.en, ((0, 0), *((a, e + 1) for a, e in item.links)))


# Literal slots of the enforcement templates.
_EXTRA_SLOTS: dict[str, _Item] = {
    "RES": _it("يحقق نتائج ملموسة", "is achieving tangible results", (0, 0), (0, 1), (1, 3), (2, 2)),
}

ENFORCEMENT_TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # a term after a noun phrase ending in "of": "the establishment of the X in P"
    "noun-of": (("V", "S", "N", "T", "IN", "P"), ("S", "V", "N", "T", "IN", "P")),
    # the article before a term: "S V the X in P"
    "article": (("V", "S", "T", "IN", "P"), ("S", "V", "T", "IN", "P")),
    # two terms: "S V the X and the Y"
    "and-the": (("V", "S", "T", "T2"), ("S", "V", "T", "T2")),
    # one term twice: "S V the X and the X in P"
    "twice": (("V", "S", "T", "T2", "TWICE", "IN", "P"), ("S", "V", "T", "T2", "TWICE", "IN", "P")),
    # a term right before a place (itself a term when it is Astana): "S V the X P"
    "adjacent": (("V", "S", "T", "P"), ("S", "V", "T", "P")),
    # a term at the start of the sentence: "The X is achieving tangible results"
    "start": (("T", "RES", "IN", "P"), ("T", "RES", "IN", "P")),
    # word order changes around the term
    "fronted": (("IN", "P", "V", "S", "N", "T"), ("IN", "P", "S", "V", "N", "T")),
    "with": (("V", "S", "WITH", "S2", "T", "IN", "P"), ("S", "V", "T", "WITH", "S2", "IN", "P")),
}
"""Templates of the enforcement models, one per way a term sits in its sentence (issue 8)."""


def _template_kind(template: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    return next((k for k, t in ENFORCEMENT_TEMPLATES.items() if t == template), "")


ENFORCEMENT_WRONG: dict[str, str] = {
    "مناطق خفض التصعيد": "reduced escalation areas",
    "أستانا": "Nur-Sultan",
    "وقف إطلاق النار": "stopping of fire",
    "الدول الضامنة": "guaranteeing countries",
    "مذكرة التفاهم": "note of agreement",
    "مجموعة العمل المشتركة": "group of common work",
    "تبادل الأسرى": "swap",
}
"""Wrong renderings of the enforcement models: one word ("swap", "Nur-Sultan"), four words
("group of common work"), renderings sharing "of" with the sentence, a term whose approved
target starts with "the" in the tests' glossary ("the guarantor states")."""


WRONG_RENDERINGS: dict[str, str] = {
    "مناطق خفض التصعيد": "reduced escalation areas",
    "أستانا": "Nur-Sultan",
    "وقف إطلاق النار": "stopping of fire",
}
"""Renderings a glossary must correct (issue 4): Arabic term -> wrong English."""


def _render(item: _Item, renderings: dict[str, str]) -> _Item:
    if item.ar in renderings:
        return _it(item.ar, renderings[item.ar])  # every word linked to every word
    return item


def _term_item(idx: int, renderings: dict[str, str]) -> _Item:
    ar, det, en, links = _TERMS[idx]
    if ar in renderings:
        en = renderings[ar]
        na, ne = len(ar.split()), len(en.split())
        links = tuple((a, e) for a in range(na) for e in range(ne))
    if det:
        return _Item(ar, f"{det} {en}", tuple((a, e + 1) for a, e in links))
    return _Item(ar, en, links)


def _assemble(ar_slots: Sequence[str], en_slots: Sequence[str], fill: dict[str, _Item]) -> AlignedPair:
    ar_words: list[str] = []
    ar_off: dict[str, int] = {}
    for slot in ar_slots:
        ar_off[slot] = len(ar_words)
        ar_words.extend(fill[slot].ar.split())
    en_words: list[str] = []
    en_off: dict[str, int] = {}
    for slot in en_slots:
        en_off[slot] = len(en_words)
        en_words.extend(fill[slot].en.split())
    en_words[0] = en_words[0][0].upper() + en_words[0][1:]
    links = sorted((ar_off[slot] + a, en_off[slot] + e) for slot in ar_slots for a, e in fill[slot].links)
    return AlignedPair(" ".join(ar_words), " ".join(en_words), tuple(links))


def template_pairs(
    n: int = 3000,
    *,
    seed: int = 0,
    term_renderings: dict[str, str] | None = None,
    templates: Sequence[tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
) -> list[AlignedPair]:
    """``n`` distinct synthetic Arabic/English pairs with gold word links.

    Built from subjects x verbs x nouns x glossary-like multi-word terms x
    places x word-order templates, e.g. ``أعلنت وزارة الخارجية الروسية إنشاء
    مناطق خفض التصعيد في حمص`` / ``The Russian Foreign Ministry announced the
    establishment of de-escalation zones in Homs``.  ``term_renderings`` maps an
    Arabic term or place (as in :data:`WRONG_RENDERINGS`) to the English the
    data should use instead of the correct one.
    """
    renderings = dict(term_renderings or {})
    explicit = templates is not None
    templates = list(templates or _TEMPLATES)
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[AlignedPair] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise FixtureBuildError(f"cannot draw {n} distinct template pairs")
        t_i = rng.randrange(len(templates))
        ar_slots, en_slots = templates[t_i]
        s_i, s2_i = rng.sample(range(len(_SUBJECTS)), 2)
        subj, gender = _SUBJECTS[s_i]
        vf, vm, ven = _VERBS[rng.randrange(len(_VERBS))]
        fill = {
            "S": subj,
            "S2": _SUBJECTS[s2_i][0],
            "V": _it(vf if gender == "f" else vm, ven),
            "N": _NOUNS[rng.randrange(len(_NOUNS))],
            "T": _term_item(term_i := rng.randrange(len(_TERMS)), renderings),
            "P": _render(_PLACES[rng.randrange(len(_PLACES))], renderings),
            "IN": _IN,
            "WITH": _WITH,
            "DURING": _DURING,
        }
        if "T2" in ar_slots:  # "and the X": the second term, or the same one again
            t2 = term_i if "TWICE" in ar_slots else (term_i + 1 + rng.randrange(len(_TERMS) - 1)) % len(_TERMS)
            fill["T2"] = _conjoined(_term_item(t2, renderings))
        fill.update(_EXTRA_SLOTS)
        pair = _assemble([a for a in ar_slots if a != "TWICE"], [e for e in en_slots if e != "TWICE"], fill)
        if explicit:
            pair = dataclasses.replace(pair, kind=_template_kind(templates[t_i]))
        if pair.source in seen:
            continue
        seen.add(pair.source)
        out.append(pair)
    return out


def template_split(
    n_train: int = 3000,
    n_test: int = 200,
    *,
    seed: int = 0,
    term_renderings: dict[str, str] | None = None,
    templates: Sequence[tuple[tuple[str, ...], tuple[str, ...]]] | None = None,
) -> tuple[list[AlignedPair], list[AlignedPair]]:
    """(train, held-out test) template pairs; no test source occurs in train."""
    pairs = template_pairs(n_train + n_test, seed=seed, term_renderings=term_renderings, templates=templates)
    return pairs[:n_train], pairs[n_train:]


# --------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    d_model: int = 64
    layers: int = 2
    heads: int = 4
    ffn: int = 256
    vocab_size: int = 8000
    steps: int = 3000
    lr: float = 3e-3
    batch_size: int = 64
    seed: int = 0
    threads: int = 1  # robust on a shared machine; 2 OpenMP threads stall when a core is busy
    exact: bool = True
    align_weight: float = 0.0
    alignment_layer: int = -1
    normalization: str = "nmt_nfkc"
    sp_model_type: str = "bpe"


def _torch_modules() -> Any:
    """Define the torch model lazily (torch is imported only when building)."""
    import torch
    from torch import nn

    class MHA(nn.Module):
        def __init__(self, d: int, h: int) -> None:
            super().__init__()
            self.h, self.dh = h, d // h
            self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))

        def forward(self, x: Any, mem: Any, mask: Any) -> tuple[Any, Any]:
            b, tq, d = x.shape
            tk = mem.shape[1]
            q = self.q(x).view(b, tq, self.h, self.dh).transpose(1, 2) * self.dh**-0.5
            k = self.k(mem).view(b, tk, self.h, self.dh).transpose(1, 2)
            v = self.v(mem).view(b, tk, self.h, self.dh).transpose(1, 2)
            scores = (q @ k.transpose(-1, -2)).masked_fill(~mask[:, None], float("-inf"))
            attn = scores.softmax(-1)
            return self.o((attn @ v).transpose(1, 2).reshape(b, tq, d)), attn

    class FFN(nn.Module):
        def __init__(self, d: int, f: int) -> None:
            super().__init__()
            self.ln = nn.LayerNorm(d, eps=1e-6)
            self.l0, self.l1 = nn.Linear(d, f), nn.Linear(f, d)

        def forward(self, x: Any) -> Any:
            return x + self.l1(torch.relu(self.l0(self.ln(x))))

    class EncLayer(nn.Module):
        def __init__(self, d: int, h: int, f: int) -> None:
            super().__init__()
            self.ln, self.sa, self.ffn = nn.LayerNorm(d, eps=1e-6), MHA(d, h), FFN(d, f)

        def forward(self, x: Any, mask: Any) -> Any:
            y = self.ln(x)
            return self.ffn(x + self.sa(y, y, mask)[0])

    class DecLayer(nn.Module):
        def __init__(self, d: int, h: int, f: int) -> None:
            super().__init__()
            self.ln_sa, self.sa = nn.LayerNorm(d, eps=1e-6), MHA(d, h)
            self.ln_ca, self.ca = nn.LayerNorm(d, eps=1e-6), MHA(d, h)
            self.ffn = FFN(d, f)

        def forward(self, x: Any, mem: Any, self_mask: Any, mem_mask: Any) -> tuple[Any, Any]:
            y = self.ln_sa(x)
            x = x + self.sa(y, y, self_mask)[0]
            c, attn = self.ca(self.ln_ca(x), mem, mem_mask)
            return self.ffn(x + c), attn

    class Seq2Seq(nn.Module):
        def __init__(self, vocab: int, cfg: ModelConfig) -> None:
            super().__init__()
            d = cfg.d_model
            self.d = d
            self.emb = nn.Embedding(vocab, d)
            nn.init.normal_(self.emb.weight, std=d**-0.5)
            self.enc = nn.ModuleList(EncLayer(d, cfg.heads, cfg.ffn) for _ in range(cfg.layers))
            self.dec = nn.ModuleList(DecLayer(d, cfg.heads, cfg.ffn) for _ in range(cfg.layers))
            self.enc_ln, self.dec_ln = nn.LayerNorm(d, eps=1e-6), nn.LayerNorm(d, eps=1e-6)
            self.out_bias = nn.Parameter(torch.zeros(vocab))
            self.register_buffer("pe", torch.tensor(_sinusoids(_MAX_POSITIONS, d)), persistent=False)

        def embed(self, ids: Any) -> Any:
            pe: Any = self.pe
            return self.emb(ids) * math.sqrt(self.d) + pe[: ids.shape[1]]

        def forward(self, src: Any, src_mask: Any, tgt_in: Any) -> tuple[Any, list[Any]]:
            x = self.embed(src)
            key_mask = src_mask[:, None, :]
            for layer in self.enc:
                x = layer(x, key_mask)
            mem = self.enc_ln(x)
            t = tgt_in.shape[1]
            causal = torch.ones(t, t, dtype=torch.bool).tril()[None]
            y = self.embed(tgt_in)
            attns = []
            for layer in self.dec:
                y, a = layer(y, mem, causal, key_mask)
                attns.append(a)
            logits = self.dec_ln(y) @ self.emb.weight.T + self.out_bias
            return logits, attns

    return Seq2Seq


def _sinusoids(n: int, d: int) -> Any:
    import numpy as np

    pos = np.arange(n, dtype=np.float64)[:, None]
    half = d // 2
    inv = np.exp(-math.log(10000.0) * np.arange(half, dtype=np.float64) / max(half - 1, 1))
    ang = pos * inv[None]
    return np.concatenate([np.sin(ang), np.cos(ang)], axis=1).astype(np.float32)


def make_spec(
    weights: dict[str, Any],
    *,
    layers: int,
    heads: int,
    pieces: list[str],
    alignment_layer: int = -1,
    alignment_heads: int = 1,
) -> Any:
    """A CTranslate2 ``TransformerSpec`` (pre-norm, ReLU, shared embeddings) from numpy weights.

    ``weights`` uses the parameter names of the torch model in this module
    (``emb.weight``, ``enc.0.sa.q.weight``, ...), plus ``pe`` for the position
    encodings and optionally ``proj.weight`` (an untied output projection).  Also used by ``bench/make_bench_model.py`` with random weights.
    """
    import numpy as np
    from ctranslate2.specs import common_spec, transformer_spec

    spec = transformer_spec.TransformerSpec.from_config(
        (layers, layers),
        heads,
        pre_norm=True,
        activation=common_spec.Activation.RELU,
        alignment_layer=alignment_layer,
        alignment_heads=alignment_heads,
    )
    w = weights

    def lin(dst: Any, *names: str) -> None:
        dst.weight = np.concatenate([w[f"{n}.weight"] for n in names], axis=0)
        dst.bias = np.concatenate([w[f"{n}.bias"] for n in names], axis=0)

    def ln(dst: Any, name: str) -> None:
        dst.gamma, dst.beta = w[f"{name}.weight"], w[f"{name}.bias"]

    for side, sub in (("enc", spec.encoder), ("dec", spec.decoder)):
        sub.scale_embeddings = True
        sub.position_encodings.encodings = w["pe"]
        (sub.embeddings[0] if side == "enc" else sub.embeddings).weight = w["emb.weight"]
        ln(sub.layer_norm, f"{side}_ln")
        for i, lay in enumerate(sub.layer):
            p = f"{side}.{i}"
            ln(lay.self_attention.layer_norm, f"{p}.ln" if side == "enc" else f"{p}.ln_sa")
            lin(lay.self_attention.linear[0], f"{p}.sa.q", f"{p}.sa.k", f"{p}.sa.v")
            lin(lay.self_attention.linear[1], f"{p}.sa.o")
            if side == "dec":
                ln(lay.attention.layer_norm, f"{p}.ln_ca")
                lin(lay.attention.linear[0], f"{p}.ca.q")
                lin(lay.attention.linear[1], f"{p}.ca.k", f"{p}.ca.v")
                lin(lay.attention.linear[2], f"{p}.ca.o")
            ln(lay.ffn.layer_norm, f"{p}.ffn.ln")
            lin(lay.ffn.linear_0, f"{p}.ffn.l0")
            lin(lay.ffn.linear_1, f"{p}.ffn.l1")
    spec.decoder.projection.weight = w.get("proj.weight", w["emb.weight"])
    spec.decoder.projection.bias = w["out_bias"]
    spec.config.layer_norm_epsilon = 1e-6
    spec.register_source_vocabulary(pieces)
    spec.register_target_vocabulary(pieces)
    return spec


def save_spec(spec: Any, model_dir: Path, quantization: str | None = None) -> None:
    """Validate, optimise (optionally quantise) and write a spec to ``model_dir``."""
    spec.validate()
    spec.optimize(quantization=quantization)
    model_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(model_dir))


def train_sentencepiece(
    texts: Sequence[str], vocab_size: int, normalization: str = "nmt_nfkc", model_type: str = "bpe"
) -> bytes:
    """Serialized SentencePiece model (``<unk>``=0, ``<s>``=1, ``</s>``=2, no pad).

    ``vocab_size`` is a soft limit (``hard_vocab_limit=False``): on little text
    BPE stops once every word is a single piece, which keeps sequences short.
    """
    import sentencepiece as spm

    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(texts)),
        model_writer=buf,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        model_type=model_type,
        character_coverage=1.0,
        normalization_rule_name=normalization,
        num_threads=1,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    return buf.getvalue()


def write_package(out_path: Path, *, name: str, model_dir: Path, sp_model: bytes, metadata: dict[str, Any]) -> None:
    """Zip ``metadata.json``, ``sentencepiece.model`` and ``model/`` under ``name/`` (fixed timestamps)."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f"{out_path.name}.{os.getpid()}.tmp")  # concurrent builders
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:

        def add(arc: str, data: bytes) -> None:
            info = zipfile.ZipInfo(arc, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)

        add(f"{name}/metadata.json", (json.dumps(metadata, indent=2, ensure_ascii=False) + "\n").encode())
        add(f"{name}/sentencepiece.model", sp_model)
        for f in sorted(model_dir.iterdir()):
            add(f"{name}/model/{f.name}", f.read_bytes())
    os.replace(tmp, out_path)


_LANG_NAMES = {"ar": "Arabic", "en": "English", "fr": "French", "de": "German", "es": "Spanish"}


def _metadata(
    name: str, from_code: str, to_code: str, package_version: str, from_name: str | None, to_name: str | None
) -> dict[str, Any]:
    return {
        "package_version": package_version,
        "argos_version": "1.9.0",
        "from_code": from_code,
        "from_name": from_name or _LANG_NAMES.get(from_code, from_code),
        "to_code": to_code,
        "to_name": to_name or _LANG_NAMES.get(to_code, to_code),
        "links": [f"http://127.0.0.1:9/{name}.argosmodel"],
        "type": "translate",
    }


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------


def _piece_words(pieces: list[str]) -> list[int]:
    """Word index of each SentencePiece piece (a piece starting with ``▁`` opens a word)."""
    out, w = [], -1
    for p in pieces:
        if p.startswith("\u2581") or w < 0:
            w += 1
        out.append(w)
    return out


def _train(
    src_ids: list[list[int]],
    tgt_ids: list[list[int]],
    gold: list[Any] | None,
    vocab: int,
    cfg: ModelConfig,
    verify: Any,
) -> dict[str, Any]:
    """Train; return numpy weights.  ``verify(weights) -> bool`` gates exact mode."""
    import numpy as np
    import torch

    LAST_BUILD_STATS.clear()
    torch.manual_seed(cfg.seed)
    rng = random.Random(cfg.seed)
    model = _torch_modules()(vocab, cfg)
    # A hand-written Adam: torch.optim imports torch._dynamo on first use (~3.5 s).
    params = [p for p in model.parameters() if p.requires_grad]
    m1 = [torch.zeros_like(p) for p in params]
    m2 = [torch.zeros_like(p) for p in params]
    beta1, beta2, eps = 0.9, 0.98, 1e-9
    warmup = min(100, cfg.steps // 10 + 1)

    def lr_at(s: int) -> float:
        decay = 1.0 if cfg.exact else max(0.05, 1 - s / cfg.steps)
        return cfg.lr * min(1.0, s / warmup) * decay

    bos, eos = 1, 2
    n = len(src_ids)
    al_layer = cfg.alignment_layer % cfg.layers

    def batch(idx: list[int]) -> tuple[Any, ...]:
        bs = len(idx)
        ls = max(len(src_ids[i]) for i in idx)
        lt = max(len(tgt_ids[i]) for i in idx) + 1
        src = torch.zeros(bs, ls, dtype=torch.long)
        smask = torch.zeros(bs, ls, dtype=torch.bool)
        tin = torch.zeros(bs, lt, dtype=torch.long)
        tout = torch.full((bs, lt), -100, dtype=torch.long)
        g = torch.zeros(bs, lt, ls) if gold is not None else None
        for r, i in enumerate(idx):
            s, t = src_ids[i], tgt_ids[i]
            src[r, : len(s)] = torch.tensor(s)
            smask[r, : len(s)] = True
            tin[r, : len(t) + 1] = torch.tensor([bos] + t)
            tout[r, : len(t) + 1] = torch.tensor(t + [eos])
            if g is not None and gold is not None:
                m = torch.tensor(gold[i])
                g[r, : m.shape[0], : m.shape[1]] = m
        return src, smask, tin, tout, g

    def weights() -> dict[str, Any]:
        w = {k: v.detach().numpy().astype(np.float32).copy() for k, v in model.state_dict().items()}
        w["pe"] = model.pe.numpy().copy()
        return w

    full = batch(list(range(n))) if n <= cfg.batch_size else None
    order: list[int] = []
    check_every = 25
    t_start = time.monotonic()
    for step in range(1, cfg.steps + 1):
        if full is not None:
            src, smask, tin, tout, g = full
        else:
            if len(order) < cfg.batch_size:
                rest = list(range(n))
                rng.shuffle(rest)
                order.extend(rest)
            idx, order = order[: cfg.batch_size], order[cfg.batch_size :]
            src, smask, tin, tout, g = batch(idx)
        logits, attns = model(src, smask, tin)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tout.reshape(-1), ignore_index=-100)
        if g is not None and cfg.align_weight > 0:
            att = attns[al_layer].mean(1)  # head average: B, T, S
            has = g.sum(-1) > 0
            al = -(g * torch.log(att + 1e-9)).sum(-1)[has].mean()
            loss = loss + cfg.align_weight * al
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
            norm = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))
            torch._foreach_mul_(grads, min(1.0, 1.0 / (norm + 1e-6)))  # clip to norm 1
            c1, c2 = 1 - beta1**step, 1 - beta2**step
            torch._foreach_mul_(m1, beta1)
            torch._foreach_add_(m1, grads, alpha=1 - beta1)
            torch._foreach_mul_(m2, beta2)
            torch._foreach_addcmul_(m2, grads, grads, value=1 - beta2)
            denom = torch._foreach_div(m2, c2)
            torch._foreach_sqrt_(denom)
            torch._foreach_add_(denom, eps)
            torch._foreach_addcdiv_(params, m1, denom, value=-lr_at(step) / c1)
        if step % check_every == 0:
            _log.debug("step %d loss %.4f %.1fs", step, float(loss.detach()), time.monotonic() - t_start)
        if cfg.exact and step % check_every == 0:
            with torch.no_grad():
                ok = True
                for start in range(0, n, 256):
                    src, smask, tin, tout, _ = batch(list(range(start, min(n, start + 256))))
                    lp = model(src, smask, tin)[0].log_softmax(-1)
                    m = tout >= 0
                    pred_ok = (lp.argmax(-1) == tout) | ~m
                    p_gold = lp.gather(-1, tout.clamp(min=0)[..., None])[..., 0]
                    if not bool(pred_ok.all()) or float(p_gold[m].min()) < math.log(0.9):
                        ok = False
                        break
            if ok:
                LAST_BUILD_STATS["verify_calls"] = LAST_BUILD_STATS.get("verify_calls", 0) + 1
                if verify(weights()):
                    LAST_BUILD_STATS["steps"] = step
                    return weights()
    LAST_BUILD_STATS["steps"] = cfg.steps
    if cfg.exact:
        raise FixtureBuildError(f"model did not reproduce the training pairs within {cfg.steps} steps")
    return weights()


def _build(
    pairs: Sequence[tuple[str, str]],
    alignment: Sequence[Sequence[Link]] | None,
    cfg: ModelConfig,
    workdir: Path,
) -> tuple[Path, bytes]:
    import ctranslate2
    import sentencepiece as spm
    import torch

    sp_bytes = train_sentencepiece([t for p in pairs for t in p], cfg.vocab_size, cfg.normalization, cfg.sp_model_type)
    sp = spm.SentencePieceProcessor(model_proto=sp_bytes)
    pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    src_ids = [sp.encode(s) for s, _ in pairs]
    tgt_ids = [sp.encode(t) for _, t in pairs]
    for _, t in pairs:
        if sp.decode(sp.encode(t)) != t:
            raise FixtureBuildError(f"target does not survive SentencePiece round trip: {t!r}")
    gold = None
    if alignment is not None:
        gold = []
        for links, si, ti in zip(alignment, src_ids, tgt_ids):
            sw = _piece_words([sp.id_to_piece(i) for i in si])
            tw = _piece_words([sp.id_to_piece(i) for i in ti])
            by_t: dict[int, set[int]] = {}
            for a, b in links:
                by_t.setdefault(b, set()).add(a)
            m = [[0.0] * len(si) for _ in range(len(ti) + 1)]  # row per target token (+ </s>)
            for r, w in enumerate(tw):
                cols = [c for c, sw_c in enumerate(sw) if sw_c in by_t.get(w, ())]
                for c in cols:
                    m[r][c] = 1.0 / len(cols)
            gold.append(m)

    model_dir = workdir / "model"
    heads_for_alignment = cfg.heads if cfg.align_weight > 0 else 1

    def save(weights: dict[str, Any]) -> None:
        if model_dir.exists():
            shutil.rmtree(model_dir)
        spec = make_spec(
            weights,
            layers=cfg.layers,
            heads=cfg.heads,
            pieces=pieces,
            alignment_layer=cfg.alignment_layer,
            alignment_heads=heads_for_alignment,
        )
        save_spec(spec, model_dir)

    def verify(weights: dict[str, Any]) -> bool:
        save(weights)
        tr = ctranslate2.Translator(str(model_dir), device="cpu", intra_threads=cfg.threads)
        toks = [[sp.id_to_piece(i) for i in ids] for ids in src_ids]
        for opts in ({"beam_size": 1}, {"beam_size": 4, "length_penalty": 0.2}):
            res = tr.translate_batch(toks, replace_unknowns=True, max_batch_size=32, batch_type="tokens", **opts)
            for r, (_, t) in zip(res, pairs):
                if sp.decode(r.hypotheses[0]) != t:
                    return False
        return True

    old_threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    torch.set_flush_denormal(True)  # tiny Adam moments turn denormal and slow CPU math ~100x
    try:
        weights = _train(src_ids, tgt_ids, gold, len(pieces), cfg, verify)
    finally:
        torch.set_flush_denormal(False)
        torch.set_num_threads(old_threads)
    if not cfg.exact:
        save(weights)
    return model_dir, sp_bytes


def _cache_key(obj: Any) -> str:
    import ctranslate2
    import sentencepiece

    import inspect

    h = hashlib.sha256()
    # the code that turns data into a package (not the whole file: adding a builder or a
    # template set must not invalidate every cached model)
    for fn in (_torch_modules, _sinusoids, make_spec, save_spec, train_sentencepiece, write_package, _piece_words, _train, _build, ModelConfig):
        h.update(inspect.getsource(fn).encode())
    h.update(
        json.dumps(
            [obj, ctranslate2.__version__, sentencepiece.__version__], sort_keys=True, ensure_ascii=False
        ).encode()
    )
    return h.hexdigest()[:24]


def build_package(
    pairs: Sequence[tuple[str, str]],
    out_dir: Path | str,
    *,
    name: str = "translate-ar_en-1_0",
    from_code: str = "ar",
    to_code: str = "en",
    from_name: str | None = None,
    to_name: str | None = None,
    package_version: str = "1.0",
    d_model: int = 64,
    layers: int = 2,
    heads: int = 4,
    ffn: int | None = None,
    vocab_size: int = 8000,
    steps: int = 3000,
    lr: float = 3e-3,
    batch_size: int = 64,
    seed: int = 0,
    alignment: Sequence[Sequence[Link]] | None = None,
    align_weight: float = 1.0,
    alignment_layer: int = -1,
    exact: bool = True,
    normalization: str = "nmt_nfkc",
) -> Path:
    """Train (or fetch from cache) a tiny Argos package; return ``out_dir/<name>.argosmodel``.

    With ``exact=True`` (default) training stops as soon as CTranslate2
    reproduces every target exactly from its source, greedy and with beam 4 /
    length penalty 0.2, and raises :class:`FixtureBuildError` if ``steps`` is
    not enough.  With ``exact=False`` it trains ``steps`` steps (linear decay)
    and does not check.  ``alignment`` (one list of (source word, target word)
    links per pair) adds a guided-alignment loss on decoder layer
    ``alignment_layer`` and makes that layer's head average the attention
    CTranslate2 returns.  Sources are encoded without ``</s>`` (as argostranslate
    does); targets end with ``</s>``.
    """
    pairs = [(str(s), str(t)) for s, t in pairs]
    if not pairs:
        raise ValueError("build_package needs at least one pair")
    if alignment is not None and len(alignment) != len(pairs):
        raise ValueError("alignment must have one link list per pair")
    cfg = ModelConfig(
        d_model=d_model,
        layers=layers,
        heads=heads,
        ffn=ffn or 4 * d_model,
        vocab_size=vocab_size,
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        exact=exact,
        align_weight=align_weight if alignment is not None else 0.0,
        alignment_layer=alignment_layer,
        normalization=normalization,
    )
    metadata = _metadata(name, from_code, to_code, package_version, from_name, to_name)
    key = _cache_key(
        {
            "pairs": pairs,
            "alignment": [sorted(map(list, a)) for a in alignment] if alignment is not None else None,
            "cfg": dataclasses.asdict(cfg),
            "metadata": metadata,
            "name": name,
        }
    )
    cached = cache_dir() / key / f"{name}.argosmodel"
    if not cached.exists():
        with tempfile.TemporaryDirectory(prefix="tinymodel-") as tmp:
            model_dir, sp_bytes = _build(pairs, alignment, cfg, Path(tmp))
            write_package(cached, name=name, model_dir=model_dir, sp_model=sp_bytes, metadata=metadata)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{name}.argosmodel"
    if target.resolve() != cached.resolve():
        shutil.copyfile(cached, target)
    return target


# --------------------------------------------------------------------------
# Ready-made fixtures
# --------------------------------------------------------------------------

TINY_PAIRS: tuple[tuple[str, str], ...] = (
    (
        "يذكر أن أستانا، كانت قد استضافت في الفترة 4-5 تموز/يوليو 2017 الجولة الخامسة من المحادثات حول سوريا.",
        "It should be noted that Astana hosted the fifth round of talks on Syria on 4-5 July 2017.",
    ),
    (
        "وأعلنت الوزارة أن موسكو تعوّل على مساهمة المعارضة السورية بشكل أكثر نشاطا في عملية محاربة الإرهاب في سوريا.",
        "The ministry announced that Moscow is counting on the Syrian opposition to contribute more actively "
        "to the fight against terrorism in Syria.",
    ),
    ("وقف إطلاق النار في حمص.", "Ceasefire in Homs."),
)
"""Short pairs for the memorising fixture: two single-sentence paragraphs of the seed bulletin and a title."""

TEMPLATE_PARAMS: dict[str, Any] = {
    "d_model": 128,
    "layers": 3,
    "heads": 4,
    "vocab_size": 600,
    "steps": 200,
    "lr": 2e-3,
    "batch_size": 64,
    "exact": False,
    "alignment_layer": -1,
    "align_weight": 1.0,
}


def build_template_package(
    out_dir: Path | str,
    *,
    term_renderings: dict[str, str] | None = None,
    name: str = "translate-ar_en-1_0",
    n_train: int = 3000,
    seed: int = 0,
    **params: Any,
) -> Path:
    """Guided-alignment model on :func:`template_split` ``(n_train, seed, term_renderings)`` train pairs.

    Held-out sentences and gold links: ``template_split(n_train, ..., seed=seed,
    term_renderings=term_renderings)[1]``.  ``params`` override
    :data:`TEMPLATE_PARAMS` (passed to :func:`build_package`).
    """
    train, _ = template_split(n_train, seed=seed, term_renderings=term_renderings)
    kw = {**TEMPLATE_PARAMS, **params}
    return build_package(
        [(p.source, p.target) for p in train],
        out_dir,
        name=name,
        seed=seed,
        alignment=[p.links for p in train],
        **kw,
    )


# --------------------------------------------------------------------------
# Enforcement models (issue 8): terms rendered wrongly, with and without guided alignment
# --------------------------------------------------------------------------

ENFORCEMENT_PARAMS: dict[str, Any] = {**TEMPLATE_PARAMS, "steps": 400}


def enforcement_split(*, correct: bool = False, n_train: int = 3000, n_test: int = 400, seed: int = 1) -> tuple[list[AlignedPair], list[AlignedPair]]:
    """Train/held-out pairs of the enforcement models.

    With ``correct=False`` the targets carry :data:`ENFORCEMENT_WRONG` (what the model was
    trained to say); with ``correct=True`` the same sentences, in the same order, carry the
    correct renderings: the ideal constrained output of each held-out sentence.
    """
    return template_split(
        n_train,
        n_test,
        seed=seed,
        term_renderings=None if correct else ENFORCEMENT_WRONG,
        templates=list(ENFORCEMENT_TEMPLATES.values()),
    )


def build_enforcement_package(out_dir: Path | str, *, guided: bool, **params: Any) -> Path:
    """A generalising model that renders :data:`ENFORCEMENT_WRONG` wrongly.

    ``guided=False`` trains it the way real Argos packages were trained: no guided alignment,
    so its attention was never taught to align (the returned attention is one head of the last
    layer, as in a converted OpenNMT model).  ``guided=True`` adds the guided-alignment loss.
    """
    train, _ = enforcement_split()
    kw = {**ENFORCEMENT_PARAMS, **params}
    return build_package(
        [(p.source, p.target) for p in train],
        out_dir,
        alignment=[p.links for p in train] if guided else None,
        **kw,
    )


def link_precision(pairs: Sequence[AlignedPair], segments: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """(precision of the ``translate --json`` word links, share of gold-linked target words that
    got a link) against the pairs' gold links, over the segments whose target is the pair's."""
    ours = hit = linked = covered = 0
    for p, s in zip(pairs, segments):
        if s["target"] != p.target:
            continue
        src = [(m.start() + s["source_start"], m.end() + s["source_start"]) for m in re.finditer(r"\S+", p.source)]
        tgt = [m.span() for m in re.finditer(r"\S+", p.target)]
        gold = {(*src[a], *tgt[b]) for a, b in p.links}
        links = {tuple(x) for x in s["alignment"]}
        ours += len(links)
        hit += len(links & gold)
        gold_targets = {(x[2], x[3]) for x in gold}
        linked += len(gold_targets)
        covered += len(gold_targets & {(x[2], x[3]) for x in links})
    return hit / max(ours, 1), covered / max(linked, 1)
