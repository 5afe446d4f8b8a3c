"""Query strings checked against the parameters an operation declares in the spec."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

from migrator.sandbox.specs import SpecDocument, first_problem
from migrator.sandbox.wire import ApiError


def _coerce(raw: str, schema: Mapping[str, Any]) -> Any:
    """A query string value as the JSON type its schema declares (arrays: comma-separated)."""
    json_type = schema.get("type")
    if json_type == "array":
        return [_coerce(part, schema.get("items", {})) for part in raw.split(",")]
    if json_type == "integer":
        return int(raw)
    if json_type == "number":
        return float(raw)
    if json_type == "boolean":
        if raw not in ("true", "false"):
            raise ValueError(raw)
        return raw == "true"
    return raw


@dataclass(frozen=True)
class QueryRules:
    """Declared parameters only; each value must satisfy its schema (type, enum, minimum, format)."""

    schemas: Mapping[str, tuple[Mapping[str, Any], jsonschema.Draft4Validator, bool]]  # name -> (schema, validator, empty ok)

    @classmethod
    def from_spec(cls, spec: SpecDocument, path: str, method: str) -> QueryRules:
        schemas = {}
        for name, parameter in spec.query_parameters(path, method).items():
            schema = spec.resolve(parameter.get("schema", {}))
            schemas[name] = (schema, spec.validator(schema), bool(parameter.get("allowEmptyValue")))
        return cls(schemas)

    def check(self, query: Mapping[str, str]) -> None:
        for name, raw in query.items():
            if name not in self.schemas:
                raise ApiError(400, f"Unknown query parameter {name!r}")
            schema, validator, empty_ok = self.schemas[name]
            if raw == "" and empty_ok:
                continue
            try:
                value = _coerce(raw, schema)
            except ValueError:
                raise ApiError(400, f"Query parameter {name!r} must be of type {schema.get('type')}") from None
            problem = first_problem(validator, value, root="value")
            if problem is not None:
                raise ApiError(400, f"Invalid query parameter {name!r} {problem}")
