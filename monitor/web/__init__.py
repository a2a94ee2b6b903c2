"""The site: web pages rendered on the server (Jinja2, autoescaped, readable without
JavaScript), sign-in sessions, and `app.create_app`, which mounts the API's routers, the
pages and the static files into one application for `pledgewatch serve`.

Imports `api` (request context, caller checks) and the rooms below it; never `cli`.
"""
