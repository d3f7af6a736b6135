"""The runtime: wiring, settings, observability, cold start and SnapStart; imported only by functions/ and ops/."""
