"""Fixtures for the report tests: a headless browser (skipped, with the reason, where none is installed)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .chromium import Chromium, find_chromium


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    binary = find_chromium()
    if binary is None:
        pytest.skip("headless Chromium is not installed (Debian package `chromium`; .ci/run installs it where it can)")
    return binary


@pytest.fixture
def browser(chromium_binary: str) -> Iterator[Chromium]:
    with Chromium(chromium_binary) as chromium:
        yield chromium


@pytest.fixture(autouse=True)
def _no_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports append to $GITHUB_STEP_SUMMARY when set: keep the CI runner's file out of tests."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
