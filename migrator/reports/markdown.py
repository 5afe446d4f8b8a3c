"""The Markdown form: short enough for a CI step summary (GitHub caps one at 1 MiB).

Summaries and counts in full; every list is cut to a few dozen rows with a count of the
rest and a pointer to the HTML and JSON files, and every cell is cut to a few hundred
characters, so the size does not grow with the org.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from migrator.model import PLAN_ACTIONS
from migrator.reports.model import RowStream
from migrator.settings import Route

LIST_ROWS = 50  # rows shown of any list
CELL_CHARS = 300
# Backslash escapes (CommonMark): `<` cannot open a tag, `&` cannot start an entity, and the
# rest of the text (`v1 -> v2`) reads as written, in the raw file as in the rendered summary.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~<&])")


def _line(value: Any) -> str:
    """One line of bounded length; non-strings as JSON."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def _text(value: Any) -> str:
    """Inline text or a table cell: markup in the value is shown, never interpreted."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", _line(value))


def _code(value: Any) -> str:
    """A code span (ids, field paths, URLs): literal inside, so only backticks and table pipes need care."""
    if value in (None, ""):
        return "—"
    return "`" + _line(value).replace("`", "'").replace("|", "\\|") + "`"


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return lines + [""]


def _first(rows: Iterable[dict[str, Any]], total: int, what: str, where: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The first LIST_ROWS rows, and the line that says how many were left out."""
    shown = list(itertools.islice(rows, LIST_ROWS))
    rest = total - len(shown)
    return shown, ([f"…and {rest} more {what} in {where}.", ""] if rest > 0 else [])


def _route(doc: dict[str, Any]) -> Route:
    """The run's source and target, whose names the headings use."""
    return Route(**doc["route"])


def _header(doc: dict[str, Any]) -> list[str]:
    name = doc["report"]
    return [
        f"## dyte-migrate {name} ({_text(str(_route(doc)))}): {_text(doc['headline'])}",
        "",
        f"<sub>{_text(doc['generated_at'])} · dyte-migrate {_text(doc['tool']['version'])} · "
        f"report schema {doc['schema_version']} · details in `{name}.html`, data in `{name}.json`</sub>",
        "",
    ]


def _counts_table(counts: dict[str, dict[str, int]], columns: Sequence[str]) -> list[str]:
    rows = [[kind, *(str(tally.get(c, 0)) for c in columns), str(sum(tally.values()))] for kind, tally in counts.items()]
    totals = [sum(tally.get(c, 0) for tally in counts.values()) for c in columns]
    rows.append(["**all**", *(f"**{n}**" for n in totals), f"**{sum(totals)}**"])
    return _table(["kind", *columns, "total"], rows)


# ------------------------------------------------------------------ plan
def _transformations(notes: list[dict[str, Any]], route: Route) -> list[str]:
    source, target = route.source_title, route.target_title
    lines = [f"### What {target} cannot hold as it is", ""]
    lossy = [n for n in notes if n["note"] == "lossy"]
    dropped = [n for n in notes if n["note"] == "dropped"]
    if lossy:
        lines += [f"**Converted with loss** ({len(lossy)} rules): the {target} value differs from the {source} value.", ""]
        lines += _table(
            ["kind", f"{source} field", f"{target} field", "entities", f"example ({source} → {target})", "why"],
            (
                [
                    n["entity_kind"],
                    _code(n["source"]),
                    _code(n["target"]),
                    str(n["count"]),
                    "; ".join(f"{_text(e['before'])} → {_text(e['after'])}" for e in n["examples"][:2]) or "—",
                    _text(n["reason"]),
                ]
                for n in lossy[:LIST_ROWS]
            ),
        )
    if dropped:
        lines += [f"**Dropped** ({len(dropped)} fields): {target} has no place for them.", ""]
        lines += _table(
            ["kind", f"{source} field", "entities", "why"],
            ([n["entity_kind"], _code(n["source"]), str(n["count"]), _text(n["reason"])] for n in dropped[:LIST_ROWS]),
        )
        if len(dropped) > LIST_ROWS:
            lines += [f"…and {len(dropped) - LIST_ROWS} more dropped fields in plan.html.", ""]
    if not lossy and not dropped:
        lines += [f"Nothing is lost: every {source} field has a {target} counterpart.", ""]
    others: dict[str, int] = {}
    for n in notes:
        if n["note"] not in ("lossy", "dropped"):
            others[n["note"]] = others.get(n["note"], 0) + 1
    if others:
        lines += [
            "Other translation rules applied: "
            + ", ".join(f"{k} {v}" for k, v in others.items())
            + " (listed with their reasons in plan.html).",
            "",
        ]
    return lines


