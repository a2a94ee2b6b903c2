"""Web pages rendered on the server (Jinja2, autoescaped), readable without JavaScript."""
