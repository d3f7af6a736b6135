"""Return Helper sandbox emulator: a development-only stand-in for Return Helper's user API (server.py)."""

from local.emulator.server import EmulatorServer

__all__ = ["EmulatorServer"]
