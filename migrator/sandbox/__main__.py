"""`python -m migrator.sandbox serve ...`"""

from migrator.sandbox.cli import sandbox

sandbox(prog_name="python -m migrator.sandbox")
