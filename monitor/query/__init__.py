"""Answers to questions about what is stored: flags, pledges, companies, incidents,
timelines, full-text search, exports and feed suggestions. Read-only.

Imports `store`.
"""
