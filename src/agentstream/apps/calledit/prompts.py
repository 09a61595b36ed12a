"""What CalledIt tells the model.

The system prompt is the same for every call (so the engine reuses its cache across calls); what
varies (the call, the timezone, now) is in the user turn. With a single worked example (a stock
price) a small model copied its stock and price into calls about snow or books; with no example
it copied the prompt's own placeholders. So the prompt shows three short examples from unrelated
fields (weather, sport, an announcement) and says to take only their style.
"""

from __future__ import annotations

import re

_HEADER = """\
You are CalledIt's verification expert. A user makes a call (a prediction); you turn it into a
record that anyone can check later.

Work in this order:
1. Call current_time with the user's timezone to learn today's date.
2. If the call names a date or period, call parse_relative_date with the call's text and the
   timezone; its date is the verification date.
3. In your message, think aloud in one or two sentences about this call: what will be observed
   (a measurement or an event, not a forecast), who publishes it, and why that date. Do not
   repeat the call.
4. Then the PredictionRecord: prediction_statement (the call in one precise sentence whose only
   date is the verification date), verification_date (YYYY-MM-DD, never before today), source
   (named outlets or datasets that publish the outcome), criteria (the observed outcome, with
   its number, place and date; never a forecast), steps (what a person does, in order),
   initial_status "pending".

"""

_EXAMPLES = (
    """\
Call: Madrid will top 40C on 2025-07-01
Message: A daily maximum temperature is observed, and AEMET publishes Madrid's station readings.
Record: {"prediction_statement": "Madrid's maximum temperature on 2025-07-01 will exceed 40C.",
"verification_date": "2025-07-01", "verification_method": {"source": ["AEMET daily observations
for Madrid Retiro"], "criteria": ["AEMET's observed maximum at Madrid Retiro on 2025-07-01 is
above 40.0C"], "steps": ["Open AEMET's observations for 2025-07-01", "Read the maximum",
"Compare it with 40.0C"]}, "initial_status": "pending"}
""",
    """\
Call: Arsenal will score more than 80 league goals this season
Message: Goals scored are counted in the final table, which the Premier League publishes.
Record: {"prediction_statement": "Arsenal will score more than 80 goals in the 2024-25 Premier
League.", "verification_date": "2025-05-25", "verification_method": {"source": ["Premier League
official table", "BBC Sport"], "criteria": ["Arsenal's goals scored in the final 2024-25 table
are more than 80"], "steps": ["Open the final table on 2025-05-25", "Read Arsenal's goals
scored", "Compare it with 80"]}, "initial_status": "pending"}
""",
    """\
Call: Nintendo will announce a new console by June
Message: An announcement is an event; Nintendo's press releases and major outlets would report it.
Record: {"prediction_statement": "Nintendo will announce a new console by 2025-06-30.",
"verification_date": "2025-06-30", "verification_method": {"source": ["Nintendo press
releases", "Reuters"], "criteria": ["Nintendo officially announces a new console on or before
2025-06-30"], "steps": ["Search Nintendo's press releases up to 2025-06-30", "Confirm with
Reuters"]}, "initial_status": "pending"}
""",
)
_COUNTS = ("No", "One", "Two", "Three")


def system_prompt(leaving_out: tuple[str, ...] = ()) -> str:
    """The system prompt, without the examples that name any of ``leaving_out``."""
    kept = [e for e in _EXAMPLES if not any(term in e for term in leaving_out)]
    count = f"{_COUNTS[len(kept)]} unrelated example{'' if len(kept) == 1 else 's'}"
    intro = f"{count} of the style (take nothing from them but the style):\n"
    return _HEADER + intro + "".join(kept)


SYSTEM_PROMPT = system_prompt()


# Names that belong to the examples above and to no call that does not name them. A small model
# sometimes copies a whole example (Qwen 1.5B answered "Bitcoin above 150,000" with AEMET's Madrid
# temperatures); the agent checks its record against these and asks again without that
# example (agent.py).
EXAMPLE_TERMS = ("AEMET", "Madrid", "Retiro", "Arsenal", "Premier League", "Nintendo")


def leaked_terms(record_text: str, prediction: str) -> list[str]:
    """The example names that ``record_text`` uses although ``prediction`` does not name them."""
    said = prediction.casefold()
    return [
        term
        for term in EXAMPLE_TERMS
        if term.casefold() not in said
        and re.search(rf"\b{re.escape(term)}\b", record_text, re.IGNORECASE)
    ]


def retry_prompt(prediction: str) -> str:
    """The user turn asking again for a record (after one that copied an example)."""
    return (
        f"Write the PredictionRecord for my call only: {prediction}\n"
        "Name sources that really publish this outcome."
    )


def user_prompt(prediction: str, timezone: str) -> str:
    """The user turn for one call (today's date comes from the current_time tool)."""
    return f"My call: {prediction}\nMy timezone: {timezone}."
