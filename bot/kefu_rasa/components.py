"""SensitiveDataGuard: a message that holds a secret gets the intent share_sensitive.

It runs last in the NLU pipeline, so whatever DIET or the fallback classifier made of
the text, a pasted mnemonic or password leads to the warning rule. Detection is the
one guard Kefu has (guard/), also used by the gateway and the actions. By the time a
message gets here kefu_rasa.redaction has replaced its secrets with 〔已隐藏〕, which
contains_secret recognises.
"""

from __future__ import annotations

from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from guard import contains_secret
from kefu_rasa import redaction, speedups

speedups.install()
# Whatever channel a message came by, it is redacted before this pipeline runs.
redaction.install()

SHARE_SENSITIVE = "share_sensitive"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False
)
class SensitiveDataGuard(GraphComponent):
    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "SensitiveDataGuard":
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            # Button payloads ("/affirm") are never user-typed secrets.
            if text.startswith("/") or not contains_secret(text):
                continue
            intent = {"name": SHARE_SENSITIVE, "confidence": 1.0}
            message.set(INTENT, intent, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [intent], add_to_output=True)
        return messages
