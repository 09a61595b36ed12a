"""Browser fixtures: Debian's Chromium driven by Playwright, and CalledIt servers to point it at.

Playwright's own browser download does not work offline, so the browser is always the system
``/usr/bin/chromium`` (``apt-get install chromium``), launched through ``executable_path``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agentstream.gateway.context import RouteContext
from agentstream.gateway.routes import AgentApp
from agentstream.gateway.settings import Settings
from agentstream.models.engine import ModelError
from agentstream.protocol.events import Event, RunFinished, TextMessageChunk
from tests.conftest import LiveServer, serve

CHROMIUM = Path(os.environ.get("AGENTSTREAM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ROOT = Path(__file__).resolve().parents[2]
# 50 ms per streamed delta: slow enough to watch a run in the middle, fast enough for CI.
DELAY = 0.05


def _chromium() -> Path:
    found = CHROMIUM if CHROMIUM.exists() else Path(shutil.which("chromium") or "/nonexistent")
    if not found.exists():
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    return found


_launched: dict[str, Any] = {}


@pytest.fixture(scope="module")
def browser(request: pytest.FixtureRequest) -> Any:
    """One headless Chromium per test module.

    Other test folders import this fixture. Playwright's sync API runs an event loop on the main
    thread while it is started, which would break every asyncio test after it; module scope stops
    it when the module's tests are done.
    """
    if "browser" not in _launched:
        executable = _chromium()
        from playwright.sync_api import sync_playwright

        playwright = sync_playwright().start()
        _launched["browser"] = playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS
        )

        def stop() -> None:
            _launched.pop("browser").close()
            playwright.stop()

        request.addfinalizer(stop)
    return _launched["browser"]


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    """A fresh browser profile (own storage, so its own CalledIt user) on a desktop screen."""
    ctx = browser.new_context(
        viewport={"width": 1180, "height": 860},
        timezone_id="Europe/Paris",
        locale="en-GB",
        color_scheme="light",
        device_scale_factor=1,
        # Playwright's own helpers (wait_for_function strings, add_style_tag) are blocked by our
        # CSP; test_calledit_page.py::test_the_page_runs_under_its_csp checks the page without it.
        bypass_csp=True,
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    """A page in a fresh profile."""
    return context.new_page()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests write their screenshots: a temp dir, never the tracked docs.

    The docs' screenshots come from ``scripts/screenshots.py`` only when asked (a test run must
    leave the tree clean). ``AGENTSTREAM_SCREENSHOTS=dir`` keeps them somewhere to look at.
    """
    kept = os.environ.get("AGENTSTREAM_SCREENSHOTS")
    folder = Path(kept) if kept else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# -- servers ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Served:
    """A live server plus the event loop it runs on (to act on its connections from a test)."""

    live: LiveServer
    loops: list[asyncio.AbstractEventLoop]

    @property
    def gateway(self) -> Any:
        return self.live.asgi.state.gateway

    def connection_ids(self, user: str) -> list[str]:
        """The ids of the sockets ``user`` has open now."""
        return [c.id for c in list(self.gateway.connections.values()) if c.user == user]

    def drop(self, conn_ids: list[str], code: int = 1012, reason: str = "service restart") -> None:
        """Close these sockets from the server side, as a restart or a proxy would."""
        loop = self.loops[0]
        for conn_id in conn_ids:
            conn = self.gateway.connections.get(conn_id)
            if conn is not None:
                # Connection.close queues the close frame behind what is already queued; it must
                # run on the server's loop, which lives in the server thread.
                loop.call_soon_threadsafe(conn.close, code, reason)


def _with_loop_probe(app: AgentApp, loops: list[asyncio.AbstractEventLoop]) -> AgentApp:
    async def remember_loop(ctx: RouteContext) -> None:
        if not loops:
            loops.append(asyncio.get_running_loop())

    return dataclasses.replace(app, on_connect=[*app.on_connect, remember_loop])


@contextlib.contextmanager
def serve_app(app: AgentApp, settings: Settings) -> Iterator[Served]:
    """Serve ``app`` and keep a handle on its loop."""
    loops: list[asyncio.AbstractEventLoop] = []
    with serve(_with_loop_probe(app, loops), settings) as live:
        yield Served(live, loops)


@pytest.fixture(scope="module")
def calledit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """CalledIt with the scripted model (one delta every 50 ms) and a throwaway SQLite store."""
    from agentstream.apps import load_app

    store = f"sqlite://{tmp_path_factory.mktemp('store') / 'calledit.db'}"
    settings = Settings(model=f"scripted:{DELAY}", detach_grace_s=30, store=store)
    with serve_app(load_app("calledit"), settings) as s:
        yield s


class ModelUnavailable(ModelError):
    """What a provider error looks like once translated at the boundary (a typed leaf)."""

    code: ClassVar[str] = "model_unavailable"
    http_status: ClassVar[int] = 503


