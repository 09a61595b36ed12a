"""The llama.cpp engine: its worker thread, stop signals, error mapping, settings and totals.

The slow tests run the real Gemma 3 270M weights through ``LocalModel`` (the engine's only
caller) and judge stops by chunks counted, never by wall-clock time.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from strands.types.exceptions import ContextWindowOverflowException

from agentstream.models import engine as engine_mod
from agentstream.models.engine import (
    Engine,
    EngineSettings,
    EngineTotals,
    default_threads,
    get_engine,
)
from agentstream.models.engine import (
    ModelError as EngineModelError,
)
from agentstream.models.local import LocalModel, ModelError
from tests.models.conftest import collect, gemma, slow, user, wait_idle


@slow
async def test_closing_the_stream_stops_generation() -> None:
    """A consumer that stops reading makes the engine stop at its next token."""
    model = gemma(400)
    stream = model.stream(user("Count to one hundred."))
    async for event in stream:
        if "contentBlockDelta" in event:
            break
    await stream.aclose()
    chunks_at_close = model.engine.totals.chunks
    assert await wait_idle(model)
    assert model.engine.totals.chunks - chunks_at_close <= 2  # of up to 400 tokens asked for


@slow
async def test_cancel_signal_set_before_start_generates_nothing() -> None:
    """A request whose cancel signal is already set ends without generating anything."""
    signal = threading.Event()
    signal.set()
    events = await collect(gemma(), user("Hi"), cancel_signal=signal)
    assert events == [{"messageStart": {"role": "assistant"}}]


@slow
async def test_event_loop_keeps_ticking_during_generation() -> None:
    """Generation runs off the loop: a 10 ms ticker keeps ticking while tokens flow."""
    ticks: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    token_times: list[float] = []
    async for event in gemma(64).stream(user("Tell a story.")):
        if "contentBlockDelta" in event:
            token_times.append(time.monotonic())
    done.set()
    await task
    during = [t for t in ticks if token_times[0] < t < token_times[-1]]
    assert len(token_times) > 10
    # A loop blocked by generation would tick once or twice in all; a free one ticks between
    # tokens (counted, not timed: the machine is shared).
    assert len(during) >= 10


@slow
async def test_prompt_over_the_context_window_is_a_strands_overflow() -> None:
    """A prompt longer than n_ctx raises Strands' overflow error, so the agent can trim history."""
    with pytest.raises(ContextWindowOverflowException, match="context size"):
        await collect(gemma(), user("word " * 6000))  # over n_ctx whichever test loaded it first


@slow
async def test_corrupt_weights_file_is_a_model_error(tmp_path: Path) -> None:
    """A file that is not a GGUF model fails with ModelError (llama.cpp does not crash us)."""
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + bytes(4096))
    model = LocalModel(str(bad))
    with pytest.raises(ModelError, match="could not load the model"):
        await model.load()
    with pytest.raises(ModelError, match="^could not load the model"):
        await collect(model, user("Hi"))


def test_import_does_not_load_llama_cpp() -> None:
    """Importing agentstream and the local model module does not import xllamacpp."""
    code = "import sys, agentstream.models.local; print('xllamacpp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


class StubServer:
    """Stands in for xllamacpp's Server: replays chunks, records what the engine asked and heard."""

    def __init__(self, chunks: list[dict[str, Any]], result: Any = None) -> None:
        self.chunks, self.result = chunks, result
        self.requests: list[dict[str, Any]] = []
        self.stopped_after: int | None = None
        self.pause_after: int | None = None
        self.resume = threading.Event()

    def handle_completions(self, request: dict[str, Any], on_chunk: Any) -> Any:
        self.requests.append(request)
        for n, chunk in enumerate(self.chunks, 1):
            if on_chunk(chunk):
                self.stopped_after = n
                break
            if n == self.pause_after:
                self.resume.wait(60)  # until the test has acted on chunk n (a hang bound only)
        return self.result


def stub_engine(server: StubServer) -> Engine:
    engine = Engine("stub", EngineSettings())
    engine._server, engine.path = server, Path("stub.gguf")
    return engine


