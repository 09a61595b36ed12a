"""The CalledIt page in real Chromium: streaming, tools, the record card, stop, reconnect, errors.

Each test drives the page as a person would and asserts on what is on screen, including states in
the middle of a run. Screenshots go to a temp dir (see the ``screenshots`` fixture); the docs'
come from ``scripts/screenshots.py``.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.apps.calledit.copying import copy_the_first_record
from tests.e2e.conftest import Served
from tests.identities import as_user, user_in_cookie

PROMPT = "Bitcoin will close above $150,000 by the end of March"

TRANSCRIPT_TEXT = (
    "() => [...document.querySelectorAll('#transcript .seg')].map(s => s.textContent).join('')"
)


# -- helpers ----------------------------------------------------------------------------------


def open_page(page: Any, served: Served, path: str = "/") -> Any:
    """Load the page and wait until its socket is live."""
    page.goto(served.live.http + path)
    page.wait_for_selector("#conn[data-status='live']")
    return page


def make_call(page: Any, prompt: str = PROMPT) -> None:
    """Type a call and send it with Enter, as a keyboard user would."""
    page.fill("#prompt", prompt)
    page.press("#prompt", "Enter")


def transcript(page: Any) -> str:
    """The streamed text on screen (tool chips excluded)."""
    text: str = page.evaluate(TRANSCRIPT_TEXT)
    return text


def user_of(page: Any) -> str:
    """The page's anonymous user id (runs belong to it), read from its identity cookie."""
    return user_in_cookie(page.context.cookies())


def wait_finished(page: Any) -> None:
    """Wait for the record card to be complete."""
    page.wait_for_selector("body[data-run-state='finished']")
    page.wait_for_selector("#card[aria-busy='false']")


def shoot(page: Any, folder: Path, name: str, full_page: bool = False) -> None:
    """A screenshot with animations settled (so it shows the page, not a frame of a transition)."""
    page.screenshot(
        path=str(folder / name), animations="disabled", full_page=full_page, caret="hide"
    )


def calls_endpoint_exists(served: Served) -> bool:
    """Whether the server keeps calls yet (issue 3: stores)."""
    response = httpx.get(f"{served.live.http}/api/calls")
    return response.status_code != 404


class Observer:
    """A WebSocket client that follows a run from its first frame and never drops."""

    def __init__(self, served: Served, user: str, run_id: str) -> None:
        self.frames: list[dict[str, Any]] = []
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._follow,
            args=(served.live.ws, as_user(served.live, user), run_id),
            daemon=True,
        )
        self._thread.start()

    def _follow(self, url: str, headers: dict[str, str], run_id: str) -> None:
        try:
            with connect(f"{url}?dialect=calledit", additional_headers=headers) as ws:
                ws.send(json.dumps({"action": "resume", "runId": run_id, "lastSeq": 0}))
                while True:
                    frame = json.loads(ws.recv(timeout=30))
                    if frame.get("runId") != run_id or "seq" not in frame:
                        continue
                    self.frames.append(frame)
                    if frame["type"] in ("complete", "error"):
                        return
        except BaseException as exc:  # reported by text()
            self.error = exc

    def text(self) -> str:
        """The run's whole text, once it ended."""
        self._thread.join(30)
        if self.error is not None:
            raise self.error
        return "".join(f["content"] for f in self.frames if f["type"] == "text")


# -- tests ------------------------------------------------------------------------------------


def test_the_page_runs_under_its_csp(browser: Any, calledit: Served) -> None:
    """With the CSP enforced the page goes live and makes a call, with no CSP violation."""
    ctx = browser.new_context(viewport={"width": 1180, "height": 860})
    try:
        page = ctx.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(message.text))
        open_page(page, calledit)
        make_call(page)
        page.wait_for_selector("#run")
    finally:
        ctx.close()
    assert not [line for line in console if "Content Security Policy" in line], console


