"""Make the README's screenshot of the HTML plan report (docs/img/plan-report.png).

    python scripts/screenshot_report.py                      # plan against a fresh sandbox, then screenshot
    python scripts/screenshot_report.py --report reports/plan.html --output /tmp/plan.png

Without --report it starts the sandbox (sample data) on a free loopback port, runs
`plan` through the Python API into a temporary folder, and stops the sandbox. The
screenshot is taken by headless Chromium (`--screenshot`), offline.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from migrator.api import Migration, Options
from migrator.sandbox.options import ServeOptions
from migrator.sandbox.server import SandboxServer
from migrator.settings import load_credentials

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",
)


def plan_against_sandbox(workdir: Path, meetings: int, participants: int) -> Path:
    """Run `plan` against a sandbox with sample data; returns the HTML report."""
    credentials = workdir / "credentials.json"
    server = SandboxServer(
        ServeOptions(meetings=meetings, participants=participants, rate_limit=0, credentials_out=credentials)
    ).start()
    try:
        options = Options(ledger=workdir / "ledger.sqlite", reports_dir=workdir / "reports", rate_per_minute=0)
        Migration(load_credentials(credentials, env={}), options).plan()
    finally:
        server.stop()
    return workdir / "reports" / "plan.html"


def screenshot(page: Path, output: Path, width: int, height: int) -> None:
    chromium = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
    if chromium is None:
        sys.exit("screenshot_report: headless Chromium is not installed (Debian: apt-get install chromium)")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="screenshot-profile-") as profile:
        subprocess.run(
            [
                chromium,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={output.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )
    print(f"screenshot_report: wrote {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", type=Path, help="an existing HTML report (default: plan a fresh sandbox)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "img" / "plan-report.png")
    parser.add_argument("--meetings", type=int, default=60)
    parser.add_argument("--participants", type=int, default=10, help="participants per meeting")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="screenshot-report-") as workdir:
        page = args.report or plan_against_sandbox(Path(workdir), args.meetings, args.participants)
        screenshot(page, args.output, args.width, args.height)


if __name__ == "__main__":
    main()
