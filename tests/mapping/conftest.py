from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.mapping import MappingSet, PresetCatalog

from .helpers import MAPPINGS, sample_org


@pytest.fixture(scope="session")
def mapping_set() -> MappingSet:
    return MappingSet.load(MAPPINGS)


@pytest.fixture()
def catalog() -> PresetCatalog:
    presets, roles = sample_org()
    return PresetCatalog(presets, roles)


@pytest.fixture()
def mappings_copy(tmp_path: Path) -> Path:
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, target)
    return target


@pytest.fixture()
def edit(mappings_copy: Path) -> Callable[[str, str, str], Path]:
    """Replace one exact snippet in a copy of a mapping file; the snippet must be there."""

    def apply(file: str, old: str, new: str) -> Path:
        path = mappings_copy / file
        text = path.read_text()
        assert old in text, f"{old!r} not in {file}"
        path.write_text(text.replace(old, new, 1))
        return mappings_copy

    return apply
