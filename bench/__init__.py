"""`make bench`: cold starts, warm cost, DynamoDB requests and capacity, artifact sizes -> docs/benchmarks.md.

Every figure is measured against its floor in the same run (see bench/run.py). Not a test:
`make test` only checks that the quick mode runs and writes every figure.
"""
