"""Server settings: defaults, and the ``AGENTSTREAM_*`` environment variables that override them."""

from __future__ import annotations

import pytest

from agentstream.gateway.settings import MAX_MESSAGE_BYTES, Settings

ENV = (
    "AGENTSTREAM_MODEL",
    "AGENTSTREAM_STORE",
    "AGENTSTREAM_DETACH_GRACE",
    "AGENTSTREAM_COALESCE_MS",
    "AGENTSTREAM_RUNS_PER_MINUTE",
    "AGENTSTREAM_FRAMES_PER_SECOND",
    "AGENTSTREAM_MAX_CONNECTIONS_PER_IP",
    "AGENTSTREAM_MAX_CONNECTIONS_PER_USER",
    "AGENTSTREAM_IDLE_TIMEOUT",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults_without_environment(clean_env: pytest.MonkeyPatch) -> None:
    """With no variables set: local model, default store, 60 s grace, no coalescing."""
    settings = Settings()
    assert settings.model == "local"
    assert settings.store is None
    assert settings.detach_grace_s == 60
    assert settings.coalesce_s == 0
    assert settings.max_message_bytes == MAX_MESSAGE_BYTES == 128 * 1024
    assert (settings.send_queue_frames, settings.log_capacity) == (4096, 10_000)
    assert (settings.run_ttl_s, settings.connection_ttl_s) == (24 * 3600, 2 * 3600)


def test_environment_variables_override_the_defaults(clean_env: pytest.MonkeyPatch) -> None:
    """Model, store, grace and coalescing window come from AGENTSTREAM_* when set."""
    clean_env.setenv("AGENTSTREAM_MODEL", "scripted")
    clean_env.setenv("AGENTSTREAM_STORE", "sqlite:///tmp/x.db")
    clean_env.setenv("AGENTSTREAM_DETACH_GRACE", "2.5")
    clean_env.setenv("AGENTSTREAM_COALESCE_MS", "40")
    settings = Settings()
    assert settings.model == "scripted"
    assert settings.store == "sqlite:///tmp/x.db"
    assert settings.detach_grace_s == 2.5
    assert settings.coalesce_s == pytest.approx(0.040)


def test_empty_numeric_variables_mean_the_default(clean_env: pytest.MonkeyPatch) -> None:
    """A variable set to the empty string is treated as unset, not as an error."""
    clean_env.setenv("AGENTSTREAM_DETACH_GRACE", "")
    clean_env.setenv("AGENTSTREAM_COALESCE_MS", "")
    settings = Settings()
    assert (settings.detach_grace_s, settings.coalesce_s) == (60, 0)


def test_the_environment_is_read_when_settings_are_made(clean_env: pytest.MonkeyPatch) -> None:
    """Each Settings reads the environment afresh (defaults are factories, not import-time)."""
    before = Settings()
    clean_env.setenv("AGENTSTREAM_MODEL", "scripted")
    assert (before.model, Settings().model) == ("local", "scripted")


def test_explicit_arguments_win_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    """A CLI flag passed as an argument beats the variable."""
    clean_env.setenv("AGENTSTREAM_MODEL", "scripted")
    clean_env.setenv("AGENTSTREAM_DETACH_GRACE", "9")
    settings = Settings(model="local", detach_grace_s=1)
    assert (settings.model, settings.detach_grace_s) == ("local", 1)


def test_limit_defaults_and_their_variables(clean_env: pytest.MonkeyPatch) -> None:
    """Rate limits, connection caps and the idle timeout have safe defaults and env overrides."""
    settings = Settings()
    assert (settings.runs_per_minute, settings.frames_per_second) == (60, 50)
    assert (settings.max_connections_per_ip, settings.max_connections_per_user) == (200, 100)
    assert settings.idle_timeout_s == 600
    for name, value in zip(ENV[4:], ("5", "7", "3", "2", "1.5"), strict=True):
        clean_env.setenv(name, value)
    settings = Settings()
    assert (settings.runs_per_minute, settings.frames_per_second) == (5, 7)
    assert (settings.max_connections_per_ip, settings.max_connections_per_user) == (3, 2)
    assert settings.idle_timeout_s == 1.5