def _relocation(entries: list[dict[str, Any]], route: Route) -> list[str]:
    lines = [f"### Preset relocation: which {route.target_title} preset each participant gets", ""]
    if not entries:
        return lines + ["No participant to place.", ""]
    sources = ("participant", "meeting", "org-default", "role-only")
    return lines + _table(
        [
            f"{route.target_title} preset",
            f"{route.source_title} preset",
            "role",
            "waiting room",
            "participants",
            "own preset",
            "meeting's preset",
            "org default",
            "role-only",
        ],
        (
            [
                _code(e["v2_preset"]),
                _code(e["preset"]) if e["preset"] else "none (role-only)",
                _text(e["role"] or "—"),
                "yes" if e["waiting_room"] else "no",
                str(e["participants"]),
                *(str(e["by_source"].get(s, 0)) for s in sources),
            ]
            for e in entries[:LIST_ROWS]
        ),
    )


def _unmappable(rows: RowStream, route: Route) -> list[str]:
    lines = [f"### Unmappable ({rows.total})", ""]
    if not rows.total:
        return lines + [f"None: every {route.source_title} entity can be mapped.", ""]
    shown, rest = _first(rows, rows.total, "unmappable entities", "plan.json")
    return (
        lines
        + _table(
            ["kind", f"{route.source_title} id", "name", "reason"],
            ([r["kind"], _code(r["key"]), _text(r["label"] or "—"), _text(r["reason"])] for r in shown),
        )
        + rest
    )


def _unresolved(rows: RowStream, where: str, route: Route) -> list[str]:
    """Every entity that did not end created, updated or unchanged, with what resolves it."""
    if not rows.total:
        return []
    shown, rest = _first(rows, rows.total, "entities", where)
    return (
        [f"### Not migrated, and what resolves each ({rows.total})", ""]
        + _table(
            ["kind", f"{route.source_title} id", "name", "state", "reason", "resolve with"],
            (
                [
                    r["kind"],
                    _code(r["v1_id"]),
                    _text(r["label"] or "—"),
                    _text(r["state"]),
                    _text(r["reason"]),
                    _text(r["resolve"]),
                ]
                for r in shown
            ),
        )
        + rest
    )


def _changed(rows: RowStream, route: Route) -> list[str]:
    if not rows.total:
        return []
    shown, rest = _first(rows, rows.total, "updates and conflicts", "plan.html")
    return (
        [f"### Updates and conflicts ({rows.total})", ""]
        + _table(
            ["kind", f"{route.source_title} id", "name", "action", "fields", "why"],
            (
                [
                    r["kind"],
                    _code(r["key"]),
                    _text(r["label"] or "—"),
                    r["action"],
                    _text(", ".join(r["paths"]) or "—"),
                    _text(r["reason"] or "—"),
                ]
                for r in shown
            ),
        )
        + rest
    )


def _outside(findings: list[dict[str, Any]], title: str, route: Route) -> list[str]:
    if not findings:
        return []
    shown, rest = _first(iter(findings), len(findings), "objects", "the JSON report")
    return (
        [f"### {title} ({len(findings)})", ""]
        + _table(
            ["kind", "key", "name", f"{route.target_title} id", "finding"],
            (
                [f["kind"], _code(f["key"]), _text(f["label"]), _code(f["v2_id"]) if f["v2_id"] else "—", _text(f["finding"])]
                for f in shown
            ),
        )
        + rest
    )


def _recordings(recordings: list[dict[str, Any]], route: Route) -> list[str]:
    source, target = route.source_title, route.target_title
    lines = [f"### Recordings that stay in {source} ({len(recordings)})", ""]
    if not recordings:
        return lines + ["No recordings.", ""]
    lines += [f"{target} cannot import media: download these before the links expire.", ""]
    shown, rest = _first(iter(recordings), len(recordings), "recordings", "plan.json")
    return (
        lines
        + _table(
            [f"{source} meeting", "title", f"{target} meeting", "status", "download URL", "expires"],
            (
                [
                    _code(r["v1_meeting"]),
                    _text(r["title"] or "—"),
                    _code(r["v2_meeting"]),
                    _text(r["status"] or "—"),
                    _code(r["download_url"]),
                    _text(r["download_url_expiry"] or "—"),
                ]
                for r in shown
            ),
        )
        + rest
    )


def _payload_changes(changes: list[dict[str, Any]]) -> list[str]:
    if not changes:
        return []
    return ["### Webhook payload changes your receiver must handle", ""] + _table(
        ["events", "field", "change"], ([_text(", ".join(c["events"])), _code(c["field"]), _text(c["change"])] for c in changes)
    )


