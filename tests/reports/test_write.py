"""write_report: three forms from one document, atomically, and the step summary."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from migrator.reports import load_schema, schema_path, write_report
from migrator.reports.model import RowStream

from .factory import migrate_document, plan_document, rollback_document, verify_document

DOCUMENTS = {
    "plan": lambda: plan_document(unmappable_every=7),
    "plan-empty": lambda: plan_document(meetings=0, participants=0, recordings=0),
    "verify-clean": lambda: verify_document(0),
    "verify-mismatch": lambda: verify_document(3),
    "migrate": lambda: migrate_document(),
    "rollback": lambda: rollback_document(),
}


def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker())


def test_the_schema_is_a_valid_2020_12_schema_shipped_inside_the_package() -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema())
    assert schema_path().parent.parent == Path(__file__).resolve().parents[2] / "migrator" / "reports"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_report_writes_json_markdown_and_html_and_the_json_validates(tmp_path: Path, name: str) -> None:
    paths = write_report(tmp_path, name, DOCUMENTS[name]())
    assert [Path(p).name for p in paths] == [f"{name}.json", f"{name}.md", f"{name}.html"]
    validator().validate(json.loads(Path(paths[0]).read_text()))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in paths)  # no temp files left


def test_the_schema_rejects_what_it_does_not_describe(tmp_path: Path) -> None:
    write_report(tmp_path, "plan", plan_document())
    good = json.loads((tmp_path / "plan.json").read_text())
    unknown_section = {**good, "surprise": 1}
    bad_action = {**good, "entities": [{**good["entities"][0], "action": "explode"}]}
    missing_changes = {**good, "entities": [{k: v for k, v in good["entities"][0].items() if k != "changes"}]}
    for bad in (unknown_section, bad_action, missing_changes):
        assert not validator().is_valid(bad)


def test_json_rows_are_one_per_line_and_match_the_stream(tmp_path: Path) -> None:
    doc = plan_document(meetings=3, participants=10)
    write_report(tmp_path, "plan", doc)
    text = (tmp_path / "plan.json").read_text()
    loaded = json.loads(text)
    assert len(loaded["entities"]) == doc["entities"].total == 3 + 10 + 2
    assert sum(1 for line in text.splitlines() if line.startswith('    {"kind": "participant"')) == 10


def test_step_summary_gets_the_markdown_appended_after_what_was_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("## earlier step\n")
    os.chmod(summary, 0o644)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write_report(tmp_path / "r", "plan", plan_document())
    write_report(tmp_path / "r", "verify", verify_document(0))
    text = summary.read_text()
    plan_md = (tmp_path / "r" / "plan.md").read_text()
    assert text.startswith("## earlier step\n" + plan_md)
    assert text.endswith((tmp_path / "r" / "verify.md").read_text() + "\n")
    assert summary.stat().st_mode & 0o777 == 0o644


def test_an_unwritable_step_summary_does_not_fail_the_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "no-such-dir" / "summary.md"))
    assert len(write_report(tmp_path, "rollback", rollback_document())) == 3


def test_a_failure_while_writing_keeps_the_previous_report_and_leaves_no_temp_file(tmp_path: Path) -> None:
    write_report(tmp_path, "plan", plan_document())
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def exploding() -> Iterator[dict[str, Any]]:
        yield from plan_document()["entities"]
        raise RuntimeError("ledger went away")

    broken = {**plan_document(), "entities": RowStream(exploding, 1)}
    with pytest.raises(RuntimeError):
        write_report(tmp_path, "plan", broken)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
