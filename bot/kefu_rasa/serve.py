"""`rasa run`, with the HTTP API's token from KEFU_RASA_TOKEN instead of the command line.

A command line is readable by every local user (ps, /proc/<pid>/cmdline); the
environment only by the process's owner. ops.rasa.run_command starts Rasa through this.
"""

from __future__ import annotations

import os
import sys

from rasa.__main__ import main


def run() -> None:
    token = os.environ.get("KEFU_RASA_TOKEN", "")
    if not token:
        sys.exit("KEFU_RASA_TOKEN 未设置：Rasa 的 HTTP API 与 REST 通道都需要它。")
    # Rasa only reads --auth-token from its arguments; this list is this process's own.
    sys.argv = ["rasa", *sys.argv[1:], "--auth-token", token]
    main()


if __name__ == "__main__":
    run()
