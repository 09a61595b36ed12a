"""Statuses, reconnect backoff and the browser's user id (agentstream/status.js)."""

from __future__ import annotations

from typing import Any

from tests.web.static.harness import js


def test_backoff_grows_exponentially_stays_within_jitter_and_caps(page: Any) -> None:
    """Each delay lies in [ceiling*(1-jitter), ceiling]; ceilings double up to maxMs."""
    result = js(
        page,
        """
      const opts = { initialMs: 500, maxMs: 15000, factor: 2, jitter: 0.5 };
      const rows = [];
      for (let attempt = 0; attempt < 10; attempt++) {
        rows.push([as.backoffDelay(attempt, opts, () => 0),
                   as.backoffDelay(attempt, opts, () => 0.999999),
                   ...Array.from({ length: 200 }, () => as.backoffDelay(attempt, opts))]);
      }
      return { rows, full: as.backoffDelay(3, { jitter: 1 }, () => 0.999999) };
    """,
    )
    for attempt, (highest, lowest, *samples) in enumerate(result["rows"]):
        ceiling = min(15000, 500 * 2**attempt)
        assert highest == ceiling
        assert lowest == round(ceiling * 0.5)
        assert all(ceiling * 0.5 - 1 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 1  # jittered: reconnecting tabs do not arrive in lockstep
    assert result["rows"][-1][0] == 15000
    assert result["full"] == 0


def test_the_browser_user_id_is_stable(page: Any) -> None:
    """browserUserId returns the same id on every call (it lives in localStorage)."""
    ids = js(
        page, "return [as.browserUserId('k'), as.browserUserId('k'), as.browserUserId('other')];"
    )
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].startswith("u_")
