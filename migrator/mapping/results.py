"""What the mapper hands back: payloads with the notes a plan report shows, or a refusal.

Kept free of any rule logic so the planner and loader can import these without the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NoteKind = Literal["renamed", "converted", "lossy", "dropped", "defaulted", "relocated"]
ChoiceSource = Literal["participant", "meeting", "org-default", "role-only", "v1-preset"]


@dataclass(slots=True)
class Note:
    """One field-level fact about a translation, shown in the plan so nothing changes silently."""

    kind: NoteKind
    source: str | None
    target: str | None
    before: Any = None
    after: Any = None
    reason: str = ""


@dataclass(slots=True)
class Mapped:
    """A v2 request body and the notes explaining how it differs from its v1 origin."""

    payload: dict[str, Any]
    notes: list[Note] = field(default_factory=list)


class Unmappable(Exception):
    """The entity's required data is unusable: the plan marks it `unmappable` with this reason."""

    def __init__(self, reason: str, resolve: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.resolve = resolve  # the command or setting that resolves it, when the mapper knows one


@dataclass(frozen=True, slots=True)
class PresetChoice:
    """The v2 preset a participant (or a v1 preset itself) needs, and why."""

    v2_name: str
    preset: str | None  # None: a role-only preset, built from `role` alone
    role: str | None
    waiting_room: bool
    source: ChoiceSource
    reason: str
