"""A stand-in for one of Kefu's processes: noisy at start, then serves /health.

Run as ``python fake_child.py PORT [--error]``: it prints the kind of start-up noise
TensorFlow, pkg_resources and faiss print (to stdout and stderr), optionally an ERROR
line, and answers 200 on /health until it is killed.
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

NOISE = (
    "2026-11-29 20:00:00.000000: I tensorflow/core/platform/cpu_feature_guard.cc:182] "
    "This TensorFlow binary is optimized to use available CPU instructions",
    "/venv/lib/python3.10/site-packages/pkg_resources/__init__.py:121: DeprecationWarning: "
    "pkg_resources is deprecated as an API",
    "INFO:faiss.loader:Loading faiss with AVX2 support.",
)
# An ERROR line that is no problem (the action server's optional tracing config).
HARMLESS_ERROR = (
    "2026-11-29 20:00:00,762 ERROR rasa_sdk.tracing.endpoints [-] Failed to read endpoint "
    "configuration from /work/main/endpoints.yml. No such file."
)


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        print("GET /health 200", flush=True)


def main() -> None:
    port = int(sys.argv[1])
    for line in NOISE:
        print(line, file=sys.stderr, flush=True)
        print(line, flush=True)
    print(HARMLESS_ERROR, flush=True)
    if "--error" in sys.argv:
        print("2026-11-29 20:00:01 ERROR    fake.component  - 数据库连接失败", flush=True)
    HTTPServer(("127.0.0.1", port), Health).serve_forever()


if __name__ == "__main__":
    main()
