"""The loaded `mappings/` folder: what the extractor, planner, loader and reports call.

Loading validates every file (structure with pydantic, promises against the v2 spec) so a
bad edit stops the run before the ledger is opened or anything is written (exit 2).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.errors import MappingFileError
from migrator.mapping import v2spec
from migrator.mapping.catalog import PresetCatalog
from migrator.mapping.compiler import compile_payload_file
from migrator.mapping.engine import CompiledMapping, Titles
from migrator.mapping.filemodels import (
    EndpointFile,
    EndpointRule,
    PayloadChange,
    PayloadFile,
    PresetFile,
    ReportNote,
    WebhookFile,
)
from migrator.mapping.folder import default_directory
from migrator.mapping.overlay import DEFAULT_TARGET, Overlay, load_overlay
from migrator.mapping.resolution import PresetResolver
from migrator.mapping.results import Mapped, PresetChoice, Unmappable
from migrator.mapping.yamlsource import read
from migrator.settings import Route


@dataclass(frozen=True)
class _Spec:
    """How one file is read: its model, the input sections the engine feeds, the fields it fills."""

    model: type[PayloadFile]
    kind: str
    sections: tuple[str, ...]
    computed: frozenset[str] = frozenset()
    variants: bool = False


_PAYLOAD_FILES = {
    "meetings.yaml": _Spec(PayloadFile, "meeting", ("meeting",)),
    "participants.yaml": _Spec(PayloadFile, "participant", ("participant",), frozenset({"preset_name"})),
    "webhooks.yaml": _Spec(WebhookFile, "webhook", ("webhook",)),
    "presets.yaml": _Spec(
        PresetFile, "preset", ("listing", "preset_document", "role_document"), frozenset({"name"}), variants=True
    ),
}
ENDPOINTS_FILE = "endpoints.yaml"
FILE_NAMES = (ENDPOINTS_FILE, *_PAYLOAD_FILES)
SCAN_FILE = "scan.yaml"  # read by migrator.scan (code scanning), not by the migration


@dataclass(frozen=True)
class Layout:
    """A source's mapping files: where they are below mappings/, and how each is read."""

    source: str  # the source profile these files read (settings.PROFILES)
    folder: str | None  # None: the top of mappings/ (the v1 rules)
    payload_files: dict[str, _Spec]
    endpoints: bool  # an endpoint map (endpoints.yaml) comes with the rules
    overlay_rules: bool  # a target overlay's `rules` replace rules of these files (written in v1 terms)

    @property
    def file_names(self) -> tuple[str, ...]:
        return (ENDPOINTS_FILE, *self.payload_files) if self.endpoints else tuple(self.payload_files)


V1_LAYOUT = Layout("dyte-v1", None, _PAYLOAD_FILES, endpoints=True, overlay_rules=True)
# A Dyte v2 source: its objects are v2 bodies already, so each file copies fields one to one
# (one section per object, no computed fields, no preset resolution).
V2_IDENTITY_LAYOUT = Layout(
    "dyte-v2",
    "sources/dyte-v2",
    {
        "meetings.yaml": _Spec(PayloadFile, "meeting", ("meeting",)),
        "participants.yaml": _Spec(PayloadFile, "participant", ("participant",)),
        "webhooks.yaml": _Spec(WebhookFile, "webhook", ("webhook",)),
        "presets.yaml": _Spec(PayloadFile, "preset", ("preset",)),
    },
    endpoints=False,
    overlay_rules=False,
)


