"""Independent oracles for the guard tests, so they do not trust the module's own code."""

from __future__ import annotations


def luhn_complete(prefix: str) -> str:
    """prefix + the check digit that makes it pass Luhn."""
    for check in "0123456789":
        digits = [int(char) for char in prefix + check]
        total = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
        if total % 10 == 0:
            return prefix + check
    raise AssertionError("unreachable")
