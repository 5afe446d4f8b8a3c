"""Ids, tokens, room names and timestamps from one seeded source.

Everything the sandbox invents comes from a `random.Random(seed)`, so the same seed
and the same sequence of requests give the same ids: a failing test can be replayed.
"""

from __future__ import annotations

import random
import string
import uuid
from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """ISO 8601 UTC with milliseconds and `Z`, the format both APIs answer with."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp (with `Z` or an offset); naive input is taken as UTC."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class IdSource:
    """Deterministic generator of everything random the sandbox hands out."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4))

    def secret(self, length: int = 40) -> str:
        alphabet = string.ascii_letters + string.digits
        return "".join(self.random.choice(alphabet) for _ in range(length))

    def token(self) -> str:
        """A JWT-looking participant token (never a real JWT: nothing verifies it)."""
        return f"sbx.{self.secret(24)}.{self.secret(43)}"

    def room_name(self) -> str:
        """A v1 room name such as `abcdef-ghijkl`."""
        letters = string.ascii_lowercase
        return "-".join("".join(self.random.choice(letters) for _ in range(6)) for _ in range(2))
