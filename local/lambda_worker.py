"""One local Lambda execution environment: `python lambda_worker.py <module.function>`.

Run by local.lambda_runtime with the function's own environment, PYTHONPATH and cwd.
It imports the handler once (module-level code = the cold start), then serves one
invocation at a time. Standard library only, and it never imports the `local`
package, so the function sees nothing but its own code, its layers and the runtime.

Protocol: JSON lines on the original stdin/stdout file descriptors, which are moved
aside first; fd 0 then reads /dev/null and fd 1 writes to stderr, because handlers
print (Powertools Metrics writes EMF JSON to stdout) and that must reach the log,
never the protocol.

  worker -> parent  {"type": "ready"} | {"type": "init_error", "errorType", "errorMessage", "stackTrace"}
  parent -> worker  {"requestId", "event", "deadlineMs", "invokedFunctionArn"}
  worker -> parent  {"type": "result", "requestId", "payload"}
                  | {"type": "error", "requestId", "errorType", "errorMessage", "stackTrace"}
"""

import decimal
import importlib
import json
import os
import sys
import time
import traceback

if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]  # running as a script put local/ on the path: the function must not see it


class LambdaContext:
    """What the Python runtime hands the handler as `context`."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a str, as in the real runtime
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def _error(exc: BaseException, error_type: str | None = None) -> dict:
    trace = traceback.format_tb(exc.__traceback__)
    return {"errorType": error_type or type(exc).__name__, "errorMessage": str(exc), "stackTrace": trace}


def _json_default(value):
    if isinstance(value, decimal.Decimal):  # like the runtime: boto3 numbers come back as Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _load_handler(spec: str):
    module_name, _, function_name = spec.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ImportError(f"Unable to import module '{module_name}': {exc}") from exc
    handler = getattr(module, function_name, None)
    if not callable(handler):
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
    return handler


def main() -> None:
    handler_spec = sys.argv[1]
    requests = os.fdopen(os.dup(0), "rb")
    responses = os.fdopen(os.dup(1), "wb", buffering=0)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # print() and EMF metrics -> the function's log (stderr)

    def send(message: dict) -> None:
        responses.write(json.dumps(message, default=_json_default).encode() + b"\n")

    try:
        handler = _load_handler(handler_spec)
    except Exception as exc:
        traceback.print_exc()
        kind = "Runtime.ImportModuleError" if isinstance(exc, ImportError) else "Runtime.HandlerNotFound"
        send({"type": "init_error", **_error(exc, kind)})
        return
    send({"type": "ready"})

    for line in requests:  # EOF: the stack closed our stdin or died
        request = json.loads(line)
        request_id = request["requestId"]
        context = LambdaContext(request_id, request["deadlineMs"], request["invokedFunctionArn"])
        started = time.monotonic()
        try:
            payload = handler(request["event"], context)
        except Exception as exc:
            print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
            traceback.print_exc()
            encoded = json.dumps({"type": "error", "requestId": request_id, **_error(exc)}).encode()
        else:
            try:
                message = {"type": "result", "requestId": request_id, "payload": payload}
                encoded = json.dumps(message, default=_json_default).encode()
            except (TypeError, ValueError) as exc:
                error = _error(exc, "Runtime.MarshalError")
                encoded = json.dumps({"type": "error", "requestId": request_id, **error}).encode()
        duration = (time.monotonic() - started) * 1000
        print(f"REPORT RequestId: {request_id} Duration: {duration:.2f} ms", file=sys.stderr, flush=True)
        responses.write(encoded + b"\n")


if __name__ == "__main__":
    main()
