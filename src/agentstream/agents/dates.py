"""Find the date phrase in a prediction and resolve it to the deadline it allows.

Pure and deterministic: the caller passes ``now`` (an aware datetime in the user's timezone, from
:func:`agentstream.clock.now`); only its wall-clock date is used, and its time only for "in 3
hours". The scanner is a table of ``(regex, resolver)`` rules: each resolver turns a match into a
period (first day, last day), and a shared lead-in ("by", "before", "the end of") picks a day of it.

Rules for ambiguous phrases (tests pin each one):

* A deadline is the LAST day it allows: "by/in/until March 2025" -> 2025-03-31, "by 2027" ->
  2027-12-31, "Q2 2026" -> 2026-06-30, "H1 2026" -> 2026-06-30, "the 2027 NBA championship"
  (a year naming an event) -> 2027-12-31.
* "before X" -> the day before X begins ("before Christmas" -> Dec 24, "before 2027" ->
  2026-12-31); "the start/beginning of X" -> X's first day; "(before) the end of X" -> its last.
* No year given (a month, a date, a holiday, a quarter, a season): the next occurrence whose
  resolved day is not in the past ("by March" on 2025-04-02 -> 2026-03-31, on 2025-03-10 ->
  2025-03-31). A phrase with an explicit year that resolves before today is ignored.
* Weeks run Monday-Sunday: "this week"/"the end of the week" -> this Sunday; "next week" -> next
  week's Sunday; "this weekend" -> this Sunday; "next weekend" -> next week's Sunday.
* "Friday", "on/by Friday", "this Friday" -> the coming Friday, today if today is Friday.
  "next Friday" -> the Friday of next week (on Wed 2025-01-15: this Friday is Jan 17, next Friday
  Jan 24). "coming"/"the next" before week/month/quarter/year mean "next".
* "in/within/after N days|weeks|months|years", "N weeks from now" -> today + N units; months and
  years are calendar units clamped to the month's end (Jan 31 + 1 month -> Feb 28); N is digits,
  one..twelve, "a"/"an" or "a couple of". Hours and minutes are added to now's clock time.
* "this/next month|quarter|year|decade" -> that period's last day (decades run 2020-2029).
* Seasons are meteorological, northern hemisphere: spring Mar-May, summer Jun-Aug, autumn/fall
  Sep-Nov, winter Dec-Feb ("winter 2025" is Dec 2025-Feb 2026). "next summer" is the first summer
  that starts after today. A bare season or month needs a lead-in ("by", "in"...): "may" and
  "fall" are also verbs.
* "3/4/2025" is US month/day unless the first number is over 12. Holidays are US ones
  (Thanksgiving is the 4th Thursday of November); Easter is Western (Gregorian).
* Several phrases: overlapping matches keep the longest ("by March 15, 2025" beats "by March"),
  then the latest date wins, ties going to the first in the text. Verifying too early would mark
  a true call false; verifying late only waits.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

__all__ = ["DateResolution", "find_relative_dates", "resolve_relative_date"]


@dataclass(frozen=True)
class DateResolution:
    """A deadline found in text.

    Attributes:
        date: The last day the phrase allows, never before the ``now`` it was resolved against.
        phrase: The matched text, as written.
        rule: A short human explanation of how ``date`` was chosen.
    """

    date: dt.date
    phrase: str
    rule: str

    def to_dict(self) -> dict[str, str]:
        """A JSON-ready dict: ``{"date": "2025-03-31", "phrase": ..., "rule": ...}``."""
        return {"date": self.date.isoformat(), "phrase": self.phrase, "rule": self.rule}


@dataclass(frozen=True)
class _Span:
    """A period a phrase names, with the words that describe it in a rule."""

    first: dt.date
    last: dt.date
    what: str


# A resolver gets the match, now, and the year to assume when the phrase names none.
_Resolver = Callable[[re.Match[str], dt.datetime, int], _Span | None]


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    resolve: _Resolver
    yearly: bool  # names a day or period of a year, and may leave the year out


# --- calendar arithmetic ------------------------------------------------------------------------


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by calendar months, clamped to the target month's last day."""
    year, index = divmod(day.year * 12 + day.month - 1 + months, 12)
    return dt.date(year, index + 1, min(day.day, calendar.monthrange(year, index + 1)[1]))


def _months(year: int, month: int, count: int, what: str) -> _Span:
    """The ``count`` whole months starting at ``year-month`` (may run into the next year)."""
    first = dt.date(year, month, 1)
    last = _add_months(first, count - 1)
    return _Span(first, _month_end(last.year, last.month), what)


