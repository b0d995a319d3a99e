"""Outpost runtime: domain models, data access, Lambda handlers and the worker."""
