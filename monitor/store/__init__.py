"""The database: one engine and session factory, the monitor's tables, migrations.

Owns: `db` (SQLite or PostgreSQL by URL), `models` (Flag, Incident, Review, Digest and the
other rows the monitor adds), `tables` (every table registered for migrations), and the
schema migrations. Imports no other room of `monitor`; `feeds` and `pledges` for their
own table classes only.
"""
