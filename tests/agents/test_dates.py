"""Tests for agentstream.agents.dates: date phrases in predictions resolve to deadlines."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentstream.agents.dates import DateResolution, find_relative_dates, resolve_relative_date

NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 15 January 2025, 10:00 in New York.
NOW = dt.datetime(2025, 1, 15, 10, 0, tzinfo=NEW_YORK)


def at(iso: str, zone: str = "America/New_York") -> dt.datetime:
    """A naive ISO timestamp read in ``zone``."""
    return dt.datetime.fromisoformat(iso).replace(tzinfo=ZoneInfo(zone))


# (sentence, phrase matched, expected date), all against NOW.
CASES = [
    # The examples.
    ("The S&P 500 will reach 6000 points by March 2025", "by March 2025", "2025-03-31"),
    ("Apple will announce a foldable iPhone next Friday", "next Friday", "2025-01-24"),
    ("Bitcoin will pass $120k in 3 weeks", "in 3 weeks", "2025-02-05"),
    ("Inflation drops below 2% by the end of the year", "by the end of the year", "2025-12-31"),
    ("It will snow in Boston before Christmas", "before Christmas", "2025-12-24"),
    ("Nvidia will report record revenue in Q2 2026", "in Q2 2026", "2026-06-30"),
    ("Analysts expect a Q2 2026 beat", "Q2 2026", "2026-06-30"),
    ("The Knicks will beat the Celtics tomorrow", "tomorrow", "2025-01-16"),
    # Named months, quarters, halves and years.
    ("Rates will be cut in March 2025", "in March 2025", "2025-03-31"),
    ("Oil hits $100 by March", "by March", "2025-03-31"),
    ("The merger closes in May", "in May", "2025-05-31"),
    ("Gold will top $3000 by Jan. 2026", "by Jan. 2026", "2026-01-31"),
    ("Earnings beat estimates by Q2 2026", "by Q2 2026", "2026-06-30"),
    ("Sales will double in Q4", "in Q4", "2025-12-31"),
    ("The chip ships by the third quarter of 2025", "by the third quarter of 2025", "2025-09-30"),
    ("Margins improve in H1 2026", "in H1 2026", "2026-06-30"),
    ("Layoffs end by the second half of 2025", "by the second half of 2025", "2025-12-31"),
    ("Self-driving taxis launch in London by 2027", "by 2027", "2027-12-31"),
    ("Mars gets a crewed landing in 2027", "in 2027", "2027-12-31"),
    ("Fusion power reaches the grid by the year 2030", "by the year 2030", "2030-12-31"),
    ("The bill passes before 2027", "before 2027", "2026-12-31"),
    ("The index ends higher by the end of 2025", "by the end of 2025", "2025-12-31"),
    ("Housing prices fall by year-end 2025", "by year-end 2025", "2025-12-31"),
    ("The Lakers will win the 2027 NBA championship", "the 2027", "2027-12-31"),
    ("The 2028 Olympics open in Los Angeles", "The 2028", "2028-12-31"),
    ("The startup raises a round by the start of 2026", "by the start of 2026", "2026-01-01"),
    ("Tickets sell out before March 2025", "before March 2025", "2025-02-28"),
    # Exact dates.
    ("The launch happens by March 15", "by March 15", "2025-03-15"),
    ("The launch happens by March 15, 2025", "by March 15, 2025", "2025-03-15"),
    ("The launch happens by March 15th 2025", "by March 15th 2025", "2025-03-15"),
    ("The vote is on 2025-03-15", "on 2025-03-15", "2025-03-15"),
    ("The vote is by 15 March 2025", "by 15 March 2025", "2025-03-15"),
    ("The vote is by the 15th of March", "by the 15th of March", "2025-03-15"),
    ("The vote is on 3/15/2025", "on 3/15/2025", "2025-03-15"),
    ("The vote is on 15/3/2025", "on 15/3/2025", "2025-03-15"),
    ("Tesla stock doubles by Sept 30", "by Sept 30", "2025-09-30"),
    ("Tickets go on sale by Jan 10", "by Jan 10", "2026-01-10"),
    # Holidays.
    ("The toy sells out on Christmas Day", "on Christmas Day", "2025-12-25"),
    ("The toy sells out by Christmas Eve", "by Christmas Eve", "2025-12-24"),
    ("A snowstorm hits on New Year's Eve", "on New Year's Eve", "2025-12-31"),
    ("A new CEO is named by the new year", "by the new year", "2026-01-01"),
    ("The costume trend peaks by Halloween", "by Halloween", "2025-10-31"),
    ("Turkey prices rise by Thanksgiving", "by Thanksgiving", "2025-11-27"),
    ("Retail sales set a record on Black Friday", "on Black Friday", "2025-11-28"),
    ("Chocolate prices rise by Easter 2026", "by Easter 2026", "2026-04-05"),
    ("Chocolate prices rise before Easter", "before Easter", "2025-04-19"),
    ("Gas prices peak by the Fourth of July", "by the Fourth of July", "2025-07-04"),
    ("Pools open by Memorial Day", "by Memorial Day", "2025-05-26"),
    ("Schools reopen after Labor Day 2025", "Labor Day 2025", "2025-09-01"),
    # Seasons (meteorological, northern hemisphere).
    ("The film is released by summer 2026", "by summer 2026", "2026-08-31"),
    ("Leaves turn early in the fall", "in the fall", "2025-11-30"),
    ("Heating costs fall by winter", "by winter", "2025-02-28"),
    ("The stadium opens by next summer", "by next summer", "2025-08-31"),
    ("Ski resorts open in winter 2025", "in winter 2025", "2026-02-28"),
    # Days and weekdays (NOW is a Wednesday).
    ("The Fed speaks today", "today", "2025-01-15"),
    ("The game goes to overtime tonight", "tonight", "2025-01-15"),
    ("The deal is signed by end of day", "by end of day", "2025-01-15"),
    ("The court rules the day after tomorrow", "the day after tomorrow", "2025-01-17"),
    ("The jobs report surprises this Friday", "this Friday", "2025-01-17"),
    ("The jobs report surprises on Friday", "on Friday", "2025-01-17"),
    ("The Lakers win on Sunday", "on Sunday", "2025-01-19"),
    ("The update ships next Monday", "next Monday", "2025-01-20"),
    ("The update ships before Friday", "before Friday", "2025-01-16"),
    ("The market rallies next Wednesday", "next Wednesday", "2025-01-22"),
    # Weeks, months, quarters, years relative to now.
    ("Prices rise next week", "next week", "2025-01-26"),
    ("The bill is signed by the end of the week", "by the end of the week", "2025-01-19"),
    ("The bill is signed by the end of next week", "by the end of next week", "2025-01-26"),
    ("The team trades its star this weekend", "this weekend", "2025-01-19"),
    ("The team trades its star before the weekend", "before the weekend", "2025-01-17"),
    ("Unemployment falls next month", "next month", "2025-02-28"),
    ("Unemployment falls by the end of the month", "by the end of the month", "2025-01-31"),
    ("Unemployment falls by the start of next month", "by the start of next month", "2025-02-01"),
    ("Revenue grows next quarter", "next quarter", "2025-06-30"),
    ("Revenue grows by the end of this quarter", "by the end of this quarter", "2025-03-31"),
    ("A recession starts next year", "next year", "2026-12-31"),
    (
        "Quantum computers break RSA by the end of the decade",
        "by the end of the decade",
        "2029-12-31",
    ),
    # Durations.
    ("The stock doubles within 3 weeks", "within 3 weeks", "2025-02-05"),
    ("The stock doubles in three weeks", "in three weeks", "2025-02-05"),
    ("The stock doubles in 10 days", "in 10 days", "2025-01-25"),
    ("The stock doubles in 2 months", "in 2 months", "2025-03-15"),
    ("The stock doubles in a year", "in a year", "2026-01-15"),
    ("The stock doubles in an hour", "in an hour", "2025-01-15"),
    ("The stock doubles in a fortnight", "in a fortnight", "2025-01-29"),
    ("The stock doubles in a couple of weeks", "in a couple of weeks", "2025-01-29"),
    ("The stock doubles in twelve months", "in twelve months", "2026-01-15"),
    ("The stock doubles over the next 5 days", "over the next 5 days", "2025-01-20"),
    ("The stock doubles within the next year", "within the next year", "2026-01-15"),
    ("The stock doubles two weeks from now", "two weeks from now", "2025-01-29"),
    ("The stock doubles in 3 weeks' time", "in 3 weeks' time", "2025-02-05"),
    ("THE STOCK DOUBLES BY MARCH 2025", "BY MARCH 2025", "2025-03-31"),
]


@pytest.mark.parametrize(("sentence", "phrase", "expected"), CASES, ids=[c[1] for c in CASES])
def test_phrase_in_sentence(sentence: str, phrase: str, expected: str) -> None:
    """Each phrase, inside a whole prediction, resolves to its last allowed day."""
    resolution = resolve_relative_date(sentence, NOW)
    assert resolution is not None
    assert (resolution.phrase, resolution.date.isoformat()) == (phrase, expected)


@pytest.mark.parametrize(
    ("sentence", "now", "expected"),
    [
        ("by March", at("2025-04-02T09:00"), "2026-03-31"),
        ("by March", at("2025-03-10T09:00"), "2025-03-31"),
        ("before Christmas", at("2025-12-26T09:00"), "2026-12-24"),
        ("before Christmas", at("2025-12-25T09:00"), "2026-12-24"),
        ("on Christmas Day", at("2025-12-25T09:00"), "2025-12-25"),
        ("by Feb 29", at("2025-01-15T09:00"), "2028-02-29"),
        ("in Q1", at("2025-05-01T09:00"), "2026-03-31"),
        ("by next summer", at("2025-07-01T09:00"), "2026-08-31"),
        ("this Friday", at("2025-01-17T09:00"), "2025-01-17"),
        ("next Friday", at("2025-01-17T09:00"), "2025-01-24"),
        ("next Friday", at("2025-01-19T09:00"), "2025-01-24"),
        ("next week", at("2025-01-19T09:00"), "2025-01-26"),
        ("in 1 month", at("2025-01-31T09:00"), "2025-02-28"),
        ("in 1 month", at("2024-01-31T09:00"), "2024-02-29"),
        ("in a year", at("2024-02-29T09:00"), "2025-02-28"),
        ("next quarter", at("2025-11-20T09:00"), "2026-03-31"),
        ("in 3 hours", at("2025-01-15T23:30"), "2025-01-16"),
        ("by the end of the year", at("2025-12-31T23:59"), "2025-12-31"),
    ],
)
def test_other_nows(sentence: str, now: dt.datetime, expected: str) -> None:
    """Rolling to next year, month clamping and week edges depend on the day it is."""
    resolution = resolve_relative_date(sentence, now)
    assert resolution is not None
    assert resolution.date.isoformat() == expected


def test_tomorrow_depends_on_the_users_timezone() -> None:
    """At 23:30 in New York it is already the next day in UTC, so "tomorrow" differs by a day."""
    new_york = at("2025-01-15T23:30")
    utc = new_york.astimezone(dt.UTC)
    assert resolve_relative_date("It rains tomorrow", new_york) == DateResolution(
        dt.date(2025, 1, 16), "tomorrow", "tomorrow"
    )
    resolution = resolve_relative_date("It rains tomorrow", utc)
    assert resolution is not None and resolution.date == dt.date(2025, 1, 17)


@pytest.mark.parametrize(
    "sentence",
    [
        "The S&P 500 will reach 6000 points",
        "Prices will fall sharply",
        "It may rain on the parade",
        "Protesters will march on city hall",
        "The Dow will rise by 2030 points",
        "They finish the 2030 km race",
        "Flying cars arrive in the 2030s",
        "Unemployment rises by 2025 percent",
        "Our team will score in the first half",
        "The Jets win in the fourth quarter",
        "",
    ],
)
def test_no_date(sentence: str) -> None:
    """Sentences without a date phrase (verbs like "may", "fall", "march" included) give None."""
    assert resolve_relative_date(sentence, NOW) is None


@pytest.mark.parametrize(
    "sentence", ["by March 2024", "on 2024-12-31", "before 2025", "by Christmas 2024", "by Feb 30"]
)
def test_past_or_impossible_dates_are_ignored(sentence: str) -> None:
    """An explicit date already past, or one that does not exist, is not a deadline."""
    assert resolve_relative_date(sentence, NOW) is None


def test_past_year_is_not_replaced_by_a_shorter_match() -> None:
    """ "by March 2024" must not fall back to "by March" (next year's March)."""
    assert find_relative_dates("by March 2024", NOW) == []


def test_latest_deadline_wins() -> None:
    """With several phrases the latest date wins, so a call is never verified too early."""
    sentence = "Starting tomorrow, Tesla will rally and pass $300 by March 2025"
    resolution = resolve_relative_date(sentence, NOW)
    assert resolution is not None and resolution.phrase == "by March 2025"


def test_longest_overlapping_phrase_wins() -> None:
    """Overlapping matches keep the most specific one: a full date beats its month."""
    resolutions = find_relative_dates("by March 15, 2025", NOW)
    assert [r.phrase for r in resolutions] == ["by March 15, 2025"]


def test_ties_go_to_the_first_phrase() -> None:
    """Two phrases for the same day keep the first one in the text."""
    resolution = resolve_relative_date("on Christmas Day, i.e. by December 25, 2025", NOW)
    assert resolution is not None and resolution.phrase == "on Christmas Day"


def test_find_lists_every_phrase_in_reading_order() -> None:
    """find_relative_dates returns each phrase once, left to right."""
    found = find_relative_dates("next Friday, then by March 2025, then tomorrow", NOW)
    assert [r.phrase for r in found] == ["next Friday", "by March 2025", "tomorrow"]


def test_to_dict_is_json_ready() -> None:
    """to_dict gives ISO date, matched phrase and rule."""
    resolution = resolve_relative_date("The S&P 500 will reach 6000 points by March 2025", NOW)
    assert resolution is not None
    assert resolution.to_dict() == {
        "date": "2025-03-31",
        "phrase": "by March 2025",
        "rule": "end of the named month",
    }


def test_rule_says_when_a_year_was_assumed() -> None:
    """A phrase without a year explains that the next occurrence was taken."""
    resolution = resolve_relative_date("before Christmas", NOW)
    assert resolution is not None
    assert resolution.rule.startswith("day before Christmas Day")
    assert "no year given" in resolution.rule


PHRASES = [phrase for _, phrase, _ in CASES] + ["by Feb 29", "in Q1", "before Friday", "Easter"]
ZONES = ["UTC", "America/New_York", "Asia/Tokyo", "Pacific/Kiritimati", "Pacific/Pago_Pago"]


@settings(max_examples=300, deadline=None)
@given(
    phrase=st.sampled_from(PHRASES),
    moment=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2150, 12, 31)),
    zone=st.sampled_from(ZONES),
)
def test_never_before_today(phrase: str, moment: dt.datetime, zone: str) -> None:
    """For any phrase, any now and any timezone, a resolved date is never before today."""
    now = moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
    resolution = resolve_relative_date(f"I predict it happens {phrase}.", now)
    if resolution is not None:
        assert resolution.date >= now.date()


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_any_text_is_safe(text: str) -> None:
    """Arbitrary text never raises and never resolves to a past date."""
    resolution = resolve_relative_date(text, NOW)
    assert resolution is None or resolution.date >= NOW.date()
