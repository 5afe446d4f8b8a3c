"""The HTML page as text: escaped, self-contained, bounded in size (the browser tests run it)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from migrator.reports import html as html_form
from migrator.reports import write_report

from .factory import HOSTILE_TITLE, SCRIPT_BREAKER, plan_document


def _page(tmp_path: Path, **options: object) -> str:
    write_report(tmp_path, "plan", plan_document(**options))  # type: ignore[arg-type]
    return (tmp_path / "plan.html").read_text(encoding="utf-8")


def _embedded(page: str, element_id: str) -> Any:
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S)
    assert found, element_id
    return json.loads(found.group(1))


def test_v1_strings_never_become_markup(tmp_path: Path) -> None:
    page = _page(tmp_path, title=HOSTILE_TITLE + SCRIPT_BREAKER, recordings=1)
    assert "<img" not in page
    assert SCRIPT_BREAKER not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # server-rendered (recordings table), escaped
    rows = _embedded(page, "report-rows")
    assert any(r[3] == HOSTILE_TITLE + SCRIPT_BREAKER for r in rows)  # the rows carry the exact text


def test_the_page_loads_nothing_and_runs_only_its_own_script(tmp_path: Path) -> None:
    page = _page(tmp_path)
    assert not re.search(r"<[^>]*\s(src|srcset|background)\s*=|<link|@import|url\(", page)
    found = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)
    assert found
    policy = html.unescape(found.group(1))
    assert "default-src 'none'" in policy
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        (body,) = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy


def test_a_10000_participant_page_embeds_every_row_under_10_mb(tmp_path: Path) -> None:
    page = _page(tmp_path, meetings=200, participants=10_000, unmappable_every=10)
    assert len(page.encode("utf-8")) < 10_000_000
    names = _embedded(page, "report-names")
    assert names["shown"] == names["total"] == 200 + 10_000 + 2
    assert len(_embedded(page, "report-rows")) == names["total"]


def test_rows_past_the_budget_are_left_out_and_the_page_knows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(html_form, "ROW_BYTES_BUDGET", 20_000)
    page = _page(tmp_path, participants=2_000)
    names = _embedded(page, "report-names")
    assert 0 < names["shown"] < names["total"]
    assert len(_embedded(page, "report-rows")) == names["shown"]
    assert names["source"] == "plan.json, key entities"


def test_translation_notes_are_shared_not_repeated(tmp_path: Path) -> None:
    page = _page(tmp_path, meetings=50)
    names = _embedded(page, "report-names")
    assert page.count("v2 meetings have no room name.") == 2  # the dropped-fields table and the shared note list
    assert ["dropped", "roomName", None, "v2 meetings have no room name."] in names["notes"]
