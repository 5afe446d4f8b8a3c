"""The generic interpreter: compiled rules turn one source object into part of a target body, with notes.

Everything entity-specific lives in `mappings/*.yaml`; this module only knows how to read
a path, check a value's type, look it up in a map, clamp it, and write it to a path. It
runs ~100k times per migration, so rules arrive precompiled (tuples, frozensets) and
nothing here copies the input.
"""

from __future__ import annotations

import contextlib
import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from migrator.mapping.results import Mapped, Note, NoteKind, Unmappable

MISSING: Any = object()
Path = tuple[str, ...]
Flags = Mapping[str, bool]
NO_FLAGS: Flags = MappingProxyType({})

_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
_TYPE_WORDS = {
    "string": "a string",
    "boolean": "true or false",
    "integer": "a whole number",
    "number": "a number",
    "uri": "an absolute URI",
    "list": "a list",
}


def is_uri(value: str) -> bool:
    """An absolute RFC 3986 URI; web URLs must also name a host."""
    if not _URI.fullmatch(value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.netloc) if parts.scheme.lower() in ("http", "https") else True


def get_path(obj: Any, path: Path) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return MISSING
        obj = obj.get(key, MISSING)
        if obj is MISSING:
            return MISSING
    return obj


def set_path(payload: dict[str, Any], path: Path, value: Any) -> None:
    node = payload
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def fresh(value: Any) -> Any:
    """A private copy of a declared object default, so no two payloads share (and mutate) one dict."""
    return copy.deepcopy(value) if isinstance(value, (dict, list)) else value


def has_path(payload: dict[str, Any], path: Path) -> bool:
    return get_path(payload, path) is not MISSING


def short(value: Any, limit: int = 80) -> str:
    """repr() cut to a readable length: hostile input must not flood a report line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _present(value: Any) -> bool:
    return value is not MISSING and value is not None and value != ""


@dataclass(frozen=True, slots=True)
class Titles:
    """What the notes call the run's source and target ("Dyte v1", "RealtimeKit"): fixed when the
    rules are compiled for a route, so a note's text, and the plan's notes signature, depend on the
    route and nothing else."""

    source: str
    target: str


class _Unusable(Exception):
    """A v1 value of the wrong type or outside the map: handled like a missing value, with a note."""


def _checked(value: Any, value_type: str, notes: list[Note], source: str, target: str | None, titles: Titles) -> Any:
    """Return the value if it has the declared source type (whole floats become ints), else raise _Unusable."""
    if value_type in ("string", "uri"):
        if not isinstance(value, str) or (value_type == "uri" and not is_uri(value)):
            raise _Unusable
        return value
    if value_type == "boolean":
        if not isinstance(value, bool):
            raise _Unusable
        return value
    if value_type == "list":
        if not isinstance(value, list):
            raise _Unusable
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not math.isfinite(value)):
        raise _Unusable
    if value_type == "integer" and isinstance(value, float):
        whole = round(value)
        if whole != value:
            why = f"{titles.target} takes a whole number here; the {titles.source} value was rounded"
            notes.append(Note("lossy", source, target, value, whole, why))
        return whole
    return value


@dataclass(frozen=True, slots=True)
class Choice:
    """A map entry's v2 value, and the reason when that entry loses information."""

    value: Any
    lossy: str | None = None


