"""The HTML plan of a real 10,000-participant org, opened in headless Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrator.reports import write_report
from migrator.reports.model import RowStream

from .chromium import Chromium
from .factory import HOSTILE_TITLE, migrate_document, plan_document, verify_document
from .pipeline import MISSING_PRESET, Pipeline

pytestmark = pytest.mark.browser
MEETINGS, PER_MEETING = 200, 50  # 10,000 participants


@pytest.fixture(scope="module")
def big_plan(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    workdir = tmp_path_factory.mktemp("big-plan")
    pipeline = Pipeline.start(workdir, MEETINGS, PER_MEETING, unmappable=True)
    try:
        _, folder = pipeline.run("plan", "reports")
    finally:
        pipeline.stop()
    yield folder


def _select(browser: Chromium, element_id: str, label: str) -> None:
    browser.evaluate(f"""(() => {{ const s = document.getElementById({json.dumps(element_id)});
        s.value = [...s.options].find(o => o.textContent.startsWith({json.dumps(label + " (")})).value;
        s.dispatchEvent(new Event('change')); }})()""")


def _page_info(browser: Chromium) -> str:
    return browser.evaluate("document.getElementById('page-info').textContent")


def test_the_10000_participant_plan_renders_fast_small_and_without_errors(big_plan: Path, browser: Chromium) -> None:
    page = big_plan / "plan.html"
    plan = json.loads((big_plan / "plan.json").read_text())
    assert plan["counts"]["participant"]["create"] + plan["counts"]["participant"]["unmappable"] == MEETINGS * PER_MEETING
    assert page.stat().st_size < 10_000_000
    assert (big_plan / "plan.md").stat().st_size < 1_000_000
    seconds = browser.open(page)
    browser.drain()
    assert seconds < 5
    assert browser.problems.console_errors == []
    counts = browser.evaluate("document.getElementById('counts').innerText")
    for kind, actions in plan["counts"].items():
        row = next(line for line in counts.splitlines() if line.startswith(kind))
        assert row.split("\t")[1:] == [str(n) for n in actions.values()] + [str(sum(actions.values()))]
    total = sum(sum(a.values()) for a in plan["counts"].values())
    assert _page_info(browser) == f"rows 1–100 of {total}"


def test_a_hostile_meeting_title_shows_as_text_and_runs_nothing(big_plan: Path, browser: Chromium) -> None:
    browser.open(big_plan / "plan.html")
    _select(browser, "filter-kind", "meeting")
    browser.evaluate(f"""(() => {{ const q = document.getElementById('filter-text'); q.value = {json.dumps(HOSTILE_TITLE)};
        q.dispatchEvent(new Event('input')); }})()""")
    browser.drain(0.5)  # the search box waits 150 ms for typing to pause
    assert _page_info(browser) == "rows 1–1 of 1"
    names = browser.evaluate("[...document.querySelectorAll('#rows-body td:nth-child(5)')].map(td => td.textContent)")
    assert names == [HOSTILE_TITLE]
    browser.evaluate("document.querySelector('#rows-body button.toggle').click()")
    notes = browser.evaluate("document.querySelector('tr.row-open').innerText")
    assert "roomName" in notes and "v2 meetings have no room name" in notes
    assert browser.evaluate("document.images.length") == 0
    browser.drain()
    assert browser.problems.dialogs == [] and browser.problems.console_errors == []


def test_the_count_cells_filter_by_kind_and_action(big_plan: Path, browser: Chromium) -> None:
    browser.open(big_plan / "plan.html")
    browser.evaluate("document.querySelector('button.count[data-kind=participant][data-action=unmappable]').click()")
    assert _page_info(browser) == "rows 1–1 of 1"
    detail = browser.evaluate("document.querySelector('#rows-body td:nth-child(6)').textContent")
    assert MISSING_PRESET in detail
    browser.evaluate("document.querySelector('button.count[data-kind=participant][data-action=create]').click()")
    assert _page_info(browser) == f"rows 1–100 of {MEETINGS * PER_MEETING - 1}"
    browser.evaluate("document.getElementById('page-next').click()")
    assert _page_info(browser) == f"rows 101–200 of {MEETINGS * PER_MEETING - 1}"
    assert browser.problems.console_errors == []


@pytest.mark.parametrize("name,doc", [("verify", lambda: verify_document(3)), ("migrate", lambda: migrate_document(5, 2))])
def test_verify_and_migrate_pages_show_hostile_values_as_text(tmp_path: Path, browser: Chromium, name: str, doc) -> None:
    report = doc()
    write_report(tmp_path, name, report)
    browser.open(tmp_path / f"{name}.html")
    browser.evaluate("document.querySelector('#rows-body button.toggle').click()")
    details = browser.evaluate("document.querySelector('tr.row-open').innerText")
    assert HOSTILE_TITLE in details or HOSTILE_TITLE in browser.evaluate("document.getElementById('rows-body').innerText")
    assert browser.evaluate("document.images.length") == 0
    browser.drain()
    assert browser.problems.dialogs == [] and browser.problems.console_errors == []


def test_a_plan_with_no_entities_renders_without_errors(tmp_path: Path, browser: Chromium) -> None:
    write_report(tmp_path, "plan", {**plan_document(meetings=0, participants=0, recordings=0), "entities": RowStream.of([])})
    browser.open(tmp_path / "plan.html")
    browser.drain()
    assert _page_info(browser) == "no rows match"
    assert browser.problems.console_errors == []


def test_the_endpoint_map_fits_a_1280_px_window(big_plan: Path, browser: Chromium) -> None:
    browser.open(big_plan / "plan.html")
    width = browser.evaluate("window.innerWidth")
    assert width == 1280
    edges = browser.evaluate("""(() => { const t = document.querySelector('#endpoints table');
        return {table: t.getBoundingClientRect().right, page: document.documentElement.scrollWidth,
                notes: Math.max(...[...t.querySelectorAll('td:nth-child(4)')].map(td => td.getBoundingClientRect().right))}; })()""")
    assert edges["table"] <= width and edges["notes"] <= width and edges["page"] <= width, edges


def test_a_preset_row_lists_each_note_once(big_plan: Path, browser: Chromium) -> None:
    browser.open(big_plan / "plan.html")
    _select(browser, "filter-kind", "preset")
    browser.evaluate("document.querySelector('#rows-body button.toggle').click()")
    notes = browser.evaluate("document.querySelector('tr.row-open').innerText")
    assert notes.count("v2 presets have no description.") == 1, notes  # the role's description says so itself
    assert notes.count("Becomes the v2 preset name") == 1, notes