class MappingSet:
    """All mapping files, compiled; the methods are the mapper's public API."""

    def __init__(
        self,
        route: Route,
        files: dict[str, str],
        endpoints: EndpointFile | None,
        models: dict[str, PayloadFile],
        compiled: dict[str, CompiledMapping],
        overlay: Overlay | None = None,
        default_preset: str | None = None,
        default_from: str | None = None,
    ) -> None:
        self.route = route  # source, target and the overlay applied: what messages and reports name
        self.files = files
        self.endpoints: list[EndpointRule] = list(endpoints.endpoints) if endpoints else []
        presets = models["presets.yaml"]
        webhooks = models["webhooks.yaml"]
        assert isinstance(webhooks, WebhookFile)
        self.webhook_payload_changes: list[PayloadChange] = list(webhooks.payload_changes)
        self.report_notes: dict[str, list[ReportNote]] = {model.kind: list(model.notes) for model in models.values()}
        self.secret_fields: frozenset[str] = frozenset(
            path
            for model in models.values()
            for section in model.sections.values()
            for rule in section.rules
            if rule.secret
            for path in rule.sources
        )
        self._meetings = compiled["meetings.yaml"]
        self._participants = compiled["participants.yaml"]
        self._webhooks = compiled["webhooks.yaml"]
        self._presets = compiled["presets.yaml"]
        # v1 rules resolve each participant's preset; a v2 source's participants name theirs.
        self._resolver = (
            PresetResolver(
                presets.resolution,
                presets.variant_names,
                self._presets,
                "presets.yaml",
                route.target_title,
                role_only=presets.role_only,
                default_preset=default_preset,
                default_from=default_from,
            )
            if isinstance(presets, PresetFile)
            else None
        )
        self.org_default_preset: str | None = self._resolver.default_preset if self._resolver else None
        # where the org default came from, for messages
        self.default_preset_from: str = self._resolver.default_from if self._resolver else "(a v2 source has none)"

    @classmethod
    def load(
        cls,
        directory: Path | None = None,
        target: str = DEFAULT_TARGET,
        layout: Layout = V1_LAYOUT,
        *,
        default_preset: str | None = None,
        default_from: str | None = None,
    ) -> MappingSet:
        """Read and check every file of the source's `layout`, with the target's overlay applied
        (`targets/<target>.yaml`); MappingFileError (exit 2) names file, key and problem.
        `default_preset` (the setting, which `default_from` describes) overrides presets.yaml's
        `resolution.org_default_preset`."""
        directory = default_directory() if directory is None else directory
        if not directory.is_dir():
            raise MappingFileError(str(directory), "(folder)", "mappings folder not found")
        folder = directory / layout.folder if layout.folder else directory
        if not folder.is_dir():
            raise MappingFileError(str(folder), "(folder)", "mappings folder of this source not found")
        names = layout.file_names
        for path in sorted(folder.glob("*.y*ml")):
            if path.name not in (*names, SCAN_FILE):
                raise MappingFileError(
                    path.name, "(file)", f"not a mapping file this version reads (expected: {', '.join(names)})"
                )
        overlay = load_overlay(directory, target)
        sources = {name: read(folder / name) for name in names}
        if overlay is not None:
            unknown = set(overlay.model.files) - set(layout.payload_files)
            if unknown:
                raise MappingFileError(overlay.name, "files", f"not a payload mapping file: {', '.join(sorted(unknown))}")
            sources = {name: overlay.apply(source, replace_rules=layout.overlay_rules) for name, source in sources.items()}
        body_spec = overlay.spec if overlay is not None else v2spec.V2_SPEC
        route = Route(layout.source, target, overlay.name if overlay else None)
        titles = Titles(route.source_title, route.target_title)
        endpoints = sources[ENDPOINTS_FILE].validate(EndpointFile) if layout.endpoints else None
        models: dict[str, PayloadFile] = {}
        compiled: dict[str, CompiledMapping] = {}
        for name, spec in layout.payload_files.items():
            model = sources[name].validate(spec.model)
            if model.kind != spec.kind:
                raise sources[name].error("kind", f"this file maps {spec.kind}s: kind must be {spec.kind!r}", ("kind",))
            models[name] = model
            compiled[name] = compile_payload_file(
                sources[name], model, spec.sections, set(spec.computed), spec.variants, body_spec, titles
            )
        hashes = {name: source.sha256 for name, source in sources.items()}
        if overlay is not None:
            hashes[overlay.name] = overlay.sha256
        return cls(route, hashes, endpoints, models, compiled, overlay, default_preset, default_from)

    @property
    def fingerprint(self) -> str:
        """One hash of every mapping file's content and the org default in effect: a saved plan and a
        ledger notice any edit, and a changed default-preset setting."""
        inputs = {**self.files, "(org default preset)": self.org_default_preset}
        return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:32]

    # -- meetings, participants, webhooks -----------------------------------------------------

    def map_meeting(self, meeting: dict[str, Any]) -> Mapped:
        """v2 CreateMeetingBody fields plus `status`: create, then PATCH the status if INACTIVE."""
        _require_object(meeting, "meeting")
        return self._meetings.run({"meeting": meeting})

    def map_webhook(self, webhook: dict[str, Any]) -> Mapped:
        _require_object(webhook, "webhook")
        return self._webhooks.run({"webhook": webhook})

    @property
    def resolves_presets(self) -> bool:
        """True for v1 rules (presets.yaml has a resolution): participants get their preset from
        `resolve_preset`, presets come from `map_preset`. False for a v2 source: `map_whole_preset`."""
        return self._resolver is not None

    def map_participant(self, participant: dict[str, Any], preset_name: str | None = None) -> Mapped:
        """v2 AddParticipantBody; `preset_name` is the v2 name of `resolve_preset(...)` (v1 rules),
        or None where the rules copy the participant's own (a v2 source)."""
        _require_object(participant, "participant")
        if self._resolver is not None and (not isinstance(preset_name, str) or not preset_name):
            raise Unmappable(f"participant has no {self.route.target_title} preset name")
        mapped = self._participants.run({"participant": participant})
        if preset_name is not None:
            mapped.payload["preset_name"] = preset_name
        return mapped

    def map_whole_preset(self, preset: dict[str, Any]) -> Mapped:
        """A target preset body from a whole v2 preset (a v2 source: presets keep their names)."""
        _require_object(preset, "preset")
        return self._presets.run({"preset": preset})

    # -- presets ----------------------------------------------------------------------------

    def _resolution(self) -> PresetResolver:
        if self._resolver is None:
            raise TypeError("these mappings copy presets whole (a v2 source): there is no preset resolution")
        return self._resolver

    def resolve_preset(self, participant: dict[str, Any], meeting: dict[str, Any] | None, catalog: PresetCatalog) -> PresetChoice:
        return self._resolution().resolve(participant, meeting, catalog)

    def map_preset(self, choice_or_spec: PresetChoice | str, catalog: PresetCatalog) -> Mapped:
        """v2 Preset body of a choice (or of a v1 preset name: its plain counterpart)."""
        if isinstance(choice_or_spec, str):
            choice = next((c for c in self._resolution().base_choices(catalog) if c.preset == choice_or_spec), None)
            if choice is None:
                raise Unmappable(f"preset {choice_or_spec!r} is not a v1 preset of this org")
            choice_or_spec = choice
        return self._resolution().map(choice_or_spec, catalog)

    def needs_default(self, participant: dict[str, Any], meeting: dict[str, Any] | None) -> bool:
        """Only the org default can give this participant a preset (see `PresetResolver.needs_default`)."""
        return self._resolver is not None and self._resolver.needs_default(participant, meeting)

    def base_presets(self, catalog: PresetCatalog) -> list[PresetChoice]:
        return self._resolution().base_choices(catalog)

    def variant_name(self, preset: str, role: str | None = None, waiting_room: bool = False) -> str:
        """The v2 name of a preset variant, e.g. to find it again in v2 by name."""
        return self._resolution().v2_name(preset, role, waiting_room)


def _require_object(value: Any, kind: str) -> None:
    if not isinstance(value, dict):
        raise Unmappable(f"{kind} is not a JSON object: {str(value)[:80]}")