@dataclass(frozen=True, slots=True)
class CompiledRule:
    action: Literal["to", "drop", "relocate"]
    sources: tuple[Path, ...]
    source_names: tuple[str, ...]
    reason: str
    titles: Titles
    target: Path = ()
    target_name: str | None = None
    value_type: str = "string"
    combine_any: bool = False
    mapping: Mapping[Any, Choice] | None = None
    allowed: frozenset[Any] | None = None  # the v2 enum when there is no map
    unknown: Choice | None = None
    clamp_min: int | None = None
    clamp_max: int | None = None
    clamp_reason: str = ""
    default: Any = MISSING
    fallback: Path | None = None
    fallback_name: str | None = None
    fallback_reason: str = ""
    required: bool = False
    when: tuple[tuple[str, bool], ...] = ()

    def applies(self, flags: Flags) -> bool:
        return all(flags.get(flag, False) == wanted for flag, wanted in self.when)

    def first_present(self, source: Any) -> tuple[str, Any]:
        for path, name in zip(self.sources, self.source_names, strict=True):
            value = get_path(source, path)
            if _present(value):
                return name, value
        return self.source_names[0], MISSING

    def apply(self, source: Any, payload: dict[str, Any], notes: list[Note], label: str) -> None:
        if self.action != "to":
            note_type: NoteKind = "dropped" if self.action == "drop" else "relocated"
            for path, name in zip(self.sources, self.source_names, strict=True):
                value = get_path(source, path)
                if _present(value):  # a relocated document is mapped elsewhere: no need to repeat it
                    before = None if note_type == "relocated" and isinstance(value, dict) else value
                    notes.append(Note(note_type, name, None, before, None, self.reason))
            return
        value = self._value(source, notes, label)
        if value is not MISSING:
            set_path(payload, self.target, value)

    def _value(self, source: Any, notes: list[Note], label: str) -> Any:
        if self.combine_any:
            return self._any_true(source, notes, label)
        name, raw = self.first_present(source)
        problem = "is missing"
        if raw is not MISSING:
            try:
                return self._convert(raw, name, notes)
            except _Unusable:
                problem = f"has an unusable value {short(raw)} (expected {self._expected()})"
                notes.append(
                    Note(
                        "dropped",
                        name,
                        self.target_name,
                        raw,
                        None,
                        f"unusable {self.titles.source} value: expected {self._expected()}",
                    )
                )
        return self._substitute(source, name, problem, notes, label)

    def _expected(self) -> str:
        if self.mapping is not None:
            return "one of " + ", ".join(map(str, self.mapping))
        if self.allowed is not None and self.value_type != "list":
            return "one of " + ", ".join(sorted(map(str, self.allowed)))
        return _TYPE_WORDS[self.value_type]

    def _convert(self, raw: Any, name: str, notes: list[Note]) -> Any:
        value = _checked(raw, self.value_type, notes, name, self.target_name, self.titles)
        if self.value_type == "list":
            return self._convert_items(value, name, notes)
        converted = self._lookup(value, name, notes)
        if self.clamp_max is not None and converted > self.clamp_max:
            notes.append(Note("lossy", name, self.target_name, converted, self.clamp_max, self.clamp_reason))
            converted = self.clamp_max
        elif self.clamp_min is not None and converted < self.clamp_min:
            notes.append(Note("lossy", name, self.target_name, converted, self.clamp_min, self.clamp_reason))
            converted = self.clamp_min
        if converted == raw and name != self.target_name:
            notes.append(Note("renamed", name, self.target_name, raw, converted, self.reason))
        return converted

    def _lookup(self, value: Any, name: str, notes: list[Note]) -> Any:
        """Map or enum-check one scalar; an unknown value takes the declared substitute or is unusable."""
        if self.mapping is not None:
            choice = self.mapping.get(value)
            if choice is not None:
                if choice.lossy:
                    notes.append(Note("lossy", name, self.target_name, value, choice.value, choice.lossy))
                elif choice.value != value:
                    notes.append(Note("converted", name, self.target_name, value, choice.value, self.reason))
                return choice.value
        elif self.allowed is None or value in self.allowed:
            return value
        if self.unknown is None:
            raise _Unusable
        notes.append(Note("lossy", name, self.target_name, value, self.unknown.value, self.unknown.lossy or ""))
        return self.unknown.value

    def _convert_items(self, items: list[Any], name: str, notes: list[Note]) -> list[Any]:
        kept = []
        for item in items:
            try:
                if self.mapping is not None:
                    choice = self.mapping.get(item) if isinstance(item, (str, int, bool)) else None
                    if choice is None:
                        raise _Unusable
                    kept.append(choice.value)
                elif self.allowed is None or (isinstance(item, (str, int, bool)) and item in self.allowed):
                    kept.append(item)
                else:
                    raise _Unusable
            except _Unusable:
                notes.append(
                    Note(
                        "lossy",
                        name,
                        self.target_name,
                        item,
                        None,
                        f"{short(item)} has no {self.titles.target} counterpart; dropped from the list",
                    )
                )
        if name != self.target_name:
            notes.append(Note("renamed", name, self.target_name, items, kept, self.reason))
        return kept

    def _any_true(self, source: Any, notes: list[Note], label: str) -> Any:
        found = []
        for path, name in zip(self.sources, self.source_names, strict=True):
            value = get_path(source, path)
            if isinstance(value, bool):
                found.append(value)
            elif _present(value):
                why = f"unusable {self.titles.source} value: expected true or false"
                notes.append(Note("dropped", name, self.target_name, value, None, why))
        if found:
            result = any(found)
            notes.append(Note("converted", " | ".join(self.source_names), self.target_name, found, result, self.reason))
            return result
        return self._substitute(source, self.source_names[0], "is missing", notes, label)

    def _substitute(self, source: Any, name: str, problem: str, notes: list[Note], label: str) -> Any:
        if self.fallback is not None:
            value = get_path(source, self.fallback)
            if _present(value):
                scratch: list[Note] = []
                try:
                    converted = self._convert(value, self.fallback_name or "", scratch)
                except _Unusable:
                    pass
                else:
                    notes.extend(note for note in scratch if note.kind != "renamed")
                    notes.append(Note("defaulted", self.fallback_name, self.target_name, None, converted, self.fallback_reason))
                    return converted
        if self.default is not MISSING:
            notes.append(Note("defaulted", name, self.target_name, None, self.default, self.reason))
            return fresh(self.default)
        if self.required:
            alternatives = " or ".join(self.source_names + ((self.fallback_name,) if self.fallback_name else ()))
            raise Unmappable(f"{label} {name} {problem}; {self.titles.target} {self.target_name} needs {alternatives}")
        return MISSING


