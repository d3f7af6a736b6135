"""The domain: Return Helper rules and value types, standard library only (import-linter checks it)."""
