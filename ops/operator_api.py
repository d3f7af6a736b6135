"""The operator routes over HTTP, signed with AWS SigV4 (service execute-api), for the ops CLIs.

The operator routes (/sync/inventories..., /deliveries...) are AWS_IAM routes: API Gateway
checks the caller's signature and IAM decides (execute-api:Invoke). The CLIs call them exactly as
any operator would (awscurl, a signed request from a script): they never reach the tables
themselves, so the one wiring is the function's.

Where the API is and who signs:
  --stack .local/stack.json   the local stack's `api` URL, signed with its `operator` credentials
  --cfn-stack NAME            the deployed stack's ApiUrl output, signed with your AWS credentials
  --api-url URL               any API URL, signed with your AWS credentials
Your credentials and region come from boto3's default chain (AWS_PROFILE, AWS_REGION, ...);
--region overrides it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials, ReadOnlyCredentials
from botocore.exceptions import BotoCoreError, ClientError

SERVICE = "execute-api"
API_URL_OUTPUT = "ApiUrl"  # template.yaml Outputs
TIMEOUT_SECONDS = 35  # the merchant API function's timeout (29 s) and API Gateway's around it


class OperatorError(Exception):
    """Something the operator has to fix (no API, no credentials, an answer that is not JSON); exit 2."""


class SignedBySigV4(requests.auth.AuthBase):
    """requests auth: SigV4 for execute-api over the method, URL, Content-Type, Host and body sent."""

    def __init__(self, credentials: ReadOnlyCredentials | Credentials, region: str) -> None:
        self._signer = SigV4Auth(credentials, SERVICE, region)

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        body = prepared.body or b""
        signed = AWSRequest(
            method=prepared.method,
            url=prepared.url,
            data=body.encode() if isinstance(body, str) else body,
            headers={name: prepared.headers[name] for name in ("Content-Type",) if name in prepared.headers},
        )
        self._signer.add_auth(signed)  # Host comes from the URL, as requests sends it
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                prepared.headers[name] = signed.headers[name]
        return prepared


@dataclass(frozen=True)
class OperatorApi:
    """The API's base URL and the signer; `call` answers (status, JSON body)."""

    base_url: str
    auth: SignedBySigV4
    session: requests.Session

    def call(self, method: str, path: str, *, query: dict[str, Any] | None = None, body: Any = None) -> tuple[int, Any]:
        try:
            response = self.session.request(
                method,
                self.base_url.rstrip("/") + path,
                params={k: v for k, v in (query or {}).items() if v is not None} or None,
                json=body,
                auth=self.auth,
                timeout=TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise OperatorError(f"cannot reach {self.base_url}: {type(exc).__name__}") from None
        try:
            return response.status_code, response.json()
        except ValueError:
            raise OperatorError(f"{method} {path} answered {response.status_code} without JSON") from None


def refused(what: str, status: int, body: Any) -> str:
    """An answer other than success, for the operator: the status and the body's message and fields."""
    body = body if isinstance(body, dict) else {}
    fields = ", ".join(f"{e.get('field') or '-'}: {e.get('message')}" for e in body.get("errors") or [])
    hint = " (sign with credentials allowed execute-api:Invoke on this API)" if status == 403 else ""
    return f"{what} answered {status}: {body.get('message')}{hint}" + (f" [{fields}]" if fields else "")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("which API")
    where.add_argument("--stack", help="the local stack's stack.json (make run writes .local/stack.json)")
    where.add_argument("--cfn-stack", metavar="NAME", help="a deployed CloudFormation stack's name")
    where.add_argument("--api-url", help="the API's base URL (https://<id>.execute-api.<region>.amazonaws.com/<stage>)")
    where.add_argument("--region", help="the region to sign for (default: your AWS configuration's)")


def connect(args: argparse.Namespace) -> OperatorApi:
    """The API the arguments name, with the credentials that sign for it."""
    if args.stack:
        try:
            state = json.loads(Path(args.stack).read_text(encoding="utf-8"))
            operator = state["operator"]
            credentials = Credentials(operator["accessKeyId"], operator["secretAccessKey"])
            return _api(args.api_url or state["api"], credentials, args.region or operator["region"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise OperatorError(
                f"cannot read the API and operator from {args.stack} ({exc}); is `make run` going?"
            ) from None
    session = boto3.Session(region_name=args.region) if args.region else boto3.Session()
    if not session.region_name:
        raise OperatorError("no AWS region: set AWS_REGION (or a profile's region) or pass --region")
    credentials = session.get_credentials()
    if credentials is None:
        raise OperatorError("no AWS credentials: configure a profile, environment variables or SSO")
    base_url = args.api_url
    if not base_url and args.cfn_stack:
        base_url = _stack_output(session, args.cfn_stack, API_URL_OUTPUT)
    if not base_url:
        raise OperatorError("which API? pass --stack, --cfn-stack or --api-url")
    return _api(base_url, credentials.get_frozen_credentials(), session.region_name)


def _api(base_url: str, credentials: ReadOnlyCredentials | Credentials, region: str) -> OperatorApi:
    return OperatorApi(base_url, SignedBySigV4(credentials, region), requests.Session())


def _stack_output(session: boto3.Session, stack_name: str, output: str) -> str:
    try:
        [stack] = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise OperatorError(f"CloudFormation stack {stack_name!r}: {exc}") from None
    for found in stack.get("Outputs", []):
        if found["OutputKey"] == output:
            return found["OutputValue"]
    raise OperatorError(f"CloudFormation stack {stack_name!r} has no {output} output")
