"""Running an app's page in real Chromium from tests that also use asyncio."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import CHROMIUM_ARGS


def in_chromium(drive: Callable[[Any], None]) -> None:
    """Run ``drive(context)`` in a fresh headless Chromium on a worker thread.

    Playwright's sync API keeps an event loop running on its thread; on the test thread it would
    break every asyncio test that runs after it, so it gets a thread of its own.
    """
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.skip("page tests need Debian's chromium (apt-get install chromium)")

    def work() -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(
                    viewport={"width": 1180, "height": 860}, locale="en-GB"
                )
                context.set_default_timeout(15_000)
                drive(context)
            finally:
                browser.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(work).result()
