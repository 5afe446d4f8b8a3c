"""Pydantic models of the files in `mappings/`: the shape a Dyte user may write, checked on load.

Only structure is checked here (keys, types, which keys go together, reasons present);
whether a target path or a constant fits the v2 spec is checked when rules are compiled.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

_FIELD_PATH = re.compile(r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
_OPERATION = re.compile(r"^(GET|POST|PUT|PATCH|DELETE) /\S+$")


def _field_path(value: str) -> str:
    if not _FIELD_PATH.match(value):
        raise ValueError(f"{value!r} is not a field path such as role.produce.video.quality")
    return value


def _operation(value: str) -> str:
    if not _OPERATION.match(value):
        raise ValueError(f"{value!r} is not an operation such as 'GET /meetings/{{meeting_id}}'")
    return value


def _reason(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty: say why, in plain words")
    return value.strip()


def _name(value: str) -> str:
    if not value.strip():
        raise ValueError("must be a name, or null")
    return value


Reason = Annotated[str, AfterValidator(_reason)]
Name = Annotated[str, AfterValidator(_name)]
FieldPath = Annotated[str, AfterValidator(_field_path)]
Operation = Annotated[str, AfterValidator(_operation)]
Scalar = str | bool | int | float | None
ValueType = Literal["string", "boolean", "integer", "number", "uri", "list"]
ContextFlag = Literal["waiting_room"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _one_or_many_paths(value: Any) -> Any:
    if isinstance(value, str) or (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        return value
    raise ValueError("expected a field path (a.b.c) or a non-empty list of field paths")


class LossyTarget(Strict):
    """An enum-map entry that loses information: the reason is shown on every entity it touches."""

    to: Scalar
    lossy: Reason


class Substitute(Strict):
    """The value to use when the v1 value is absent from the map or the v2 enum."""

    to: Scalar
    reason: Reason


class Clamp(Strict):
    min: int | None = None
    max: int | None = None
    reason: Reason

    @model_validator(mode="after")
    def _has_a_bound(self) -> Clamp:
        if self.min is None and self.max is None:
            raise ValueError("clamp needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("clamp min is larger than max")
        return self


class Fallback(Strict):
    from_: FieldPath = Field(alias="from")
    reason: Reason


class FieldRule(Strict):
    """One v1 field (or a group of alternatives): carried to `to`, or dropped / relocated with a reason."""

    from_: FieldPath | list[FieldPath] = Field(alias="from")
    to: FieldPath | None = None
    drop: Reason | None = None
    relocate: Reason | None = None
    type: ValueType | None = None
    combine: Literal["first", "any"] = "first"
    map: dict[str | bool | int, Scalar | LossyTarget] | None = None
    unknown: Substitute | None = None
    clamp: Clamp | None = None
    default: Scalar | list[Scalar] | dict[str, Any] = None
    fallback: Fallback | None = None
    required: bool = False
    when: dict[ContextFlag, bool] | None = None
    reason: Reason | None = None
    secret: bool = False  # a drop rule for a credential: the extractor removes it before anything is stored

    _one_or_many = field_validator("from_", mode="before")(_one_or_many_paths)

    @field_validator("map", mode="before")
    @classmethod
    def _map_is_a_mapping(cls, value: Any) -> Any:
        if value is None:
            return value
        if not isinstance(value, dict) or not value:
            raise ValueError("map must be a non-empty mapping of v1 value: v2 value")
        for key, target in value.items():
            lossy_form = isinstance(target, dict) and set(target) == {"to", "lossy"}
            if not (lossy_form or isinstance(target, (str, bool, int, float)) or target is None):
                raise ValueError(f"entry {key!r}: expected a v2 value, or {{to: <v2 value>, lossy: <reason>}}")
        return value

    @property
    def sources(self) -> list[str]:
        return [self.from_] if isinstance(self.from_, str) else list(self.from_)

    @property
    def has_default(self) -> bool:
        return "default" in self.model_fields_set

    @model_validator(mode="after")
    def _coherent(self) -> FieldRule:
        actions = [k for k in ("to", "drop", "relocate") if getattr(self, k) is not None]
        if len(actions) != 1:
            raise ValueError("a rule needs exactly one of: to, drop, relocate")
        if self.secret and self.drop is None:
            raise ValueError("secret: true marks a dropped credential; it needs `drop` and its reason")
        if self.to is None:
            carried = {"type", "map", "unknown", "clamp", "default", "fallback", "required", "when", "reason"}
            extra = sorted(carried & self.model_fields_set)
            if extra or self.combine != "first":
                raise ValueError(f"a {actions[0]} rule takes only `from` and its reason, not: {', '.join(extra or ['combine'])}")
            return self
        if self.type is None and self.map is None:
            raise ValueError("a `to` rule needs `type` or `map`")
        if self.map is not None and self.type is None:
            key_types = {type(k) for k in self.map}
            if len(key_types) != 1:
                raise ValueError("map keys mix types: set `type`")
        if self.has_default and not self.reason:
            raise ValueError("a rule with a default needs a reason (why that default)")
        if self.clamp is not None and (self.map is not None or self.value_type not in ("integer", "number")):
            raise ValueError("clamp applies to integer or number rules without a map")
        if self.combine == "any" and (len(self.sources) < 2 or self.value_type != "boolean"):
            raise ValueError("combine: any needs two or more boolean sources")
        if self.fallback is not None and len(self.sources) > 1:
            raise ValueError("use either a list of sources or a fallback, not both")
        return self

    @property
    def value_type(self) -> ValueType:
        """The declared v1 value type, else the one the map keys imply."""
        if self.type is not None:
            return self.type
        assert self.map is not None
        return (
            "boolean"
            if isinstance(next(iter(self.map)), bool)
            else "integer"
            if isinstance(next(iter(self.map)), int)
            else "string"
        )


class DefaultRule(Strict):
    """A v2 field v1 has no counterpart for: always this value, with the reason."""

    to: FieldPath
    value: Scalar | list[Scalar] | dict[str, Any]
    reason: Reason
    when: dict[ContextFlag, bool] | None = None


class ComputedField(Strict):
    """A v2 field the engine fills from resolution (not from a v1 field), documented here."""

    to: FieldPath
    reason: Reason


class Section(Strict):
    """Rules reading one input object; `covers` names the v1 spec schemas the rules must account for."""

    covers: list[str] = Field(min_length=1)
    rules: list[FieldRule]


class ReportNote(Strict):
    topic: Reason
    text: Reason


class PayloadFile(Strict):
    """Common shape of meetings.yaml, participants.yaml, webhooks.yaml and presets.yaml."""

    kind: Literal["meeting", "participant", "webhook", "preset"]
    v2_body: list[str] = Field(min_length=1)
    sections: dict[str, Section] = Field(min_length=1)
    computed: list[ComputedField] = []
    defaults: list[DefaultRule] = []
    notes: list[ReportNote] = []


class PayloadChange(Strict):
    """A difference a webhook receiver will see once events come from v2."""

    events: list[str] = Field(min_length=1)
    field: str
    change: Reason


class WebhookFile(PayloadFile):
    payload_changes: list[PayloadChange] = []


class Resolution(Strict):
    """Where a participant's preset comes from; the order is fixed: participant, meeting, org default."""

    participant_preset: FieldPath
    participant_role: FieldPath
    meeting_preset: FieldPath
    meeting_waiting_room: FieldPath
    org_default_preset: Name | None
    reason: Reason


