"""What the scanner knows, read from the mapping files: endpoints, field renames, targets.

Nothing here is a second table: endpoint pairs come from endpoints.yaml, v2 field names
from the rules of meetings.yaml and participants.yaml, hosts and auth from scan.yaml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import Field

from migrator.errors import MappingFileError
from migrator.mapping.filemodels import EndpointFile, FieldRule, PayloadFile, Strict
from migrator.mapping.mapping_set import ENDPOINTS_FILE, SCAN_FILE
from migrator.mapping.yamlsource import SourceFile, line_of, read

TARGETS = ("dyte-v2", "realtimekit")
_SEGMENT = r"[^/?#\s]+"


class _FromV2(Strict):
    base_urls: list[str] = Field(min_length=1)
    auth_scheme: str = Field(pattern=r"^[A-Za-z]+$")


class _NameEntry(Strict):
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")
    use: str
    why: str
    see: str


class _Target(Strict):
    label: str
    base_url: str
    auth: str
    auth_reason: str
    docs: str
    from_v2: _FromV2 | None = None
    names: list[_NameEntry] = []


class _FieldEntry(Strict):
    v1: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    rules: tuple[str, ...] = ()
    use: str | None = None
    why: str | None = None
    see: str | None = None


class _ScanFile(Strict):
    v1_base_urls: list[str] = Field(min_length=1)
    targets: dict[str, _Target]
    fields: list[_FieldEntry] = Field(min_length=1)


@dataclass(frozen=True)
class Operation:
    """A v1 operation of endpoints.yaml and what replaces it."""

    method: str
    v1_path: str
    v2: str | None
    action: str
    why: str
    link: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class FieldAdvice:
    replacement: str
    why: str
    link: str


@dataclass(frozen=True)
class Knowledge:
    target: str
    label: str
    base_url: str
    auth: str
    auth_reason: str
    docs: str
    v1_base_urls: tuple[str, ...]
    operations: tuple[Operation, ...]
    fields: dict[str, FieldAdvice]
    v2_base_urls: tuple[str, ...] = ()  # Dyte v2 hosts the target replaces (none when it is Dyte v2)
    v2_auth_scheme: str | None = None  # the v2 auth scheme the target replaces
    names: dict[str, FieldAdvice] = field(default_factory=dict)  # names the target changes


def _first_sentence(text: str) -> str:
    text = " ".join(text.split())
    end = text.find(". ")
    return text if end < 0 else text[: end + 1]


def _path_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]*\}", path)
    return re.compile(_SEGMENT.join(re.escape(part) for part in parts))


def _operations(source: SourceFile) -> tuple[Operation, ...]:
    model = source.validate(EndpointFile)
    found: list[Operation] = []
    for index, rule in enumerate(model.endpoints):
        if rule.v1 is None:
            continue
        method, _, path = rule.v1.partition(" ")
        why = rule.erratum or rule.reason or f"{rule.action}: the v2 route has no /organizations/{{orgId}} prefix."
        if rule.erratum:
            why = f"Dyte's guide is wrong here: {why}"
        link = f"mappings/{ENDPOINTS_FILE}:{line_of(source.root, ('endpoints', index))} ({rule.action})"
        found.append(Operation(method, path, rule.v2, rule.action, _first_sentence(why), link, _path_pattern(path)))
    return tuple(found)


class _Files:
    """Mapping files read once each, validated as payload files where a field rule points."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._payloads: dict[str, tuple[SourceFile, PayloadFile]] = {}

    def read(self, name: str) -> SourceFile:
        return read(self.directory / name)

    def rule(self, reference: str) -> tuple[FieldRule, str]:
        """The mapping rule named `file#v1.field`, and a link to its line."""
        name, _, field = reference.partition("#")
        if name not in self._payloads:
            if name in (SCAN_FILE, ENDPOINTS_FILE) or not name.endswith(".yaml"):
                raise MappingFileError(SCAN_FILE, "fields", f"{reference}: not a field mapping file")
            source = self.read(name)
            self._payloads[name] = (source, source.validate(PayloadFile))
        source, model = self._payloads[name]
        for section_name, section in model.sections.items():
            for index, rule in enumerate(section.rules):
                if field in rule.sources:
                    line = line_of(source.root, ("sections", section_name, "rules", index))
                    return rule, f"mappings/{name}:{line}"
        raise MappingFileError(SCAN_FILE, "fields", f"{reference}: {name} has no rule for {field!r}")


def _advice(entry: _FieldEntry, files: _Files) -> FieldAdvice:
    """v2 name from a carrying rule; `use` only where the rules carry nothing (then it is required)."""
    rules = [(reference, *files.rule(reference)) for reference in entry.rules]
    carried = [(reference.partition("#")[2], rule) for reference, rule, _ in rules if rule.to is not None]
    where = f"fields: {entry.v1}"
    if carried and entry.use:
        raise MappingFileError(SCAN_FILE, where, "`use` repeats what the mapping rule says; remove it")
    if not carried and not entry.use:
        raise MappingFileError(SCAN_FILE, where, "no rule carries this field to v2: say what code uses (`use`)")
    if not rules and not (entry.why and entry.see):
        raise MappingFileError(SCAN_FILE, where, "an entry without `rules` needs `why` and `see`")
    if len(carried) == 1 and carried[0][0] == entry.v1:
        replacement = str(carried[0][1].to)
    elif carried:
        replacement = ", ".join(f"{source} -> {rule.to}" for source, rule in carried)
    else:
        replacement = str(entry.use)
    if rules:
        _, rule, link = rules[0]
        why = entry.why or _first_sentence(rule.reason or rule.drop or rule.relocate or "")
        if len(carried) > 1:
            why = f"v2 has no {entry.v1}; each of its fields has its own v2 name."
        elif carried and replacement not in why:
            why = f"v2 calls it {replacement}. {why}"
    else:
        why, link = str(entry.why), str(entry.see)
    return FieldAdvice(replacement, why, link)


def load(directory: Path, target: str) -> Knowledge:
    """Everything a scan needs; a broken or missing file is a MappingFileError (exit 2)."""
    files = _Files(directory)
    scan = files.read(SCAN_FILE).validate(_ScanFile)
    if target not in scan.targets:
        raise MappingFileError(SCAN_FILE, "targets", f"no target {target!r} (have: {', '.join(scan.targets)})")
    chosen = scan.targets[target]
    return Knowledge(
        target=target,
        label=chosen.label,
        base_url=chosen.base_url,
        auth=chosen.auth,
        auth_reason=chosen.auth_reason,
        docs=chosen.docs,
        v1_base_urls=tuple(scan.v1_base_urls),
        operations=_operations(files.read(ENDPOINTS_FILE)),
        fields={entry.v1: _advice(entry, files) for entry in scan.fields},
        v2_base_urls=tuple(chosen.from_v2.base_urls) if chosen.from_v2 else (),
        v2_auth_scheme=chosen.from_v2.auth_scheme if chosen.from_v2 else None,
        names={entry.name: FieldAdvice(entry.use, entry.why, entry.see) for entry in chosen.names},
    )
