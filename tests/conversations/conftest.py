"""The web gateway with a scripted Rasa (tests/web), for the degraded-mode conversations."""

from tests.web.conftest import gateway

__all__ = ["gateway"]
