"""The REST API: its routes, and what every route handler shares."""