class VariantNames(Strict):
    """Name templates of preset variants; `{preset}` and `{role}` are filled in."""

    role: str
    waiting_room: str
    role_and_waiting_room: str
    safe_characters: str
    separator: str = Field(default="--", min_length=1)
    reason: Reason

    @model_validator(mode="after")
    def _placeholders(self) -> VariantNames:
        for key, needed in (
            ("role", {"preset", "role"}),
            ("waiting_room", {"preset"}),
            ("role_and_waiting_room", {"preset", "role"}),
        ):
            template: str = getattr(self, key)
            found = set(re.findall(r"\{([^{}]*)\}", template))
            if found != needed:
                wanted = ", ".join(f"{{{name}}}" for name in sorted(needed))
                raise ValueError(f"{key}: template must use exactly {wanted}, found {sorted(found) or 'none'}")
        try:
            re.compile(f"[^{self.safe_characters}]")
        except re.error as err:
            raise ValueError(f"safe_characters is not a valid character class: {err}") from None
        return self


class RoleOnly(Strict):
    """A participant with only a roleName (no preset from itself, its meeting or the org default)
    gets a v2 preset built from that role alone; the UI part is v2's declared defaults."""

    name: str
    waiting_room: str
    ui: Literal["v2_spec_defaults"]
    reason: Reason

    @model_validator(mode="after")
    def _placeholders(self) -> RoleOnly:
        for key in ("name", "waiting_room"):
            found = set(re.findall(r"\{([^{}]*)\}", getattr(self, key)))
            if found != {"role"}:
                raise ValueError(f"{key}: template must use exactly {{role}}, found {sorted(found) or 'none'}")
        return self


class PresetFile(PayloadFile):
    resolution: Resolution
    variant_names: VariantNames
    role_only: RoleOnly | None = None


class GuideRow(Strict):
    """A row of the endpoint table in v2-migration-guide.mdx, copied as the guide prints it."""

    v1: str
    v2: str


class EndpointRule(Strict):
    """One v1 operation and its v2 counterpart (or why there is none), with any guide erratum."""

    action: Reason
    v1: Operation | None
    v2: Operation | None
    spec: Literal["dyte-v1.yaml", "dyte-v1-2022-roles.yaml"] | None = None
    reason: Reason | None = None
    guide: GuideRow | None = None
    erratum: Reason | None = None

    @model_validator(mode="after")
    def _explained(self) -> EndpointRule:
        if self.v1 is None and self.guide is None:
            raise ValueError("a rule without a v1 operation must be a guide row (set `guide`)")
        if (self.v1 is None or self.v2 is None) and not self.reason:
            raise ValueError("a rule with no v1 or no v2 operation needs a reason")
        if self.v1 is not None and self.spec is None:
            raise ValueError("name the v1 spec file that documents this operation (`spec`)")
        if self.guide is not None and self.differs_from_guide and not self.erratum:
            raise ValueError("the map differs from the guide's row: say why in `erratum`")
        if self.guide is not None and not self.differs_from_guide and self.erratum:
            raise ValueError("`erratum` given but the map matches the guide's row")
        return self

    @property
    def differs_from_guide(self) -> bool:
        assert self.guide is not None
        return (normalize_operation(self.guide.v1, "/v1"), normalize_operation(self.guide.v2, "/v2")) != (
            normalize_operation(self.v1, ""),
            normalize_operation(self.v2, ""),
        )


class EndpointFile(Strict):
    endpoints: list[EndpointRule] = Field(min_length=1)


def normalize_operation(operation: str | None, prefix: str) -> str | None:
    """`PUT /v1/a/{orgId}/b` -> `PUT /a/{}/b`: parameter names and the version prefix are not errata."""
    if operation is None:
        return None
    method, _, path = operation.partition(" ")
    path = path.replace("\\{", "{").replace("\\}", "}")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    return f"{method} {re.sub(r'{[^}]*}', '{}', path)}"
