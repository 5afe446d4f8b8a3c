"""A local Dyte server (v1 + v2) on loopback, for trying and testing migrations.

Product code never imports this package; tests and `dyte-migrate sandbox serve` do.
"""
