"""The loaded `mappings/` folder: what the extractor, planner, loader and reports call.

Loading validates every file (structure with pydantic, promises against the v2 spec) so a
bad edit stops the run before anything is read or written (exit 2).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator.errors import MappingFileError
from migrator.mapping.catalog import PresetCatalog
from migrator.mapping.compiler import compile_payload_file
from migrator.mapping import v2spec
from migrator.mapping.engine import CompiledMapping
from migrator.mapping.filemodels import (
    EndpointFile,
    EndpointRule,
    PayloadChange,
    PayloadFile,
    PresetFile,
    ReportNote,
    WebhookFile,
)
from migrator.mapping.overlay import DEFAULT_TARGET, Overlay, load_overlay
from migrator.mapping.resolution import PresetResolver
from migrator.mapping.results import Mapped, PresetChoice, Unmappable
from migrator.mapping.yamlsource import read

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent.parent / "mappings"


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


def default_directory() -> Path:
    """The project's `mappings/` in a checkout, else the copy a wheel ships inside the package."""
    packaged = Path(__file__).resolve().parent.parent / "_mappings"
    return DEFAULT_DIRECTORY if DEFAULT_DIRECTORY.is_dir() else packaged


class MappingSet:
    """All mapping files, compiled; the methods are the mapper's public API."""

    def __init__(
        self,
        files: dict[str, str],
        endpoints: EndpointFile,
        models: dict[str, PayloadFile],
        compiled: dict[str, CompiledMapping],
        overlay: Overlay | None = None,
        default_preset: str | None = None,
        default_from: str | None = None,
    ) -> None:
        self.files = files
        self.overlay = overlay.name if overlay else None  # which target overlay applied, for reports
        self.endpoints: list[EndpointRule] = list(endpoints.endpoints)
        presets = models["presets.yaml"]
        webhooks = models["webhooks.yaml"]
        assert isinstance(presets, PresetFile) and isinstance(webhooks, WebhookFile)
        self.webhook_payload_changes: list[PayloadChange] = list(webhooks.payload_changes)
        self.report_notes: dict[str, list[ReportNote]] = {model.kind: list(model.notes) for model in models.values()}
        self.secret_fields: frozenset[str] = frozenset(
            path for model in models.values() for section in model.sections.values()
            for rule in section.rules if rule.secret for path in rule.sources)
        self._meetings = compiled["meetings.yaml"]
        self._participants = compiled["participants.yaml"]
        self._webhooks = compiled["webhooks.yaml"]
        self._resolver = PresetResolver(
            presets.resolution, presets.variant_names, compiled["presets.yaml"], "presets.yaml",
            role_only=presets.role_only, default_preset=default_preset, default_from=default_from,
        )
        self.org_default_preset: str | None = self._resolver.default_preset
        self.default_preset_from: str = self._resolver.default_from  # where the org default came from, for messages

    @classmethod
    def load(cls, directory: Path | None = None, target: str = DEFAULT_TARGET, *, default_preset: str | None = None,
             default_from: str | None = None) -> MappingSet:
        """Read and check every file, with the target's overlay applied (`targets/<target>.yaml`);
        MappingFileError (exit 2) names file, key and problem. `default_preset` (the setting, which
        `default_from` describes) overrides presets.yaml's `resolution.org_default_preset`."""
        directory = default_directory() if directory is None else directory
        if not directory.is_dir():
            raise MappingFileError(str(directory), "(folder)", "mappings folder not found")
        for path in sorted(directory.glob("*.y*ml")):
            if path.name not in (*FILE_NAMES, SCAN_FILE):
                raise MappingFileError(
                    path.name, "(file)", f"not a mapping file this version reads (expected: {', '.join(FILE_NAMES)})"
                )
        overlay = load_overlay(directory, target)
        sources = {name: read(directory / name) for name in FILE_NAMES}
        if overlay is not None:
            unknown = set(overlay.model.files) - set(_PAYLOAD_FILES)
            if unknown:
                raise MappingFileError(overlay.name, "files", f"not a payload mapping file: {', '.join(sorted(unknown))}")
            sources = {name: overlay.apply(source) for name, source in sources.items()}
        body_spec = overlay.spec if overlay is not None else v2spec.V2_SPEC
        endpoints = sources[ENDPOINTS_FILE].validate(EndpointFile)
        models: dict[str, PayloadFile] = {}
        compiled: dict[str, CompiledMapping] = {}
        for name, spec in _PAYLOAD_FILES.items():
            model = sources[name].validate(spec.model)
            if model.kind != spec.kind:
                raise sources[name].error("kind", f"this file maps {spec.kind}s: kind must be {spec.kind!r}", ("kind",))
            models[name] = model
            compiled[name] = compile_payload_file(
                sources[name], model, spec.sections, set(spec.computed), spec.variants, body_spec
            )
        hashes = {name: source.sha256 for name, source in sources.items()}
        if overlay is not None:
            hashes[overlay.name] = overlay.sha256
        return cls(hashes, endpoints, models, compiled, overlay, default_preset, default_from)

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

    def map_participant(self, participant: dict[str, Any], preset_name: str) -> Mapped:
        """v2 AddParticipantBody; `preset_name` is the v2 name of `resolve_preset(...)`."""
        _require_object(participant, "participant")
        if not isinstance(preset_name, str) or not preset_name:
            raise Unmappable("participant has no v2 preset name")
        mapped = self._participants.run({"participant": participant})
        mapped.payload["preset_name"] = preset_name
        return mapped

    # -- presets ----------------------------------------------------------------------------

    def resolve_preset(
        self, participant: dict[str, Any], meeting: dict[str, Any] | None, catalog: PresetCatalog
    ) -> PresetChoice:
        return self._resolver.resolve(participant, meeting, catalog)

    def map_preset(self, choice_or_spec: PresetChoice | str, catalog: PresetCatalog) -> Mapped:
        """v2 Preset body of a choice (or of a v1 preset name: its plain counterpart)."""
        if isinstance(choice_or_spec, str):
            choice = next((c for c in self._resolver.base_choices(catalog) if c.preset == choice_or_spec), None)
            if choice is None:
                raise Unmappable(f"preset {choice_or_spec!r} is not a v1 preset of this org")
            choice_or_spec = choice
        return self._resolver.map(choice_or_spec, catalog)

    def needs_default(self, participant: dict[str, Any], meeting: dict[str, Any] | None) -> bool:
        """Only the org default can give this participant a preset (see `PresetResolver.needs_default`)."""
        return self._resolver.needs_default(participant, meeting)

    def base_presets(self, catalog: PresetCatalog) -> list[PresetChoice]:
        return self._resolver.base_choices(catalog)

    def variant_name(self, preset: str, role: str | None = None, waiting_room: bool = False) -> str:
        """The v2 name of a preset variant, e.g. to find it again in v2 by name."""
        return self._resolver.v2_name(preset, role, waiting_room)


def _require_object(value: Any, kind: str) -> None:
    if not isinstance(value, dict):
        raise Unmappable(f"{kind} is not a JSON object: {str(value)[:80]}")
