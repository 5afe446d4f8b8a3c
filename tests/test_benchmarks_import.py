"""Every benchmark scenario still imports against the product's current API (they run outside the suite)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import benchmarks

SCENARIOS = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if not m.name.startswith("_"))


@pytest.mark.parametrize("name", SCENARIOS)
def test_benchmark_module_imports(name: str) -> None:
    module = importlib.import_module(f"benchmarks.{name}")
    assert module.__doc__, f"benchmarks/{name}.py says what it measures"
