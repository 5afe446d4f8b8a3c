"""What the robustness suite tried and what came out, written by the suite itself.

Tests append records to `TALLY`; at the end of the session conftest.py writes
`reports/robustness.json` and `reports/robustness.md` and prints the Markdown table,
so the README's table is pasted from the suite's own output, never typed by hand.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SECTIONS = ("chaos", "kills", "crash_runs", "signals", "hostile", "secrets")


@dataclass
class Tally:
    chaos: list[dict[str, Any]] = field(default_factory=list)
    kills: list[dict[str, Any]] = field(default_factory=list)
    crash_runs: list[dict[str, Any]] = field(default_factory=list)
    signals: list[dict[str, Any]] = field(default_factory=list)
    hostile: list[dict[str, Any]] = field(default_factory=list)
    secrets: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()

    def add(self, section: str, record: dict[str, Any]) -> None:
        with self._lock:
            getattr(self, section).append(record)

    def records(self) -> dict[str, list[dict[str, Any]]]:
        """Every section's records (what an xdist worker sends to the controller)."""
        return {section: list(getattr(self, section)) for section in SECTIONS}

    def absorb(self, records: dict[str, list[dict[str, Any]]]) -> None:
        with self._lock:
            for section in SECTIONS:
                getattr(self, section).extend(records.get(section, []))

    def __bool__(self) -> bool:
        return any((self.chaos, self.kills, self.crash_runs, self.signals, self.hostile, self.secrets))

    # ------------------------------------------------------------------ totals
    def totals(self) -> dict[str, int]:
        runs = self.chaos + self.crash_runs + [h for h in self.hostile if "lost" in h]
        return {
            "lost": sum(r.get("lost", 0) for r in runs),
            "duplicated": sum(r.get("duplicated", 0) for r in runs),
            "unknown_v2_writes": sum(r.get("unknown", 0) for r in runs + self.signals + self.hostile),
            "leaked": sum(len(s.get("leaks", [])) for s in self.secrets),
        }

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("started")
        data["totals"] = self.totals()
        data["environment"] = {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "seconds": round(time.time() - self.started, 1),
        }
        return data

    # ------------------------------------------------------------------ markdown
    def markdown(self) -> str:
        totals = self.totals()
        rows: list[tuple[str, str, str]] = []
        if self.chaos:
            kinds: Counter[str] = Counter()
            for r in self.chaos:
                kinds.update(r.get("injected", {}))
            specs = sorted({r["faults"] for r in self.chaos})
            limited = [r for r in self.chaos if r.get("rate_limit")]
            seeds = sorted(r["seed"] for r in self.chaos)
            complete = sum(1 for r in self.chaos if r["migrate_exit"] == 0 and r.get("status") == "complete")
            resumed = sum(1 for r in self.chaos if r.get("runs", 1) > 1 and r["migrate_exit"] == 0)
            clean = sum(1 for r in self.chaos if r.get("verify") == "clean")
            bursts = (
                f"; 429 bursts from the rate limiter on {len(limited)} seeds "
                f"(server {limited[0]['rate_limit']:g}/min, client paced at {limited[0]['client_rate_limit']:g}/min)"
                if limited
                else ""
            )
            rows.append(
                (
                    "Chaos (sandbox `--faults`)",
                    f"`{'`, `'.join(specs)}`{bursts}; {len(seeds)} seeds {_ranges(seeds)}; "
                    f"{sum(r['requests'] for r in self.chaos)} requests, injected "
                    + ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))
                    + f", limiter 429s x{sum(r.get('throttled', 0) for r in self.chaos)}",
                    f"{complete}/{len(self.chaos)} runs complete"
                    + (f" ({resumed} needed a 2nd/3rd run: heavier soak faults, MAX_UNCERTAIN)" if resumed else "")
                    + f", {clean}/{len(self.chaos)} verify clean, re-run writes {sum(r.get('rerun_v2_writes') or 0 for r in self.chaos)}",
                )
            )
        if self.kills:
            seeds = sorted({k["seed"] for k in self.kills})
            triggers = Counter(k["trigger"] for k in self.kills)
            in_batch = sum(1 for k in self.kills if k.get("in_batch"))
            exact = sum(
                1 for r in self.crash_runs if r.get("lost", 0) == 0 and r.get("duplicated", 0) == 0 and r.get("final_exit") == 0
            )
            rows.append(
                (
                    "Crashes (SIGKILL, then restart)",
                    f"{len(self.kills)} kill points over {len(seeds)} seeds {_ranges(seeds)} "
                    f"({', '.join(f'{n} {t}' for t, n in sorted(triggers.items()))}; {in_batch} inside a write batch)",
                    f"{exact}/{len(self.crash_runs)} orgs exact after restart, verify clean",
                )
            )
        if self.signals:
            ok = sum(1 for s in self.signals if s["exit"] == 3 and s.get("consistent"))
            tried = sorted({f"{s['signal']} during {s['phase']}" for s in self.signals})
            rows.append(
                (
                    "Graceful stop (SIGINT, SIGTERM)",
                    "; ".join(tried),
                    f"{ok}/{len(self.signals)} exit 3 with a consistent ledger, then resume exact",
                )
            )
        if self.hostile:
            groups: dict[str, list[dict[str, Any]]] = {}
            for h in self.hostile:
                groups.setdefault(h["group"], []).append(h)
            for group, cases in groups.items():
                names = sorted({re.sub(r" \((plan|migrate|status|check)\)$", "", c["case"]) for c in cases})
                total = sum(c.get("examples", 1) for c in cases)
                ok = sum(c.get("examples", 1) for c in cases if c.get("ok"))
                codes: Counter[str] = Counter()
                for c in cases:
                    codes.update({str(k): v for k, v in c["exits"].items()} if "exits" in c else {str(c["exit"]): 1})
                shown = "; ".join(names[:12]) + (f"; +{len(names) - 12} more" if len(names) > 12 else "")
                rows.append(
                    (
                        f"Hostile input: {group}",
                        f"{total} cases: {shown}",
                        f"{ok}/{total} as documented (exit "
                        + ", ".join(f"{c} x{n}" for c, n in sorted(codes.items()))
                        + "), one line, no traceback",
                    )
                )
        if self.secrets:
            artefacts = sum(s["artefacts"] for s in self.secrets)
            canaries = max(s["canaries"] for s in self.secrets)
            places = sorted({p for s in self.secrets for p in s["places"]})
            rows.append(
                (
                    "Secrets (canary keys, participant tokens)",
                    f"{canaries} canaries; {artefacts} artefacts scanned: {', '.join(places)}",
                    f"{totals['leaked']} found; ledger mode 0600; hostile strings inert in HTML",
                )
            )
        lines = ["| area | tried | result |", "| --- | --- | --- |"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
        lines += [
            f"| **lost** | v1 objects with no v2 counterpart, over every run above | **{totals['lost']}** |",
            f"| **duplicated** | v2 objects created twice | **{totals['duplicated']}** |",
            f"| **unknown v2 writes** | v2 objects the ledger does not know | **{totals['unknown_v2_writes']}** |",
            f"| **leaked** | canary occurrences outside the credentials file | **{totals['leaked']}** |",
        ]
        return "\n".join(lines) + "\n"

    def details(self) -> str:
        """Per-run tables: every chaos seed, kill point, signal and hostile case, as the suite saw them."""
        out: list[str] = []
        if self.chaos:
            out += [
                "### Chaos runs",
                "",
                "| seed | org | faults | hang / --timeout (s) | rate limit server / client | concurrency | requests "
                "| injected | limiter 429s | client retries | migrate | verify | re-run writes | lost | dup | unknown |",
                "| " + " | ".join(["---"] * 16) + " |",
            ]
            for r in sorted(self.chaos, key=lambda r: r["seed"]):
                injected = ", ".join(f"{k} {n}" for k, n in sorted(r.get("injected", {}).items()))
                limit = f"{r['rate_limit']:g} / {r['client_rate_limit']:g}" if r.get("rate_limit") else "off"
                out.append(
                    f"| {r['seed']} | {r['org']} | `{r['faults']}` | {r['hang_s']:g} / {r['timeout_s']:g} | {limit} "
                    f"| {r['concurrency']} | {r['requests']} | {injected} | {r.get('throttled', 0)} "
                    f"| {r.get('client_retries')} | {r['migrate_exit']} {r.get('status')}"
                    f"{' after ' + str(r['runs']) + ' runs' if r.get('runs', 1) > 1 else ''} | {r.get('verify')} "
                    f"| {r.get('rerun_v2_writes')} | {r['lost']} | {r['duplicated']} | {r['unknown']} |"
                )
            out.append("")
        if self.kills:
            out += [
                "### Kill points (SIGKILL)",
                "",
                "| seed | # | trigger | after (s) | phase at the kill | writes of the killed run | intents it left |",
                "| --- | --- | --- | --- | --- | --- | --- |",
            ]
            for k in sorted(self.kills, key=lambda k: (k["seed"], k["point"])):
                out.append(
                    f"| {k['seed']} | {k['point']} | {k['trigger']} | {k['at_s']} | {k['phase']} "
                    f"| {k.get('written_by_run', 0)} | {k.get('intents_left', 0)} |"
                )
            out += [
                "",
                "| seed | org | kills | final migrate | verify | lost | dup | unknown |",
                "| --- | --- | --- | --- | --- | --- | --- | --- |",
            ]
            for r in sorted(self.crash_runs, key=lambda r: r["seed"]):
                out.append(
                    f"| {r['seed']} | {r['org']} | {r['kills']} | exit {r['final_exit']} | {r['verify']} "
                    f"| {r['lost']} | {r['duplicated']} | {r['unknown']} |"
                )
            out.append("")
        if self.signals:
            out += [
                "### Graceful stops",
                "",
                "| signal | during | exit | error line | ledger consistent | resumed exact |",
                "| --- | --- | --- | --- | --- | --- |",
            ]
            for r in self.signals:
                exact = not (r.get("lost") or r.get("duplicated") or r.get("unknown"))
                out.append(
                    f"| {r['signal']} | {r['phase']} | {r['exit']} | {_cell(r.get('line') or '(none: summary on stdout)')} "
                    f"| {'yes' if r.get('consistent') else 'no'} | {'yes' if exact else 'no'} |"
                )
            out.append("")
        if self.hostile:
            out += [
                "### Hostile inputs",
                "",
                "| group | case | exit (expected) | ok | the one error line |",
                "| --- | --- | --- | --- | --- |",
            ]
            for h in self.hostile:
                exits = ", ".join(f"{c} x{n}" for c, n in sorted(h["exits"].items())) if "exits" in h else str(h["exit"])
                line = h.get("line")
                line = line[0] if isinstance(line, list) and line else (line or "")
                if "examples" in h:
                    line = f"{h['examples']} generated examples"
                out.append(
                    f"| {h['group']} | {_cell(h['case'])} | {exits} ({h['expected']}) | "
                    f"{'yes' if h.get('ok') else 'NO'} | {_cell(line)} |"
                )
            out.append("")
        if self.secrets:
            for s in self.secrets:
                out += [
                    "### Secrets",
                    "",
                    f"{s['canaries']} canaries ({s.get('api_keys', 0)} API keys and auth values, {s.get('tokens', 0)} "
                    f"participant tokens) searched in {s['artefacts']} artefacts: {', '.join(s['places'])}. "
                    f"Found: {len(s['leaks'])}.",
                    "",
                ]
        return "\n".join(out)

    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in (
            ("robustness.json", json.dumps(self.as_json(), indent=2, default=str) + "\n"),
            (
                "robustness.md",
                "# Robustness suite tally\n\nGenerated by `pytest tests/faults` "
                f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                f"{self.as_json()['environment']['seconds']} s).\n\n" + self.markdown() + "\n## Details\n\n" + self.details(),
            ),
        ):
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, folder / name)
            written.append(folder / name)
        return written


def _ranges(numbers: list[int]) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'"""
    out: list[str] = []
    start = prev = None
    for n in sorted(set(numbers)):
        if start is None:
            start = prev = n
        elif n == prev + 1:
            prev = n
        else:
            out.append(f"{start}-{prev}" if start != prev else f"{start}")
            start = prev = n
    if start is not None:
        out.append(f"{start}-{prev}" if start != prev else f"{start}")
    return "(" + ", ".join(out) + ")"


TALLY = Tally()


def _cell(text: str, limit: int = 160) -> str:
    """Text safe inside a Markdown table cell: one line, no pipes, not too long."""
    text = re.sub(r"/tmp/pytest-of-[^/]+/pytest-\d+/[^/\s]+/", "<tmp>/", " ".join(str(text).split()))
    text = text.replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"
