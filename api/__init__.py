"""Kefu's gateway: web chat, WeChat webhook and the agent console, plus the ``kefu`` CLI."""

import kb as _kb  # noqa: F401  (imported first: it switches the model hubs to offline mode)
