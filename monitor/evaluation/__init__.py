"""Measuring detection: run a labelled corpus through the ingest pipeline and score it.

Imports `ingest`, `flags` and `store`.
"""
