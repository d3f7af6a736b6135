"""Adapters: DynamoDB, SQS, EventBridge, Secrets Manager and Return Helper behind the ports."""
