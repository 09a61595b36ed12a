"""CalledIt's pure helpers: dates, countdowns, tool summaries, engine progress (format.js).

The rest of the page's modules (page, composer, callview, card, transcript, logcall, mycalls)
touch the DOM and the socket; tests/e2e/test_calledit_page.py and test_calledit_state.py drive
them through the real page.
"""

from __future__ import annotations

from typing import Any

import pytest


def fmt(page: Any, body: str) -> Any:
    """Run ``body`` with ``f`` bound to format.js."""
    return page.evaluate(f"async () => {{ const f = await import('/app/format.js'); {body} }}")


def test_a_date_is_local_midnight_not_utc(page: Any) -> None:
    """'2027-03-31' is 31 March at 00:00 local time; junk is null."""
    got = fmt(
        page,
        """const d = f.localDate('2027-03-31');
           return [d.getFullYear(), d.getMonth(), d.getDate(), d.getHours(),
                   f.localDate('2027-3'), f.localDate(null)];""",
    )
    assert got == [2027, 2, 31, 0, None, None]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2027-03-30T23:59:00", ["0 h 1 min", "to go"]),
        ("2027-03-31T00:00:00", ["Today", "verification day"]),
        ("2027-03-31T23:59:00", ["Today", "verification day"]),
        ("2027-04-01T00:00:00", ["Due", "since yesterday"]),
        ("2027-03-29T12:00:00", ["1 day, 12 h", "to go"]),
    ],
)
def test_the_countdown_on_each_side_of_the_day(page: Any, now: str, expected: list[str]) -> None:
    """The minute before the day counts down; the day itself is 'Today'; the day after is due."""
    got = fmt(
        page, f"const c = f.countdown('2027-03-31', new Date('{now}')); return [c.text, c.sub];"
    )
    assert got == expected


def test_engine_progress_reads_real_counts(page: Any) -> None:
    """A prompt progress value gives the fraction read and its numbers; anything else is null."""
    got = fmt(
        page,
        """return [
          f.promptProgress({stage: 'prompt', processed: 256, total: 1024, cached: 128}),
          f.promptProgress({stage: 'prompt', processed: 1024, total: 1024, cached: 0}),
          f.promptProgress({stage: 'prompt', processed: 5, total: 0}),
          f.promptProgress({stage: 'generate', processed: 1, total: 2}),
          f.promptProgress(null)];""",
    )
    assert got[0] == {"fraction": 0.25, "detail": "256 / 1,024 prompt tokens, 128 cached"}
    assert got[1] == {"fraction": 1, "detail": "1,024 / 1,024 prompt tokens"}
    assert got[2:] == [None, None, None]


def test_a_tool_result_is_summarised_by_its_date(page: Any) -> None:
    """A date result reads as a day (with its time when given); an error as its message."""
    got = fmt(
        page,
        """return [f.resultSummary('{"date": "2027-03-31"}'),
                   f.resultSummary('{"date": "2026-11-30", "iso": "2026-11-30T15:50:00+01:00"}'),
                   f.resultSummary('{"error": "no date found"}'),
                   f.toolDate('{"date": "2027-03-31"}'), f.toolDate('not json')];""",
    )
    assert got == [
        "Wed, 31 Mar 2027",
        "Mon, 30 Nov 2026 15:50",
        "no date found",
        "2027-03-31",
        None,
    ]
