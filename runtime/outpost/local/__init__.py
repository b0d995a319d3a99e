"""Local mode: the whole system on one machine, on an in-memory AWS (moto) at 127.0.0.1."""
