"""Where the packaged mapping files are: asked by every command's settings, so kept free of the loader's imports."""

from __future__ import annotations

from pathlib import Path

DEFAULT_DIRECTORY = Path(__file__).resolve().parent.parent.parent / "mappings"


def default_directory() -> Path:
    """The project's `mappings/` in a checkout, else the copy a wheel ships inside the package."""
    packaged = Path(__file__).resolve().parent.parent / "_mappings"
    return DEFAULT_DIRECTORY if DEFAULT_DIRECTORY.is_dir() else packaged
