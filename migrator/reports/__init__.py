"""Reports: one document per command, written as JSON, Markdown and one HTML page.

    report = plan_report(summary, extracted, mappings, ledger)   # or migrate_/verify_/rollback_report
    paths = write_report(Path("reports"), "plan", report)         # plan.json, plan.md, plan.html

The JSON follows the published schema (`schema_path()`, documented in docs/reports.md).
Every value passes `migrator.errors.scrub` (and credential-like keys are masked) before
any of the three forms is written, so a key that slipped into a v1 title or URL is still
masked. With `GITHUB_STEP_SUMMARY` set, the Markdown is appended to that file too.
"""

from __future__ import annotations

import json
import logging
import os
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.lazy import loader
from migrator.reports.files import append_atomically, write_atomically
from migrator.reports.jsonout import json_chunks
from migrator.reports.markdown import markdown
from migrator.reports.model import SCHEMA_VERSION, RowStream
from migrator.reports.redact import redacted_document

if TYPE_CHECKING:
    from migrator.reports.build import import_report, migrate_report, plan_report, rollback_report, verify_report

# The builders (ledger, mappings) and the HTML form (jinja2) load on first use, so that a command
# importing a light part of this package (redaction, the unresolved rows) does not pay for them.
_BUILDERS = dict.fromkeys(
    ("import_report", "migrate_report", "plan_report", "rollback_report", "verify_report"), "migrator.reports.build"
)

REPORT_SCHEMA_VERSION = SCHEMA_VERSION
STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
log = logging.getLogger("migrator.reports")


def schema_path() -> Path:
    """The published JSON schema of every report (shipped inside the package)."""
    return Path(str(resources.files("migrator.reports").joinpath("schema", "report.schema.json")))


def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return schema


def write_report(reports_dir: Path, name: str, data: dict[str, Any]) -> list[str]:
    """Write `<name>.json`, `<name>.md` and `<name>.html` atomically; return their paths."""
    from migrator.reports.html import html_chunks

    reports_dir.mkdir(parents=True, exist_ok=True)
    doc = redacted_document(data)
    text = markdown(doc)
    targets = [reports_dir / f"{name}.{ext}" for ext in ("json", "md", "html")]
    write_atomically(targets[0], json_chunks(doc))
    write_atomically(targets[1], [text])
    write_atomically(targets[2], html_chunks(doc))
    summary = os.environ.get(STEP_SUMMARY_ENV)
    if summary:
        try:
            append_atomically(Path(summary), text + "\n")
        except OSError as exc:  # the reports are written; a CI nicety must not fail the command
            log.warning("could not append the %s report to %s=%s: %s", name, STEP_SUMMARY_ENV, summary, exc.strerror or exc)
    return [str(t) for t in targets]


def write_saved_plan(path: Path, data: dict[str, Any], saved: dict[str, Any]) -> str:
    """A saved plan: the plan report's data plus what `migrate --plan` checks before applying it (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json_chunks(redacted_document({**data, "saved_plan": saved})))
    return str(path)


__getattr__ = loader(__name__, _BUILDERS)


__all__ = [
    "REPORT_SCHEMA_VERSION",
    "import_report",
    "RowStream",
    "load_schema",
    "migrate_report",
    "plan_report",
    "rollback_report",
    "schema_path",
    "verify_report",
    "write_report",
    "write_saved_plan",
]
