"""Model providers chosen by name: scripted, local aliases, .gguf paths, vendors, unknown names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentstream.errors import BadRequest
from agentstream.models import UnknownModel, create_model
from agentstream.models.local import LocalModel
from agentstream.models.scripted import ScriptedModel


def test_scripted_plays_the_given_turns_without_delay() -> None:
    """'scripted' with a list of turns plays those turns, with no delay by default."""
    turns = [[{"text": "hi"}]]
    model = create_model("scripted", scripted=turns)
    assert isinstance(model, ScriptedModel)
    assert model.turns == turns and model.delay == 0


def test_scripted_with_a_delay_and_a_factory() -> None:
    """'scripted:0.02' sets the delay; a callable is called for the turns."""
    model = create_model("scripted:0.02", scripted=lambda: [[{"text": "made"}]])
    assert model.delay == 0.02 and model.turns == [[{"text": "made"}]]


def test_the_delay_comes_from_the_environment_when_the_name_has_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """AGENTSTREAM_SCRIPTED_DELAY applies to plain 'scripted'; the name's own delay wins."""
    monkeypatch.setenv("AGENTSTREAM_SCRIPTED_DELAY", "0.5")
    assert create_model("scripted").delay == 0.5
    assert create_model("scripted:0.1").delay == 0.1


@pytest.mark.parametrize("turns", [None, []])
def test_scripted_without_turns_says_how_to_get_real_answers(turns: list[object] | None) -> None:
    """No turns (none given, or an empty list): one turn pointing at --model local."""
    ((step,),) = create_model("scripted", scripted=turns).turns
    assert "--model local" in step["text"]


@pytest.mark.parametrize(
    ("spec", "weights"), [("local", "qwen"), ("qwen", "qwen"), ("gemma", "gemma")]
)
def test_local_aliases_pick_their_weights(spec: str, weights: str) -> None:
    """local and qwen are Qwen, gemma is Gemma; nothing is loaded yet."""
    model = create_model(spec)
    assert isinstance(model, LocalModel) and model.config["weights"] == weights


def test_a_gguf_path_is_a_local_model_on_that_file() -> None:
    """A name ending in .gguf is that file, named by its file name."""
    model = create_model("/models/my-model.gguf")
    assert isinstance(model, LocalModel)
    assert model.config["weights"] == "/models/my-model.gguf"
    assert model.config["model_id"] == "my-model.gguf"


def test_openai_takes_the_model_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """'openai:MODEL@URL' gives an OpenAI-compatible model on that server; no key is needed."""
    pytest.importorskip("openai", reason="the openai extra is not installed")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = create_model("openai:qwen2.5@http://127.0.0.1:9/v1")
    assert model.get_config()["model_id"] == "qwen2.5"
    assert str(model.client_args["base_url"]) == "http://127.0.0.1:9/v1"
    assert model.client_args["api_key"] == "not-needed"


def test_bedrock_takes_an_optional_model_id() -> None:
    """'bedrock:ID' sets the model id; plain 'bedrock' keeps Strands' default."""
    model = create_model("bedrock:my-model-id")
    assert model.get_config()["model_id"] == "my-model-id"
    assert create_model("bedrock").get_config()["model_id"]


@pytest.mark.parametrize("spec", ["gpt5", "", "scripted2", "model.bin"])
def test_an_unknown_name_is_a_bad_request_listing_the_choices(spec: str) -> None:
    """Unknown names raise UnknownModel, a BadRequest whose message lists what works."""
    with pytest.raises(UnknownModel, match="use local, qwen, gemma") as exc:
        create_model(spec)
    assert isinstance(exc.value, BadRequest) and exc.value.code == "unknown_model"


def test_importing_the_providers_loads_no_vendor_sdk() -> None:
    """import agentstream.models pulls in neither llama.cpp nor the OpenAI SDK."""
    code = (
        "import sys, agentstream.models; "
        "print([m for m in ('xllamacpp', 'openai') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
