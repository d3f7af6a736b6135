"""Adapters: DynamoDB, Secrets Manager and Return Helper behind small interfaces."""
