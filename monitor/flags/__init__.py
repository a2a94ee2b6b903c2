"""From findings to reviewed flags: detection glue (findings into Flag rows), grouping
flags into incidents, the review log, and rescans with a new catalogue or detector.

Imports `store` and `query`.
"""
