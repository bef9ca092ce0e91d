"""The knowledge base as the gateway serves it: loaded once, hot-reloadable."""
