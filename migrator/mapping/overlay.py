"""Target overlays: what a target other than Dyte v2 changes in the v2 rules, as data.

`mappings/targets/<target>.yaml` names the spec the target's request bodies are checked
against and, per mapping file, what differs: the request body names (`v2_body`), rules
replaced by their `from`, defaults replaced (or added) by their `to`, defaults removed,
webhook `payload_changes` set, and notes added. The base file and its overlay are
merged before validation, so the merged rules pass every check a base file does.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from migrator.errors import MappingFileError
from migrator.mapping.filemodels import PayloadChange, ReportNote, Strict
from migrator.mapping.yamlsource import SourceFile, read

SPEC_DIR = Path(__file__).resolve().parent.parent / "specs"
DEFAULT_TARGET = "dyte-v2"  # the target the base files are written for: no overlay


class FilePatch(Strict):
    v2_body: list[str] | None = Field(default=None, min_length=1)
    rules: list[dict[str, Any]] = []  # each replaces the base rule with the same `from`
    defaults: list[dict[str, Any]] = []  # each replaces the base default with the same `to`, or is added
    remove_defaults: list[str] = []
    # webhooks.yaml, what receivers see change: `payload_changes` for every source; with the v1 rules,
    # they and `v1_payload_changes` replace the base list (Dyte v2's changes); for a Dyte v2 source
    # they come before the source file's own.
    payload_changes: list[PayloadChange] = []
    v1_payload_changes: list[PayloadChange] = []
    notes: list[ReportNote] = []


class OverlayFile(Strict):
    target: str
    title: str
    spec: str  # a file in migrator/specs whose components/schemas hold the request bodies
    files: dict[str, FilePatch]


@dataclass(frozen=True)
class Overlay:
    name: str  # e.g. "targets/realtimekit.yaml"
    model: OverlayFile
    sha256: str

    @property
    def spec(self) -> Path:
        return SPEC_DIR / self.model.spec

    def apply(self, source: SourceFile, *, replace_rules: bool = True) -> SourceFile:
        """`source` with this overlay's patch for it; unchanged when the overlay has none.

        `replace_rules=False`: the file copies v2 fields one to one (a Dyte v2 source), so the
        patch's rule replacements and v1 payload changes, written for the v1 rules, do not apply; the rest does.
        """
        patch = self.model.files.get(source.name)
        if patch is None:
            return source
        data = copy.deepcopy(source.data)
        if not isinstance(data, dict):
            return source  # the base file's own validation reports it
        where = f"{self.name}: files.{source.name}"
        if patch.v2_body is not None:
            data["v2_body"] = list(patch.v2_body)
        for rule in patch.rules if replace_rules else []:
            _replace_rule(data, rule, where)
        defaults = [d for d in data.get("defaults", []) if not (isinstance(d, dict) and d.get("to") in patch.remove_defaults)]
        if len(defaults) != len(data.get("defaults", [])) - len(set(patch.remove_defaults)):
            raise MappingFileError(
                self.name, f"files.{source.name}.remove_defaults", "names a default the base file does not have"
            )
        for default in patch.defaults:
            index = next((i for i, d in enumerate(defaults) if isinstance(d, dict) and d.get("to") == default.get("to")), None)
            if index is None:
                defaults.append(default)
            else:
                defaults[index] = default
        data["defaults"] = defaults
        if patch.payload_changes or patch.v1_payload_changes:
            own = [*patch.payload_changes, *(patch.v1_payload_changes if replace_rules else [])]
            kept = [] if replace_rules else list(data.get("payload_changes", []))
            data["payload_changes"] = [*(change.model_dump() for change in own), *kept]
        applied = ReportNote(
            topic=f"Target: {self.model.title}", text=f"The rules of {source.name} with the overlay {self.name} applied."
        )
        data["notes"] = [*data.get("notes", []), applied.model_dump(), *(note.model_dump() for note in patch.notes)]
        name = f"{source.name} + {self.name}"
        digest = hashlib.sha256((source.sha256 + self.sha256).encode()).hexdigest()
        return SourceFile(name, data, None, digest)  # lines would point into the wrong file: none


def _sources(rule: dict[str, Any]) -> tuple[str, ...]:
    value = rule.get("from")
    return tuple(str(v) for v in value) if isinstance(value, list) else (str(value),)


def _replace_rule(data: dict[str, Any], rule: dict[str, Any], where: str) -> None:
    """Replace the base rule with the same `from` (and `to`, where two rules read one field)."""
    for section in (data.get("sections") or {}).values():
        rules = section.get("rules", []) if isinstance(section, dict) else []
        for index, base in enumerate(rules):
            if isinstance(base, dict) and _sources(base) == _sources(rule) and base.get("to") == rule.get("to"):
                rules[index] = rule
                return
    raise MappingFileError(
        where.split(":")[0],
        where.split(": ")[1] + ".rules",
        f"no base rule reads {', '.join(map(str, _sources(rule)))} into {rule.get('to')}",
    )


def load_overlay(directory: Path, target: str) -> Overlay | None:
    """The overlay of `target` in `<mappings>/targets/`; None for the base target."""
    if target == DEFAULT_TARGET:
        return None
    name = f"targets/{target}.yaml"
    source = read(directory / name)
    model = source.validate(OverlayFile)
    if model.target != target:
        raise source.error("target", f"this overlay is for {model.target!r}, not {target!r}", ("target",))
    if not (SPEC_DIR / model.spec).is_file():
        raise source.error("spec", f"no spec file {model.spec!r} in migrator/specs", ("spec",))
    return Overlay(name, model, source.sha256)
