"""The Markdown form: bounded size, escaped text, a one-line clean verify."""

from __future__ import annotations

import re

from migrator.reports.markdown import LIST_ROWS, markdown
from migrator.reports.redact import redacted_document

from .factory import migrate_document, plan_document, verify_document


def test_a_10000_participant_plan_stays_under_1_mb_and_says_what_it_left_out() -> None:
    doc = plan_document(meetings=200, participants=10_000, unmappable_every=3, recordings=400)
    text = markdown(doc)
    assert len(text.encode("utf-8")) < 1_000_000
    unmappable = doc["unmappable"].total
    assert unmappable > LIST_ROWS
    assert f"### Unmappable ({unmappable})" in text
    assert f"…and {unmappable - LIST_ROWS} more unmappable entities in plan.json." in text
    assert f"…and {400 - LIST_ROWS} more recordings in plan.json." in text


def test_counts_lossy_notes_errata_and_payload_changes_are_in_the_summary() -> None:
    text = markdown(plan_document(participants=20))
    assert "| participant | 20 | 0 | 0 | 0 | 0 | 0 | 0 | 20 |" in text
    assert "`role.produce.video.quality` | `config.media.video.quality` | 1 | fhd → hd" in text
    assert "The guide shows a recordings PUT." in text
    assert "`meeting.roomName`" in text


def test_markup_in_v1_data_is_shown_as_text() -> None:
    text = markdown(redacted_document(plan_document(meetings=3, recordings=1)))
    assert not re.search(r"(?<!\\)<img", text)  # every `<` of the title escaped
    assert "\\<img src=x onerror=alert(1)>" in text


def test_a_clean_verify_is_one_line_and_a_mismatch_lists_each_difference() -> None:
    clean = markdown(verify_document(0))
    assert clean.count("\n") == 1 and "clean" in clean
    mismatch = markdown(verify_document(2))
    assert "### Mismatches (2)" in mismatch
    assert "`title`: Old → \\<img" in mismatch


def test_migrate_lists_its_errors() -> None:
    text = markdown(migrate_document(events=3, errors=2))
    assert "### Errors (2)" in text and "422: title too long" in text


def test_markdown_renders_arrows_as_written_and_markup_as_text() -> None:
    """Rendered as GitHub does (CommonMark with inline HTML): `v1 -> v2` reads as written, not `-&gt;`,
    and a hostile title is text, never a tag."""
    from markdown_it import MarkdownIt

    doc = redacted_document(plan_document(meetings=3, recordings=1))
    doc["mapping_notes"].append({"topic": "Ids", "kind": "meeting", "text": "the ledger records the v1 -> v2 pair"})
    text = markdown(doc)
    assert "v1 -> v2 pair" in text and "-&gt;" not in text
    rendered = MarkdownIt("commonmark").render(text)
    assert "<img" not in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered  # shown as text in the page
