"""The local stack (never deployed): runs template.yaml on 127.0.0.1 without Docker or AWS.

`python -m local.stack` reads template.yaml (local.template), starts DynamoDB Local
(local.dynamodb_local) and moto server (local.aws_services), runs each function in its
own worker processes (local.lambda_runtime, local.lambda_worker) behind a local API
Gateway (local.gateway). local.settings holds the environment and the dev defaults;
local.processes how child processes are started and stopped.
"""
