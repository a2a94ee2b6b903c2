"""Entries in, articles and flags out: the pipeline that normalises, dedupes, stores and
scans a batch of parsed entries, and the pool of parse workers it can use.

Imports `flags`, `query` and `store`.
"""