def stub_calledit(*, fail: bool, records: dict[str, Any] | None = None) -> AgentApp:
    """CalledIt's page over a stand-in makecall and no call store.

    With ``fail`` the model dies after a few words, as a provider outage would look; without, it
    streams a few words and a fixed record (kept in ``records`` by run id when given).
    """
    from agentstream.apps.calledit.schemas import MakeCall

    static = ROOT / "src" / "agentstream" / "apps" / "calledit" / "static"
    app = AgentApp(name="calledit", title="CalledIt", dialect="calledit", static_dir=static)

    @app.run("makecall", MakeCall)
    async def make_call(request: MakeCall, ctx: RouteContext) -> AsyncIterator[Event]:
        for word in ("Let ", "me ", "check ", "today's ", "date ", "first. "):
            await asyncio.sleep(DELAY)
            yield TextMessageChunk(delta=word)
        if fail:
            raise ModelUnavailable(
                "The model server stopped responding (HTTP 503). Try again in a minute."
            )
        result = {
            "prediction_statement": request.prompt,
            "verification_date": "2099-12-31",
            "verification_method": {
                "source": ["An almanac"],
                "criteria": ["It happened"],
                "steps": ["Look it up"],
            },
            "initial_status": "pending",
        }
        if records is not None and ctx.run is not None:
            records[ctx.run.id] = result
        yield RunFinished(result=result)

    return app


@pytest.fixture(scope="module")
def failing() -> Iterator[Served]:
    """A server whose model fails mid-run and that keeps no calls."""
    with serve_app(stub_calledit(fail=True), Settings(model="scripted", store="none")) as s:
        yield s


@pytest.fixture(scope="module")
def storeless() -> Iterator[Served]:
    """A server that answers calls but keeps none (no /api/calls, no logcall)."""
    with serve_app(stub_calledit(fail=False), Settings(model="scripted", store="none")) as s:
        yield s


# -- a stand-in call store (until the real one lands, and to show every status) -----------------

DAY = 86_400.0
SEEDED_CALLS: list[dict[str, Any]] = [
    {
        "call_id": "c-rain",
        "status": "verified_true",
        "days_ago": 9,
        "record": {
            "prediction_statement": "It will rain in Lisbon on 14 November.",
            "verification_date": "2026-11-14",
        },
        "verdict": {
            "status": "verified_true",
            "verified_at": "2026-11-15",
            "reasoning": "IPMA's daily report for Lisbon shows 6.2 mm of rain on 14 November.",
            "evidence": [],
        },
    },
    {
        "call_id": "c-gold",
        "status": "verified_false",
        "days_ago": 21,
        "record": {
            "prediction_statement": "Gold will close above $3,000 an ounce on 31 October.",
            "verification_date": "2026-10-31",
        },
        "verdict": {
            "status": "verified_false",
            "verified_at": "2026-11-01",
            "reasoning": "LBMA's PM fix on 31 October was $2,742.",
            "evidence": [],
        },
    },
    {
        "call_id": "c-launch",
        "status": "inconclusive",
        "days_ago": 40,
        "record": {
            "prediction_statement": "The new stadium opens before the end of September.",
            "verification_date": "2026-09-30",
        },
        "verdict": {
            "status": "inconclusive",
            "verified_at": "2026-10-01",
            "reasoning": "A soft opening took place, but the official opening date was "
            "not announced.",
            "evidence": [],
        },
    },
    {
        "call_id": "c-snow",
        "status": "pending",
        "days_ago": 2,
        "record": {
            "prediction_statement": "It will snow in Paris on Christmas Day.",
            "verification_date": "2026-12-25",
        },
        "verdict": None,
    },
]


class LogCall(BaseModel):
    """``{"action":"logcall","runId":…}`` as issue 3 describes it."""

    runId: str  # noqa: N815  (the wire's spelling)
    record: dict[str, Any] | None = None


def with_call_store(app: AgentApp, records: dict[str, Any], page_size: int = 3) -> AgentApp:
    """Add ``logcall`` and ``GET /api/calls`` (cursor-paged, newest first) over memory."""
    logged: list[dict[str, Any]] = []
    now = time.time()
    seeded = [
        {
            "call_id": c["call_id"],
            "status": c["status"],
            "verdict": c["verdict"],
            "created_at": now - c["days_ago"] * DAY,
            "record": {
                **c["record"],
                "verification_method": {"source": [], "criteria": [], "steps": []},
            },
        }
        for c in sorted(SEEDED_CALLS, key=lambda c: c["days_ago"])
    ]

    @app.reply("logcall", LogCall)
    async def log_call(request: LogCall, ctx: RouteContext) -> dict[str, Any]:
        record = request.record or records[request.runId]
        call = {
            "call_id": f"c-{len(logged)}",
            "record": record,
            "status": "pending",
            "verdict": None,
            "created_at": time.time(),
        }
        logged.insert(0, call)
        return {"call": call}

    async def list_calls(request: Request) -> JSONResponse:
        calls = logged + seeded
        start = int(request.query_params.get("cursor") or 0)
        end = start + page_size
        return JSONResponse(
            {"calls": calls[start:end], "next": str(end) if end < len(calls) else None}
        )

    app.http_routes.append(Route("/api/calls", list_calls))
    return app


@pytest.fixture(scope="module")
def with_calls() -> Iterator[Served]:
    """A server that keeps calls in memory, seeded with one call of each status."""
    records: dict[str, Any] = {}
    app = with_call_store(stub_calledit(fail=False, records=records), records)
    with serve_app(app, Settings(model="scripted", store="none")) as s:
        yield s