async def test_chunks_stream_in_order_and_the_request_asks_for_streaming() -> None:
    """Every chunk arrives in order; the request gains stream=True; the engine ends idle."""
    server = StubServer([{"n": 1}, {"n": 2, "timings": {"prompt_n": 5, "predicted_n": 2}}])
    engine = stub_engine(server)
    got = [chunk async for chunk in engine.stream({"prompt": "p"}, None)]
    assert got == server.chunks and server.requests == [{"prompt": "p", "stream": True}]
    assert (engine.totals.chunks, engine.totals.prompt_tokens) == (2, 5)
    # The one worker runs jobs in order: once a no-op ran, the stream's job (and its done
    # callback) has finished.
    await asyncio.wrap_future(engine._executor.submit(lambda: None))
    assert not engine.busy


async def test_a_cancel_set_mid_stream_stops_the_engine_at_the_next_chunk() -> None:
    """Once the cancel signal is set, the token callback asks llama.cpp to stop."""
    server = StubServer([{"n": n} for n in range(1, 100)])
    server.pause_after = 3
    engine, cancel = stub_engine(server), threading.Event()
    async for chunk in engine.stream({}, cancel):
        if chunk["n"] == 3:
            cancel.set()
            server.resume.set()
    assert server.stopped_after == 4


async def test_an_error_chunk_is_raised_as_a_model_error_and_stops_generation() -> None:
    """A chunk with an error payload stops llama.cpp and reaches the caller as ModelError."""
    server = StubServer([{"n": 1}, {"error": {"message": "boom"}}, {"n": 3}])
    engine = stub_engine(server)
    got: list[dict[str, Any]] = []
    with pytest.raises(EngineModelError, match="^local model error: boom$"):
        async for chunk in engine.stream({}, None):
            got.append(chunk)
    assert got == [{"n": 1}] and server.stopped_after == 2


async def test_an_error_result_is_raised_after_the_chunks() -> None:
    """An error in the final result arrives after the chunks that came before it."""
    engine = stub_engine(StubServer([{"n": 1}], result={"error": "bad grammar"}))
    got: list[dict[str, Any]] = []
    with pytest.raises(EngineModelError, match="bad grammar"):
        async for chunk in engine.stream({}, None):
            got.append(chunk)
    assert got == [{"n": 1}]


@pytest.mark.parametrize(
    "error",
    [
        {"type": "exceed_context_size_error", "message": "too long"},
        {"message": "the request exceeds the available context size"},
        "prompt exceeds context size",
    ],
)
def test_context_errors_become_strands_overflow(error: Any) -> None:
    """An overflow (by type or by message) is Strands' overflow, so the agent can trim history."""
    assert isinstance(engine_mod._engine_error(error), ContextWindowOverflowException)


def test_other_engine_errors_are_model_errors_with_the_engines_message() -> None:
    """Other payloads become ModelError carrying the engine's message."""
    error = engine_mod._engine_error({"type": "server_error", "message": "oops"})
    assert isinstance(error, EngineModelError) and str(error) == "local model error: oops"


def test_totals_add_up_llama_cpp_timings() -> None:
    """Each finished request adds its prompt, cache and generation counts; missing ones are 0."""
    totals = EngineTotals()
    totals.add({"prompt_n": 10, "prompt_ms": 5.5, "cache_n": 4, "predicted_n": 7})
    totals.add({"prompt_n": 1, "predicted_ms": 2.0})
    assert (totals.prompt_tokens, totals.cached_tokens, totals.generated_tokens) == (11, 4, 7)
    assert (totals.prompt_ms, totals.generation_ms) == (5.5, 2.0)


@pytest.mark.parametrize(("cores", "threads"), [(1, 1), (2, 1), (3, 2), (9, 8), (64, 8)])
def test_default_threads_leave_one_core_free_within_1_to_8(
    monkeypatch: pytest.MonkeyPatch, cores: int, threads: int
) -> None:
    """One thread per usable core but one, never under 1 nor over 8."""
    monkeypatch.setattr(engine_mod, "usable_cores", lambda: cores)
    assert default_threads() == threads


def test_one_engine_per_weights_and_later_settings_are_ignored(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """get_engine shares one engine per weights; different settings later are logged, not used."""
    # Weights no other test has asked for: the engine cache is process-wide.
    weights = str(tmp_path / "only-here.gguf")
    first = get_engine(weights, EngineSettings(n_ctx=2048))
    with caplog.at_level("WARNING", logger="agentstream.models.engine"):
        again = get_engine(weights, EngineSettings(n_ctx=1024))
    assert again is first and first.settings.n_ctx == 2048
    assert "ignoring" in caplog.text
    assert get_engine("./x.gguf", EngineSettings()) is get_engine(
        str(Path("x.gguf").resolve()), EngineSettings()
    )
