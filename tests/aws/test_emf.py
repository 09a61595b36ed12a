"""EMF lines: the CloudWatch Embedded Metric Format structure, values, namespace and off switch."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from agentstream.aws.emf import Emf, document

# The EMF specification's structure of the ``_aws`` member (docs.aws.amazon.com,
# CloudWatch_Embedded_Metric_Format_Specification), as a JSON schema.
UNITS = ["Seconds", "Microseconds", "Milliseconds", "Bytes", "Count", "Percent", "None"]
EMF_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["_aws"],
    "properties": {
        "_aws": {
            "type": "object",
            "required": ["Timestamp", "CloudWatchMetrics"],
            "properties": {
                "Timestamp": {"type": "integer", "minimum": 0},
                "CloudWatchMetrics": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["Namespace", "Dimensions", "Metrics"],
                        "properties": {
                            "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024},
                            "Dimensions": {
                                "type": "array",
                                "items": {
                                    "type": "array",
                                    "maxItems": 30,
                                    "items": {"type": "string", "minLength": 1},
                                },
                            },
                            "Metrics": {
                                "type": "array",
                                "maxItems": 100,
                                "items": {
                                    "type": "object",
                                    "required": ["Name"],
                                    "properties": {
                                        "Name": {"type": "string", "minLength": 1},
                                        "Unit": {"enum": UNITS},
                                    },
                                },
                            },
                        },
                    },
                },
            },
        }
    },
}


def check_emf(line: str) -> dict[str, Any]:
    """Parse one EMF line and check what CloudWatch requires of it; return the object."""
    body: dict[str, Any] = json.loads(line)
    jsonschema.validate(body, EMF_SCHEMA)
    for directive in body["_aws"]["CloudWatchMetrics"]:
        for dimensions in directive["Dimensions"]:
            assert all(isinstance(body[name], str) for name in dimensions)  # members present
        for metric in directive["Metrics"]:
            assert isinstance(body[metric["Name"]], int | float)
    return body


def test_a_run_line_has_runs_by_state_and_the_timings() -> None:
    """A run's line: Runs under (App, State); EventsSent and both timings under App."""
    lines: list[str] = []
    Emf("calledit", write=lines.append, clock=lambda: 1700000000.5).run_ended(
        "run_1", "finished", run_seconds=2.5, first_event_seconds=0.25, events_sent=12
    )
    body = check_emf(lines[0])
    runs, timings = body["_aws"]["CloudWatchMetrics"]
    assert runs["Dimensions"] == [["App", "State"]] and runs["Metrics"] == [
        {"Name": "Runs", "Unit": "Count"}
    ]
    assert timings["Dimensions"] == [["App"]]
    assert {m["Name"]: m["Unit"] for m in timings["Metrics"]} == {
        "EventsSent": "Count",
        "RunSeconds": "Seconds",
        "FirstEventSeconds": "Seconds",
    }
    assert body["_aws"]["Timestamp"] == 1700000000500
    assert (body["App"], body["State"], body["RunId"]) == ("calledit", "finished", "run_1")
    assert (body["Runs"], body["EventsSent"], body["RunSeconds"]) == (1, 12, 2.5)
    assert body["FirstEventSeconds"] == 0.25


def test_a_run_nobody_saw_has_no_first_event_metric() -> None:
    """Edge: no frame went out, so FirstEventSeconds is absent rather than a made-up value."""
    lines: list[str] = []
    Emf("a", write=lines.append).run_ended(
        "r", "cancelled", run_seconds=1.0, first_event_seconds=None, events_sent=0
    )
    body = check_emf(lines[0])
    assert "FirstEventSeconds" not in body and body["State"] == "cancelled"


def test_connections_count_under_the_app() -> None:
    """$connect and $disconnect each write one Count line with the App dimension."""
    lines: list[str] = []
    emf = Emf("titles", write=lines.append)
    emf.connected()
    emf.disconnected()
    first, second = (check_emf(line) for line in lines)
    assert first["Connections"] == 1 and second["Disconnections"] == 1
    assert first["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["App"]]


def test_lines_go_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    """Lambda sends stdout to CloudWatch Logs: one JSON object per line there."""
    Emf("a").connected()
    (line,) = capsys.readouterr().out.splitlines()
    assert check_emf(line)["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "agentstream"


def test_the_namespace_comes_from_the_environment_and_empty_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AGENTSTREAM_METRICS_NAMESPACE names the namespace; set empty, nothing is written."""
    lines: list[str] = []
    monkeypatch.setenv("AGENTSTREAM_METRICS_NAMESPACE", "shop")
    Emf("a", write=lines.append).connected()
    assert json.loads(lines[0])["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "shop"
    monkeypatch.setenv("AGENTSTREAM_METRICS_NAMESPACE", "")
    Emf("a", write=lines.append).connected()
    assert len(lines) == 1


def test_document_merges_values_and_metrics() -> None:
    """Values (dimensions, properties) and metric values are top-level members."""
    body = document("ns", [(["App"], [("X", 3, "Count")])], {"App": "a", "Note": "n"}, 5)
    assert body == {
        "_aws": {
            "Timestamp": 5,
            "CloudWatchMetrics": [
                {
                    "Namespace": "ns",
                    "Dimensions": [["App"]],
                    "Metrics": [{"Name": "X", "Unit": "Count"}],
                }
            ],
        },
        "App": "a",
        "Note": "n",
        "X": 3,
    }
