"""The weekly digest: periods, what goes in it (data, content), how it looks (render,
text), the outbox that claims each period once, and the mailer.

Imports `flags`, `query` and `store`.
"""
