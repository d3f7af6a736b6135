"""DynamoDB: one adapter per table or index, over the base in base.py."""
