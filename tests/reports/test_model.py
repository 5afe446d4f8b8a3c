"""The data-model helpers: field changes and secret redaction."""

from __future__ import annotations

import json

from migrator.errors import register_secret
from migrator.model import Change, changes
from migrator.reports.model import RowStream
from migrator.reports.redact import MASK, Redactor, redacted, redacted_document


def test_changes_are_dotted_paths_in_the_v2_object() -> None:
    found = changes(
        {"config": {"media": {"video": {"quality": "hd"}}}, "events": ["a", "b", "c"]},
        {"config": {"media": {"video": {"quality": "fhd"}}}, "events": ["a", "b", "x"]},
    )
    assert [c.path for c in found] == ["config.media.video.quality", "events[2]"]
    assert changes({"a": 1}, None) == [Change(".", "values_changed", {"a": 1}, None)]


def test_changes_pair_what_v2_holds_with_what_is_wanted() -> None:
    actual = {"title": "Old", "events": ["a"], "kept": 1}
    desired = {"title": "New", "events": ["a", "b"], "added": True}
    found = {c.path: (c.v2, c.wanted) for c in changes(actual, desired)}
    assert found == {"title": ("Old", "New"), "events[1]": (None, "b"), "added": (None, True)}


def test_changes_ignore_fields_v2_holds_beyond_what_is_wanted() -> None:
    assert changes({"title": "t", "config": {"a": 1, "b": 2}, "id": "x"}, {"title": "t", "config": {"a": 1}}) == []
    assert [c.as_row() for c in changes({"config": {"a": 1}}, {"config": {"a": 2}})] == [
        {"path": "config.a", "change": "values_changed", "v2": 1, "wanted": 2}
    ]


def test_redacted_masks_registered_secrets_and_credential_keys_but_not_design_tokens() -> None:
    register_secret("canary-model-secret-4711")
    value = {
        "title": "key canary-model-secret-4711 leaked",
        "accessToken": "abc",
        "token": "t",
        "api_key": "k",
        "ui": {"design_tokens": {"theme": "dark"}},
        "list": ["url?api_key=zz9q"],
    }
    out = redacted(value)
    assert "canary-model-secret-4711" not in json.dumps(out)
    assert out["accessToken"] == out["token"] == out["api_key"] == MASK
    assert out["ui"] == {"design_tokens": {"theme": "dark"}}
    assert "zz9q" not in out["list"][0]


def test_redacted_document_redacts_streamed_rows_on_every_pass() -> None:
    register_secret("canary-stream-secret-0815")
    doc = redacted_document({"rows": RowStream.of([{"label": "canary-stream-secret-0815"}]), "headline": "ok"})
    assert [r["label"] for r in doc["rows"]] == [MASK] == [r["label"] for r in doc["rows"]]
    assert doc["rows"].total == 1


def test_a_row_takes_the_fast_path_only_for_rows_with_nothing_to_hide() -> None:
    register_secret("canary-row-secret-9921")
    clean = {"kind": "participant", "desired": {"name": "Ada", "preset_name": "group_call"}}
    assert Redactor().row(clean) is clean
    for dirty in (
        {"label": "canary-row-secret-9921"},
        {"detail": {"authToken": "x"}},
        {"error": 'v2 said {"token":"abc"}'},
        {"before": {"API-KEY": "k"}},
    ):
        out = Redactor().row(dirty)
        assert out != dirty and out == redacted(dirty)
