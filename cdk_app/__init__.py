"""Outpost's infrastructure: settings, the stack, and the construct library."""
