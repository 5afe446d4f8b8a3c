"""`python -m benchmarks scan`: files per second of `dyte-migrate scan` on a generated tree.

The tree (made in a temporary folder, removed afterwards) mixes seven languages; a share
of the files are Dyte v1 clients built from the test fixtures, the rest ordinary code that
never says Dyte, plus a node_modules folder and a git-ignored folder the walker must skip.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "scan" / "fixtures" / "app"
POSITIVES = (
    "js/positive.js",
    "ts/positive.ts",
    "python/positive.py",
    "ruby/dyte_client.rb",
    "dart/positive.dart",
    "java/DyteService.java",
)
PLAIN = {
    ".js": "function f{i}(a, b) {{\n  const total = a + b * {i};\n  return fetch(`/api/items/${{total}}`);\n}}\n",
    ".ts": "export function f{i}(a: number): string {{\n  return `item-${{a * {i}}}`;\n}}\n",
    ".py": "def f{i}(a: int) -> int:\n    total = a * {i}\n    return total + len(str(total))\n\n",
    ".rb": "def f{i}(a)\n  total = a * {i}\n  total.to_s.length\nend\n",
    ".dart": "int f{i}(int a) {{\n  final total = a * {i};\n  return total.toString().length;\n}}\n",
    ".java": "    static int f{i}(int a) {{\n        int total = a * {i};\n"
    "        return String.valueOf(total).length();\n    }}\n",
    ".go": "func f{i}(a int) int {{\n\ttotal := a * {i}\n\treturn len(fmt.Sprint(total))\n}}\n",
}


def _generate(root: Path, files: int, dyte_share: float, seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    positives = [(FIXTURES / name).read_text() for name in POSITIVES]
    (root / ".gitignore").write_text("build/\n")
    counts = {"dyte": 0, "plain": 0, "skipped": 0}
    for index in range(files):
        folder = root / f"pkg{index % 50}" / f"mod{index % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        if rng.random() < dyte_share:
            number = rng.randrange(len(POSITIVES))
            (folder / f"dyte{index}{Path(POSITIVES[number]).suffix}").write_text(positives[number])
            counts["dyte"] += 1
        else:
            suffix = rng.choice(list(PLAIN))
            body = "".join(PLAIN[suffix].format(i=i) for i in range(rng.randint(5, 60)))
            (folder / f"file{index}{suffix}").write_text(body)
            counts["plain"] += 1
    for skipped in ("node_modules/dyte-sdk", "build/out"):
        (root / skipped).mkdir(parents=True)
        for index in range(100):
            (root / skipped / f"s{index}.js").write_text(positives[0])
            counts["skipped"] += 1
    return counts


def run(
    files: int = 5000, dyte_share: float = 0.1, repeats: int = 3, seed: int = 7, profile: str | None = None
) -> dict[str, Any]:
    from migrator.scan import scan_paths

    with tempfile.TemporaryDirectory(prefix="dyte-scan-bench-") as folder:
        root = Path(folder)
        made = _generate(root, files, dyte_share, seed)
        rounds = []
        for _ in range(repeats):
            started = time.perf_counter()
            result = scan_paths([root], base=root)
            rounds.append(time.perf_counter() - started)
        started = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-m", "migrator", "scan", str(root), "--format", "json", "--output", str(root / "out.json")],
            capture_output=True,
            check=False,
        )
        cli_s = time.perf_counter() - started
    best = min(rounds)
    return {
        "scenario": "scan",
        "tree": made,
        "files_scanned": result.files_scanned,
        "findings": len(result.findings),
        "rounds_s": [round(r, 3) for r in rounds],
        "files_per_second": round(result.files_scanned / best),
        "cli_s": round(cli_s, 2),
        "cli_exit_code": cli.returncode,
        "cli_files_per_second": round(result.files_scanned / cli_s),
    }


def table(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    tree = result["tree"]
    return [
        (
            "tree",
            f"{tree['dyte'] + tree['plain']} files",
            f"{tree['dyte']} Dyte v1 clients, {tree['plain']} other, {tree['skipped']} in node_modules/ and git-ignored build/",
        ),
        ("files scanned", str(result["files_scanned"]), f"{result['findings']} findings"),
        ("files/second (in process)", str(result["files_per_second"]), f"best of {result['rounds_s']} s"),
        (
            "files/second (CLI, start-up included)",
            str(result["cli_files_per_second"]),
            f"{result['cli_s']} s, exit {result['cli_exit_code']}",
        ),
    ]
