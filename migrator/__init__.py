"""dyte-migrate: move a Dyte organization from the v1 to the v2 REST API."""

__version__ = "0.1.0"
