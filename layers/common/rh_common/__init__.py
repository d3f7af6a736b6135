"""Shared layer: the pure domain of Return Helper resends and its thin AWS/HTTP adapters."""
