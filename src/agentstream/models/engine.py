"""llama.cpp in-process through xllamacpp: one server per weights file, one worker thread each.

Generation runs in the engine's own single worker thread, so requests queue in order and the
asyncio loop never blocks. Chunks are handed to the loop with ``call_soon_threadsafe``; the token
callback returns True (which makes llama.cpp stop) once the caller's cancel signal is set or the
consumer has stopped reading.

xllamacpp is imported lazily, so ``import agentstream`` does not load llama.cpp.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
import time
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from strands.types.exceptions import ContextWindowOverflowException

from agentstream.errors import AgentstreamError
from agentstream.models import weights as weights_mod

logger = logging.getLogger(__name__)

Chunk = dict[str, Any]


class ModelError(AgentstreamError):
    """The model failed: it could not load, the engine rejected a request, or it stopped short."""

    code = "model_error"


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """Server settings fixed when the model is loaded."""

    n_ctx: int = 4096
    threads: int | None = None
    """Threads that generate tokens (default: usable cores minus one)."""
    batch_threads: int | None = None
    """Threads that read the prompt (default: every usable core). Prompt processing is one big
    matrix product per batch, so it uses a second core well even when generation (one token at
    a time, a barrier after every operation) does not."""
    batch: int = 256
    """Prompt tokens per batch: the engine reports progress after each one."""
    slots: int = 4
    """Cached prompts kept at once (each with its own ``n_ctx``). Requests still run one at a
    time; llama.cpp gives each the slot whose prompt shares the longest prefix with it, so up to
    this many apps or agents (CalledIt, the three real-estate specialists…) keep their fixed
    prefix cached instead of evicting each other's."""


@dataclass(slots=True)
class EngineTotals:
    """Work done by an engine since it started, from llama.cpp's own timings (for benchmarks)."""

    prompt_tokens: int = 0
    prompt_ms: float = 0.0
    cached_tokens: int = 0
    generated_tokens: int = 0
    generation_ms: float = 0.0
    chunks: int = 0
    """Chunks handed to callers (tests count those that follow a cancel)."""

    def add(self, timings: dict[str, Any]) -> None:
        """Count one finished request's ``timings``."""
        self.prompt_tokens += int(timings.get("prompt_n", 0))
        self.prompt_ms += float(timings.get("prompt_ms", 0.0))
        self.cached_tokens += int(timings.get("cache_n", 0))
        self.generated_tokens += int(timings.get("predicted_n", 0))
        self.generation_ms += float(timings.get("predicted_ms", 0.0))


class _Done:
    """Queue sentinel: the generation job has returned."""


_DONE = _Done()


