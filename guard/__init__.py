"""The sensitive-data guard: finds passwords, codes, card numbers and recovery phrases.

Pure standard library, so that every process imports it: the Rasa server (Python 3.10),
the action server and the gateway (3.11).
"""

from guard.scanner import (
    REDACTED,
    WARNING,
    Finding,
    GuardResult,
    SecretKind,
    contains_secret,
    hidden_notice,
    redact,
    scan,
    scan_recent,
)

__all__ = [
    "REDACTED",
    "WARNING",
    "Finding",
    "GuardResult",
    "SecretKind",
    "contains_secret",
    "hidden_notice",
    "redact",
    "scan",
    "scan_recent",
]
