"""Reading a mapping file so that every problem names the file, the key and, where known, the line.

PyYAML silently keeps the last of two equal keys; a user editing rules by hand would
lose one without a word, so duplicates are refused here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from migrator.errors import MappingFileError

ModelT = TypeVar("ModelT", bound=BaseModel)


class _RefusesDuplicateKeys(yaml.constructor.SafeConstructor):
    """Safe construction that refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


class _StrictLoader(_RefusesDuplicateKeys, yaml.SafeLoader):
    """The pure-Python parser: its error messages are the ones users see (and tests pin)."""


_FastLoader: type[Any] = (
    type("_FastLoader", (_RefusesDuplicateKeys, yaml.CSafeLoader), {}) if yaml.__with_libyaml__ else _StrictLoader
)


@dataclass(frozen=True)
class SourceFile:
    """A parsed mapping file: its data, its node tree (for line numbers) and its content hash."""

    name: str
    data: Any
    root: yaml.Node | None
    sha256: str

    def error(self, key: str, problem: str, loc: tuple[Any, ...] = ()) -> MappingFileError:
        line = line_of(self.root, loc) if loc else None
        return MappingFileError(self.name, key, f"{problem} (line {line})" if line else problem)

    def validate(self, model: type[ModelT]) -> ModelT:
        """Validate with pydantic; the first problem becomes one MappingFileError line."""
        try:
            return model.model_validate(self.data)
        except ValidationError as err:
            first = err.errors(include_url=False)[0]
            loc = tuple(first["loc"])
            raise self.error(key_of(self.root, loc), _problem(first), loc) from None


def read(path: Path) -> SourceFile:
    """Parse one file; a missing file or a YAML syntax error is a MappingFileError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MappingFileError(path.name, "(file)", f"not found in {path.parent}") from None
    except OSError as err:
        raise MappingFileError(path.name, "(file)", f"cannot be read: {err.strerror}") from None
    try:
        text = raw.decode("utf-8")
        try:  # libyaml is ~10x faster; a file it refuses is parsed again for the pure-Python message
            root, data = _parse(text, _FastLoader)
        except yaml.YAMLError:
            root, data = _parse(text, _StrictLoader)
    except UnicodeDecodeError:
        raise MappingFileError(path.name, "(file)", "is not UTF-8 text") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise MappingFileError(path.name, where, f"YAML syntax error: {err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise MappingFileError(path.name, "(file)", f"YAML syntax error: {err}") from None
    return SourceFile(path.name, data, root, hashlib.sha256(raw).hexdigest())


def _parse(text: str, loader_class: type[Any]) -> tuple[yaml.Node | None, Any]:
    """The node tree (for line numbers) and the data of one YAML document."""
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        return root, loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()


def _walk(root: yaml.Node | None, loc: tuple[Any, ...]) -> list[tuple[str, yaml.Node]]:
    """Follow a pydantic error location through the YAML nodes; steps that are not in the file
    (pydantic's union member tags) are skipped."""
    steps: list[tuple[str, yaml.Node]] = []
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if _same_key(k, part)), None)
            if match is None:
                continue
            steps.append((f".{part}" if steps else str(part), match))
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            steps.append((f"[{part}]", node))
    return steps


def _same_key(key_node: yaml.Node, part: Any) -> bool:
    if not isinstance(key_node, yaml.ScalarNode):
        return False
    text = str(key_node.value)
    return text.lower() == str(part).lower() if isinstance(part, bool) else text == str(part)


def key_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> str:
    """Readable key path such as `sections.participant.rules[2].map`."""
    steps = _walk(root, loc)
    key = "".join(text for text, _ in steps)
    last = loc[-1] if loc else None
    if isinstance(last, str) and not _is_union_tag(last) and (not steps or steps[-1][0].lstrip(".") != last):
        key = f"{key}.{last}" if key else last  # a missing key is not in the file
    return key or "(top level)"


def _is_union_tag(part: str) -> bool:
    """Pydantic adds the tried type (`str`, `list[str]`, `LossyTarget`) to union error locations."""
    return part in {"str", "int", "bool", "float", "none", "list", "dict"} or part[:1].isupper() or "[" in part


def line_of(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    steps = _walk(root, loc)
    if steps:
        return steps[-1][1].start_mark.line + 1
    return root.start_mark.line + 1 if root is not None else None


def _problem(error: ErrorDetails) -> str:
    error_type = error["type"]
    if error_type == "extra_forbidden":
        return "unknown key"
    if error_type == "missing":
        return "missing required key"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