def test_empty_page_detects_the_timezone_and_is_ready(
    page: Any, calledit: Served, screenshots: Path
) -> None:
    """The empty page is live, focused on the prompt, with the browser's timezone preselected."""
    open_page(page, calledit)
    assert page.eval_on_selector("#timezone", "s => s.value") == "Europe/Paris"
    assert page.evaluate("() => document.activeElement.id") == "prompt"
    assert page.get_by_role("textbox", name="Your call").is_visible()
    assert page.get_by_role("status").filter(has_text="Live").count() == 1
    assert page.locator("#run").is_hidden()
    shoot(page, screenshots, "empty.png")


def test_text_streams_in_before_the_run_finishes_then_the_card_fills(
    page: Any, calledit: Served, screenshots: Path
) -> None:
    """Text shows while the run is still going, tool chips show their input, then the card."""
    open_page(page, calledit)
    make_call(page)

    # Mid-run: some text on screen, no record yet.
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 0")
    assert page.get_attribute("body", "data-run-state") == "streaming"
    assert page.locator("#card-foot").is_hidden()
    early = transcript(page)

    # Tools run with their input, and the deadline lands on the card before the record does.
    chips = page.locator("#transcript .tool")
    chips.nth(1).wait_for()
    assert chips.nth(0).get_attribute("data-tool") == "current_time"
    assert "timezone: Europe/Paris" in chips.nth(0).inner_text()
    assert chips.nth(1).get_attribute("data-tool") == "parse_relative_date"
    assert PROMPT[:20] in chips.nth(1).inner_text()
    page.wait_for_selector("#card-date time")
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > {len(early)}")
    assert page.get_attribute("body", "data-run-state") == "streaming"
    assert page.locator("#card-statement .skeleton").count() == 1  # statement not in yet
    shoot(page, screenshots, "streaming.png")

    wait_finished(page)
    final = transcript(page)
    assert final.startswith(early) and len(final) > len(early)
    assert page.locator("#transcript .tool[data-status='success']").count() == 2
    card = page.locator("#card")
    assert card.locator("#card-statement").inner_text() == PROMPT.rstrip(".") + "."
    iso = card.locator("#card-date time").get_attribute("datetime")
    assert iso is not None and iso.endswith("-03-31")
    assert "to go" in card.locator("#card-countdown").inner_text()
    assert card.locator("#card-sources li").count() == 2
    assert card.locator("#card-criteria li").count() == 1
    assert card.locator("#card-steps li").count() == 3
    assert card.locator("#card-badge").inner_text() == "Pending"
    assert page.locator("#progress-text").inner_text().startswith("Record ready")
    page.mouse.move(0, 0)
    shoot(page, screenshots, "finished.png", full_page=True)


def test_auto_scroll_follows_the_stream_until_the_reader_scrolls_up(
    page: Any, calledit: Served
) -> None:
    """The transcript sticks to the newest text, stays put once scrolled up, and offers a jump."""
    open_page(page, calledit)
    page.add_style_tag(content="#transcript { max-height: 4.5rem; }")  # make it overflow early
    make_call(page)
    box = "document.querySelector('#transcript')"
    at_bottom = f"(t => t.scrollHeight - t.scrollTop - t.clientHeight < 28)({box})"
    page.wait_for_function(f"() => {box}.scrollHeight > {box}.clientHeight + 40")
    assert page.evaluate(at_bottom)

    page.evaluate(f"() => {{ {box}.scrollTop = 0; }}")
    shown = len(transcript(page))
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > {shown}")
    assert page.evaluate(f"() => {box}.scrollTop") == 0
    jump = page.get_by_role("button", name="Jump to latest")
    jump.wait_for()

    jump.click()
    page.wait_for_function(f"() => {at_bottom}")
    assert jump.is_hidden()


def test_stop_halts_the_stream(page: Any, calledit: Served) -> None:
    """Stop cancels the run: the text freezes at what the server sent before it stopped."""
    open_page(page, calledit)
    make_call(page)
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 0")
    run_id = page.get_attribute("#run", "data-run-id")
    page.get_by_role("button", name="Stop").click()

    page.wait_for_selector("body[data-run-state='cancelled']")
    assert page.locator("#notice").inner_text().startswith("You stopped this call")
    assert page.locator("#card").is_hidden()
    assert page.get_by_role("button", name="Make call").is_visible()

    run = calledit.gateway.runs.get(run_id, user_of(page))
    assert run is not None and run.state.value == "cancelled"
    sent = "".join(
        getattr(e, "delta", "") for e in run.log.after(0) if e.type == "TEXT_MESSAGE_CHUNK"
    )
    assert transcript(page) == sent
    assert "I'll name sources" not in sent  # it really stopped before the end of the script


