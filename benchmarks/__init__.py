"""Benchmarks of dyte-migrate against the local sandbox: `python -m benchmarks SCENARIO [--json]`.

Scenarios: ceiling, overhead, scale, rerun, sandbox, all (see docs/benchmarks.md).
"""
