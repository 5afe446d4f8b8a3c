"""The `scan` command: exit codes, formats, --output, --exclude, and no secret in any output."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner, Result

from migrator.cli import cli
from migrator.scan import FORMATS, RULES, TARGETS, render, scan_paths
from tests.scan.conftest import FIXTURES, SECRETS

Run = Callable[..., Result]
SARIF_SCHEMA = json.loads((Path(__file__).parent / "sarif" / "sarif-schema-2.1.0.json").read_text())


def test_exit_1_with_findings_and_text_grouped_by_file(run_scan: Run) -> None:
    result = run_scan("app")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert "app/js/positive.js" in lines
    assert "  9:49  dyte-v1-route  POST /organizations/{organizationId}/meeting" in lines
    assert lines[-1].startswith("56 finding(s) in 8 file(s);")


def test_exit_0_without_findings(run_scan: Run) -> None:
    result = run_scan("app/js/negative.js", "app/csharp")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("0 finding(s)")


@pytest.mark.parametrize(
    "args", [(), ("no/such/dir",), ("app", "--format", "xml"), ("app", "--target", "v3"), ("app", "--bogus")]
)
def test_exit_2_on_usage_errors(run_scan: Run, args: tuple[str, ...]) -> None:
    assert run_scan(*args).exit_code == 2


def test_exit_2_when_the_scan_mapping_file_is_broken(run_scan: Run, tmp_path: Path) -> None:
    """A `use` beside a rule that already names the v2 field would be a second source of truth."""
    mappings = tmp_path / "mappings"
    shutil.copytree(Path(__file__).parents[2] / "mappings", mappings)
    scan_yaml = mappings / "scan.yaml"
    scan_yaml.write_text(
        scan_yaml.read_text().replace(
            "rules: [participants.yaml#clientSpecificId]", "rules: [participants.yaml#clientSpecificId]\n    use: x"
        )
    )
    result = CliRunner().invoke(cli, ["--mappings", str(mappings), "scan", str(FIXTURES)])
    assert result.exit_code == 2
    assert "scan.yaml" in result.output and "repeats" in result.output


def test_json_format(run_scan: Run) -> None:
    result = run_scan("app", "--format", "json")
    document = json.loads(result.output)
    assert result.exit_code == 1 and document["target"] == "dyte-v2" and len(document["findings"]) == 56
    assert set(document["findings"][0]) == {"path", "line", "column", "rule", "found", "replacement", "why", "link"}


def _sarif(run_scan: Run, *args: str) -> dict[str, Any]:
    result = run_scan("app", "--format", "sarif", *args)
    assert result.exit_code == 1
    return json.loads(result.output)


def test_sarif_validates_against_the_2_1_0_schema(run_scan: Run) -> None:
    document = _sarif(run_scan)
    jsonschema.validate(document, SARIF_SCHEMA)
    run = document["runs"][0]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == list(RULES)
    assert len(run["results"]) == 56
    for result in run["results"]:
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"].startswith("app/")  # relative to the working directory
        assert location["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def _prints(document: dict[str, Any]) -> list[tuple[str, int]]:
    return [
        (r["partialFingerprints"]["dyteMigrateFinding/v1"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in document["runs"][0]["results"]
    ]


def test_sarif_fingerprints_are_unique_and_survive_line_moves(
    run_scan: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prints = [fingerprint for fingerprint, _ in _prints(_sarif(run_scan))]
    assert len(set(prints)) == len(prints) == 56
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "client.py"
    source.write_text((FIXTURES / "python" / "positive.py").read_text())
    before = _prints(json.loads(render(scan_paths([source]), "sarif")))
    source.write_text("# two new lines\n\n" + source.read_text())
    after = _prints(json.loads(render(scan_paths([source]), "sarif")))
    assert [f for f, _ in before] == [f for f, _ in after]
    assert [line + 2 for _, line in before] == [line for _, line in after]


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_file_and_no_secret_in_any_format(run_scan: Run, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"scan.{fmt}"
    result = run_scan("app", "--format", fmt, "--output", str(out), "--target", "realtimekit")
    assert result.exit_code == 1 and result.output == ""
    written = out.read_text()
    assert "dyte-hardcoded-credential" in written
    for secret in SECRETS:
        assert secret not in written
    for secret in SECRETS:
        assert secret not in run_scan("app", "--format", fmt).output


def test_exclude_globs(run_scan: Run) -> None:
    document = json.loads(run_scan("app", "--format", "json", "--exclude", "*.rb", "--exclude", "js/").output)
    paths = {f["path"] for f in document["findings"]}
    assert paths and not any(p.endswith(".rb") or p.startswith("app/js/") for p in paths)


def test_cli_choices_are_the_scanners(run_scan: Run) -> None:
    """The command names the choices itself so that start-up need not import the scanner."""
    params = {p.name: p for p in cli.commands["scan"].params}
    assert tuple(params["target"].type.choices) == TARGETS  # type: ignore[attr-defined]
    assert tuple(params["fmt"].type.choices) == FORMATS  # type: ignore[attr-defined]
