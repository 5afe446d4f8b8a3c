"""Declarative v1 -> v2 mapping: the rules live in `mappings/*.yaml`, this package interprets them.

The names below load on first use: a command that only needs `default_directory` (every
command's settings do) does not pay for pydantic models, YAML and the v2 spec.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migrator.lazy import loader

_PUBLIC = {
    "PresetCatalog": "migrator.mapping.catalog",
    "EndpointRule": "migrator.mapping.filemodels",
    "PayloadChange": "migrator.mapping.filemodels",
    "ReportNote": "migrator.mapping.filemodels",
    "MappingSet": "migrator.mapping.mapping_set",
    "default_directory": "migrator.mapping.folder",
    "Mapped": "migrator.mapping.results",
    "Note": "migrator.mapping.results",
    "PresetChoice": "migrator.mapping.results",
    "Unmappable": "migrator.mapping.results",
}

if TYPE_CHECKING:
    from migrator.mapping.catalog import PresetCatalog
    from migrator.mapping.filemodels import EndpointRule, PayloadChange, ReportNote
    from migrator.mapping.folder import default_directory
    from migrator.mapping.mapping_set import MappingSet
    from migrator.mapping.results import Mapped, Note, PresetChoice, Unmappable


__getattr__ = loader(__name__, _PUBLIC)


__all__ = [
    "EndpointRule",
    "Mapped",
    "MappingSet",
    "Note",
    "PayloadChange",
    "PresetCatalog",
    "PresetChoice",
    "ReportNote",
    "Unmappable",
    "default_directory",
]
