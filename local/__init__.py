"""The local stack (never deployed): template.yaml on 127.0.0.1 without Docker or AWS (`python -m local.stack`)."""
