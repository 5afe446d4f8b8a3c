"""The Python API checks its own inputs and draws nothing: progress goes to a callback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrator import ConfigError, Kind, Migration, Options, ProgressEvent, load_credentials
from migrator.errors import EXIT_OK

from .helpers import V2


@pytest.fixture
def org(sandbox_factory):
    return sandbox_factory(rate_limit=0, meetings=3, participants=2)


def _migration(org, tmp_path: Path, **kwargs) -> Migration:
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps(org.credentials))
    return Migration(
        load_credentials(creds, env={}),
        Options(ledger=tmp_path / "l.sqlite", reports_dir=tmp_path / "r", rate_per_minute=0),
        **kwargs,
    )


def test_only_accepts_the_cli_spelling_and_really_migrates_those_kinds(org, tmp_path):
    outcome = _migration(org, tmp_path).migrate(only={"meetings"})
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert outcome.details["writes"] == 3 and len(V2(org).all("/meetings")) == 3
    assert V2(org).all("/presets") == [], "only meetings were asked for"


@pytest.mark.parametrize("only", [{"meetingz"}, "presets,bogus", ",", " "])
def test_an_unknown_or_empty_kind_is_a_config_error_before_any_request(org, tmp_path, only):
    with pytest.raises(ConfigError) as raised:
        _migration(org, tmp_path).migrate(only=only)
    assert "presets, meetings, participants, webhooks" in str(raised.value)
    assert org.stats()["totals"]["all"] == 0


def test_kind_parsing() -> None:
    assert Kind.parse("meeting") is Kind.parse("Meetings") is Kind.MEETING
    assert Kind.parse_many("preset, webhooks") == {Kind.PRESET, Kind.WEBHOOK}
    assert Kind.parse_many(None) is None


@pytest.mark.parametrize("field, value", [("concurrency", 0), ("concurrency", 65), ("rate_per_minute", -1), ("timeout", 0)])
def test_options_no_run_could_use_are_refused(org, tmp_path, field, value):
    options = Options(**{field: value})
    with pytest.raises(ConfigError):
        Migration(
            load_credentials(
                env={"DYTE_V1_ORG_ID": "o", "DYTE_V1_API_KEY": "k1-key", "DYTE_V2_ORG_ID": "o2", "DYTE_V2_API_KEY": "k2-key"}
            ),
            options,
        )


@pytest.mark.parametrize("kwargs", [{"batch_size": 0}, {"max_seconds": -1}])
def test_bad_limits_are_refused(org, tmp_path, kwargs):
    with pytest.raises(ConfigError):
        _migration(org, tmp_path).migrate(**kwargs)


def test_progress_is_a_stream_of_events(org, tmp_path):
    events: list[ProgressEvent] = []
    _migration(org, tmp_path, progress=events.append).migrate()
    stages = [(e.event, e.stage) for e in events if e.event != "advance"]
    assert stages == [("start", "extract"), ("end", "extract"), ("start", "migrate"), ("end", "migrate")]
    migrate_start = next(e for e in events if e.event == "start" and e.stage == "migrate")
    advanced: dict[str, int] = {}
    for e in events:
        if e.event == "advance" and e.stage == "migrate":
            advanced[e.kind] = advanced.get(e.kind, 0) + e.n
    assert advanced == {k: n for k, n in migrate_start.totals.items() if n}
