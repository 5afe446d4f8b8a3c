"""Which v2 preset each participant gets: v2 wants a preset per participant, v1 set it per meeting.

Order (first match wins): the participant's presetName, its meeting's presetName, the org
default (the default-preset setting, else presets.yaml), and for a participant with only a
roleName, a preset built from that role alone (`role_only`). A roleName other than the preset's own role, or a
meeting with a waiting room whose role does not skip it, selects a variant with a stable
name. A name that is given but unknown is never guessed: the participant is unmappable.
Results are memoised per catalog: ~100k participants share a handful of choices.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import weakref
from collections.abc import Container
from typing import Any

from migrator.mapping import v2spec
from migrator.mapping.catalog import PresetCatalog
from migrator.mapping.engine import MISSING, CompiledMapping, get_path, set_path, short
from migrator.mapping.filemodels import Resolution, RoleOnly, VariantNames
from migrator.mapping.results import ChoiceSource, Mapped, Note, PresetChoice, Unmappable

_Key = tuple[ChoiceSource, str, str | None, bool]
HASH_CHARS = 6
DEFAULT_PRESET_HINT = "--default-preset NAME (env DYTE_MIGRATE_DEFAULT_PRESET, or default_preset in dyte-migrate.toml)"


class PresetResolver:
    def __init__(
        self,
        resolution: Resolution,
        names: VariantNames,
        presets: CompiledMapping,
        file: str,
        target: str,
        *,
        role_only: RoleOnly | None = None,
        default_preset: str | None = None,
        default_from: str | None = None,
    ) -> None:
        """`target` is what reasons call the target ("RealtimeKit"); `default_preset` (from the
        default-preset setting, described by `default_from`) overrides the file's
        `resolution.org_default_preset`. The source is always Dyte v1: only v1 rules resolve presets."""
        self.resolution, self.names, self.presets, self.file = resolution, names, presets, file
        self.target = target
        self.role_only = role_only
        overridden = default_preset is not None
        self.default_preset = default_preset if overridden else resolution.org_default_preset
        self.default_from = (
            (default_from or "the default-preset setting") if overridden else (f"{file} resolution.org_default_preset")
        )
        self._participant_preset = tuple(resolution.participant_preset.split("."))
        self._participant_role = tuple(resolution.participant_role.split("."))
        self._meeting_preset = tuple(resolution.meeting_preset.split("."))
        self._meeting_waiting_room = tuple(resolution.meeting_waiting_room.split("."))
        self._unsafe = re.compile(f"[^{names.safe_characters}]")
        self._memo: weakref.WeakKeyDictionary[PresetCatalog, dict[Any, PresetChoice | Unmappable | bool]] = (
            weakref.WeakKeyDictionary()
        )

    # -- resolution -------------------------------------------------------------------------

    def resolve(self, participant: Any, meeting: Any, catalog: PresetCatalog) -> PresetChoice:
        if not isinstance(participant, dict):
            raise Unmappable("participant is not a JSON object")
        source: ChoiceSource
        preset = _named(participant, self._participant_preset, "participant", self.resolution.participant_preset)
        role = _named(participant, self._participant_role, "participant", self.resolution.participant_role)
        if preset is not None:
            source = "participant"
        else:
            preset = _named(meeting, self._meeting_preset, "meeting", self.resolution.meeting_preset)
            source = "meeting" if preset is not None else "org-default"
            if preset is None:
                preset = self.default_preset
                if role is not None and self.role_only is not None and preset not in catalog.presets:
                    source, preset = "role-only", None
        waiting_room = get_path(meeting, self._meeting_waiting_room) is True
        key: _Key = (source, preset or "", role, waiting_room)
        memo = self._memo.setdefault(catalog, {})
        found = memo.get(key)
        if found is None:
            try:
                found = self._choose(source, preset, role, waiting_room, catalog)
            except Unmappable as refused:
                found = refused
            memo[key] = found
        if isinstance(found, Unmappable):
            raise Unmappable(found.reason, found.resolve)
        assert isinstance(found, PresetChoice)
        return found

    def needs_default(self, participant: Any, meeting: Any) -> bool:
        """True for a participant that only the org default can give a preset: neither it nor its
        meeting names one, and it has no roleName for the role-only rule to build one from."""
        if not isinstance(participant, dict) or get_path(participant, self._participant_preset) not in (MISSING, None, ""):
            return False
        if get_path(meeting, self._meeting_preset) not in (MISSING, None, ""):
            return False
        return self.role_only is None or get_path(participant, self._participant_role) in (MISSING, None, "")

    def _choose(
        self, source: ChoiceSource, preset: str | None, role: str | None, waiting_room: bool, catalog: PresetCatalog
    ) -> PresetChoice:
        if source == "role-only" and role is not None:
            return self._role_only(role, waiting_room, catalog)
        choose_default = f"set {DEFAULT_PRESET_HINT} to one of the org's v1 presets: {', '.join(sorted(catalog.presets))}"
        if preset is None:
            raise Unmappable(
                "no preset: neither the participant nor its meeting names one, and no org default preset is set "
                f"({self.default_from} is null)",
                choose_default,
            )
        if preset not in catalog.presets:
            where = {
                "participant": f"participant {self.resolution.participant_preset}",
                "meeting": f"meeting {self.resolution.meeting_preset}",
                "org-default": f"org default preset ({self.default_from})",
                "v1-preset": "preset",
                "role-only": "preset",
            }[source]
            raise Unmappable(
                f"{where} {preset!r} is not a v1 preset of this org", choose_default if source == "org-default" else None
            )
        own_role = catalog.preset_role(preset)
        if own_role is None:
            raise Unmappable(f"v1 preset {preset!r} names no role (its document is missing or has no preset.role)")
        if role is not None and not catalog.has_role(role):
            raise Unmappable(f"participant {self.resolution.participant_role} {role!r} is not a v1 role of this org")
        effective = role or own_role
        if catalog.role_document(effective) is None:
            raise Unmappable(f"v1 role {effective!r} has no readable document, so its permissions are unknown")
        variant_role = effective if effective != own_role else None
        waiting_variant = waiting_room and self.waiting_room_differs(catalog, preset, effective)
        name = self.v2_name(preset, variant_role, waiting_variant, taken=catalog.presets)
        return PresetChoice(
            name,
            preset,
            effective,
            waiting_variant,
            source,
            self._reason(source, preset, variant_role, waiting_room, waiting_variant),
        )

    def _role_only(self, role: str, waiting_room: bool, catalog: PresetCatalog) -> PresetChoice:
        assert self.role_only is not None
        if not catalog.has_role(role):
            raise Unmappable(f"participant {self.resolution.participant_role} {role!r} is not a v1 role of this org")
        if catalog.role_document(role) is None:
            raise Unmappable(f"v1 role {role!r} has no readable document, so its permissions are unknown")
        waiting_variant = waiting_room and self.waiting_room_differs(catalog, None, role)
        template = self.role_only.waiting_room if waiting_variant else self.role_only.name
        name = template.format(role=self._safe(role))
        if name in catalog.presets:
            raise Unmappable(
                f"role-only preset name {name!r} is also the name of a v1 preset; rename it in {self.file} role_only"
            )
        reason = (
            f"role-only: neither the participant, its meeting nor the org default ({self.default_from}) gives a "
            f"preset; built from its roleName {role!r} with v2's default UI"
        )
        if waiting_variant:
            reason += "; waiting-room variant: the meeting has a waiting room and the role does not skip it"
        return PresetChoice(name, None, role, waiting_variant, "role-only", reason)

    def _reason(
        self, source: ChoiceSource, preset: str, variant_role: str | None, waiting_room: bool, waiting_variant: bool
    ) -> str:
        why = {
            "participant": f"the participant's own presetName {preset!r}",
            "meeting": f"its meeting's presetName {preset!r} (the participant names none)",
            "org-default": (
                f"the org default preset {preset!r} from {self.default_from} (neither participant nor meeting names one)"
            ),
            "v1-preset": f"v1 preset {preset!r} itself",
            "role-only": "",
        }[source]
        parts = [f"preset from {why}"]
        if variant_role is not None:
            parts.append(f"role {variant_role!r} from the participant's roleName, which differs from the preset's own role")
        if waiting_variant:
            parts.append("waiting-room variant: the meeting has a waiting room and the role does not skip it")
        elif waiting_room:
            parts.append("the meeting has a waiting room, but the role skips it, so the plain preset behaves the same")
        return "; ".join(parts)

    def base_choices(self, catalog: PresetCatalog) -> list[PresetChoice]:
        return [
            PresetChoice(
                name,
                name,
                catalog.preset_role(name),
                False,
                "v1-preset",
                f"every v1 preset gets its {self.target} counterpart, used or not",
            )
            for name in sorted(catalog.presets)
        ]

    # -- naming -----------------------------------------------------------------------------

    def v2_name(self, preset: str, role: str | None, waiting_room: bool, taken: Container[str] = ()) -> str:
        """The v2 name of a (preset, role, waiting room) triple; distinct triples never share one.

        The readable name is kept when it cannot be read two ways. When the preset or role
        name holds the separator (role `x--waiting-room` would read as role `x` plus the
        waiting room) or the readable name is already a v1 preset's name, a short hash of
        the whole triple is appended after the separator: `<readable>--h-<hash>`. No
        readable name ends in such a part, so the two kinds never meet.
        """
        if role is None and not waiting_room:
            return preset
        if role is None:
            readable = self.names.waiting_room.format(preset=preset)
        else:
            template = self.names.role_and_waiting_room if waiting_room else self.names.role
            readable = template.format(preset=preset, role=self._safe(role))
        separator = self.names.separator
        if separator in preset or (role is not None and separator in role) or readable in taken:
            triple = json.dumps([preset, role, waiting_room], ensure_ascii=False)
            return f"{readable}{separator}h-{hashlib.sha1(triple.encode()).hexdigest()[:HASH_CHARS]}"
        return readable

    def _safe(self, text: str) -> str:
        """Keep readable names; when characters must be replaced, a short hash keeps names distinct."""
        if not self._unsafe.search(text):
            return text
        digest = hashlib.sha1(text.encode()).hexdigest()[:HASH_CHARS]
        return f"{self._unsafe.sub('_', text)}-{digest}"

    # -- preset bodies ----------------------------------------------------------------------

    def sources(self, catalog: PresetCatalog, preset: str | None, role: str) -> dict[str, Any]:
        """The mapping's inputs; a role-only preset (`preset` None) has no listing and no preset document."""
        role_document = catalog.role_document(role)
        if role_document is None:
            raise Unmappable(f"v1 role {role!r} has no readable document, so its permissions are unknown")
        if preset is None:
            return {"role_document": role_document}
        record = catalog.presets.get(preset)
        if record is None:
            raise Unmappable(f"preset {preset!r} is not a v1 preset of this org")
        document = record.get("document")
        if not isinstance(document, dict):
            raise Unmappable(f"v1 preset {preset!r} has no readable document (its s3URL could not be read)")
        return {"listing": record, "preset_document": document, "role_document": role_document}

    def waiting_room_differs(self, catalog: PresetCatalog, preset: str | None, role: str) -> bool:
        memo = self._memo.setdefault(catalog, {})
        key = ("waiting-room-differs", preset, role)
        if key not in memo:
            sources = self.sources(catalog, preset, role)
            plain = self.presets.conditional_outputs(sources, {"waiting_room": False})
            variant = self.presets.conditional_outputs(sources, {"waiting_room": True})
            memo[key] = plain != variant
        return bool(memo[key])

    def map(self, choice: PresetChoice, catalog: PresetCatalog) -> Mapped:
        role = choice.role or (catalog.preset_role(choice.preset) if choice.preset is not None else None)
        if role is None:
            raise Unmappable(f"v1 preset {choice.preset!r} names no role (its document is missing or has no preset.role)")
        sources = self.sources(catalog, choice.preset, role)
        flags = {"waiting_room": choice.waiting_room}
        notes = []
        if not choice.waiting_room and self.waiting_room_differs(catalog, choice.preset, role):
            notes = [n for section in self.presets.sections for n in section.skipped(sources.get(section.name), flags)]
        mapped = self.presets.run(sources, flags, notes)
        if choice.preset is None and self.role_only is not None:
            for path, value in _v2_ui_defaults():
                set_path(mapped.payload, path, value)
                mapped.notes.append(Note("defaulted", None, ".".join(path), None, value, self.role_only.reason))
        mapped.payload = {"name": choice.v2_name, **mapped.payload}
        # The listing and the preset's document share fields (name, description): one note each.
        mapped.notes = _unique(mapped.notes)
        return mapped


