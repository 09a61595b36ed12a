"""The ``agentstream`` command, run as a real subprocess: ``call`` and ``verify``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from agentstream.apps.calledit.records import CallRow, calls_of
from agentstream.apps.calledit.schemas import PredictionRecord
from agentstream.client import Client
from agentstream.stores import open_store
from tests.conftest import free_port

AGENTSTREAM = str(Path(sys.executable).parent / "agentstream")


def agentstream(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end with a clean clock and store environment."""
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AGENTSTREAM_NOW", "AGENTSTREAM_STORE", "AGENTSTREAM_MODEL")
    }
    return subprocess.run(
        [AGENTSTREAM, *args],
        env=base | (env or {}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def record(statement: str, date: str) -> dict[str, object]:
    """A valid CalledIt record due on ``date``."""
    return {
        "prediction_statement": statement,
        "verification_date": date,
        "verification_method": {
            "source": ["S&P Dow Jones Indices"],
            "criteria": ["A daily close at or above 6000"],
            "steps": ["Open the index history", "Find the highest close"],
        },
        "initial_status": "pending",
    }


async def _save(url: str, *calls: tuple[str, dict[str, object]]) -> list[CallRow]:
    async with open_store(url) as store:
        return [await calls_of(store).save_call(user, rec, run_id=None) for user, rec in calls]


async def _get(url: str, *rows: CallRow) -> list[CallRow]:
    async with open_store(url) as store:
        return [await calls_of(store).get_call(row.user_id, row.call_id) for row in rows]


def test_call_prints_a_valid_record_as_json() -> None:
    """`agentstream call … --json` prints a valid record due at the end of the month named."""
    done = agentstream(
        "call",
        "The S&P 500 will reach 6000 points by March 2025",
        "--timezone",
        "America/New_York",
        "--now",
        "2025-01-15T10:00:00",
        "--model",
        "scripted",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    record = PredictionRecord.model_validate_json(done.stdout)
    assert record.verification_date == "2025-03-31"
    assert record.initial_status == "pending"


def test_verify_due_verifies_and_stores_the_verdicts_of_due_calls(tmp_path: Path) -> None:
    """`verify --due --now 2025-04-02` stores a verdict for the call due 2025-03-31 only."""
    url = f"sqlite://{tmp_path / 'calls.db'}"
    due, later = asyncio.run(
        _save(
            url,
            ("alice", record("The S&P 500 closes at or above 6000 by 2025-03-31.", "2025-03-31")),
            ("bob", record("The S&P 500 closes at or above 7000 by 2025-06-30.", "2025-06-30")),
        )
    )
    done = agentstream(
        "verify", "--due", "--now", "2025-04-02", "--model", "scripted", "--store", url, "--json"
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["call_id"] for line in lines] == [due.call_id]
    assert lines[0]["verdict"]["status"] == "inconclusive"
    stored_due, stored_later = asyncio.run(_get(url, due, later))
    assert stored_due.status == "inconclusive" and stored_due.verdict is not None
    assert stored_due.verdict.evidence == []
    assert "S&P Dow Jones Indices" in stored_due.verdict.reasoning
    assert stored_due.verdict.verified_at.startswith("2025-04-02")
    assert stored_later.status == "pending" and stored_later.verdict is None


def test_verify_reads_the_store_from_the_environment(tmp_path: Path) -> None:
    """With AGENTSTREAM_STORE set, verify prints a line per verified call, then none is left."""
    url = f"sqlite://{tmp_path / 'env.db'}"
    (call,) = asyncio.run(_save(url, ("carol", record("It snows in Paris.", "2025-03-31"))))
    env = {"AGENTSTREAM_STORE": url}
    first = agentstream("verify", "--due", "--now", "2025-04-02", "--model", "scripted", env=env)
    again = agentstream("verify", "--due", "--now", "2025-04-02", "--model", "scripted", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == [
        call.call_id,
        "inconclusive",
        "2025-03-31",
        "It",
        "snows",
        "in",
        "Paris.",
    ]
    assert again.returncode == 0 and again.stdout == ""
    assert "no pending calls due by 2025-04-02" in again.stderr


def test_verify_refuses_a_call_not_yet_due(tmp_path: Path) -> None:
    """`verify --call-id` of a call not yet due exits 1 and says so; --force verifies it."""
    url = f"sqlite://{tmp_path / 'early.db'}"
    (call,) = asyncio.run(_save(url, ("dan", record("It rains in June.", "2025-06-30"))))
    args = (
        "verify",
        "--call-id",
        call.call_id,
        "--user",
        "dan",
        "--now",
        "2025-04-02",
        "--model",
        "scripted",
        "--store",
        url,
    )
    early = agentstream(*args)
    forced = agentstream(*args, "--force")
    assert early.returncode == 1 and "not due until 2025-06-30" in " ".join(early.stderr.split())
    assert forced.returncode == 0 and forced.stdout.startswith(call.call_id)


def test_serve_refuses_a_bad_app_spec_naming_it(tmp_path: Path) -> None:
    """``serve missing.py:app`` exits 2 with a message naming the file, before any model loads."""
    done = agentstream("serve", f"{tmp_path}/missing.py:app", "--model", "scripted")
    assert done.returncode == 2
    assert "no such file" in done.stderr and "missing.py" in done.stderr


def test_call_with_url_streams_from_a_running_server(tmp_path: Path) -> None:
    """``call --url`` asks a running server and prints the record its run finished with."""
    from agentstream.apps import load_app
    from agentstream.gateway.settings import Settings
    from tests.conftest import serve

    with serve(load_app("calledit"), Settings(model="scripted")) as live:
        done = agentstream(
            "call",
            "It will snow in Oslo by next Friday",
            "--url",
            live.ws,
            "--json",
            env={"XDG_CONFIG_HOME": str(tmp_path)},  # its identity file, not the user's
        )
    assert done.returncode == 0, done.stderr
    PredictionRecord.model_validate(json.loads(done.stdout))


def test_call_with_url_refuses_local_only_options_and_names_a_dead_server() -> None:
    """``--url`` with ``--now`` is refused (exit 2); an unreachable server is an error (exit 1)."""
    both = agentstream(
        "call", "It will rain", "--url", "ws://127.0.0.1:9/ws", "--now", "2025-01-01"
    )
    assert both.returncode == 2 and "--url" in both.stderr
    dead = agentstream("call", "It will rain", "--url", "ws://127.0.0.1:9/ws")
    assert dead.returncode == 1 and "ws://127.0.0.1:9/ws" in dead.stderr


RELOAD_APP = """
from pydantic import BaseModel

from agentstream import AgentApp, RouteContext, RunFinished

app = AgentApp(name="reloading")


class Ask(BaseModel):
    text: str


@app.run("ask", Ask)
async def ask(request: Ask, ctx: RouteContext):
    yield RunFinished(result={"version": VERSION})
"""


async def _version(port: int) -> object:
    """The ``version`` a fresh run of the reloading app answers with."""
    async with Client(f"ws://127.0.0.1:{port}/ws", attempts=3) as client:
        run = await client.start("ask", text="which version?")
        async for frame in run:
            if frame["type"] == "RUN_FINISHED":
                return frame["result"]["version"]
    return None


def test_serve_reload_restarts_with_the_edited_app_file(tmp_path: Path) -> None:
    """``serve FILE:app --reload`` answers with the app's new code after the file is edited."""
    app_file = tmp_path / "reloading.py"
    app_file.write_text("VERSION = 1\n" + RELOAD_APP)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTSTREAM_")}
    env["AGENTSTREAM_STORE"] = "none"
    server = subprocess.Popen(
        [AGENTSTREAM, "serve", "reloading.py:app", "--model", "scripted", "--reload"]
        + ["--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            time.sleep(0.2)
        assert asyncio.run(_version(port)) == 1
        app_file.write_text("VERSION = 2\n" + RELOAD_APP)
        seen: object = 1
        while seen != 2 and time.monotonic() < deadline + 60:
            time.sleep(0.5)
            with contextlib.suppress(OSError, Exception):
                seen = asyncio.run(_version(port))
        assert seen == 2
    finally:
        os.killpg(server.pid, 15)
        server.wait(20)
