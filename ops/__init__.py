"""Operator commands for a running deployment (or the local stack); never deployed, never imported by Lambda."""
