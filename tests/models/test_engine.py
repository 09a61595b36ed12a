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

import pytest
from strands.types.exceptions import ContextWindowOverflowException

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
