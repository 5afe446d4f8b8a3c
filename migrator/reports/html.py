"""The HTML form: one self-contained page, summaries rendered here, rows paged in the browser.

Summaries are server-side HTML (jinja2, autoescape on). Per-entity rows travel as
compact JSON inside `<script type="application/json">` and a small inline script pages
and filters them with `textContent` only, so no v1 string is ever parsed as markup. A
Content-Security-Policy admits exactly the page's own script and style (by hash) and
no network at all. Rows past `ROW_BYTES_BUDGET` are left out, and the page says so.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from migrator.reports.model import Row, RowStream
from migrator.settings import Route

ROW_BYTES_BUDGET = 6_000_000  # embedded rows; the whole page stays well under 10 MB
SERVER_ROWS = 500  # rows of a server-rendered list (recordings, unmappable) before "and N more"
_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def script_json(value: Any) -> Markup:
    """JSON that is inert inside a <script> element: no `</script>`, `<!--` or line separators."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return Markup(text.translate(_SCRIPT_ESCAPES))


class Dictionary:
    """Interned names (kinds, actions, note texts): rows carry small numbers instead of repeated strings."""

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}
        self.actions: dict[str, int] = {}
        self.notes: dict[tuple[Any, ...], int] = {}

    @staticmethod
    def _intern(table: dict[Any, int], value: Any) -> int:
        return table.setdefault(value, len(table))

    def kind(self, name: str) -> int:
        return self._intern(self.kinds, name)

    def action(self, name: str) -> int:
        return self._intern(self.actions, name)

    def note(self, note: dict[str, Any]) -> list[Any]:
        """A translation note as [text index, before, after]; kind, fields and reason are shared."""
        text = (note.get("kind"), note.get("source"), note.get("target"), note.get("reason"))
        return [self._intern(self.notes, text), note.get("before"), note.get("after")]


def _changes(row: Row) -> list[list[Any]]:
    return [[c["path"], c["v2"], c["wanted"]] for c in row.get("changes") or []]


def _details(**facts: Any) -> dict[str, Any]:
    return {k: v for k, v in facts.items() if v not in (None, [], {})}


def plan_row(row: Row, names: Dictionary) -> list[Any]:
    """[kind, action, key, label, summary, details] of one planned entity."""
    action = row["action"]
    if action in ("unmappable", "conflict"):
        summary = row["reason"] or ""
    elif action == "update":
        summary = "changes " + ", ".join(c["path"] for c in row["changes"])
    elif row["kind"] == "participant":
        summary = f"preset {row['v2_preset']}" if row["v2_preset"] else ""
    else:
        summary = ""
    details = _details(
        v1=row["v1_id"],
        v2=row["v2_id"],
        parent=row["parent_key"],
        state=row["state"],
        reason=row["reason"],
        changes=_changes(row),
        notes=[names.note(n) for n in row["notes"]],
        desired=row["desired"] if row["kind"] != "participant" else None,
    )
    return [names.kind(row["kind"]), names.action(action), row["key"], row["label"], summary, details]


def mismatch_row(row: Row, names: Dictionary) -> list[Any]:
    details = _details(v2=row.get("v2_id"), problem=row["problem"], changes=_changes(row))
    return [names.kind(row["kind"]), names.action("mismatch"), row["key"], None, row["problem"], details]


def event_row(row: Row, names: Dictionary, target: str) -> list[Any]:
    """[kind, event, key, label, summary, details] of one journal event; `target` names the id's side."""
    details = _details(v2=row["v2_id"], error=row["error"], at=row["at"], detail=row["detail"])
    return [
        names.kind(row["kind"]),
        names.action(row["event"]),
        row["key"],
        row["label"],
        row["error"] or (f"{target} id {row['v2_id']}" if row["v2_id"] else ""),
        details,
    ]


@dataclass
class Explorer:
    """The paged, filterable row list at the bottom of a page, fed from a RowStream."""

    title: str
    rows: RowStream
    compact: Callable[[Row, Dictionary], list[Any]]
    source: str  # the JSON file and key that hold every row
    budget: int  # bytes of embedded rows
    route: Route  # the script labels ids, fields and values by the run's source and target
    names: Dictionary = field(default_factory=Dictionary)
    shown: int = 0

    def chunks(self) -> Iterator[Markup]:
        """The rows as JSON array items, until the byte budget is spent."""
        used = 0
        for row in self.rows:
            text = script_json(self.compact(row, self.names))
            used += len(text.encode("utf-8")) + 1
            if used > self.budget:
                break
            yield Markup(",") + text if self.shown else text
            self.shown += 1

    def dictionary(self) -> Markup:
        """Names the rows refer to, and how many rows were embedded; rendered after `chunks`."""
        return script_json(
            {
                "kinds": list(self.names.kinds),
                "actions": list(self.names.actions),
                "notes": [list(t) for t in self.names.notes],
                "total": self.rows.total,
                "shown": self.shown,
                "source": self.source,
                "titles": {"source": self.route.source_title, "target": self.route.target_title},
            }
        )


def _explorer(doc: dict[str, Any], route: Route) -> Explorer | None:
    name = doc["report"]
    if name == "plan":
        return Explorer("Every entity", doc["entities"], plan_row, "plan.json, key entities", ROW_BYTES_BUDGET, route)
    if name == "verify" and doc["mismatches"].total:
        return Explorer("Every mismatch", doc["mismatches"], mismatch_row, "verify.json, key mismatches", ROW_BYTES_BUDGET, route)
    if name == "migrate":
        return Explorer(
            "What this run did, entity by entity",
            doc["events"],
            functools.partial(event_row, target=route.target_title),
            "migrate.json, key events",
            ROW_BYTES_BUDGET,
            route,
        )
    return None


def _asset(name: str) -> str:
    return resources.files("migrator.reports").joinpath("templates", name).read_text(encoding="utf-8")


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("migrator.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["show"] = lambda v: "—" if v is None else v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
    env.filters["take"] = lambda rows, n: itertools.islice(rows, n)
    env.filters["web_url"] = lambda v: v if isinstance(v, str) and v.lower().startswith(("https://", "http://")) else None
    return env


_ENV = _environment()
_SCRIPT, _STYLE = _asset("report.js"), _asset("report.css")


def html_chunks(doc: dict[str, Any]) -> Iterator[str]:
    """The page, in chunks (rows are produced while the page is written)."""
    template = _ENV.get_template(f"{doc['report']}.html.j2")
    route = Route(**doc["route"])
    return template.generate(
        doc=doc,
        route=route,
        source=route.source_title,
        target=route.target_title,
        explorer=_explorer(doc, route),
        server_rows=SERVER_ROWS,
        script=Markup(_SCRIPT),
        style=Markup(_STYLE),
        script_hash=_csp_hash(_SCRIPT),
        style_hash=_csp_hash(_STYLE),
    )
