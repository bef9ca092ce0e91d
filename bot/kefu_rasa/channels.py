"""The REST channel, redacting secrets before Rasa sees, logs or stores the message.

Registered under the name "rest", so the webhook stays /webhooks/rest/webhook. The
gateway redacts too; this makes the tracker store safe for any client of Rasa.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.channels.rest import RestInput
from sanic.request import Request

from guard import scan


class RedactingRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def _extract_message(self, req: Request) -> Optional[Text]:
        text = super()._extract_message(req)
        return scan(text).text if isinstance(text, str) else text

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        body = request.json or {}
        metadata = dict(body.get("metadata") or {})
        text = body.get("message")
        if isinstance(text, str):
            found = scan(text)
            if found.found:
                metadata["redacted"] = list(found.kinds)
        return metadata or None