def test_escape_stops_a_call_started_from_the_keyboard(page: Any, calledit: Served) -> None:
    """Keyboard only: type, Enter to send, Escape to stop."""
    open_page(page, calledit)
    page.keyboard.type("It will snow in Paris on Christmas Day")
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 0")
    page.keyboard.press("Escape")
    page.wait_for_selector("body[data-run-state='cancelled']")
    assert page.locator("#progress-text").inner_text() == "Stopped"


def test_a_dropped_socket_reconnects_and_the_text_matches_a_client_that_never_dropped(
    page: Any, calledit: Served
) -> None:
    """The server drops the socket mid-run; the page says so, resumes, and loses nothing."""
    open_page(page, calledit)
    make_call(page)
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 0")
    run_id = page.get_attribute("#run", "data-run-id")
    user = user_of(page)
    page_sockets = calledit.connection_ids(user)
    assert len(page_sockets) == 1
    observer = Observer(calledit, user, run_id)
    assert page.get_attribute("body", "data-run-state") == "streaming"

    calledit.drop(page_sockets)
    page.wait_for_selector("#conn[data-status='reconnecting']")
    assert "reconnecting" in page.locator("#progress-text").inner_text().lower()
    page.wait_for_selector("#conn[data-status='live']")

    wait_finished(page)
    assert transcript(page) == observer.text()
    assert page.locator("#transcript .tool").count() == 2
    assert page.locator("#card-steps li").count() == 3


def test_offline_shows_retry_and_the_run_completes_once_back_online(
    page: Any, context: Any, calledit: Served, screenshots: Path
) -> None:
    """Network gone: the page says Offline with Retry now; back online, the run completes."""
    open_page(page, calledit)
    make_call(page)
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 0")
    run_id = page.get_attribute("#run", "data-run-id")
    observer = Observer(calledit, user_of(page), run_id)

    context.set_offline(True)
    page.wait_for_selector("#conn[data-status='offline']")
    assert page.get_attribute("body", "data-run-state") == "streaming"
    assert page.locator("#progress-text").inner_text().startswith("Offline")
    retry = page.get_by_role("button", name="Retry now")
    assert retry.is_visible()
    page.mouse.move(0, 0)
    shoot(page, screenshots, "offline.png")

    context.set_offline(False)
    page.wait_for_selector("#conn[data-status='live']")
    wait_finished(page)
    assert retry.is_hidden()
    assert transcript(page) == observer.text()


def test_a_reload_mid_run_picks_the_call_back_up(page: Any, calledit: Served) -> None:
    """Reloading the page mid-run replays the run so far and follows it to the end."""
    open_page(page, calledit)
    make_call(page)
    page.wait_for_function(f"() => ({TRANSCRIPT_TEXT})().length > 0")
    run_id = page.get_attribute("#run", "data-run-id")
    observer = Observer(calledit, user_of(page), run_id)
    page.reload()
    wait_finished(page)
    assert page.get_attribute("#run", "data-run-id") == run_id
    assert transcript(page) == observer.text()
    assert page.input_value("#prompt") == PROMPT


def test_an_empty_call_is_refused_next_to_the_prompt(page: Any, calledit: Served) -> None:
    """Sending nothing shows an error by the prompt, announced to screen readers."""
    open_page(page, calledit)
    page.get_by_role("button", name="Make call").click()
    error = page.get_by_role("alert")
    assert "Write your call first" in error.inner_text()
    assert page.get_attribute("#prompt", "aria-invalid") == "true"
    page.keyboard.type("x")
    assert error.is_hidden()


