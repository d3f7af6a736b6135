"""The use cases: each a service over the ports (ports.py) and the domain; the runtime wires the adapters in."""
