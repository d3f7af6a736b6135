"""The shared layer: domain/ (standard library only), services/ (use cases over ports), adapters/,
contract/ (pydantic shapes), http/ and runtime/ (wiring); import-linter keeps the layers apart."""
