"""Fetching due feeds: claims (row leases), the poll cycle, its writer thread and parse
workers, its settings and its report.

Imports `ingest`, `flags` and `store`.
"""
