"""Who may write: API tokens (created, hashed at rest, checked, revoked).

Imports `store` only.
"""
