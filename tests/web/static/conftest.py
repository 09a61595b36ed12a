"""Fixtures for the web client's tests: the session's Chromium and a page serving the modules."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import browser  # noqa: F401  (the session's Chromium)
from tests.web.static.harness import static_page


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:  # noqa: F811
    """A blank page on a fake origin that serves the static modules from the source tree."""
    ctx, page = static_page(browser)
    yield page
    ctx.close()
