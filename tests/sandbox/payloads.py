"""Request bodies shared by the sandbox tests."""

from __future__ import annotations

from typing import Any


def v2_preset(name: str) -> dict[str, Any]:
    """A complete, valid v2 `Preset` document."""
    produce = {"can_produce": "ALLOWED"}
    return {
        "name": name,
        "config": {
            "view_type": "GROUP_CALL",
            "max_video_streams": {"mobile": 4, "desktop": 9},
            "max_screenshare_count": 1,
            "media": {"video": {"quality": "hd", "frame_rate": 30}, "screenshare": {"quality": "hd", "frame_rate": 5}},
        },
        "permissions": {
            "accept_waiting_requests": True,
            "can_accept_production_requests": False,
            "can_edit_display_name": True,
            "can_spotlight": False,
            "recorder_type": "NONE",
            "disable_participant_audio": False,
            "disable_participant_screensharing": False,
            "disable_participant_video": False,
            "kick_participant": True,
            "pin_participant": True,
            "can_record": True,
            "can_livestream": False,
            "waiting_room_type": "SKIP",
            "plugins": {
                "can_close": True,
                "can_start": True,
                "can_edit_config": False,
                "config": {"access_control": "FULL_ACCESS", "handles_view_only": False},
            },
            "connected_meetings": {
                "can_alter_connected_meetings": False,
                "can_switch_connected_meetings": False,
                "can_switch_to_parent_meeting": False,
            },
            "polls": {"can_create": True, "can_vote": True, "can_view": True},
            "media": {"video": produce, "audio": produce, "screenshare": produce},
            "chat": {
                "public": {"can_send": True, "text": True, "files": True},
                "private": {"can_send": True, "can_receive": True, "text": True, "files": False},
            },
            "hidden_participant": False,
            "show_participant_list": True,
            "can_change_participant_permissions": False,
        },
        "ui": {
            "design_tokens": {
                "border_radius": "rounded",
                "border_width": "thin",
                "spacing_base": 4,
                "theme": "dark",
                "logo": "",
                "colors": {
                    "brand": {"300": "#844d1c", "400": "#9d5b22", "500": "#b56927", "600": "#d37c30", "700": "#d9904f"},
                    "background": {"600": "#222222", "700": "#1f1f1f", "800": "#1b1b1b", "900": "#181818", "1000": "#141414"},
                    "danger": "#FF2D2D",
                    "text": "#EEEEEE",
                    "text_on_brand": "#EEEEEE",
                    "success": "#62A504",
                    "video_bg": "#191919",
                    "warning": "#FFCD07",
                },
            }
        },
    }
