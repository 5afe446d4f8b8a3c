"""Declarative v1 -> v2 mapping: the rules live in `mappings/*.yaml`, this package interprets them."""

from migrator.mapping.catalog import PresetCatalog
from migrator.mapping.filemodels import EndpointRule, PayloadChange, ReportNote
from migrator.mapping.mapping_set import MappingSet, default_directory
from migrator.mapping.results import Mapped, Note, PresetChoice, Unmappable

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
