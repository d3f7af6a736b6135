"""Run the Return Helper sandbox emulator on its own.

    python -m local.emulator --port 4010 --webhook-url http://127.0.0.1:3000/webhooks/returnhelper \
        --signing-key <base64> [--api-key K --api-token T]

Every option falls back to the environment variable the local stack uses (RH_EMULATOR_PORT,
WEBHOOK_PUBLIC_URL, RH_SIGNING_KEY, RH_API_KEY, RH_API_TOKEN). Runs until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading

from local.emulator.server import EmulatorServer


def main(argv: list[str] | None = None) -> int:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m local.emulator", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(env("RH_EMULATOR_PORT", "4010")))
    parser.add_argument("--webhook-url", default=env("WEBHOOK_PUBLIC_URL"), help="where signed webhooks go")
    parser.add_argument("--signing-key", default=env("RH_SIGNING_KEY"), help="base64 webhook signing key")
    parser.add_argument("--api-key", default=env("RH_API_KEY"), help="expected x-rr-apikey")
    parser.add_argument("--api-token", default=env("RH_API_TOKEN"), help="expected x-rr-apitoken")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    missing = [name for name in ("webhook_url", "signing_key", "api_key", "api_token") if not getattr(args, name)]
    if missing:
        parser.error("missing " + ", ".join("--" + name.replace("_", "-") for name in missing))

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server = EmulatorServer(args.host, args.port, args.webhook_url, args.signing_key, args.api_key, args.api_token)
    server.start()
    print(f"Return Helper emulator: user API {server.api_base}, control {server.url}/_emulator/state", flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
