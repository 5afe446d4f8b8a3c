"""A bad mapping file stops the run with one line naming the file, the key and the problem (exit 2)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.errors import EXIT_USAGE, MappingFileError
from migrator.mapping import MappingSet

CASES = [
    # (file, old, new, key, problem) -- each edit breaks exactly one thing
    (
        "meetings.yaml",
        "        to: title\n",
        "        to: titel\n",
        "sections.meeting.rules[0].to",
        "has no field 'titel'",
    ),
    (
        "meetings.yaml",
        "        type: string\n",
        "        typ: string\n",
        "sections.meeting.rules[0].typ",
        "unknown key",
    ),
    (
        "meetings.yaml",
        "          CLOSED: INACTIVE",
        "          CLOSED: CLOSED",
        "sections.meeting.rules[1].map.CLOSED",
        "not one of ['ACTIVE', 'INACTIVE']",
    ),
    (
        "meetings.yaml",
        "        type: boolean\n        default: false\n        reason: >-\n          Same meaning in v2; v1's default is false. v1 refuses",
        "        type: boolean\n        default: 0\n        reason: >-\n          Same meaning in v2; v1's default is false. v1 refuses",
        "sections.meeting.rules[2].default",
        "is not of type 'boolean'",
    ),
    (
        "meetings.yaml",
        "        drop: v2 assigns a new meeting id",
        "        drop: ''\n        x: v2 assigns a new meeting id",
        "sections.meeting.rules[8].drop",
        "must not be empty",
    ),
    ("meetings.yaml", "kind: meeting", "kind: webhook", "kind", "kind must be 'meeting'"),
    (
        "meetings.yaml",
        "v2_body: [CreateMeetingBody, UpdateMeetingBody]",
        "v2_body: [CreateMeetingBdy]",
        "v2_body[0]",
        "not a request body",
    ),
    (
        "participants.yaml",
        "        type: uri",
        "        type: url",
        "sections.participant.rules[2].type",
        "Input should be",
    ),
    (
        "participants.yaml",
        "      - from: [name, userDetails.name]",
        "      - from: [name, 3]",
        "sections.participant.rules[1].from",
        "field path",
    ),
    (
        "participants.yaml",
        "      - from: email\n        drop:",
        "      - from: email\n        to: name\n        drop:",
        "sections.participant.rules[3]",
        "exactly one of: to, drop, relocate",
    ),
    ("participants.yaml", "computed:\n  - to: preset_name", "computed:\n  - to: name", "computed", "preset_name"),
    (
        "participants.yaml",
        "        required: true\n        fallback:",
        "        fallback:",
        "sections.participant.rules[0].to",
        "Dyte v2 requires custom_participant_id, but this rule may leave it out",
    ),
    (
        "webhooks.yaml",
        "        to: url\n        type: uri",
        "        to: url\n        type: boolean",
        "sections.webhook.rules[1].type",
        "yields boolean but Dyte v2 url takes string",
    ),
    (
        "presets.yaml",
        '{min: 1, max: 30, reason: "v2 streams video at 1 to 30 frames per second."}',
        "{min: 1, reason: lower bound}",
        "sections.role_document.rules[14].clamp",
        "maximum 30",
    ),
    (
        "presets.yaml",
        "  - to: permissions.can_livestream\n    value: false\n",
        "  - to: permissions.can_livestream\n    value: nope\n",
        "defaults[7].value",
        "'nope' is not of type 'boolean'",
    ),
    (
        "presets.yaml",
        "  - to: permissions.can_livestream\n",
        "  - to: permissions.can_livestreamm\n",
        "defaults[7].to",
        "no field 'permissions.can_livestreamm'",
    ),
    (
        "presets.yaml",
        "          fhd: {to: hd, lossy:",
        "          fhd: {to: fhd, lossy:",
        "sections.role_document.rules[13].map.fhd",
        "'fhd' is not one of",
    ),
    (
        "presets.yaml",
        '          fhd: {to: hd, lossy: "v2 has no 1080p (fhd) video; hd (720p) is the highest quality v2 offers."}',
        "          fhd: {to: hd}",
        "sections.role_document.rules[13].map",
        "lossy: <reason>",
    ),
    (
        "presets.yaml",
        "        default: vga\n        reason: Same quality names in v2. v1's default is vga.",
        "        default: vga",
        "sections.role_document.rules[13]",
        "needs a reason",
    ),
    (
        "presets.yaml",
        'role: "{preset}--role-{role}"',
        'role: "{preset}--role"',
        "variant_names",
        "template must use exactly",
    ),
    (
        "presets.yaml",
        "        when: {waiting_room: true}\n",
        "        when: {waiting_room: true, webinar: true}\n",
        "sections.role_document.rules[9].when.webinar",
        "Input should be 'waiting_room'",
    ),
    (
        "presets.yaml",
        "        to: permissions.polls.can_vote",
        "        to: permissions.polls.can_create",
        "sections.role_document.rules[20].to",
        "written by two rules",
    ),
    (
        "presets.yaml",
        "  - to: permissions.can_livestream\n    value: false\n    reason: v1 roles had no livestream permission; livestreaming started from the meeting's liveStreamOnStart.\n",
        "",
        "defaults",
        "Dyte v2 requires permissions.can_livestream (when waiting_room=False), but no rule fills it",
    ),
    (
        "endpoints.yaml",
        "    erratum: v1 updates a meeting with PUT (operation updateMeeting); v1 has no PATCH on meetings.\n",
        "",
        "endpoints[1]",
        "say why in `erratum`",
    ),
    (
        "endpoints.yaml",
        "    v2: POST /meetings\n",
        "    v2: POSTT /meetings\n",
        "endpoints[0].v2",
        "is not an operation",
    ),
    (
        "endpoints.yaml",
        '    spec: dyte-v1.yaml\n    guide: {v1: "POST /v1/organizations/{orgId}/meeting"',
        '    guide: {v1: "POST /v1/organizations/{orgId}/meeting"',
        "endpoints[0]",
        "name the v1 spec file",
    ),
]


def assert_names(error: MappingFileError, file: str, key: str, problem: str) -> None:
    assert error.exit_code == EXIT_USAGE
    assert (error.file, error.key) == (file, key)
    assert problem in error.problem
    assert str(error).startswith(f"mapping file {file}: {key}: ")
    assert "\n" not in str(error)


@pytest.mark.parametrize(("file", "old", "new", "key", "problem"), CASES, ids=[f"{c[0]}:{c[3]}" for c in CASES])
def test_bad_edit_names_file_key_and_problem(
    edit: Callable[..., Path], file: str, old: str, new: str, key: str, problem: str
) -> None:
    with pytest.raises(MappingFileError) as caught:
        MappingSet.load(edit(file, old, new))
    assert_names(caught.value, file, key, problem)


def test_problems_found_by_pydantic_give_the_line(edit: Callable[..., Path]) -> None:
    folder = edit("meetings.yaml", "        type: string\n", "        typ: string\n")
    line = next(i for i, text in enumerate((folder / "meetings.yaml").read_text().splitlines(), 1) if "typ: string" in text)
    with pytest.raises(MappingFileError, match=rf"\(line {line}\)$"):
        MappingSet.load(folder)


def test_yaml_syntax_error_gives_the_line(edit: Callable[..., Path]) -> None:
    with pytest.raises(MappingFileError) as caught:
        MappingSet.load(edit("meetings.yaml", "sections:\n  meeting:", "sections:\n  meeting: ["))
    assert caught.value.key.startswith("line ") and "YAML syntax error" in caught.value.problem


def test_duplicate_key_is_refused(edit: Callable[..., Path]) -> None:
    folder = edit("meetings.yaml", "kind: meeting", "kind: meeting\nkind: meeting")
    second = [i for i, text in enumerate((folder / "meetings.yaml").read_text().splitlines(), 1) if text == "kind: meeting"][1]
    with pytest.raises(MappingFileError) as caught:
        MappingSet.load(folder)
    assert_names(caught.value, "meetings.yaml", f"line {second}", "duplicate key 'kind'")


def test_missing_file(mappings_copy: Path) -> None:
    (mappings_copy / "webhooks.yaml").unlink()
    with pytest.raises(MappingFileError) as caught:
        MappingSet.load(mappings_copy)
    assert_names(caught.value, "webhooks.yaml", "(file)", "not found")


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(MappingFileError, match="mappings folder not found"):
        MappingSet.load(tmp_path / "nowhere")


def test_unknown_file_is_refused(mappings_copy: Path) -> None:
    shutil.copy(mappings_copy / "meetings.yaml", mappings_copy / "meeting.yaml")
    with pytest.raises(MappingFileError) as caught:
        MappingSet.load(mappings_copy)
    assert_names(caught.value, "meeting.yaml", "(file)", "not a mapping file")


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "Input should be a valid dictionary"), (b"\xff\xfe\x00", "not UTF-8"), (b"- a\n- b\n", "valid dictionary")],
)
def test_empty_binary_or_wrong_shape_file(mappings_copy: Path, content: bytes, problem: str) -> None:
    (mappings_copy / "participants.yaml").write_bytes(content)
    with pytest.raises(MappingFileError) as caught:
        MappingSet.load(mappings_copy)
    assert caught.value.file == "participants.yaml" and problem in caught.value.problem


def test_file_hashes_change_with_content(mapping_set: MappingSet, edit: Callable[..., Path]) -> None:
    changed = MappingSet.load(edit("meetings.yaml", "# How a v1 meeting", "# How one v1 meeting"))
    assert (
        set(changed.files)
        == set(mapping_set.files)
        == {"endpoints.yaml", "meetings.yaml", "participants.yaml", "webhooks.yaml", "presets.yaml"}
    )
    assert changed.files["meetings.yaml"] != mapping_set.files["meetings.yaml"]
    assert changed.files["presets.yaml"] == mapping_set.files["presets.yaml"]
