"""SIGINT and SIGTERM at many moments of a real `dyte-migrate` process: one line, a documented
exit code (3 once work started; 130/143 before), one JSON object, never a traceback or a silent death."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from migrator.errors import EXIT_OK, EXIT_PARTIAL

from .helpers import Workspace, v2_writes

# (anchor, seconds after it), read from /proc and the sandbox so that a busy machine does not
# shift the moments: "handlers" = the CLI's own handlers are in place (it catches SIGTERM; the
# earliest moment its code controls, a few ms after the interpreter starts); "python" = the
# interpreter is up (it catches SIGINT) - half a second later the CLI is still importing its
# modules on this machine, where a Ctrl-C printed a KeyboardInterrupt traceback; "ledger" = the
# command's work began (the ledger file exists); "writes" = the first v2 write reached the sandbox.
MOMENTS = (("handlers", 0.0), ("python", 0.5), ("ledger", 0.0), ("ledger", 0.2), ("writes", 0.0), ("writes", 0.4))


def catches(pid: int, sig: signal.Signals) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught & (1 << (sig - 1)))


def wait_for(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        assert proc.poll() is None, "the run ended before the moment came"
        assert time.monotonic() < deadline, "the moment never came"
        time.sleep(0.002)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to time the signals")
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("anchor,moment", MOMENTS)
def test_a_signal_at_any_moment_is_one_line_and_a_documented_code(tmp_path, sandbox_factory, signame, anchor, moment):
    org = sandbox_factory(rate_limit=0, latency_ms=20, meetings=10, participants=6)
    ws = Workspace.for_sandbox(tmp_path, org)
    proc = ws.spawn("migrate", "--concurrency", "2")
    wait_for(proc, lambda: catches(proc.pid, signal.SIGTERM if anchor == "handlers" else signal.SIGINT))
    if anchor == "ledger":
        wait_for(proc, ws.ledger.exists)
    elif anchor == "writes":
        wait_for(proc, lambda: v2_writes(org) > 0)
    time.sleep(moment)
    sig = getattr(signal, signame)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    code = proc.returncode
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert code in (EXIT_OK, EXIT_PARTIAL, 128 + sig), f"exit {code} ({signame} at +{moment}s): {stderr[-500:]}"
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    outcome = json.loads(stdout)  # exactly one JSON object, whatever the moment
    assert outcome["exit_code"] == code
    if anchor in ("ledger", "writes"):
        assert code != 128 + sig, "work had started: the stop is exit 3"
    if code == 128 + sig:
        assert errors == [f"error: stopped by {signame} before any work started; nothing was done"]
    elif code == EXIT_PARTIAL:
        assert outcome["status"] == "partial"
        assert len(errors) <= 1 and (errors or "stopped early" in stderr), stderr[-500:]
    else:
        assert outcome["status"] == "complete", "exit 0 only when the run finished before the signal"