def _day(day: dt.date, what: str) -> _Span:
    return _Span(day, day, what)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The ``n``-th ``weekday`` (Monday=0) of a month; ``n=-1`` is the last."""
    if n < 0:
        last = _month_end(year, month)
        return last - dt.timedelta(days=(last.weekday() - weekday) % 7)
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _easter(year: int) -> dt.date:
    """Western Easter Sunday (the anonymous Gregorian computus)."""
    golden = year % 19
    century, rest = divmod(year, 100)
    leap_c, rem_c = divmod(century, 4)
    moon_fix = (century - (century + 8) // 25 + 1) // 3
    epact = (19 * golden + century - leap_c - moon_fix + 15) % 30
    leap_r, rem_r = divmod(rest, 4)
    weekday = (32 + 2 * rem_c + 2 * leap_r - epact - rem_r) % 7
    shift = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * shift + 114, 31)
    return dt.date(year, month, day + 1)


def _fixed(month: int, day: int, year: int) -> dt.date:
    return dt.date(year, month, day)


def _thanksgiving(year: int) -> dt.date:
    return _nth_weekday(year, 11, 3, 4)


# --- vocabulary ---------------------------------------------------------------------------------

_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4, "apr": 4,
    "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8, "september": 9,
    "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12,
    "dec": 12,
}  # fmt: skip
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a couple": 2,
    "a couple of": 2, "couple of": 2,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
}  # fmt: skip
_SEASONS = {"spring": 3, "summer": 6, "autumn": 9, "fall": 9, "winter": 12}
_HOLIDAYS: tuple[tuple[str, str, Callable[[int], dt.date]], ...] = (
    (r"christmas\s+eve", "Christmas Eve (Dec 24)", partial(_fixed, 12, 24)),
    (r"(?:christmas|xmas)(?:\s+day)?", "Christmas Day (Dec 25)", partial(_fixed, 12, 25)),
    (r"new\s+year['’]?s\s+eve", "New Year's Eve (Dec 31)", partial(_fixed, 12, 31)),
    (r"new\s+year['’]?s(?:\s+day)?|the\s+new\s+year", "New Year's Day (Jan 1)",
     partial(_fixed, 1, 1)),
    (r"valentine['’]?s(?:\s+day)?", "Valentine's Day (Feb 14)", partial(_fixed, 2, 14)),
    (r"easter(?:\s+sunday)?", "Easter Sunday (Western)", _easter),
    (r"memorial\s+day", "Memorial Day (last Monday of May)",
     lambda year: _nth_weekday(year, 5, 0, -1)),
    (r"independence\s+day|(?:the\s+)?fourth\s+of\s+july", "Independence Day (Jul 4)",
     partial(_fixed, 7, 4)),
    (r"labou?r\s+day", "Labor Day (1st Monday of September)",
     lambda year: _nth_weekday(year, 9, 0, 1)),
    (r"halloween", "Halloween (Oct 31)", partial(_fixed, 10, 31)),
    (r"thanksgiving(?:\s+day)?", "Thanksgiving (4th Thursday of November)", _thanksgiving),
    (r"black\s+friday", "Black Friday (the day after Thanksgiving)",
     lambda year: _thanksgiving(year) + dt.timedelta(days=1)),
)  # fmt: skip


def _words(names: Iterable[str]) -> str:
    """A regex alternation of ``names``, longest first so "sept" wins over "sep"."""
    return "|".join(sorted(names, key=len, reverse=True))


# --- regex pieces -------------------------------------------------------------------------------

_BEFORE = {"before", "prior to", "ahead of"}
_PREFIX = (
    r"by|in|on|at|before|until|till|through|during|within|no\s+later\s+than|not\s+later\s+than"
    r"|prior\s+to|ahead\s+of"
)
_EDGE_WORDS = r"(?:the\s+)?(?:very\s+)?(?:end|close|start|beginning)\s+of"
_LEAD = (
    rf"(?:(?P<prefix>{_PREFIX})\s+)?"
    r"(?:(?:the\s+)?(?:very\s+)?(?P<edge>end|close|start|beginning)\s+of\s+)?"
)
_MUST_LEAD = rf"(?=(?:{_PREFIX}|{_EDGE_WORDS})\s)"
_UNITS_AFTER = r"(?!\s*(?:%|percent|points?|pts|dollars|usd|euros?|people|units|shares|miles|km)\b)"
_YEAR = r"(?P<year>(?:19|20|21)\d\d)(?![.,]?\d)" + _UNITS_AFTER
_OF_YEAR = rf"(?:,?\s+(?:of\s+)?{_YEAR})"
_MONTH = rf"(?P<month>{_words(_MONTHS)})(?![a-z])\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_WEEKDAY = rf"(?P<weekday>{_words(_WEEKDAYS)})"
_NUM = r"(?P<n>\d{1,4}|" + _words(_NUMBERS).replace(" ", r"\s+") + ")"
_UNIT = r"(?P<unit>minute|hour|day|week|fortnight|month|year|decade)s?(?:['’]s?\s+time)?"


def _normal(text: str | None) -> str:
    return " ".join((text or "").lower().split())


def _year(m: re.Match[str], year: int) -> int:
    """The year the phrase names, else the assumed one."""
    named = m.groupdict().get("year")
    return int(named) if named else year


# --- resolvers: match -> period -----------------------------------------------------------------


def _iso(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    return _day(dt.date(int(m["year"]), int(m["mon"]), int(m["day"])), "the given date")


def _slashed(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    first, second = int(m["a"]), int(m["b"])
    month, day = (second, first) if first > 12 else (first, second)
    return _day(dt.date(int(m["year"]), month, day), "the given date")


def _month_day(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    month = _MONTHS[m["month"].lower()]
    return _day(dt.date(_year(m, year), month, int(m["day"])), "the given date")


def _month(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    return _months(_year(m, year), _MONTHS[m["month"].lower()], 1, "the named month")


def _quarter(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    groups = m.groupdict()
    number = int(groups["q"]) if groups.get("q") else _ORDINALS[groups["qw"].lower()]
    return _months(_year(m, year), 3 * number - 2, 3, "the named quarter")


def _half(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    groups = m.groupdict()
    number = int(groups["h"]) if groups.get("h") else _ORDINALS[groups["hw"].lower()]
    return _months(_year(m, year), 6 * number - 5, 6, "the named half-year")


def _whole_year(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    return _months(_year(m, year), 1, 12, "the named year")


def _season(m: re.Match[str], now: dt.datetime, year: int) -> _Span | None:
    name = m["season"].lower()
    span = _months(_year(m, year), _SEASONS[name], 3, f"meteorological {name} (northern)")
    if m.groupdict().get("next") and span.first <= now.date():
        return None  # "next summer" must start after today; the caller tries the next year
    return span


def _holiday(on: Callable[[int], dt.date], what: str, m: re.Match[str], now: dt.datetime,
             year: int) -> _Span:  # fmt: skip
    return _day(on(_year(m, year)), what)


def _relative_day(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    words = _normal(m["rel"])
    offset = 2 if "after" in words else 1 if words.startswith("tomorrow") else 0
    what = ("today", "tomorrow", "the day after tomorrow")[offset]
    return _day(now.date() + dt.timedelta(days=offset), what)


def _weekday(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    today, target = now.date(), _WEEKDAYS.index(m["weekday"].lower())
    if "next" in _normal(m["which"]):
        monday = today + dt.timedelta(days=7 - today.weekday())
        return _day(monday + dt.timedelta(days=target), f"{m['weekday'].title()} of next week")
    ahead = (target - today.weekday()) % 7
    return _day(today + dt.timedelta(days=ahead), f"the coming {m['weekday'].title()}")


def _this_period(unit: str, today: dt.date, ahead: int) -> _Span:
    """The week/weekend/month/quarter/year/decade containing today, moved ``ahead`` of them."""
    name = "this " + unit if ahead == 0 else "next " + unit
    if unit in ("week", "weekend"):
        monday = today - dt.timedelta(days=today.weekday() - 7 * ahead)
        first = monday + dt.timedelta(days=5 if unit == "weekend" else 0)
        return _Span(first, monday + dt.timedelta(days=6), name + " (weeks end on Sunday)")
    if unit == "month":
        return _shift(_months(today.year, today.month, 1, name), ahead)
    if unit == "quarter":
        first = dt.date(today.year, today.month - (today.month - 1) % 3, 1)
        return _shift(_months(today.year, first.month, 3, name), 3 * ahead)
    if unit == "decade":
        start = today.year // 10 * 10 + 10 * ahead
        return _months(start, 1, 120, name + f" ({start}-{start + 9})")
    return _months(today.year + ahead, 1, 12, name)


def _relative_period(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    groups = m.groupdict()
    unit = _normal(groups["unit"] or groups["unit2"] or groups["unit3"])
    which = _normal(groups["which"])
    ahead = 1 if which.split(" ")[-1] in ("next", "coming") else 0
    return _this_period(unit, now.date(), ahead)


def _count(text: str | None) -> int:
    """A count written as digits or words; none written ("the next week") means one."""
    words = _normal(text)
    return int(words) if words.isdigit() else _NUMBERS.get(words, 1)


def _duration(m: re.Match[str], now: dt.datetime, year: int) -> _Span:
    n = _count(m.groupdict().get("n"))
    unit = m["unit"].lower()
    what = f"{n} {unit}{'s' if n != 1 else ''} from now"
    if unit in ("minute", "hour"):
        return _day((now + dt.timedelta(**{unit + "s": n})).date(), what)
    if unit in ("day", "week", "fortnight"):
        days = n * {"day": 1, "week": 7, "fortnight": 14}[unit]
        return _day(now.date() + dt.timedelta(days=days), what)
    months = n * {"month": 1, "year": 12, "decade": 120}[unit]
    return _day(_add_months(now.date(), months), what)


def _shift(span: _Span, months: int) -> _Span:
    """``span`` (whole months) moved by ``months``."""
    first = _add_months(span.first, months)
    last = _add_months(dt.date(span.last.year, span.last.month, 1), months)
    return _Span(first, _month_end(last.year, last.month), span.what)


# --- the rule table -----------------------------------------------------------------------------


def _rule(core: str, resolve: _Resolver, *, lead: bool = False, yearly: bool = True) -> _Rule:
    """A rule for ``core`` behind the shared lead-in ("by the end of"), required if ``lead``."""
    must = _MUST_LEAD if lead else ""
    pattern = rf"(?<!\w){must}{_LEAD}(?:{core})(?!\w)"
    return _Rule(re.compile(pattern, re.IGNORECASE), resolve, yearly)


def _own_lead(core: str, resolve: _Resolver) -> _Rule:
    """A rule whose core carries its own lead-in ("in 3 weeks"), so "before" cannot apply."""
    return _Rule(re.compile(rf"(?<!\w)(?:{core})(?!\w)", re.IGNORECASE), resolve, yearly=False)


_IN = r"(?:in|within|after|over|during|inside)(?:\s+the\s+(?:next|coming))?|(?:the\s+)?next"
_NEXT = r"(?:(?P<which>this\s+coming|the\s+coming|coming|this|next)\s+)?"
_PERIOD = (
    r"(?P<which>this|next|coming|current|the|the\s+next|the\s+coming|the\s+current)\s+"
    r"(?P<unit>weekend|week|month|quarter|year|decade)"
    r"|(?P<unit2>week|month|quarter|year)[\s-]end"
    r"|(?<=end of )(?P<unit3>week|month|quarter|year|decade)"
)
_REL_DAY = (
    r"(?P<rel>the\s+day\s+after\s+tomorrow|tomorrow(?:\s+(?:morning|afternoon|evening|night))?"
    r"|today|tonight|this\s+(?:morning|afternoon|evening)|eod|cob"
    r"|(?<=end of )(?:the\s+)?(?:business\s+)?day)"
)
_SEASON = rf"(?P<season>{_words(_SEASONS)})"

# Earlier rules win ties between equally long overlapping matches ("in the coming week" is a
# duration, not "next week").
_RULES: tuple[_Rule, ...] = (
    _own_lead(rf"(?:{_IN})\s+{_NUM}\s+{_UNIT}", _duration),
    _own_lead(rf"{_NUM}\s+{_UNIT}\s+from\s+(?:now|today)", _duration),
    _own_lead(rf"(?:in|within|over|during)\s+the\s+(?:next|coming)\s+{_UNIT}", _duration),
    _rule(r"(?P<year>\d{4})-(?P<mon>\d{1,2})-(?P<day>\d{1,2})(?:T[\d:.]+)?", _iso),
    _rule(r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<year>\d{4})", _slashed),
    _rule(rf"{_MONTH}\s+{_DAY}{_OF_YEAR}?", _month_day),
    _rule(rf"(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}{_OF_YEAR}?", _month_day),
    _rule(rf"{_MONTH}{_OF_YEAR}", _month),
    _rule(_MONTH, _month, lead=True),
    _rule(rf"q(?P<q>[1-4])(?:[\s/-]+(?:of\s+)?{_YEAR})?", _quarter),
    _rule(rf"(?:the\s+)?(?P<qw>{_words(_ORDINALS)})\s+quarter\s+(?:of\s+)?{_YEAR}", _quarter),
    _rule(rf"h(?P<h>[12])(?:[\s/-]+{_YEAR})?", _half),
    _rule(rf"(?:the\s+)?(?P<hw>first|second|1st|2nd)\s+half\s+(?:of\s+)?{_YEAR}", _half),
    _rule(rf"(?:the\s+)?(?:year\s+)?{_YEAR}", _whole_year, lead=True),
    _rule(rf"year[\s-]end\s+{_YEAR}", _whole_year),
    # "the 2027 NBA championship", "the 2028 Olympics": an event of that year, by its end.
    _rule(rf"the\s+{_YEAR}(?=\s+[^\W\d_])", _whole_year),
    _rule(rf"(?:the\s+)?{_SEASON}\s+(?:of\s+)?{_YEAR}", _season),
    _rule(rf"(?:the\s+)?(?:(?P<next>next)\s+|this\s+)?{_SEASON}", _season, lead=True),
    *(
        _rule(rf"(?:{names})(?:,?\s+{_YEAR})?", partial(_holiday, on, what))
        for names, what, on in _HOLIDAYS
    ),
    _rule(_REL_DAY, _relative_day, yearly=False),
    _rule(rf"{_NEXT}{_WEEKDAY}", _weekday, yearly=False),
    _rule(_PERIOD, _relative_period, yearly=False),
)


# --- the engine ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    match: re.Match[str]
    rule: _Rule
    order: int  # the rule's place in the table


def _scan(text: str) -> Iterator[_Hit]:
    for order, rule in enumerate(_RULES):
        for match in rule.pattern.finditer(text):
            yield _Hit(match, rule, order)


def _settle(hits: Iterable[_Hit]) -> list[_Hit]:
    """Of overlapping hits keep the longest (then the earliest rule), in reading order.

    Settled before resolving, so "by March 2024" (in the past) cannot fall back to "by March".
    """
    kept: list[_Hit] = []
    for hit in sorted(hits, key=lambda h: (h.match.start() - h.match.end(), h.order)):
        start, end = hit.match.span()
        if all(end <= k.match.start() or start >= k.match.end() for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.match.start())


def _choose(span: _Span, m: re.Match[str]) -> tuple[dt.date, str]:
    """The day of ``span`` the lead-in picks, and the rule that says why."""
    groups = m.groupdict()
    edge, prefix = _normal(groups.get("edge")), _normal(groups.get("prefix"))
    single = span.first == span.last
    if prefix in _BEFORE and edge not in ("end", "close"):
        begins = "" if single and not edge else "the start of "
        return span.first - dt.timedelta(days=1), f"day before {begins}{span.what}"
    if edge in ("start", "beginning"):
        return span.first, span.what if single else f"start of {span.what}"
    return span.last, span.what if single else f"end of {span.what}"


def _resolve(hit: _Hit, now: dt.datetime) -> DateResolution | None:
    """The hit's deadline, trying later years when it names none; None if it is past."""
    today = now.date()
    yearless = hit.rule.yearly and not hit.match.groupdict().get("year")
    # From last year (winter 2024 ends in Feb 2025) on, far enough for the next Feb 29.
    years = range(today.year - 1, today.year + 5) if yearless else range(today.year, today.year + 1)
    for year in years:
        try:
            span = hit.rule.resolve(hit.match, now, year)
        except (ValueError, OverflowError):
            continue  # no such day that year (Feb 30, Feb 29 2025), or past dt.date.max
        if span is None:
            continue
        day, rule = _choose(span, hit.match)
        if day >= today:
            note = " (no year given: the next one not in the past)" if yearless else ""
            return DateResolution(day, hit.match.group().strip(), rule + note)
    return None


def find_relative_dates(text: str, now: dt.datetime) -> list[DateResolution]:
    """Every deadline phrase in ``text``, in reading order, resolved against ``now``.

    Args:
        text: Free text, such as a whole prediction sentence.
        now: The current moment in the user's timezone (from :func:`agentstream.clock.now`).

    Returns:
        One resolution per phrase (overlaps settled to the longest); phrases that resolve
        before ``now.date()`` are left out.
    """
    found = (_resolve(hit, now) for hit in _settle(_scan(text)))
    return [resolution for resolution in found if resolution is not None]


def resolve_relative_date(text: str, now: dt.datetime) -> DateResolution | None:
    """The deadline a sentence names, resolved against ``now``.

    When several phrases occur, the latest date wins (ties: the first in the text), so a call is
    never verified before its last deadline has passed.

    Args:
        text: Free text, such as "The S&P 500 will reach 6000 points by March 2025".
        now: The current moment in the user's timezone (from :func:`agentstream.clock.now`).

    Returns:
        The resolution, never dated before ``now.date()``, or None when no phrase is found.
    """
    found = find_relative_dates(text, now)
    return max(found, key=lambda resolution: resolution.date) if found else None
