"""A producer/consumer pipeline of threads with bounded queues, for work that releases the GIL.

:class:`Stages` runs ``source`` (an iterable, read in its own thread) through a list of stage
functions, each in its own thread, and yields the results in the consumer's thread, in the
order of ``source``.  Each stage handles one item at a time, in order, so the results are the
ones a serial loop gives; what changes is that stage *k* works on item *n* while stage *k+1*
works on item *n-1* and the consumer on item *n-2*.  CTranslate2 releases the GIL while it
decodes, so Python work of the neighbouring items runs meanwhile.

Bounded: at most ``depth`` items wait between two stages and at most ``depth`` results wait
for the consumer, so memory stays bounded whatever the length of ``source``.

Work that must happen in the consumer's thread (an SQLite connection belongs to the thread
that opened it; progress output) is passed to it with :meth:`Stages.call` (wait for the result)
or :meth:`Stages.post` (fire and forget): the consumer runs it while it waits for the next
result.  An exception in any thread is raised in the consumer's thread; when the consumer
stops early (an exception, or the generator closed) the threads stop too.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

_POLL = 0.1  # seconds between checks of the stop flag while blocked


class _Stopped(Exception):
    """The consumer went away: the worker threads stop."""


class _Box:
    def __init__(self, fn: Callable[[], Any]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


_END = object()


class _Failed:
    """An exception on its way down the stages."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Stages(Generic[R]):
    """``for result in Stages(source, [f, g]).run(): ...`` is ``for x in source: result = g(f(x))``,
    each of the source, ``f`` and ``g`` in its own thread."""

    def __init__(self, source: Iterable[Any], stages: Sequence[Callable[[Any], Any]], depth: int = 1) -> None:
        self._source = source
        self._stages = list(stages)
        self._depth = max(1, depth)
        self._stop = threading.Event()
        self._events: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._results = threading.Semaphore(self._depth)
        self._consumer: threading.Thread | None = None

    # -- for the workers ------------------------------------------------------------------------
    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` in the consumer's thread and return its result (directly when called there)."""
        if threading.current_thread() is self._consumer or self._consumer is None:
            return fn()
        box = _Box(fn)
        self._events.put(("call", box))
        while not box.done.wait(_POLL):
            if self._stop.is_set():
                raise _Stopped()
        if box.error is not None:
            raise box.error
        return box.value  # type: ignore[no-any-return]

    def post(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` in the consumer's thread soon, without waiting (its errors are raised there)."""
        if threading.current_thread() is self._consumer or self._consumer is None:
            fn()
            return
        self._events.put(("post", fn))

    # -- threads --------------------------------------------------------------------------------
    def _put(self, q: queue.Queue[Any], item: Any) -> None:
        while True:
            try:
                q.put(item, timeout=_POLL)
                return
            except queue.Full:
                if self._stop.is_set():
                    raise _Stopped() from None

    def _get(self, q: queue.Queue[Any]) -> Any:
        while True:
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                if self._stop.is_set():
                    raise _Stopped() from None

    def _guard(self, body: Callable[[], None], out: queue.Queue[Any] | None) -> Callable[[], None]:
        """Run a thread's body; its exception travels down the stages like an item, so the
        consumer gets every result of the items before it first (in order), then the error."""

        def run() -> None:
            try:
                body()
            except _Stopped:
                pass
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
                try:
                    if out is None:
                        self._events.put(("error", exc))
                    else:
                        self._put(out, _Failed(exc))
                except _Stopped:
                    pass

        return run

    def _produce(self, out: queue.Queue[Any]) -> None:
        for item in self._source:
            self._put(out, item)
        self._put(out, _END)

    def _stage(self, fn: Callable[[Any], Any], inp: queue.Queue[Any], out: queue.Queue[Any] | None) -> None:
        while True:
            item = self._get(inp)
            if item is _END or isinstance(item, _Failed):
                if out is not None:
                    self._put(out, item)
                elif isinstance(item, _Failed):
                    self._events.put(("error", item.error))
                else:
                    self._events.put(("end", None))
                return
            result = fn(item)
            if out is not None:
                self._put(out, result)
            else:
                while not self._results.acquire(timeout=_POLL):
                    if self._stop.is_set():
                        raise _Stopped()
                self._events.put(("result", result))

    # -- for the consumer -----------------------------------------------------------------------
    def run(self) -> Iterator[R]:
        """The results, in order (a generator: the threads start at the first ``next``)."""
        self._consumer = threading.current_thread()
        queues: list[queue.Queue[Any]] = [queue.Queue(maxsize=self._depth) for _ in self._stages]
        threads = [
            threading.Thread(target=self._guard(lambda: self._produce(queues[0]), queues[0]), name="stage-source", daemon=True)
        ]
        for k, fn in enumerate(self._stages):
            out = queues[k + 1] if k + 1 < len(queues) else None
            threads.append(
                threading.Thread(
                    target=self._guard(lambda fn=fn, inp=queues[k], out=out: self._stage(fn, inp, out), out),  # type: ignore[misc]
                    name=f"stage-{k}",
                    daemon=True,
                )
            )
        for t in threads:
            t.start()
        try:
            while True:
                kind, value = self._events.get()
                if kind == "result":
                    self._results.release()
                    yield value
                elif kind == "call":
                    box: _Box = value
                    try:
                        box.value = box.fn()
                    except BaseException as exc:  # noqa: BLE001 - raised in the worker that asked
                        box.error = exc
                    box.done.set()
                elif kind == "post":
                    value()
                elif kind == "error":
                    raise value
                else:  # end
                    return
        finally:
            self._stop.set()
            for t in threads:
                t.join(timeout=5)  # a worker inside a model call ends at its next step
