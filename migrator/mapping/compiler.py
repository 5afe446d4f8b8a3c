"""Turns a validated mapping file into runnable rules, checking every promise against the target's spec
(Dyte v2's OpenAPI file, or the target overlay's, e.g. RealtimeKit's derived from the cloudflare SDK).

A target path the target does not have, a constant it would reject, a required field nothing
fills, a numeric limit without a clamp: each is a MappingFileError naming file, key and the
target (by its `Titles`, as the compiled rules' notes do), raised before any entity is mapped.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product
from pathlib import Path
from typing import Any

from migrator.errors import MappingFileError
from migrator.mapping import v2spec
from migrator.mapping.engine import (
    MISSING,
    Choice,
    CompiledDefault,
    CompiledMapping,
    CompiledRule,
    CompiledSection,
    Titles,
)
from migrator.mapping.filemodels import ContextFlag, FieldRule, LossyTarget, PayloadFile
from migrator.mapping.yamlsource import SourceFile, key_of

_JSON_TYPE = {
    "string": "string",
    "uri": "string",
    "boolean": "boolean",
    "integer": "integer",
    "number": "number",
    "list": "array",
}
_FLAGS: tuple[ContextFlag, ...] = ("waiting_room",)
_Writer = tuple[tuple[Any, ...], str, Mapping[ContextFlag, bool] | None, bool]  # location, target, when, always fills


def split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


class _Compiler:
    def __init__(
        self,
        source: SourceFile,
        model: PayloadFile,
        sections: tuple[str, ...],
        computed: set[str],
        flags_allowed: bool,
        spec: Path,
        titles: Titles,
    ) -> None:
        self.source, self.model, self.flags_allowed, self.spec = source, model, flags_allowed, spec
        self.titles = titles
        self.expected_sections, self.expected_computed = sections, computed

    def error(self, loc: tuple[Any, ...], problem: str) -> MappingFileError:
        return self.source.error(key_of(self.source.root, loc), problem, loc)

    def bodies(self) -> list[v2spec.Schema]:
        known = v2spec.request_body_names(self.spec)
        for index, name in enumerate(self.model.v2_body):
            if name not in known:
                raise self.error(("v2_body", index), f"{name!r} is not a request body or schema of {self.spec.name}")
        return [v2spec.request_schema(name, self.spec) for name in self.model.v2_body]

    def compile(self) -> CompiledMapping:
        bodies = self.bodies()
        if set(self.model.sections) != set(self.expected_sections):
            raise self.error(
                ("sections",),
                f"{self.model.kind} mappings need exactly the sections {', '.join(self.expected_sections)}",
            )
        declared = {field.to for field in self.model.computed}
        if declared != self.expected_computed:
            raise self.error(
                ("computed",),
                f"must list exactly the fields the engine fills: {', '.join(sorted(self.expected_computed)) or 'none'}",
            )
        for index, field in enumerate(self.model.computed):
            self.targets(bodies, ("computed", index, "to"), field.to)
        sections = tuple(self.section(bodies, name) for name in self.expected_sections)
        defaults = tuple(self.default(bodies, index) for index in range(len(self.model.defaults)))
        self.check_unique_targets()
        self.check_required(bodies)
        return CompiledMapping(self.model.kind, sections, defaults)

    def targets(self, bodies: list[v2spec.Schema], loc: tuple[Any, ...], path: str) -> list[v2spec.Schema]:
        found = v2spec.at_path(bodies, split(path))
        if not found:
            raise self.error(loc, f"{self.titles.target} {' / '.join(self.model.v2_body)} has no field {path!r}")
        return found

    def fits(self, loc: tuple[Any, ...], value: Any, schemas: list[v2spec.Schema]) -> None:
        problem = v2spec.fits(value, schemas)
        if problem is not None:
            raise self.error(loc, f"{value!r} is not accepted by {self.titles.target} here: {problem}")

    def when(self, loc: tuple[Any, ...], when: Mapping[ContextFlag, bool] | None) -> tuple[tuple[str, bool], ...]:
        if when and not self.flags_allowed:
            raise self.error(loc, "`when` applies only to preset variants (presets.yaml)")
        return tuple(sorted((when or {}).items()))

    def section(self, bodies: list[v2spec.Schema], name: str) -> CompiledSection:
        rules = tuple(self.rule(bodies, name, index, rule) for index, rule in enumerate(self.model.sections[name].rules))
        known: dict[str, Any] = {}
        for rule in self.model.sections[name].rules:
            for path in rule.sources + ([rule.fallback.from_] if rule.fallback else []):
                _mark_known(known, split(path))
        unruled = f"not a {self.titles.source} spec field and no rule in {self.source.name}"
        return CompiledSection(name, rules, known, unruled)

    def rule(self, bodies: list[v2spec.Schema], section: str, index: int, rule: FieldRule) -> CompiledRule:
        loc = ("sections", section, "rules", index)
        sources = tuple(split(path) for path in rule.sources)
        if rule.to is None:
            if rule.drop is not None:
                return CompiledRule("drop", sources, tuple(rule.sources), rule.drop, self.titles)
            return CompiledRule("relocate", sources, tuple(rule.sources), rule.relocate or "", self.titles)
        targets = self.targets(bodies, (*loc, "to"), rule.to)
        value_schemas = targets
        if rule.value_type == "list":
            if "array" not in v2spec.json_types(targets):
                raise self.error((*loc, "type"), f"{self.titles.target} {rule.to} is not a list")
            value_schemas = [schema["items"] for schema in targets if "items" in schema]
        elif rule.map is None:
            self.check_type(loc, rule, targets)
        mapping = self.mapping(loc, rule, value_schemas)
        unknown = None
        if rule.unknown is not None:
            self.fits((*loc, "unknown", "to"), rule.unknown.to, value_schemas)
            unknown = Choice(rule.unknown.to, rule.unknown.reason)
        default: Any = MISSING
        if rule.has_default:
            self.fits((*loc, "default"), rule.default, targets)
            default = rule.default
        self.check_bounds(loc, rule, targets)
        return CompiledRule(
            "to",
            sources,
            tuple(rule.sources),
            rule.reason or "",
            self.titles,
            target=split(rule.to),
            target_name=rule.to,
            value_type=rule.value_type,
            combine_any=rule.combine == "any",
            mapping=mapping,
            allowed=v2spec.enum_of(value_schemas) if mapping is None else None,
            unknown=unknown,
            clamp_min=rule.clamp.min if rule.clamp else None,
            clamp_max=rule.clamp.max if rule.clamp else None,
            clamp_reason=rule.clamp.reason if rule.clamp else "",
            default=default,
            fallback=split(rule.fallback.from_) if rule.fallback else None,
            fallback_name=rule.fallback.from_ if rule.fallback else None,
            fallback_reason=rule.fallback.reason if rule.fallback else "",
            required=rule.required,
            when=self.when((*loc, "when"), rule.when),
        )

    def check_type(self, loc: tuple[Any, ...], rule: FieldRule, targets: list[v2spec.Schema]) -> None:
        wanted = v2spec.json_types(targets)
        produced = _JSON_TYPE[rule.value_type]
        if wanted and produced not in wanted and not (produced == "integer" and "number" in wanted):
            raise self.error(
                (*loc, "type"),
                f"rule yields {produced} but {self.titles.target} {rule.to} takes {' or '.join(sorted(wanted))}: add a map",
            )

    def mapping(self, loc: tuple[Any, ...], rule: FieldRule, schemas: list[v2spec.Schema]) -> dict[Any, Choice] | None:
        if rule.map is None:
            return None
        compiled = {}
        for key, target in rule.map.items():
            value, lossy = (target.to, target.lossy) if isinstance(target, LossyTarget) else (target, None)
            self.fits((*loc, "map", key), value, schemas)
            compiled[key] = Choice(value, lossy)
        return compiled

    def check_bounds(self, loc: tuple[Any, ...], rule: FieldRule, targets: list[v2spec.Schema]) -> None:
        """A target's numeric limit needs a clamp inside it, so an out-of-range value is noted, not rejected by the target."""
        if rule.map is not None or rule.value_type not in ("integer", "number"):
            return
        for bound, limit in (
            ("maximum", rule.clamp.max if rule.clamp else None),
            ("minimum", rule.clamp.min if rule.clamp else None),
        ):
            spec_limits = [schema[bound] for schema in targets if bound in schema]
            if not spec_limits:
                continue
            spec_limit = max(spec_limits) if bound == "maximum" else min(spec_limits)
            too_wide = limit is None or (limit > spec_limit if bound == "maximum" else limit < spec_limit)
            if too_wide:
                key = "max" if bound == "maximum" else "min"
                raise self.error(
                    (*loc, "clamp"), f"{self.titles.target} {rule.to} has {bound} {spec_limit}: declare clamp {key} within it"
                )

    def default(self, bodies: list[v2spec.Schema], index: int) -> CompiledDefault:
        loc = ("defaults", index)
        rule = self.model.defaults[index]
        targets = self.targets(bodies, (*loc, "to"), rule.to)
        self.fits((*loc, "value"), rule.value, targets)
        return CompiledDefault(split(rule.to), rule.to, rule.value, rule.reason, self.when((*loc, "when"), rule.when))

    def _contexts(self) -> list[dict[ContextFlag, bool]]:
        flags = _FLAGS if self.flags_allowed else ()
        return [dict(zip(flags, values, strict=True)) for values in product((False, True), repeat=len(flags))]

    def _writers(self) -> list[_Writer]:
        """(location, target, when, always yields a value) for every rule and default that writes."""
        writers: list[_Writer] = []
        for name, section in self.model.sections.items():
            for index, rule in enumerate(section.rules):
                if rule.to is not None:
                    always = rule.required or rule.has_default
                    writers.append((("sections", name, "rules", index, "to"), rule.to, rule.when, always))
        for index, default in enumerate(self.model.defaults):
            writers.append((("defaults", index, "to"), default.to, default.when, True))
        for index, field in enumerate(self.model.computed):
            writers.append((("computed", index, "to"), field.to, None, True))
        return writers

    def check_unique_targets(self) -> None:
        """Two rules writing one field in the same variant would make the result depend on rule order."""
        rules_only = [w for w in self._writers() if w[0][0] != "defaults"]
        for context in self._contexts():
            seen: set[str] = set()
            for loc, target, when, _ in rules_only:
                if _active(when, context):
                    if target in seen:
                        raise self.error(loc, f"{target} is written by two rules; give one a `when` or remove it")
                    seen.add(target)

    def check_required(self, bodies: list[v2spec.Schema]) -> None:
        """Every object the mapping emits must carry the fields the target requires in it, in every variant."""
        writers = self._writers()
        for context in self._contexts():
            active = [(loc, target) for loc, target, when, _ in writers if _active(when, context)]
            guaranteed = {target for _, target, when, always in writers if always and _active(when, context)}
            emitted = {()} | {split(target)[:depth] for _, target in active for depth in range(1, len(split(target)))}
            for path in sorted(emitted):
                for schema in v2spec.at_path(bodies, path) if path else bodies:
                    for key in sorted(v2spec.required_keys(schema)):
                        full = ".".join((*path, key))
                        if not any(g == full or g.startswith(full + ".") for g in guaranteed):
                            variant = ", ".join(f"{k}={v}" for k, v in context.items())
                            where = f" (when {variant})" if variant else ""
                            partial = next((at for at, t in active if t == full or t.startswith(full + ".")), None)
                            fix = (
                                "this rule may leave it out: add a default or required: true"
                                if partial
                                else "no rule fills it: add a default"
                            )
                            raise self.error(partial or ("defaults",), f"{self.titles.target} requires {full}{where}, but {fix}")


def _active(when: Mapping[ContextFlag, bool] | None, context: Mapping[ContextFlag, bool]) -> bool:
    return all(context.get(flag, False) == wanted for flag, wanted in (when or {}).items())


def _mark_known(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    node = tree
    for key in path[:-1]:
        child = node.setdefault(key, {})
        if child is True:
            return
        node = child
    node[path[-1]] = True


def compile_payload_file(
    source: SourceFile,
    model: PayloadFile,
    sections: tuple[str, ...],
    computed: set[str],
    flags_allowed: bool,
    spec: Path,
    titles: Titles,
) -> CompiledMapping:
    """The file's rules, checked against the target's `spec`; notes and errors name the route by `titles`."""
    return _Compiler(source, model, sections, computed, flags_allowed, spec, titles).compile()