def _errata(endpoints: list[dict[str, Any]]) -> list[str]:
    fixed = [e for e in endpoints if e["corrects_guide"]]
    lines = [f"### Endpoint map ({len(endpoints)} operations; {len(fixed)} rows of Dyte's migration guide corrected)", ""]
    return lines + _table(
        ["operation", "the guide says", "correct v1 → v2", "why"],
        (
            [
                _text(e["action"]),
                _text(f"{e['guide']['v1']} → {e['guide']['v2']}"),
                _text(f"{e['v1'] or '(none)'} → {e['v2'] or '(none)'}"),
                _text(e["erratum"]),
            ]
            for e in fixed
        ),
    )


def _notes(doc: dict[str, Any]) -> list[str]:
    lines = [f"- **{_text(n['topic'])}** ({n['kind']}s): {_text(n['text'])}" for n in doc["mapping_notes"]]
    lines += [f"- ⚠️ {_text(w)}" for w in doc["warnings"]]
    return (["### Notes", "", *lines, ""]) if lines else []


NEXT_STEP = "Next: run `dyte-migrate scan` on your application code."


def _plan(doc: dict[str, Any]) -> list[str]:
    route = _route(doc)
    extracted = doc["extracted"].get("counts", {})
    read = ", ".join(f"{n} {kind}s" for kind, n in extracted.items())
    return [
        *_counts_table(doc["counts"], tuple(a.value for a in PLAN_ACTIONS)),
        f"Read from {route.source_title}: {read or 'nothing'}.",
        "",
        *_transformations(doc["transformations"], route),
        *_relocation(doc["relocation"], route),
        *_unmappable(doc["unmappable"], route),
        *_unresolved(doc["unresolved"], "plan.json", route),
        *_changed(doc["changed"], route),
        *_outside(doc["outside_ledger"], "Outside the ledger", route),
        *_recordings(doc["recordings"], route),
        *_payload_changes(doc["webhook_payload_changes"]),
        *_errata(doc["endpoints"]),
        *_notes(doc),
        NEXT_STEP,
        "",
    ]


# ------------------------------------------------------------------ verify, migrate, rollback
def _verify(doc: dict[str, Any]) -> list[str]:
    mismatches: RowStream = doc["mismatches"]
    route = _route(doc)
    unresolved = _unresolved(doc["unresolved"], "verify.json", route)
    if not mismatches.total:
        return unresolved
    lines = unresolved + _table(["kind", "checked"], ([kind, str(n)] for kind, n in doc["checked"].items()))
    shown, rest = _first(mismatches, mismatches.total, "mismatches", "verify.json")
    return (
        lines
        + [f"### Mismatches ({mismatches.total})", ""]
        + _table(
            ["kind", "key", "problem", f"{route.target_title} → expected"],
            (
                [
                    m["kind"],
                    _code(m["key"]),
                    _text(m["problem"]),
                    "; ".join(f"{_code(c['path'])}: {_text(c['v2'])} → {_text(c['wanted'])}" for c in m["changes"][:5]) or "—",
                ]
                for m in shown
            ),
        )
        + rest
    )


def _errors(errors: list[dict[str, Any]]) -> list[str]:
    if not errors:
        return []
    shown, rest = _first(iter(errors), len(errors), "errors", "the JSON report")
    return (
        [f"### Errors ({len(errors)})", ""]
        + _table(["kind", "key", "error"], ([_text(e.get("kind")), _code(e.get("key")), _text(e.get("error"))] for e in shown))
        + rest
    )


def _migrate(doc: dict[str, Any]) -> list[str]:
    columns = ("created", "adopted", "updated", "unchanged", "failed", "unmappable")
    stopped = [f"Stopped early ({_text(doc['stopped'])}); run `migrate` again to resume.", ""] if doc["stopped"] else []
    return [
        *_counts_table(doc["counts"], columns),
        f"{_route(doc).target_title} writes in this run: {doc['writes']}.",
        "",
        *stopped,
        *_unresolved(doc["unresolved"], "migrate.json", _route(doc)),
        *_errors(doc["errors"]),
    ]


def _rollback(doc: dict[str, Any]) -> list[str]:
    events = sorted({event for tally in doc["counts"].values() for event in tally})
    return [*(_counts_table(doc["counts"], events) if events else []), *_errors(doc["errors"])]


def _import(doc: dict[str, Any]) -> list[str]:
    return [
        *_counts_table(doc["counts"], ("imported", "ambiguous", "not_in_v2")),
        *_outside(doc["ambiguous"], "Ambiguous, left out", _route(doc)),
    ]


_BODIES = {"plan": _plan, "verify": _verify, "migrate": _migrate, "rollback": _rollback, "import": _import}


def markdown(doc: dict[str, Any]) -> str:
    """The Markdown form of a report document; a clean verify is a single line."""
    if doc["report"] == "verify" and not doc["mismatches"].total and not doc["unresolved"].total:
        return f"**dyte-migrate verify** {_text(doc['headline'])}\n"
    return "\n".join(_header(doc) + _BODIES[doc["report"]](doc)) + "\n"
