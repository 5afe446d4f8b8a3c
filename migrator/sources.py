"""Each source a migration can read, declared once: how it is extracted and mapped.

A source is an API profile (settings.PROFILES) plus what the pipeline does with its
objects: which extractor walks it, which mapping set turns its objects into target
bodies, and whether participants get their preset by resolution. The stages ask this
declaration; none of them compares source names.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.extract import Extractor, SnapshotWriter, V2SourceExtractor
from migrator.mapping.mapping_set import V1_LAYOUT, V2_IDENTITY_LAYOUT, Layout
from migrator.settings import DEFAULT_SOURCE, Credentials


@dataclass(frozen=True)
class SourceSpec:
    name: str  # the profile name, as `--source` spells it
    extractor: type[SnapshotWriter]
    mappings: Layout  # which mapping files (below mappings/) turn its objects into target bodies
    resolves_presets: bool  # a participant's v2 preset is resolved (v1: preset, meeting, role, waiting room)


SOURCES: dict[str, SourceSpec] = {
    "dyte-v1": SourceSpec("dyte-v1", Extractor, V1_LAYOUT, resolves_presets=True),
    # v2 objects are v2 bodies already: identity rules, each participant names its preset.
    "dyte-v2": SourceSpec("dyte-v2", V2SourceExtractor, V2_IDENTITY_LAYOUT, resolves_presets=False),
}


def of(credentials: Credentials) -> SourceSpec:
    """The declaration of the source these credentials read."""
    return SOURCES[credentials.v1.profile.name]


def named(name: str = DEFAULT_SOURCE) -> SourceSpec:
    return SOURCES[name]
