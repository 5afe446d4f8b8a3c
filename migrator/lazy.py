"""Public names that load on first use (PEP 562), so importing a package does not import all of it."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def loader(package: str, names: Mapping[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` giving each of `names` (name -> the module defining it) on first use."""

    def __getattr__(name: str) -> Any:
        if name in names:
            return getattr(importlib.import_module(names[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
