"""The contract's shapes as pydantic models: request bodies, queue messages, views, error bodies.

Imported only where a body is read or documented (pydantic is tens of milliseconds of a cold start)."""
