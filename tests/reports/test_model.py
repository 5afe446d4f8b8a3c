"""The data-model helpers: diff flattening and secret redaction."""

from __future__ import annotations

import json

from deepdiff import DeepDiff

from migrator.errors import register_secret
from migrator.reports.model import RowStream, deepdiff_changes, expected_changes, readable_path
from migrator.reports.redact import MASK, Redactor, redacted, redacted_document


def test_readable_path_turns_deepdiff_paths_into_dotted_fields() -> None:
    assert readable_path("root['config']['media']['video']['quality']") == "config.media.video.quality"
    assert readable_path("root['events'][2]") == "events[2]"
    assert readable_path("root") == "."


def test_deepdiff_changes_pairs_what_v2_holds_with_what_is_wanted() -> None:
    actual = {"title": "Old", "events": ["a"], "gone": 1}
    desired = {"title": "New", "events": ["a", "b"], "added": True}
    diff = json.loads(DeepDiff(actual, desired, ignore_order=True, verbose_level=2).to_json())
    changes = {c["path"]: (c["v2"], c["wanted"]) for c in deepdiff_changes(diff)}
    assert changes == {"title": ("Old", "New"), "events[1]": (None, "b"), "gone": (1, None), "added": (None, True)}


def test_expected_changes_reads_verify_diffs() -> None:
    assert expected_changes({"title": {"v2": "a", "expected": "b"}}) == [
        {"path": "title", "change": "values_changed", "v2": "a", "wanted": "b"}]
    assert expected_changes(None) == []


def test_redacted_masks_registered_secrets_and_credential_keys_but_not_design_tokens() -> None:
    register_secret("canary-model-secret-4711")
    value = {"title": "key canary-model-secret-4711 leaked", "accessToken": "abc", "token": "t", "api_key": "k",
             "ui": {"design_tokens": {"theme": "dark"}}, "list": ["url?api_key=zz9q"]}
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
    for dirty in ({"label": "canary-row-secret-9921"}, {"detail": {"authToken": "x"}},
                  {"error": 'v2 said {"token":"abc"}'}, {"before": {"API-KEY": "k"}}):
        out = Redactor().row(dirty)
        assert out != dirty and out == redacted(dirty)
