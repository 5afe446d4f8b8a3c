"""The `dyte-migrate` executable ends at once when its command is over (migrator.launch).

It skips the interpreter's teardown (0.3-0.4 s of freeing objects after the last line), so
these run the real entry point in a fresh interpreter and check what a caller relies on:
the exit code, and every byte of output, even through a pipe.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from migrator import __version__
from migrator.launch import _exit_code

LAUNCH = """
import atexit, sys
atexit.register(lambda: sys.stderr.write("interpreter teardown ran\\n"))
sys.argv = ["dyte-migrate", *{argv!r}]
from migrator.launch import main
main()
"""


def _launch(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", LAUNCH.format(argv=list(argv))], capture_output=True, text=True, timeout=60)


def test_a_command_ends_without_the_interpreter_teardown_and_keeps_its_exit_code() -> None:
    done = _launch("--version")
    assert done.returncode == 0, done.stderr
    assert __version__ in done.stdout
    assert "interpreter teardown ran" not in done.stderr


def test_a_usage_error_keeps_its_line_and_exit_code_2() -> None:
    done = _launch("--no-such-option")
    assert done.returncode == 2
    assert "No such option" in done.stderr


def test_output_larger_than_a_pipe_buffer_arrives_whole(tmp_path: Path) -> None:
    """stdout is block-buffered into a pipe: what is still in the buffer must be written before the exit."""
    for i in range(400):
        (tmp_path / f"client{i}.js").write_text('fetch("https://api.dyte.io/v1/organizations/x/meetings")\n')
    done = _launch("scan", str(tmp_path), "--format", "json")
    assert done.returncode == 1, done.stderr  # scan exits 1 when it finds something
    assert len(done.stdout) > 65536, "more than a pipe holds at once"
    assert len(json.loads(done.stdout)["findings"]) == 400


def test_a_message_given_to_exit_is_printed_and_exits_1(capsys) -> None:
    assert _exit_code("stopped: the ledger is gone") == 1
    assert capsys.readouterr().err == "stopped: the ledger is gone\n"
    assert _exit_code(None) == 0 and _exit_code(3) == 3