@dataclass(frozen=True, slots=True)
class CompiledDefault:
    target: Path
    target_name: str
    value: Any
    reason: str
    when: tuple[tuple[str, bool], ...] = ()

    def applies(self, flags: Flags) -> bool:
        return all(flags.get(flag, False) == wanted for flag, wanted in self.when)


KnownTree = Mapping[str, Any]  # key -> True (covers everything below) or a nested KnownTree


@dataclass(frozen=True, slots=True)
class CompiledSection:
    name: str
    rules: tuple[CompiledRule, ...]
    known: KnownTree
    unruled_reason: str  # the note on an input field no rule names

    def apply(self, source: Any, payload: dict[str, Any], notes: list[Note], label: str, flags: Flags) -> None:
        for rule in self.rules:
            if rule.applies(flags):
                rule.apply(source, payload, notes, label)
        if isinstance(source, dict):
            _note_unruled(source, self.known, "", notes, self.unruled_reason)

    def skipped(self, source: Any, flags: Flags) -> list[Note]:
        """Notes for rules that this variant does not apply (they apply in another variant)."""
        notes = []
        for rule in self.rules:
            if rule.when and not rule.applies(flags):
                name, value = rule.first_present(source)
                if value is not MISSING:
                    notes.append(Note("relocated", name, rule.target_name, value, None, rule.reason))
        return notes


def _note_unruled(source: dict[str, Any], known: KnownTree, prefix: str, notes: list[Note], reason: str) -> None:
    for key, value in source.items():
        sub = known.get(key)
        if sub is True:
            continue
        if sub is None:
            if value is not None:
                notes.append(Note("dropped", f"{prefix}{key}", None, value, None, reason))
        elif isinstance(value, dict):
            _note_unruled(value, sub, f"{prefix}{key}.", notes, reason)


@dataclass(frozen=True, slots=True)
class CompiledMapping:
    """One mapping file, ready to run: sections in order, then declared defaults."""

    label: str
    sections: tuple[CompiledSection, ...]
    defaults: tuple[CompiledDefault, ...]

    def run(self, sources: Mapping[str, Any], flags: Flags = NO_FLAGS, notes: list[Note] | None = None) -> Mapped:
        payload: dict[str, Any] = {}
        notes = [] if notes is None else notes
        for section in self.sections:
            section.apply(sources.get(section.name), payload, notes, self.label, flags)
        for default in self.defaults:
            if default.applies(flags) and not has_path(payload, default.target):
                set_path(payload, default.target, fresh(default.value))
                notes.append(Note("defaulted", None, default.target_name, None, default.value, default.reason))
        return Mapped(payload, notes)

    def conditional_outputs(self, sources: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
        """Only the values that depend on `flags`: two variants are identical when these are."""
        payload: dict[str, Any] = {}
        scratch: list[Note] = []
        for section in self.sections:
            for rule in section.rules:
                if rule.when and rule.applies(flags):
                    with contextlib.suppress(Unmappable):
                        rule.apply(sources.get(section.name), payload, scratch, self.label)
        for default in self.defaults:
            if default.when and default.applies(flags) and not has_path(payload, default.target):
                set_path(payload, default.target, default.value)
        return payload
