"""A scripted OpenAI-compatible chat server on 127.0.0.1 (a random free port), for the LLM client
and LLM-generator tests; conftest.py's `serve` fixture starts one and shuts it down after the test."""

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Scripted(ThreadingHTTPServer):
    """Answers POSTs from a script of (status, body, headers, delay) and records the requests."""

    daemon_threads = True

    def __init__(self, script):
        super().__init__(("127.0.0.1", 0), Handler)
        self.script, self.requests = list(script), []

    @property
    def base(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        auth = self.headers.get("Authorization")
        self.server.requests.append({"path": self.path, "body": body, "auth": auth})
        status, reply, headers, delay = self.server.script.pop(0)
        time.sleep(delay)
        data = (reply if isinstance(reply, str) else json.dumps(reply)).encode()
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass
