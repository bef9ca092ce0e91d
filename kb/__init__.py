"""Kefu's knowledge base: FAQ content, hybrid dense + BM25 retrieval and the answer decision.

Importing any part of ``kb`` switches the Hugging Face libraries to offline mode first:
Kefu never downloads weights at run time, every encoder ships with the install.
"""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Tokenizers' own thread pool fights Sanic's and uvicorn's worker processes on 2 cores.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
