"""The local gateway's and the emulator's HTTP server: a werkzeug WSGI app on a threaded server in a daemon thread."""

from __future__ import annotations

import json
import threading
from http import HTTPStatus

from werkzeug.serving import WSGIRequestHandler, make_server


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler with the raw header list kept, JSON refusals and no per-request log line (the apps log)."""

    def make_environ(self) -> dict:
        environ = super().make_environ()
        # WSGI joins repeated headers, re-cases the names and drops names with "_"; API Gateway keeps all three.
        environ["local.headers"] = list(self.headers.items())
        return environ

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (bad request line, header too long) as JSON, never an HTML page."""
        body = json.dumps({"message": message or HTTPStatus(code).phrase}).encode()
        self.send_response(code, message)
        for name, value in (("Content-Type", "application/json"), ("Connection", "close")):
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def connection_dropped(self, error: BaseException, environ: dict | None = None) -> None:
        self.close_connection = True  # also how an app drops a connection on purpose: raise ConnectionResetError

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class BackgroundServer:
    """``app`` served on host:port (0: any free port) by werkzeug's threaded server, started and stopped here.

    werkzeug's server answers every request with ``Connection: close`` (it drains what the client
    still sends, so a refused body gets its 413 rather than a reset); clients reconnect per request.
    """

    def __init__(self, app, host: str, port: int, name: str) -> None:
        try:
            self._server = make_server(host, port, app, threaded=True, request_handler=RequestHandler)
        except SystemExit:  # werkzeug exits when it cannot bind (having said why on stderr); the stack cleans up
            raise OSError(f"{name}: cannot listen on {host}:{port}") from None
        self.port = self._server.port
        self._name = name
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
