"""Lambda handlers: parse, call a domain service, shape the response — nothing more."""
