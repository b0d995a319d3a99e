"""Domain services: the decisions, taking their stores as parameters."""