class Engine:
    """One xllamacpp ``Server`` (loaded lazily) and the thread that drives it."""

    def __init__(self, weights: str, settings: EngineSettings) -> None:
        """Prepare an engine for ``weights``; nothing is loaded until first use."""
        self.weights = weights
        self.settings = settings
        self.path: Path | None = None
        self.load_seconds: float | None = None
        self.progress: weights_mod.Progress | None = None
        """Reports weights assembly when the model loads on first use."""
        self._server: Any = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentstream-llm")
        self._jobs = 0
        self._jobs_lock = threading.Lock()
        self.totals = EngineTotals()

    @property
    def busy(self) -> bool:
        """True while a generation is queued or running on this engine."""
        with self._jobs_lock:
            return self._jobs > 0

    async def load(self, progress: weights_mod.Progress | None = None) -> Path:
        """Resolve the weights and start the server (in the worker thread), if not done yet."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._ensure_server, progress)

    def _ensure_server(self, progress: weights_mod.Progress | None = None) -> Path:
        if self._server is not None and self.path is not None:
            return self.path
        path = weights_mod.resolve(self.weights, progress or self.progress)
        started = time.monotonic()
        self._server = _start_server(path, self.settings)
        self.path, self.load_seconds = path, time.monotonic() - started
        logger.info("weights=%s load_s=%.2f | local model loaded", path.name, self.load_seconds)
        return path

    async def stream(
        self, request: dict[str, Any], cancel: threading.Event | None
    ) -> AsyncGenerator[Chunk, None]:
        """Run a streaming completion ``request``; yield its chunks as they arrive.

        Args:
            request: An OpenAI-style completion request for llama.cpp (``stream`` is set here).
            cancel: Stops generation at the next token once set (from any thread).

        Yields:
            Completion chunks; the last carries ``finish_reason`` and ``usage`` unless cancelled.

        Raises:
            ModelError: The engine rejected the request or failed.
            ContextWindowOverflowException: The prompt does not fit the context window.
        """
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Chunk | _Done | BaseException] = asyncio.Queue()
        stopped = threading.Event()

        def push(item: Chunk | _Done | BaseException) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is closed: nobody will read any more
                stopped.set()

        def should_stop() -> bool:
            return stopped.is_set() or (cancel is not None and cancel.is_set())

        with self._jobs_lock:
            self._jobs += 1
        job = self._executor.submit(self._generate, {**request, "stream": True}, push, should_stop)
        job.add_done_callback(self._job_done)
        try:
            while not isinstance(item := await queue.get(), _Done):
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            # Don't wait for the thread here: it notices at its next token and stops by itself.
            stopped.set()

    def _job_done(self, job: Future[None]) -> None:
        with self._jobs_lock:
            self._jobs -= 1
        if not job.cancelled() and (exc := job.exception()) is not None:
            logger.error("weights=%s | generation job failed: %r", self.weights, exc)

    def _generate(
        self,
        request: dict[str, Any],
        push: Callable[[Chunk | _Done | BaseException], None],
        should_stop: Callable[[], bool],
    ) -> None:
        """Worker thread: load if needed, generate, and push chunks (or an error) to the loop."""
        try:
            if should_stop():
                return
            self._ensure_server()
            failure: list[BaseException] = []

            def on_chunk(chunk: Chunk) -> bool:
                if "error" in chunk:
                    failure.append(_engine_error(chunk["error"]))
                    return True
                if isinstance(chunk.get("timings"), dict):
                    self.totals.add(chunk["timings"])
                self.totals.chunks += 1
                push(chunk)
                return should_stop()

            result = self._server.handle_completions(request, on_chunk)
            if isinstance(result, dict) and "error" in result:
                failure.append(_engine_error(result["error"]))
            if failure:
                push(failure[0])
        except (weights_mod.WeightsError, ModelError) as exc:
            push(exc)
        except Exception as exc:  # any engine failure is reported to the caller, not lost
            logger.debug("weights=%s | engine failure", self.weights, exc_info=True)
            push(ModelError(f"local model failed: {exc}"))
        finally:
            push(_DONE)


def _start_server(path: Path, settings: EngineSettings) -> Any:
    """A started xllamacpp server for the weights at ``path``."""
    try:
        import xllamacpp  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelError(
            "the local model needs xllamacpp: pip install 'agentstream[local]'"
        ) from exc
    threads = settings.threads or default_threads()
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.n_ctx = settings.n_ctx * settings.slots
    params.n_parallel = settings.slots
    # Keep idle slots' caches in place (saving them to RAM and clearing them lost the reuse).
    params.cache_idle_slots = False
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = settings.batch_threads or usable_cores()
    params.n_batch = params.n_ubatch = settings.batch
    params.verbosity = 3 if logger.isEnabledFor(logging.DEBUG) else 0
    # The embedded server also listens on 127.0.0.1 (CORS open to all origins). A random key
    # keeps browsers and other local processes out; in-process calls are not affected.
    params.api_keys = [secrets.token_urlsafe(24)]
    try:
        return xllamacpp.Server(params)
    except Exception as exc:  # xllamacpp raises plain built-ins for a bad file or settings
        raise ModelError(f"could not load the model {path}: {exc}") from exc


def default_threads() -> int:
    """llama.cpp threads: one per usable core but one (at least 1, at most 8).

    llama.cpp's threads meet at a barrier after every operation, so if any of them waits for a
    core the whole step waits. Leaving a core free for the event loop (and anything else on the
    machine) costs little when idle and avoids collapse under load: on 2 busy cores, Gemma 270M
    measured 2-9 tok/s with 2 threads and 26-48 tok/s with 1 (66-70 vs 47 when idle).
    """
    return max(1, min(usable_cores() - 1, 8))


def usable_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _engine_error(error: Any) -> Exception:
    """Our exception for an engine error payload."""
    message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
    kind = error.get("type", "") if isinstance(error, dict) else ""
    if kind == "exceed_context_size_error" or "context size" in message:
        return ContextWindowOverflowException(message)
    return ModelError(f"local model error: {message}")


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(
    weights: str, settings: EngineSettings, progress: weights_mod.Progress | None = None
) -> Engine:
    """The process-wide engine for ``weights`` (created on first call, loaded on first use).

    Settings apply when the engine is first created; later different settings are logged and
    ignored, since a loaded model is shared by every caller.
    """
    key = weights if weights in weights_mod.SPECS else str(Path(weights).expanduser().resolve())
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _ENGINES[key] = Engine(key, settings)
        elif engine.settings != settings:
            logger.warning(
                "weights=%s | model already created with %s; ignoring %s",
                key,
                engine.settings,
                settings,
            )
        engine.progress = engine.progress or progress
        return engine
