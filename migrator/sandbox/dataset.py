"""The datasets a sandbox can start with: `empty`, the seeded `sample`, or a JSON file.

The sample is built to exercise the mapping's hard cases: roles whose settings are
lossy in v2 (fhd video, 60 fps), all three waiting-room modes, meetings with and
without a preset and a waiting room, participants with their own preset or a role
that differs from their preset's role, non-ASCII names, and recordings. Variety
follows the index (i % k) so even a tiny sample has every case; the seed picks names.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from migrator.sandbox.idgen import IdSource, iso
from migrator.sandbox.loader import DatasetError

Document = dict[str, Any]

EMPTY: Document = {"v1": {}, "v2": {}}


def _role(
    *,
    admin: bool,
    waiting_room: str,
    video: tuple[bool, str, int],
    audio: bool,
    screenshare: tuple[bool, str, int],
    polls: bool,
    chat: tuple[bool, bool] | None,
    reactions: bool,
    hidden: bool = False,
    recording: bool = False,
) -> dict[str, Any]:
    role: dict[str, Any] = {
        "permissions": {
            "acceptWaitingRequests": admin,
            "disableParticipantAudio": admin,
            "disableParticipantScreensharing": admin,
            "disableParticipantVideo": admin,
            "kickParticipants": admin,
            "pinParticipant": admin,
            "allowRecording": recording,
        },
        "waitingRoom": waiting_room,
        "plugins": {"close": admin, "start": admin},
        "produce": {
            "video": {"allow": video[0], "quality": video[1], "frameRate": video[2]},
            "audio": audio,
            "screenshare": {"allow": screenshare[0], "quality": screenshare[1], "frameRate": screenshare[2]},
            "polls": polls,
            "reactions": reactions,
        },
        "flags": {"hiddenParticipant": hidden},
    }
    if chat is not None:
        role["produce"]["chat"] = {"text": chat[0], "files": chat[1]}
    return role


ROLES: list[dict[str, Any]] = [
    {
        "name": "host",
        "description": "Runs the meeting",
        "role": _role(
            admin=True,
            waiting_room="skip",
            video=(True, "hd", 30),
            audio=True,
            screenshare=(True, "full-hd", 5),
            polls=True,
            chat=(True, True),
            reactions=True,
            recording=True,
        ),
    },
    {
        "name": "participant",
        "description": "Takes part with camera and microphone",
        "role": _role(
            admin=False,
            waiting_room="skipOnAccept",
            video=(True, "vga", 24),
            audio=True,
            screenshare=(True, "hd", 5),
            polls=False,
            chat=(True, False),
            reactions=True,
        ),
    },
    {
        "name": "viewer",
        "description": "Watches and chats",
        "role": _role(
            admin=False,
            waiting_room="skipOnPrivilegeduserEntry",
            video=(False, "qvga", 15),
            audio=False,
            screenshare=(False, "vga", 5),
            polls=False,
            chat=(True, False),
            reactions=False,
        ),
    },
    {
        "name": "moderator",
        "description": "Teaches in full HD, keeps order",
        "role": _role(
            admin=True,
            waiting_room="skip",
            video=(True, "fhd", 60),
            audio=True,
            screenshare=(True, "full-hd", 15),
            polls=True,
            chat=(True, True),
            reactions=True,
            recording=True,
        ),
    },
    {
        "name": "observer",
        "description": "Hidden auditor, no media",
        "role": _role(
            admin=False,
            waiting_room="skipOnAccept",
            video=(False, "vga", 24),
            audio=False,
            screenshare=(False, "vga", 5),
            polls=False,
            chat=None,
            reactions=False,
            hidden=True,
        ),
    },
]


def _ui(primary: str, secondary: str, text: str, background: str, max_videos: int, *, full: bool) -> dict[str, Any]:
    ui: dict[str, Any] = {
        "logo": "https://assets.example.invalid/brand/logo.svg",
        "colors": {"primary": primary, "secondary": secondary, "textPrimary": text, "videoBackground": background},
        "grid": {
            "defaultView": "multi",
            "multi": {"maxVideoCount": max_videos, "videoFit": "cover"},
            "single": {"videoFit": "contain"},
        },
        "controlBarElements": {"share": full, "screenShare": full, "layout": full, "plugins": full},
    }
    if full:
        ui.update(
            {
                "waitingRoom": {"showSelf": True},
                "controlBar": True,
                "controlBarElements": {
                    "fullscreen": True,
                    "share": True,
                    "screenShare": True,
                    "layout": True,
                    "chat": True,
                    "polls": True,
                    "participants": True,
                    "plugins": True,
                },
                "header": True,
                "headerElements": {"logo": True, "title": True, "participantCount": True, "clock": False},
                "aloneHereElement": False,
                "dimensions": {"mode": "fillParent"},
            }
        )
    return ui


PRESETS: list[dict[str, Any]] = [
    {
        "name": "webinar_host",
        "description": "Presenter of a webinar",
        "preset": {"role": "host", "uiConfig": _ui("#2160FD", "#262626", "#EEEEEE", "#1A1A1A", 6, full=True)},
    },
    {
        "name": "webinar_attendee",
        "description": "Audience of a webinar",
        "preset": {"role": "viewer", "uiConfig": _ui("#2160FD", "#262626", "#EEEEEE", "#1A1A1A", 4, full=False)},
    },
    {
        "name": "group_call",
        "description": "Everyone on camera",
        "preset": {"role": "participant", "uiConfig": _ui("#2A9D8F", "#F4A261", "#E9C46A", "#264653", 9, full=True)},
    },
    {
        "name": "classroom_teacher",
        "description": "Teacher of an online class",
        "preset": {"role": "moderator", "uiConfig": _ui("#E63946", "#1D3557", "#F1FAEE", "#0B132B", 9, full=True)},
    },
    {
        "name": "support_desk",
        "description": "One-to-one support call",
        "preset": {"role": "participant", "uiConfig": _ui("#6A4C93", "#1982C4", "#FFFFFF", "#000000", 2, full=False)},
    },
]

TITLES = [
    "Weekly sync",
    "Réunion d'équipe",
    "週次ミーティング",
    "Планёрка",
    "Sprint review",
    "Café ☕ catch-up",
    "Math 101",
    "Kundengespräch",
    "Ανασκόπηση",
    "Town hall",
]
NAMES = [
    "Alice Martin",
    "José Álvarez",
    "Zoë Dupont",
    "李雷",
    "Søren Kierkegaard",
    "Priya Sharma",
    "Олег Иванов",
    "Mangoman",
    "Fatima Zahra",
    "Björn Ulvaeus",
    "Chidi Okafor",
    "Ana Łukasik",
]
WEBHOOKS: list[dict[str, Any]] = [
    {
        "name": "meeting lifecycle",
        "url": "https://hooks.example.invalid/dyte/meetings",
        "events": ["meeting.started", "meeting.ended"],
    },
    {
        "name": "attendance",
        "url": "https://hooks.example.invalid/dyte/attendance",
        "events": ["meeting.participantJoined", "meeting.participantLeft"],
        "enabled": False,
    },
    {"name": "recordings", "url": "https://hooks.example.invalid/dyte/recordings", "events": ["recording.statusUpdate"]},
]
EPOCH = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)
STATUSES = ["CREATED", "LIVE", "CREATED", "CLOSED", "CREATED"]


def sample(ids: IdSource, meetings: int, participants: int) -> Document:
    """The seeded sample org: every participant names only presets and roles that exist."""
    # Credentials first and in build_orgs' order, so `empty` and `sample` share them per seed.
    credentials = {side: {"org_id": ids.uuid(), "api_key": ids.secret()} for side in ("v1", "v2")}
    rng = random.Random(ids.random.getrandbits(64))
    role_of_preset = {preset["name"]: preset["preset"]["role"] for preset in PRESETS}
    preset_names = list(role_of_preset)
    role_names = [role["name"] for role in ROLES]
    documents = []
    for i in range(meetings):
        created = EPOCH + timedelta(minutes=37 * i, seconds=rng.randrange(60))
        meeting_id = ids.uuid()
        preset_name = preset_names[i % len(preset_names)] if i % 3 != 2 else None
        meeting: dict[str, Any] = {
            "id": meeting_id,
            "title": f"{TITLES[i % len(TITLES)]} #{i + 1}",
            "roomName": ids.room_name(),
            "status": STATUSES[i % len(STATUSES)],
            "createdAt": iso(created),
            "presetName": preset_name,
            "authorization": {"waitingRoom": i % 4 == 1, "closed": i % 7 == 3},
            "recordOnStart": i % 5 == 0,
            "liveStreamOnStart": i % 11 == 4,
            "participants": [
                _participant(ids, rng, i, j, created, preset_name, preset_names, role_names, role_of_preset)
                for j in range(participants)
            ],
            "recordings": _recordings(ids, meeting_id, created) if i % 4 == 0 else [],
        }
        documents.append(meeting)
    return {
        "credentials": credentials,
        "features": {"roles_route": True},
        # Copies: a caller that edits its document must not change the next sample.
        "v1": {
            "roles": copy.deepcopy(ROLES),
            "presets": copy.deepcopy(PRESETS),
            "meetings": documents,
            "webhooks": copy.deepcopy(WEBHOOKS),
        },
        "v2": {},
    }


def _participant(
    ids: IdSource,
    rng: random.Random,
    i: int,
    j: int,
    meeting_created: datetime,
    meeting_preset: str | None,
    preset_names: list[str],
    role_names: list[str],
    role_of_preset: dict[str, str],
) -> dict[str, Any]:
    own_preset = preset_names[(i + j) % len(preset_names)] if j % 4 == 1 else None
    effective_preset = own_preset or meeting_preset
    role_name = None
    if j % 5 == 2:  # a role different from the one its preset carries
        role_name = next(
            name
            for name in role_names[(i + j) % len(role_names) :] + role_names
            if name != role_of_preset.get(effective_preset or "")
        )
    participant: dict[str, Any] = {
        "id": ids.uuid(),
        "createdAt": iso(meeting_created + timedelta(seconds=13 * (j + 1))),
        "clientSpecificId": f"user-{i + 1:04d}-{j + 1:03d}" if j % 10 != 9 else None,
        "presetName": own_preset,
        "roleName": role_name,
    }
    if j % 7 != 6:
        participant["name"] = rng.choice(NAMES)
    if j % 3 == 0:
        participant["picture"] = f"https://avatars.example.invalid/u/{i + 1}-{j + 1}.png"
    if j % 2 == 0:
        participant["email"] = f"user{i + 1}.{j + 1}@example.com"
    return participant


def _recordings(ids: IdSource, meeting_id: str, meeting_created: datetime) -> list[dict[str, Any]]:
    started = meeting_created + timedelta(minutes=5)
    stopped = started + timedelta(minutes=42)
    uploaded_id, failed_id = ids.uuid(), ids.uuid()
    return [
        {
            "id": uploaded_id,
            "status": "UPLOADED",
            "outputFileName": f"{uploaded_id}.mp4",
            "downloadUrl": f"https://recordings.example.invalid/{meeting_id}/{uploaded_id}.mp4",
            "downloadUrlExpiry": iso(stopped + timedelta(days=7)),
            "audioDownloadUrl": f"https://recordings.example.invalid/{meeting_id}/{uploaded_id}.m4a",
            "invokedTime": iso(started - timedelta(seconds=3)),
            "startedTime": iso(started),
            "stoppedTime": iso(stopped),
            "fileSize": 73400320.0,
            "recordingDuration": 2520,
        },
        {
            "id": failed_id,
            "status": "ERRORED",
            "outputFileName": f"{failed_id}.mp4",
            "downloadUrl": None,
            "downloadUrlExpiry": None,
            "audioDownloadUrl": None,
            "errMessage": "recorder could not join the meeting",
            "invokedTime": iso(stopped + timedelta(minutes=1)),
            "startedTime": iso(stopped + timedelta(minutes=1)),
            "stoppedTime": iso(stopped + timedelta(minutes=1)),
        },
    ]


def read_file(path: Path) -> Document:
    """A dataset document from a JSON file, with a one-line error when it is not one."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DatasetError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"dataset {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(document, dict):
        raise DatasetError(f"dataset {path} must hold a JSON object")
    return document
