"""Who may write: API tokens (created, hashed at rest, checked, revoked) and the web
sign-in sessions opened with them (random ids, hashed at rest, expiring, revocable).

Imports `store` only.
"""
