"""Canaries planted wherever v1 data reaches a report must not survive in any file written."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.errors import register_secret
from migrator.reports import write_report
from migrator.reports.model import RowStream

from .factory import migrate_document, plan_document, rollback_document, verify_document

API_KEY = "canary-api-key-7f3a9c1e5b"
TOKEN = "canary.participant.token.4d2e8b"


def _planted_plan() -> dict:
    doc = plan_document(title=f"Standup {API_KEY}", recordings=1)
    rows = list(doc["entities"])
    rows[0]["desired"]["token"] = TOKEN  # a token-shaped field in a payload
    rows[1]["notes"] = [
        {
            "kind": "dropped",
            "source": "organization",
            "target": None,
            "after": None,
            "before": {"accessToken": TOKEN, "name": "acme"},
            "reason": "v2 org comes from credentials",
        }
    ]
    rows[2]["diff"] = {
        "values_changed": {
            "root['url']": {"old_value": f"https://x.invalid/?api_key={API_KEY}", "new_value": "https://x.invalid/"}
        }
    }
    doc["entities"] = RowStream.of(rows)
    doc["recordings"][0]["download_url"] = f"https://recordings.invalid/a.mp4?key={API_KEY}"
    doc["warnings"] = [f"v1 said: invalid key {API_KEY}"]
    return doc


def test_planted_secrets_appear_in_no_report_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    register_secret(API_KEY)
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    migrate = migrate_document()
    migrate["errors"] = [{"kind": "participant", "key": "p1", "error": f"401: bad key {API_KEY}"}]
    verify = verify_document(1)
    verify["mismatches"] = RowStream.of([{**m, "problem": f"token={TOKEN}"} for m in verify["mismatches"]])
    for name, doc in (("plan", _planted_plan()), ("migrate", migrate), ("verify", verify), ("rollback", rollback_document())):
        write_report(tmp_path, name, doc)
    files = list(tmp_path.iterdir())
    assert len(files) == 4 * 3 + 1
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert API_KEY not in text and TOKEN not in text, path.name
    assert "Standup ***" in (tmp_path / "plan.json").read_text()  # masked, not dropped
