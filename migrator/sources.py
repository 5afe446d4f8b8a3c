"""Each source a migration can read, declared once: how it is extracted and mapped.

A source is an API profile (settings.PROFILES) plus what the pipeline does with its
objects: which extractor walks it and which mapping layout turns its objects into target
bodies (the layout also says whether participants get their preset by resolution: v1's
presets.yaml has a resolution, a v2 source's participants name their presets). The
stages ask this declaration; none of them compares source names.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrator.extract import Extractor, SnapshotWriter, V2SourceExtractor
from migrator.mapping.mapping_set import V1_LAYOUT, V2_IDENTITY_LAYOUT, Layout
from migrator.settings import Credentials


@dataclass(frozen=True)
class SourceSpec:
    name: str  # the profile name, as `--source` spells it
    extractor: type[SnapshotWriter]
    mappings: Layout  # which mapping files (below mappings/) turn its objects into target bodies


SOURCES: dict[str, SourceSpec] = {
    "dyte-v1": SourceSpec("dyte-v1", Extractor, V1_LAYOUT),
    # v2 objects are v2 bodies already: identity rules, each participant names its preset.
    "dyte-v2": SourceSpec("dyte-v2", V2SourceExtractor, V2_IDENTITY_LAYOUT),
}


def of(credentials: Credentials) -> SourceSpec:
    """The declaration of the source these credentials read."""
    return SOURCES[credentials.v1.profile.name]
