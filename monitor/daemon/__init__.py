"""The long-running process: the service loop, its jobs and scheduler, its heartbeat rows,
the one-daemon-per-SQLite-file lock, and `status`.

Imports `poll`, `digest`, `ingest`, `flags`, `query` and `store`.
"""
