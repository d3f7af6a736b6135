"""Return Helper sandbox emulator: a development-only stand-in for Return Helper's user API.

It serves the endpoints this system calls (resends, shipment service types, resend statuses)
with the real envelope and soft errors, honours ``x-returnhelper-idempotency-key``, sends
correctly signed webhooks, and can be told to inject faults. It never runs in AWS.
"""

from local.emulator.server import EmulatorServer

__all__ = ["EmulatorServer"]
