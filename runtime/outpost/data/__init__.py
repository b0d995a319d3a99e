"""Data access: one definition per table, and repositories that take their client as a parameter."""
