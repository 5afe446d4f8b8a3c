"""The mappings' fast paths give exactly what the slow ones gave: libyaml for the mapping files
(same data, same line numbers, same error messages), and the spec kept as JSON by content hash."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrator.mapping import v2spec, yamlsource

from .helpers import MAPPINGS


def _shape(node: yaml.Node) -> Any:
    """A node tree as comparable values: tag, position and children."""
    if isinstance(node, yaml.MappingNode):
        children: Any = [(_shape(k), _shape(v)) for k, v in node.value]
    elif isinstance(node, yaml.SequenceNode):
        children = [_shape(item) for item in node.value]
    else:
        children = node.value
    return node.tag, node.start_mark.line, node.start_mark.column, children


@pytest.mark.parametrize("name", sorted(p.name for p in MAPPINGS.glob("*.yaml")))
def test_libyaml_reads_each_mapping_file_as_the_pure_python_parser_does(name: str) -> None:
    text = (MAPPINGS / name).read_text(encoding="utf-8")
    fast_root, fast_data = yamlsource._parse(text, yamlsource._FastLoader)
    slow_root, slow_data = yamlsource._parse(text, yamlsource._StrictLoader)
    assert fast_data == slow_data
    assert fast_root is not None and slow_root is not None
    assert _shape(fast_root) == _shape(slow_root)


def test_libyaml_refuses_duplicate_keys_too() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate key 'a'"):
        yamlsource._parse("a: 1\nb: 2\na: 3\n", yamlsource._FastLoader)


@pytest.fixture
def spec_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(v2spec, "_cache_dir", lambda: tmp_path / "cache")
    path = tmp_path / "spec.yaml"
    shutil.copyfile(v2spec.V2_SPEC, path)
    return path


def _load(path: Path) -> dict[str, Any]:
    return v2spec.load_spec.__wrapped__(path)  # type: ignore[no-any-return]  # past the per-process cache


def test_the_spec_is_kept_as_json_and_read_back_identical(spec_copy: Path) -> None:
    parsed = yaml.load(spec_copy.read_bytes(), Loader=yaml.CSafeLoader)
    assert _load(spec_copy) == parsed
    [kept] = (spec_copy.parent / "cache").glob("spec-*.json")
    kept.write_text(kept.read_text().replace('"CreateMeetingBody"', '"FromTheCache"', 1))  # mark what the cache gives
    assert "FromTheCache" in str(_load(spec_copy)), "the second read comes from the cache"


def test_an_edited_spec_is_parsed_afresh(spec_copy: Path) -> None:
    _load(spec_copy)
    spec_copy.write_text(spec_copy.read_text().replace("CreateMeetingBody", "EditedMeetingBody"))
    assert "EditedMeetingBody" in str(_load(spec_copy))
    assert len(list((spec_copy.parent / "cache").glob("spec-*.json"))) == 2, "one file per content"


def test_a_damaged_cache_file_is_ignored_and_replaced(spec_copy: Path) -> None:
    _load(spec_copy)
    [kept] = (spec_copy.parent / "cache").glob("spec-*.json")
    kept.write_text('{"source_sha256": "')
    assert _load(spec_copy) == yaml.load(spec_copy.read_bytes(), Loader=yaml.CSafeLoader)
    assert kept.read_text().startswith('{"source_sha256": "') and len(kept.read_text()) > 1000


def test_a_spec_json_cannot_hold_exactly_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v2spec, "_cache_dir", lambda: tmp_path / "cache")
    path = tmp_path / "dated.yaml"
    path.write_text("info: {released: 2024-05-01}\nresponses: {200: ok}\n")
    first = _load(path)
    assert _load(path) == first and not isinstance(next(iter(first["responses"])), str)
    assert not list((tmp_path / "cache").glob("*.json"))


def test_an_unwritable_cache_folder_still_gives_the_spec(spec_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = spec_copy.parent / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(v2spec, "_cache_dir", lambda: blocker / "specs")
    assert "components" in _load(spec_copy)
