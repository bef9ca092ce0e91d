"""Bearer tokens (web chat sessions, console sessions): only their hash is ever stored."""

from __future__ import annotations

import hashlib
import hmac

# Compared against when there is no stored hash: no token hashes to it.
NO_TOKEN_HASH = "0" * 64


def hash_token(token: str) -> str:
    """The sha256 a token is stored and looked up as; the token itself is never kept."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str | None) -> bool:
    """Whether ``token`` hashes to ``stored_hash``, compared in constant time.

    With no stored hash the comparison still runs (and fails), so the timing does not
    reveal which sessions exist.
    """
    matches = hmac.compare_digest(hash_token(token), stored_hash or NO_TOKEN_HASH)
    return matches and stored_hash is not None
