"""SQS: the retry, sync and dead-letter queues."""
