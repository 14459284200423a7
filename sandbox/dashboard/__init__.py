"""The dashboard: server-rendered pages at /dashboard (see controllers)."""
