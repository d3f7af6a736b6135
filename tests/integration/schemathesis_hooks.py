"""Schemathesis hooks (SCHEMATHESIS_HOOKS=tests.integration.schemathesis_hooks): the operator routes signed.

The operations the document secures with SigV4 (the operator routes, AWS_IAM in template.yaml) are
sent with a signature made with the stack's operator credentials (SCHEMATHESIS_OPERATOR: stack.json's
`operator` as JSON), so the fuzzer reaches their handlers instead of API Gateway's 403. requests
applies the auth to the request as sent, after schemathesis has serialised the body.
"""

import json
import os

import schemathesis
from botocore.credentials import Credentials

from ops.operator_api import SignedBySigV4

SIGV4_SECURITY = [{"SigV4": []}]


def _operator_auth() -> SignedBySigV4:
    operator = json.loads(os.environ["SCHEMATHESIS_OPERATOR"])
    return SignedBySigV4(Credentials(operator["accessKeyId"], operator["secretAccessKey"]), operator["region"])


@schemathesis.hook
def before_call(context, case, kwargs):
    if case.operation.definition.raw.get("security") == SIGV4_SECURITY:
        kwargs["auth"] = _operator_auth()