def test_a_model_failure_shows_an_error_and_a_way_to_retry(
    page: Any, failing: Served, screenshots: Path
) -> None:
    """A run that fails keeps its partial text and explains the failure with a Try again button."""
    open_page(page, failing)
    make_call(page, "The Lakers will win at least 50 games this season")
    page.wait_for_selector("body[data-run-state='failed']")
    notice = page.locator("#notice")
    assert notice.get_attribute("data-tone") == "danger"
    assert "couldn’t finish this call" in notice.inner_text()
    assert "HTTP 503" in notice.inner_text() and "model_unavailable" in notice.inner_text()
    assert transcript(page) == "Let me check today's date first. "
    assert page.locator("#card").is_hidden()
    page.mouse.move(0, 0)
    shoot(page, screenshots, "error.png")

    page.get_by_role("button", name="Try again").click()
    page.wait_for_selector("body[data-run-state='streaming']")
    page.wait_for_selector("body[data-run-state='failed']")


def test_without_a_call_store_my_calls_and_log_call_stay_hidden(
    page: Any, storeless: Served
) -> None:
    """A server with no /api/calls shows neither the My Calls tab nor a Log Call button."""
    open_page(page, storeless)
    make_call(page, "It will rain in Lisbon tomorrow")
    wait_finished(page)
    assert page.locator("#card-statement").inner_text() == "It will rain in Lisbon tomorrow"
    assert page.get_by_role("tab").count() == 0
    assert page.get_by_role("button", name="Log Call").count() == 0
    assert page.get_by_role("button", name="Copy as JSON").is_visible()