def _unique(notes: list[Note]) -> list[Note]:
    """The notes without repeats, in order: compared within a (kind, source, target, reason)
    bucket, since `before`/`after` may be unhashable and a preset carries hundreds of notes."""
    seen: dict[tuple[Any, ...], list[Note]] = {}
    kept = []
    for note in notes:
        bucket = seen.setdefault((note.kind, note.source, note.target, note.reason), [])
        if note not in bucket:
            bucket.append(note)
            kept.append(note)
    return kept


@functools.cache
def _v2_ui_defaults() -> tuple[tuple[tuple[str, ...], Any], ...]:
    """Every `ui.*` field of the v2 Preset schema that declares a default, with that default."""
    schema = v2spec.load_spec(v2spec.V2_SPEC)["components"]["schemas"]["Preset"]["properties"]["ui"]
    found: list[tuple[tuple[str, ...], Any]] = []

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            if "default" in node:
                found.append((path, node["default"]))
            for key, child in (node.get("properties") or {}).items():
                walk(child, (*path, key))

    walk(schema, ("ui",))
    return tuple(found)


def _named(obj: Any, path: tuple[str, ...], owner: str, field: str) -> str | None:
    """A preset or role name from a record: None when absent, Unmappable when present but not a name."""
    value = get_path(obj, path)
    if value is MISSING or value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    raise Unmappable(f"{owner} {field} has an unusable value {short(value)} (expected a name)")
