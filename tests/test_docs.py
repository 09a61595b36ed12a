"""The documentation site builds with ``mkdocs build --strict`` and its API reference covers the
public API, so a broken link or a public name without a reference entry fails the suite."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import agentstream

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS = Path(sys.executable).parent / "mkdocs"


def _nav_pages() -> set[str]:
    """The pages named in mkdocs.yml's nav (``Title: page.md`` lines)."""
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config.split("\nnav:\n", 1)[1].split("\n\n", 1)[0].split("\nvalidation:", 1)[0]
    return set(re.findall(r":\s*(\S+\.md)\s*$", nav, re.M))


def test_the_reference_page_documents_every_public_name() -> None:
    """Each name in ``agentstream.__all__`` has a ``::: agentstream.NAME`` entry, and no more."""
    page = (DOCS / "reference.md").read_text()
    listed = set(re.findall(r"^::: agentstream\.(\w+)\s*$", page, re.M)) - {"client"}
    assert listed == set(agentstream.__all__) - {"__version__"}
    assert re.search(r"^::: agentstream\.client$", page, re.M)


def test_every_page_under_docs_is_in_the_nav() -> None:
    """No page is left out of the site's navigation (and the nav names no missing page)."""
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert _nav_pages() == pages


@pytest.mark.skipif(not MKDOCS.exists(), reason="the docs extra is not installed")
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    """``mkdocs build --strict`` passes: no broken link, anchor or reference name."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [str(MKDOCS), "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "site" / "reference" / "index.html").exists()
    html = (tmp_path / "site" / "reference" / "index.html").read_text()
    assert 'id="agentstream.mount"' in html and 'id="agentstream.client.Client"' in html