def test_phone_sized_dark_page_fits_the_screen(
    browser: Any, calledit: Served, screenshots: Path
) -> None:
    """On a 390 px phone in dark mode the finished card fits without sideways scrolling."""
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        color_scheme="dark",
        timezone_id="America/New_York",
        locale="en-US",
    )
    try:
        page = ctx.new_page()
        open_page(page, calledit)
        assert page.eval_on_selector("#timezone", "s => s.value") == "America/New_York"
        make_call(page, "Apple ships a foldable iPhone by the end of next year")
        wait_finished(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(13, 16, 23)"
        shoot(page, screenshots, "phone-dark.png", full_page=True)
    finally:
        ctx.close()


def test_finished_card_in_dark_mode(browser: Any, calledit: Served, screenshots: Path) -> None:
    """Dark mode renders the finished card with the dark palette."""
    ctx = browser.new_context(
        viewport={"width": 1180, "height": 860},
        color_scheme="dark",
        timezone_id="Europe/London",
        locale="en-GB",
    )
    try:
        page = ctx.new_page()
        open_page(page, calledit)
        make_call(page, "It will snow in London on Christmas Day")
        wait_finished(page)
        card = page.evaluate(
            "() => getComputedStyle(document.querySelector('#card')).backgroundColor"
        )
        assert card == "rgb(21, 26, 36)"
        page.mouse.move(0, 0)
        shoot(page, screenshots, "finished-dark.png", full_page=True)
    finally:
        ctx.close()


SEEDED = [
    (
        "It will rain in Lisbon today",
        "verified_true",
        "IPMA's observations for Lisbon show 4.8 mm of rain today.",
    ),
    (
        "The ECB leaves its deposit rate unchanged today",
        "verified_false",
        "The ECB cut its deposit rate by 0.25 points at today's meeting.",
    ),
    (
        "Porto and Benfica draw their match today",
        "inconclusive",
        "The match was postponed because of the storm, so there is no result to check.",
    ),
]


def seed_calls(served: Served, user: str) -> None:
    """Make, log and judge a few calls for ``user`` through the public API (socket and HTTP)."""
    headers = as_user(served.live, user)
    with connect(f"{served.live.ws}?dialect=calledit", additional_headers=headers) as ws:
        for prompt, _, _ in SEEDED:
            ws.send(json.dumps({"action": "makecall", "prompt": prompt, "timezone": "UTC"}))
        runs: list[str] = []
        finished = 0
        while finished < len(SEEDED):
            frame = json.loads(ws.recv(timeout=30))
            if frame.get("status") == "started":
                runs.append(frame["runId"])  # a socket's runs start in the order asked
            finished += frame["type"] in ("complete", "error") and "runId" in frame
        call_ids = []
        for run_id in runs:
            ws.send(json.dumps({"action": "logcall", "runId": run_id}))
            answer = json.loads(ws.recv(timeout=10))
            assert answer["type"] == "logcall_result", answer
            call_ids.append(answer["call"]["call_id"])
    for call_id, (_, status, reasoning) in zip(call_ids, SEEDED, strict=True):
        response = httpx.post(
            f"{served.live.http}/api/calls/{call_id}/verdict",
            headers=headers,
            json={"status": status, "reasoning": reasoning, "evidence": []},
        )
        assert response.status_code == 200, response.text


def test_log_call_then_my_calls_lists_it(page: Any, calledit: Served, screenshots: Path) -> None:
    """Log Call saves the record; My Calls lists it first as Pending, older calls with verdicts."""
    if not calls_endpoint_exists(calledit):
        pytest.skip("GET /api/calls answers 404: the call store (issue 3) is not served yet")
    open_page(page, calledit)
    seeding = threading.Thread(target=seed_calls, args=(calledit, user_of(page)))
    seeding.start()  # alongside the call below: both stream at 50 ms a word
    make_call(page)
    wait_finished(page)
    seeding.join(30)
    page.get_by_role("button", name="Log Call").click()
    page.wait_for_selector("#logcall[data-done]")
    page.get_by_role("link", name="See it in My Calls").click()

    items = page.locator("#calls .call")
    items.nth(3).wait_for()
    assert page.get_by_role("tab", name="My Calls").get_attribute("aria-selected") == "true"
    assert items.first.locator(".call-statement").inner_text() == PROMPT.rstrip(".") + "."
    badges = [items.nth(i).locator(".badge").inner_text() for i in range(4)]
    assert badges == ["Pending", "Inconclusive", "Missed", "Called it"]
    assert "postponed" in items.nth(1).locator(".verdict").inner_text()
    page.mouse.move(0, 0)
    shoot(page, screenshots, "my-calls.png", full_page=True)


def test_my_calls_shows_status_badges_verdicts_and_pages(page: Any, with_calls: Served) -> None:
    """My Calls renders each status as its badge, shows verdicts, and loads the next page."""
    open_page(page, with_calls, "/#calls")
    items = page.locator("#calls .call")
    items.nth(2).wait_for()
    assert page.get_by_role("tab", name="My Calls").get_attribute("aria-selected") == "true"
    badges = [items.nth(i).locator(".badge").inner_text() for i in range(3)]
    assert badges == ["Pending", "Called it", "Missed"]
    assert "6.2 mm of rain" in items.nth(1).locator(".verdict").inner_text()
    assert items.nth(0).locator(".verdict").count() == 0

    page.get_by_role("button", name="Load more").click()
    items.nth(3).wait_for()
    assert items.nth(3).locator(".badge").inner_text() == "Inconclusive"
    assert page.get_by_role("button", name="Load more").is_hidden()
    summary = page.locator("#calls-summary").inner_text()
    assert summary.startswith("4 calls") and "1 called · 1 missed" in summary


def test_a_draft_that_copied_an_example_is_struck_through_and_redone(
    page: Any, calledit: Served, monkeypatch: pytest.MonkeyPatch, screenshots: Path
) -> None:
    """The copied draft stays on screen struck through; the card shows the second record."""
    asked = copy_the_first_record(monkeypatch)
    open_page(page, calledit)
    make_call(page)
    wait_finished(page)
    page.screenshot(path=str(screenshots / "discarded-draft.png"))
    discarded = page.locator("#transcript .seg-discarded")
    assert discarded.count() == 1 and "AEMET" in discarded.inner_text()
    assert (
        page.evaluate(
            "getComputedStyle(document.querySelector('.seg-discarded')).textDecorationLine"
        )
        == "line-through"
    )
    assert "AEMET" not in page.locator("#card").inner_text()
    assert asked[1] in page.locator("#card-sources").inner_text()
