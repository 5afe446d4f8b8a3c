"""The org's v1 presets and roles, indexed by name, as preset resolution needs them.

Roles come from the roles listing and also from each preset document's embedded role, so
an org whose roles route answers 404 still resolves every preset's own role.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def _name(record: Any) -> str | None:
    name = record.get("name") if isinstance(record, dict) else None
    return name if isinstance(name, str) and name else None


class PresetCatalog:
    """Presets and role documents by name; records that cannot be indexed are listed in `problems`."""

    def __init__(self, presets: Iterable[dict[str, Any]], roles: Iterable[dict[str, Any]]) -> None:
        self.presets: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, Any]] = {}  # role name -> {"name", "description", "role": {...}}
        self.listed_roles: set[str] = set()
        self.problems: list[str] = []
        for record in roles:
            self._add_role(record)
        for record in presets:
            self._add_preset(record)

    def _add_role(self, record: Any) -> None:
        name = _name(record)
        if name is None:
            self.problems.append(f"a v1 role record has no usable name: {str(record)[:80]}")
            return
        self.listed_roles.add(name)
        if isinstance(record.get("document"), dict):
            self.roles.setdefault(name, record["document"])

    def _add_preset(self, record: Any) -> None:
        name = _name(record)
        if name is None:
            self.problems.append(f"a v1 preset record has no usable name: {str(record)[:80]}")
            return
        if name in self.presets:
            self.problems.append(f"v1 preset name {name!r} appears twice; the first record is used")
            return
        self.presets[name] = record
        embedded = self.document(name).get("role")
        role_name = _name(embedded) or self.preset_role(name)
        if role_name is not None and isinstance(embedded, dict):
            self.roles.setdefault(role_name, embedded)

    def document(self, preset: str) -> dict[str, Any]:
        """The preset's full JSON (from its s3URL), or {} when it could not be read."""
        document = self.presets.get(preset, {}).get("document")
        return document if isinstance(document, dict) else {}

    def preset_role(self, preset: str) -> str | None:
        """The role a preset names (`preset.role`), else the name of its embedded role document."""
        document = self.document(preset)
        settings = document.get("preset")
        named = settings.get("role") if isinstance(settings, dict) else None
        if isinstance(named, str) and named:
            return named
        return _name(document.get("role"))

    def role_document(self, role: str) -> dict[str, Any] | None:
        document = self.roles.get(role)
        return document if isinstance(document, dict) and isinstance(document.get("role"), dict) else None

    def has_role(self, role: str) -> bool:
        return role in self.listed_roles or role in self.roles
