"""Findings as text (grouped by file), JSON, or SARIF 2.1.0 for GitHub code scanning.

No format prints source text: a finding says what kind of thing was found and where,
so a credential's value cannot leak through any of them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict
from itertools import groupby
from typing import Any

from migrator.scan._model import RULES, Finding, ScanResult

FORMATS = ("text", "json", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _text(result: ScanResult) -> str:
    lines: list[str] = []
    for path, group in groupby(result.findings, key=lambda f: f.path):
        lines.append(path)
        for f in group:
            lines.append(f"  {f.line}:{f.column}  {f.rule}  {f.found}")
            lines.append(f"      -> {f.replacement}")
            lines.append(f"      why: {f.why}")
            lines.append(f"      see: {f.link}")
        lines.append("")
    files = len({f.path for f in result.findings})
    lines.append(
        f"{len(result.findings)} finding(s) in {files} file(s); {result.files_scanned} file(s) scanned; target {result.target}"
    )
    return "\n".join(lines) + "\n"


def _json(result: ScanResult) -> str:
    document = {
        "version": 1,
        "target": result.target,
        "files_scanned": result.files_scanned,
        "findings": [asdict(f) for f in result.findings],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _fingerprints(findings: list[Finding]) -> list[str]:
    """Stable across runs and line moves: rule, file, what was found and its occurrence in the file."""
    seen: Counter[tuple[str, str, str]] = Counter()
    prints = []
    for f in findings:
        key = (f.rule, f.path, f.found)
        seen[key] += 1
        prints.append(hashlib.sha256("\0".join([*key, str(seen[key])]).encode()).hexdigest()[:32])
    return prints


def _sarif(result: ScanResult) -> str:
    from migrator import __version__

    rule_ids = list(RULES)
    rules = [
        {
            "id": rule.id,
            "name": rule.name,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.help},
            "help": {"text": rule.help},
            "defaultConfiguration": {"level": rule.level},
            "properties": {"tags": ["dyte", "migration", *(["security"] if "credential" in rule.id else [])]},
        }
        for rule in RULES.values()
    ]
    results: list[dict[str, Any]] = [
        {
            "ruleId": f.rule,
            "ruleIndex": rule_ids.index(f.rule),
            "level": RULES[f.rule].level,
            "message": {"text": f"{f.found} -> {f.replacement}. {f.why} See {f.link}"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.path, "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line, "startColumn": f.column},
                    }
                }
            ],
            "partialFingerprints": {"dyteMigrateFinding/v1": fingerprint},
            "properties": {"replacement": f.replacement, "link": f.link},
        }
        for f, fingerprint in zip(result.findings, _fingerprints(result.findings), strict=True)
    ]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "dyte-migrate scan", "version": __version__, "rules": rules}},
                "columnKind": "unicodeCodePoints",
                "results": results,
                "properties": {"target": result.target, "filesScanned": result.files_scanned},
            }
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render(result: ScanResult, fmt: str) -> str:
    """The report in one of FORMATS."""
    return {"text": _text, "json": _json, "sarif": _sarif}[fmt](result)
