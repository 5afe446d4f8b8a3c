"""`dyte-migrate scan`: find Dyte v1 REST usage in application code and say what to write instead.

The step after the data moves. Endpoint and field advice comes from the same mapping files
that drive the migration (mappings/endpoints.yaml, meetings.yaml, participants.yaml,
scan.yaml).
"""

from migrator.scan._knowledge import TARGETS
from migrator.scan._model import RULES, Finding, Rule, ScanResult
from migrator.scan._output import FORMATS, render
from migrator.scan._scan import scan_paths

__all__ = ["FORMATS", "RULES", "TARGETS", "Finding", "Rule", "ScanResult", "render", "scan_paths"]
