"""Decoding a run on a Ray cluster (issue 15): a :class:`~translate_pipe.records.ChunkDecoder`.

The driver (:func:`translate_pipe.pipeline._run`) keeps everything but the decoding: it reads,
segments, matches terms, plans reuse and stores each chunk, so a run decoded on the cluster
has the same rows, provenance and ``--json`` as a local one.  Here:

* :func:`connect` joins a running cluster (``"auto"`` or an address) once per command and
  checks it can host the actors; nothing of the run is stored before that succeeds;
* :class:`RayDecoder` starts ``actors`` Ray actors of ``threads_per_actor`` CPUs each.  Each
  loads the package once: from the same path when the models directory is shared with the
  cluster (same checksum), else from the package bytes shipped as one Ray object
  (``package="auto"``; ``"shared"`` and ``"ship"`` force one way);
* each chunk's segments go out in length-sorted *blocks*, cut exactly as
  :meth:`translate_pipe.engine.Engine.translate` cuts its batches (segments with glossary terms
  apart from the others, then :func:`translate_pipe.engine.batches`): every CTranslate2
  batch is the one a local run decodes, so the output is the same.  An actor runs the local
  per-chunk code (:func:`translate_pipe.pipeline._translate_chunk`: decode, enforce, align) on
  its block with its own copy of the constrainer, whose rendering cache is actor-local and
  seeded from the store's (renderings are deterministic; new ones come back to the store);
* results come back per chunk, in order; the decoder reads ahead to keep ``depth`` blocks
  queued on every actor, and reports progress per decoded block (``on_decoded``);
* an actor that dies is restarted by Ray (``max_restarts``), which retries its blocks
  (``max_task_retries``); an actor lost for good has its blocks sent to the others.  A block's
  result is taken once, and the store is idempotent per (run, segment) anyway.

Ray is imported only here and only when a cluster is asked for (``pip install
'translate-pipe[ray]'``); no other command imports it.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import shutil
import socket
import tarfile
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .constrain import Constrainer, MemoryRenderingCache, RenderingCache
from .engine import Engine as LoadedEngine
from .engine import batches
from .errors import ClusterError, ModelError, PipeError
from .models import PackageInfo, read_package
from .pipeline import DecoderFactory, TranslateSettings, _translate_chunk
from .records import Constrainer as ConstrainerProtocol
from .records import DecodeOptions, Engine, Translated, WorkItem

PACKAGE_SOURCES = ("auto", "shared", "ship")
INSTALL_HINT = "pip install 'translate-pipe[ray]'"


# -- the cluster ------------------------------------------------------------------------------
@dataclass
class RayCluster:
    """A connection to a Ray cluster for one command; :meth:`close` disconnects (only when
    :func:`connect` made the connection)."""

    ray: Any  # the ray module
    address: str
    cpus: int
    actors: int
    threads_per_actor: int
    package: str = "auto"
    max_restarts: int = 3
    depth: int = 2  # blocks queued per actor
    start_timeout: float = 600.0
    owned: bool = True

    def decoder(self) -> DecoderFactory:
        """A :data:`translate_pipe.pipeline.DecoderFactory` for ``pipeline.translate``/``resume``."""

        def make(engine: Engine, settings: TranslateSettings, constrainer: ConstrainerProtocol | None) -> RayDecoder:
            return RayDecoder(self, engine, settings, constrainer)

        return make

    def close(self) -> None:
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()

    def __enter__(self) -> RayCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    address: str,
    *,
    actors: int | None = None,
    threads_per_actor: int = 1,
    package: str = "auto",
    max_restarts: int = 3,
) -> RayCluster:
    """Join the Ray cluster at ``address`` (``"auto"``: the one ``ray start`` left on this
    machine, or ``RAY_ADDRESS``); in a process already connected, that connection is used.
    ``actors`` defaults to the cluster's CPUs divided by ``threads_per_actor``."""
    if threads_per_actor < 1:
        raise ClusterError("--threads-per-actor must be at least 1")
    if actors is not None and actors < 1:
        raise ClusterError("--actors must be at least 1")
    if package not in PACKAGE_SOURCES:
        raise ClusterError(f"package source {package!r} is not one of {', '.join(PACKAGE_SOURCES)}")
    try:
        import ray
    except ImportError:
        raise ClusterError(f"--ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    owned = not ray.is_initialized()
    if owned:
        if address != "auto":
            _check_reachable(address)
        import logging

        try:
            ray.init(
                address=address,
                logging_level=logging.ERROR,
                log_to_driver=False,
                configure_logging=True,
            )
        except (ConnectionError, RuntimeError, ValueError, TimeoutError) as exc:
            if address == "auto" and isinstance(exc, ConnectionError):
                raise ClusterError(
                    "no running Ray cluster found: start one with `ray start --head`, or give --ray HOST:PORT "
                    "(or set RAY_ADDRESS)"
                ) from None
            raise ClusterError(f"cannot join the Ray cluster at {address}: {_first_line(exc)}") from None
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
    except Exception as exc:  # a broken connection: close what we opened
        if owned:
            ray.shutdown()
        raise ClusterError(f"cannot read the Ray cluster's resources: {_first_line(exc)}") from None
    n = actors if actors is not None else max(1, cpus // threads_per_actor)
    if n * threads_per_actor > cpus:
        if owned:
            ray.shutdown()
        raise ClusterError(
            f"the Ray cluster has {cpus} CPUs; {n} actors x {threads_per_actor} threads need "
            f"{n * threads_per_actor}: lower --actors or --threads-per-actor, or add nodes"
        )
    return RayCluster(
        ray, address, cpus, n, threads_per_actor, package=package, max_restarts=max_restarts, owned=owned
    )


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast (Ray itself retries for a minute) on an address nothing listens at."""
    text = address.removeprefix("ray://")
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--ray {address!r} is not auto or HOST:PORT (the head node's GCS address, e.g. 10.0.0.5:6379)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ClusterError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- blocks -----------------------------------------------------------------------------------
def blocks(work: Sequence[WorkItem], options: DecodeOptions, n_best: int | None) -> list[list[int]]:
    """Indices of ``work`` in length-sorted blocks, cut where :meth:`Engine.translate` cuts its
    batches (:func:`translate_pipe.engine.batches`).  With a constrainer (``n_best``, the
    hypotheses it wants), the segments with glossary matches are blocked apart from the others,
    with the beam they are decoded with, as ``_decode_chunk`` decodes them."""
    if n_best is None:
        groups = [(list(range(len(work))), options)]
    else:
        n = max(options.num_hypotheses, n_best)
        term_opts = replace(options, num_hypotheses=n, beam_size=max(options.beam_size, n))
        groups = [
            ([i for i, w in enumerate(work) if w.matches], term_opts),
            ([i for i, w in enumerate(work) if not w.matches], options),
        ]
    out: list[list[int]] = []
    for group, opts in groups:
        out.extend([group[k] for k in batch] for batch in batches([len(work[i].tokens.pieces) for i in group], opts))
    return out


def _term_sources(work: Iterable[WorkItem]) -> list[str]:
    """The texts whose renderings the constrainer may look up for these items."""
    return sorted({s for w in work for m in w.matches for s in (m.source, m.text) if s.strip()})


# -- the actor ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ActorSpec:
    """What every actor is started with (pickled once per actor)."""

    package: PackageInfo
    checksum: str
    source: str  # "auto" | "shared" | "ship"
    device: str
    compute_type: str
    threads: int
    options: DecodeOptions
    align_method: str
    constrainer: ConstrainerProtocol | None


class _RecordingCache:
    """The actor's rendering cache: in memory, remembering what the constrainer added."""

    def __init__(self) -> None:
        self.memory = MemoryRenderingCache()
        self.added: dict[str, dict[str, list[str]]] = {}

    def get_renderings(self, model: str, sources: Sequence[str]) -> dict[str, list[str]]:
        return self.memory.get_renderings(model, sources)

    def put_renderings(self, model: str, renderings: Mapping[str, Sequence[str]]) -> None:
        self.memory.put_renderings(model, renderings)
        self.added.setdefault(model, {}).update({s: list(r) for s, r in renderings.items()})


class DecoderActor:
    """One Ray actor (``ray.remote`` is applied when a run starts): the model loaded once, the
    per-chunk code of a local run applied to each block.

    The shipped package comes with every call as ``bundle`` (``[ObjectRef]``, or ``[]``: a
    reference, fetched only by an actor that needs it), not with the constructor: an actor
    restarted by Ray runs its constructor again, and constructor arguments that hold object
    references are not kept for that."""

    def __init__(self, spec: ActorSpec) -> None:
        self.cpu_start = time.process_time()
        self.spec = spec
        self.error = ""
        self.loaded_from = ""
        self.engine: LoadedEngine | None = None
        self.cache = _RecordingCache()
        self.constrainer = spec.constrainer
        if isinstance(self.constrainer, Constrainer):
            self.constrainer.cache = self.cache
        if spec.source != "ship":
            self._load(self._shared)

    def _load(self, find: Callable[[], PackageInfo | None]) -> None:
        try:
            package = find()
            if package is not None:
                self.engine = LoadedEngine(
                    package, device=self.spec.device, intra_threads=self.spec.threads, compute_type=self.spec.compute_type
                )
                self.error = ""
        except (PipeError, OSError, tarfile.TarError) as exc:  # reported by ready(), not as a dead actor
            self.error = str(exc)

    def _shared(self) -> PackageInfo | None:
        """The package from the models directory, if this node has the driver's."""
        spec = self.spec
        here = read_package(spec.package.path) if spec.package.path.is_dir() else None
        if here is not None and here.checksum == spec.checksum:
            self.loaded_from = "shared"
            return here
        if spec.source == "shared":
            raise ModelError(
                f"package {spec.package.name} is not at {spec.package.path} on node {socket.gethostname()} "
                "(or differs from the driver's): install it there, or let it be shipped (--ray-package ship)"
            )
        return None

    def _ensure(self, bundle: list[Any]) -> LoadedEngine:
        if self.engine is None and bundle and not self.error:
            import ray

            self.loaded_from = "shipped"
            self._load(lambda: unpack_package(ray.get(bundle[0]), self.spec.package.name, self.spec.checksum))
        if self.engine is None:
            raise ModelError(self.error or f"package {self.spec.package.name} is not on this node and was not shipped")
        return self.engine

    def ready(self, bundle: list[Any]) -> tuple[int, str, str]:
        """(pid, where the package came from, error); an error when the model did not load."""
        try:
            self._ensure(bundle)
        except ModelError as exc:
            return os.getpid(), self.loaded_from, str(exc)
        return os.getpid(), self.loaded_from, ""

    def cpu(self) -> float:
        """CPU seconds this actor's process has used since it started (model loading included)."""
        return time.process_time() - self.cpu_start

    def decode(
        self, block: list[WorkItem], renderings: dict[str, list[str]], bundle: list[Any]
    ) -> tuple[int, list[Translated], dict[str, dict[str, list[str]]]]:
        """(pid, the block's translations, renderings added while decoding it)."""
        engine = self._ensure(bundle)
        if renderings:
            self.cache.memory.put_renderings(self.spec.checksum, renderings)
        self.cache.added = {}
        out = _translate_chunk(engine, block, self.spec.options, self.constrainer, self.spec.align_method)
        return os.getpid(), out, self.cache.added


def pack_package(package: PackageInfo) -> bytes:
    """The package directory as uncompressed tar bytes (model weights do not compress)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(package.path, arcname=package.name)
    return buf.getvalue()


def unpack_package(data: bytes, name: str, checksum: str) -> PackageInfo:
    """A shipped package, unpacked once per node (kept by checksum in the temporary directory,
    shared by that node's actors and their restarts)."""
    root = Path(tempfile.gettempdir()) / "translate-pipe-ray" / checksum[:32]
    target = root / name
    found = read_package(target) if target.is_dir() else None
    if found is None or found.checksum != checksum:
        root.mkdir(parents=True, exist_ok=True)
        if target.exists():  # a broken earlier unpacking
            shutil.rmtree(target, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix="unpack-", dir=root))
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            if hasattr(tarfile, "data_filter"):
                tar.extractall(staging, filter="data")
            else:  # pragma: no cover - Python without extraction filters
                tar.extractall(staging)  # noqa: S202
        with contextlib.suppress(OSError):  # another actor of this node got there first
            os.replace(staging / name, target)
        shutil.rmtree(staging, ignore_errors=True)
        found = read_package(target)
    if found is None or found.checksum != checksum:
        raise ModelError(f"the shipped package {name} does not unpack to the driver's model (checksum differs)")
    return found


# -- the decoder --------------------------------------------------------------------------------
@dataclass
class DecoderStats:
    """What a run did on the cluster (for tests and benchmarks)."""

    blocks: int = 0
    resubmitted: int = 0  # blocks sent again after their actor was lost for good
    pids: dict[int, set[int]] = field(default_factory=dict)  # actor slot -> processes that answered
    loaded_from: list[str] = field(default_factory=list)
    actor_cpu: float = 0.0  # CPU seconds of the actors' processes (a restarted actor: since its restart)


@dataclass
class _Chunk:
    items: Sequence[WorkItem]
    results: list[Translated | None]
    left: int


@dataclass
class _Block:
    chunk: int
    indices: list[int]


class RayDecoder:
    """A :class:`~translate_pipe.records.ChunkDecoder` over Ray actors (see the module docstring)."""

    def __init__(
        self,
        cluster: RayCluster,
        engine: Engine,
        settings: TranslateSettings,
        constrainer: ConstrainerProtocol | None,
    ) -> None:
        self.cluster = cluster
        self.engine = engine
        self.settings = settings
        self.options = settings.decode
        self.constrainer = constrainer
        # the driver's rendering cache (the store): seeds the actors, keeps what they add
        self.store_cache: RenderingCache | None = constrainer.cache if isinstance(constrainer, Constrainer) else None
        self.actors: list[Any] = []
        self.bundle: list[Any] = []
        self.stats = DecoderStats()

    # -- actors ---------------------------------------------------------------------------
    def _spec(self) -> ActorSpec:
        package = self.engine.package
        if not isinstance(package, PackageInfo):
            raise ClusterError("--ray needs an installed Argos package (the actors load it themselves)")
        shipped = self.constrainer
        if isinstance(shipped, Constrainer):
            shipped = copy.copy(shipped)
            shipped.cache = MemoryRenderingCache()  # each actor's own (the store stays here)
        return ActorSpec(
            package=package,
            checksum=package.checksum,
            source=self.cluster.package,
            device=self.settings.device,
            compute_type=self.settings.compute_type,
            threads=self.cluster.threads_per_actor,
            options=self.options,
            align_method=self.settings.align,
            constrainer=shipped,
        )

    def _start(self) -> list[Any]:
        ray, c = self.cluster.ray, self.cluster
        remote = ray.remote(DecoderActor).options(
            num_cpus=c.threads_per_actor,
            num_gpus=1 if self.settings.device == "cuda" else 0,
            max_restarts=c.max_restarts,
            max_task_retries=-1,
        )
        spec = self._spec()
        # the package's bytes, put once; an actor fetches them only when its node lacks the package
        self.bundle = [ray.put(pack_package(spec.package))] if c.package != "shared" else []
        actors = [remote.remote(spec) for _ in range(c.actors)]
        self.actors = actors
        refs = [a.ready.remote(self.bundle) for a in actors]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=c.start_timeout)
        if len(done) < len(refs):
            raise ClusterError(
                f"only {len(done)} of {len(refs)} Ray actors started within {c.start_timeout:.0f} s "
                "(is the cluster busy, or short of CPUs or memory?)"
            )
        for slot, (pid, source, error) in enumerate(ray.get(refs)):
            if error:
                raise ModelError(f"a Ray actor cannot load the model: {error}")
            self.stats.pids[slot] = {pid}
            self.stats.loaded_from.append(source)
        return actors

    def _actor_cpu(self) -> None:
        """What the actors cost (for benchmarks); asked only when no block is queued on them."""
        with contextlib.suppress(Exception):  # an actor gone: no figure
            self.stats.actor_cpu = sum(self.cluster.ray.get([a.cpu.remote() for a in self.actors], timeout=30))

    def _stop(self) -> None:
        for actor in self.actors:
            with contextlib.suppress(Exception):  # already gone
                self.cluster.ray.kill(actor, no_restart=True)
        self.actors = []
        self.bundle = []

    # -- ChunkDecoder -----------------------------------------------------------------------
    def decode_chunks(
        self, chunks: Iterable[Sequence[WorkItem]], on_decoded: Callable[[int], None] | None = None
    ) -> Iterator[list[Translated]]:
        try:
            live = self._start()
            yield from self._dispatch(live, iter(chunks), on_decoded)
            self._actor_cpu()
        finally:
            self._stop()

    def _dispatch(
        self, live: list[Any], chunks: Iterator[Sequence[WorkItem]], on_decoded: Callable[[int], None] | None
    ) -> Iterator[list[Translated]]:
        ray = self.cluster.ray
        from ray.exceptions import RayActorError, RayTaskError

        slots = {id(a): i for i, a in enumerate(live)}
        pool = list(live)
        load = dict.fromkeys(slots, 0)  # blocks queued per actor
        limit = self.cluster.depth * len(pool)
        held: dict[int, _Chunk] = {}  # chunks read and not yet yielded, by position
        queue: deque[_Block] = deque()  # blocks waiting for an actor
        flying: dict[Any, tuple[_Block, Any]] = {}  # ObjectRef -> (block, actor)
        next_read = next_out = 0
        exhausted = False
        n_best = self.constrainer.n_best if self.constrainer is not None else None
        model = self.engine.package.checksum

        def submit(block: _Block) -> None:
            actor = min(pool, key=lambda a: load[id(a)])
            items = [held[block.chunk].items[i] for i in block.indices]
            known: dict[str, list[str]] = {}
            if self.store_cache is not None:
                sources = _term_sources(items)
                if sources:
                    known = self.store_cache.get_renderings(model, sources)
            load[id(actor)] += 1
            flying[actor.decode.remote(items, known, self.bundle)] = (block, actor)
            self.stats.blocks += 1

        while True:
            # read ahead: keep every actor ``depth`` blocks deep
            while len(flying) < limit and not (exhausted and not queue):
                if not queue:
                    if len(held) > limit + 1:  # the head chunk is late: do not read further
                        break
                    chunk = next(chunks, None)
                    if chunk is None:
                        exhausted = True
                        break
                    position = next_read
                    next_read += 1
                    held[position] = _Chunk(chunk, [None] * len(chunk), len(chunk))
                    queue.extend(
                        _Block(position, b) for b in blocks(chunk, self.options, n_best)
                    )
                    continue
                submit(queue.popleft())
            # hand out, in order, the chunks complete so far
            while next_out in held and held[next_out].left == 0:
                done = held.pop(next_out)
                next_out += 1
                yield [r for r in done.results if r is not None]
            if not flying:
                if exhausted and not queue and not held:
                    return
                if queue or not exhausted:
                    continue
                raise RuntimeError("chunks are held with no block in flight")  # a bug, never a user error
            ready, _ = ray.wait(list(flying), num_returns=1)
            for ref in ready:
                block, actor = flying.pop(ref)
                load[id(actor)] -= 1
                try:
                    pid, results, added = ray.get(ref)
                except RayTaskError as exc:  # the decoding itself failed: as it would locally
                    cause = exc.cause
                    if isinstance(cause, BaseException):
                        raise cause from None
                    raise ClusterError(f"a Ray actor failed: {_first_line(exc)}") from None
                except RayActorError as exc:  # lost for good (restarts used up): the others take over
                    if actor in pool:
                        pool.remove(actor)
                    if not pool:
                        raise ClusterError(f"every Ray actor was lost: {_first_line(exc)}") from None
                    limit = self.cluster.depth * len(pool)
                    queue.appendleft(block)
                    self.stats.resubmitted += 1
                    continue
                self.stats.pids.setdefault(slots[id(actor)], set()).add(pid)
                if self.store_cache is not None:
                    for m, renderings in added.items():
                        self.store_cache.put_renderings(m, renderings)
                target = held[block.chunk]
                for i, r in zip(block.indices, results):
                    if target.results[i] is None:
                        target.left -= 1
                    target.results[i] = r
                if on_decoded is not None:
                    on_decoded(len(block.indices))
