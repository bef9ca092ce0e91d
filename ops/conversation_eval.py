"""The multi-turn conversation set (tests/conversations/scenarios.yml) run against a live bot.

Each scenario is a new web conversation sent turn by turn through the gateway's flows
(support.conversations.flows: the guard, typed choices, the queue for a person) to the
live Rasa and action server, so what is measured is what a user gets; every turn's
replies are checked against what the scenario expects of it (see
tests/conversations/README.md). `make test` runs it with a pass-rate floor;
`kefu eval conversations` prints the failures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from actions.tickets import (
    ActionAskCategory,
    ActionAskContact,
    ActionAskDescription,
    ActionAskTransactionId,
)
from support.conversations.flows import ConversationService
from support.conversations.models import ConversationState
from support.conversations.schemas import TurnResult
from support.dialogue import BotMessage, RasaClient
from support.escalations.service import EscalationService
from support.events import event_bus
from support.knowledge.service import KnowledgeService
from support.ratelimit import rate_limiter
from support.replies.vocabulary import (
    ANYTHING_ELSE,
    GLAD_IT_HELPED,
    OFF_TOPIC,
    REQUEST_HUMAN,
    WAITING_GOODBYE,
    WAITING_THANKS,
    chosen_faq_id,
)
from support.settings import Settings
from support.storage import session_factory

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = PROJECT_ROOT / "tests" / "conversations" / "scenarios.yml"
DOMAIN = PROJECT_ROOT / "bot" / "domain.yml"
# The ticket form's first question: the category, unless the FAQ just answered or the
# request says which (then the description), or the request told the problem as well
# (then the contact).
TICKET_FORM_PROMPTS = (
    ActionAskCategory.prompt,
    ActionAskDescription.prompt,
    ActionAskContact.prompt,
)
# What the form asks for each slot (``form_asks``).
FORM_QUESTIONS = {
    ask.slot: (ask.prompt,)
    for ask in (ActionAskDescription, ActionAskContact, ActionAskTransactionId)
} | {ActionAskCategory.slot: (ActionAskCategory.prompt, ActionAskCategory.again)}
# Words of a safety warning: a secret named, and the advice not to give it away.
SECRETS = ("验证码", "密码", "助记词")
ADVICE = ("不要", "切勿", "勿", "不会", "任何人")
KNOWN_EXPECTATIONS = {
    "answers",
    "about",
    "hands_off",
    "offers_person",
    "warns",
    "ticket_form",
    "form_asks",
    "no_repeat",
    "not_filler",
    "small_talk",
    "off_topic",
}


def small_talk_texts() -> frozenset[str]:
    """The bot's filler lines: greetings, thanks, goodbyes and a neutral 'anything else?'."""
    responses = yaml.safe_load(DOMAIN.read_text("utf-8"))["responses"]
    names = ("utter_greet", "utter_goodbye", "utter_thank", "utter_nothing_to_cancel")
    texts = {variant["text"] for name in names for variant in responses.get(name, [])}
    return frozenset(texts | {ANYTHING_ELSE, GLAD_IT_HELPED, WAITING_THANKS, WAITING_GOODBYE})


@dataclass(frozen=True)
class Turn:
    """What the user does (types ``say``, or presses a button) and what is expected."""

    say: str | None
    press: int | None
    press_title: str | None
    expect: dict[str, Any]


@dataclass(frozen=True)
class Scenario:
    name: str
    turns: tuple[Turn, ...]


@dataclass
class ScenarioResult:
    scenario: Scenario
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def load_scenarios(path: Path = SCENARIOS) -> list[Scenario]:
    scenarios = []
    for raw in yaml.safe_load(path.read_text("utf-8"))["scenarios"]:
        turns = []
        for step in raw["turns"]:
            expect = dict(step.get("expect") or {})
            unknown = set(expect) - KNOWN_EXPECTATIONS
            if unknown:
                raise ValueError(f"场景「{raw['name']}」有未知的期望：{sorted(unknown)}")
            turns.append(
                Turn(
                    # 「13812345678」 is what the user types, not YAML's number.
                    say=None if step.get("say") is None else str(step["say"]),
                    press=step.get("press"),
                    press_title=step.get("press_title"),
                    expect=expect,
                )
            )
        scenarios.append(Scenario(raw["name"], tuple(turns)))
    return scenarios


def _ids(value: Any) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def _answered(messages: Sequence[BotMessage]) -> set[str]:
    return {
        str(m.kb["faq_id"])
        for m in messages
        if m.kb and m.kb.get("decision") == "answer" and m.kb.get("faq_id")
    }


def _offered(messages: Sequence[BotMessage]) -> set[str]:
    found = {chosen_faq_id(button["payload"]) for m in messages for button in m.buttons}
    return {faq_id for faq_id in found if faq_id}


def _answer_texts(messages: Sequence[BotMessage]) -> set[str]:
    return {m.text for m in messages if m.kb and m.kb.get("decision") == "answer"}


def _form_problems(expect: dict[str, Any], texts: Sequence[str]) -> list[str]:
    problems = []
    if expect.get("ticket_form") and not set(TICKET_FORM_PROMPTS) & set(texts):
        problems.append("应开始工单表单")
    if "form_asks" in expect and not set(FORM_QUESTIONS[expect["form_asks"]]) & set(texts):
        problems.append(f"工单表单应接着问 {expect['form_asks']}")
    return problems


def check_turn(
    expect: dict[str, Any],
    messages: Sequence[BotMessage],
    previous: Sequence[BotMessage],
    fillers: frozenset[str],
    *,
    with_a_person: bool = False,
) -> list[str]:
    """What this turn's replies miss of ``expect``, in words. ``with_a_person``: the
    conversation is with a person, or in the queue for one, after this turn."""
    problems = []
    texts = [m.text for m in messages]
    handed_off = with_a_person or any(m.handoff is not None for m in messages)
    if "answers" in expect and not _ids(expect["answers"]) & _answered(messages):
        problems.append(f"应回答 {expect['answers']}，实际回答 {sorted(_answered(messages))}")
    if "about" in expect:
        shown = _answered(messages) | _offered(messages)
        if not _ids(expect["about"]) & shown:
            problems.append(f"应回答或提供 {expect['about']}，实际 {sorted(shown)}")
    if "hands_off" in expect and handed_off != bool(expect["hands_off"]):
        problems.append("应转人工" if expect["hands_off"] else "不应转人工")
    if expect.get("offers_person"):
        offered = any(b["payload"] == REQUEST_HUMAN for m in messages for b in m.buttons)
        if not (handed_off or offered):
            problems.append("应转人工或给出转人工选项")
    if expect.get("warns"):
        warned = any(
            any(s in text for s in SECRETS) and any(a in text for a in ADVICE) for text in texts
        )
        if not warned:
            problems.append("应有安全提醒")
    problems += _form_problems(expect, texts)
    if expect.get("no_repeat") and _answer_texts(previous) & set(texts):
        problems.append("重复了上一轮的回答")
    if expect.get("not_filler") and (not messages or any(text in fillers for text in texts)):
        problems.append("用寒暄或空话敷衍了一个问题")
    if expect.get("small_talk") and not any(text in fillers for text in texts):
        problems.append("应简短寒暄")
    if "off_topic" in expect and (OFF_TOPIC in texts) != bool(expect["off_topic"]):
        problems.append(
            "应说明只解答钱包的问题" if expect["off_topic"] else "不应说只解答钱包的问题"
        )
    return problems


def _button_payload(turn: Turn, previous: Sequence[BotMessage]) -> str | None:
    buttons = [button for m in previous for button in m.buttons]
    if turn.press is not None and 0 < turn.press <= len(buttons):
        return buttons[turn.press - 1]["payload"]
    for button in buttons:
        if turn.press_title is not None and button["title"] == turn.press_title:
            return button["payload"]
    return None


def _as_bot_messages(turn: TurnResult) -> list[BotMessage]:
    """A turn's stored replies as the checks read them."""
    return [
        BotMessage(
            message.text,
            [{"title": b.title, "payload": b.payload} for b in message.buttons],
            kb=message.kb,
        )
        for message in turn.replies
    ]


async def run_scenario(
    service: ConversationService, scenario: Scenario, fillers: frozenset[str]
) -> ScenarioResult:
    result = ScenarioResult(scenario)
    conversation, _ = await asyncio.to_thread(service.start_web)
    previous: list[BotMessage] = []
    for number, turn in enumerate(scenario.turns, start=1):
        if turn.say is not None:
            text, payload, shown = turn.say, None, turn.say
        else:
            payload = _button_payload(turn, previous)
            if payload is None:
                result.failures.append(f"第 {number} 轮：上一轮没有要点的按钮")
                break
            text, shown = None, f"［点击］{turn.press_title or turn.press}"
        outcome = await service.handle(conversation.id, text=text, payload=payload)
        messages = _as_bot_messages(outcome)
        # A user already in the queue has been handed off; no button can offer more.
        with_a_person = outcome.state is not ConversationState.BOT
        for problem in check_turn(
            turn.expect, messages, previous, fillers, with_a_person=with_a_person
        ):
            said = " / ".join(m.text[:40] for m in messages) or "（无回复）"
            result.failures.append(f"第 {number} 轮「{shown[:40]}」：{problem}。机器人：{said}")
        previous = messages
    return result


# No scenario runs into the per-conversation limit on messages.
UNLIMITED_MESSAGES = 1_000_000


async def run_scenarios(
    settings: Settings, scenarios: Sequence[Scenario], concurrency: int = 4
) -> list[ScenarioResult]:
    """Every scenario, a few conversations at a time (each one's turns stay in order),
    through the gateway's flows with the database of ``settings`` (migrated)."""
    fillers = small_talk_texts()
    sessions = session_factory(settings.database_url)
    rasa = RasaClient(settings)
    # Loaded as the gateway loads it at startup: the queue's answers come from it.
    knowledge = KnowledgeService(settings)
    knowledge.load()
    service = ConversationService(
        sessions,
        dialogue=rasa,
        knowledge=knowledge,
        escalations=EscalationService(sessions),
        bus=event_bus(None),
        limiter=rate_limiter(None, UNLIMITED_MESSAGES, 1),
    )
    gate = asyncio.Semaphore(concurrency)

    async def one(scenario: Scenario) -> ScenarioResult:
        async with gate:
            return await run_scenario(service, scenario, fillers)

    try:
        return list(await asyncio.gather(*(one(scenario) for scenario in scenarios)))
    finally:
        knowledge.close()
        await rasa.aclose()


def pass_rate(results: Sequence[ScenarioResult]) -> float:
    return sum(result.passed for result in results) / len(results) if results else 0.0


# NLU: questions read as pleasantries, and pleasantries read as questions.

SHORT_QUESTIONS = PROJECT_ROOT / "tests" / "bot" / "data" / "nlu_short_questions.yml"
# Intents whose reply is a pleasantry (a question must never land on one).
FILLER_INTENTS = frozenset(
    {"greet", "goodbye", "thank", "affirm", "deny", "cancel", "bot_challenge"}
)
QUESTION_INTENTS = frozenset({"ask_faq", "request_human"})


@dataclass(frozen=True)
class Confusions:
    questions: int
    fillers: int
    # (text, labelled intent, predicted intent) for each confusion.
    questions_as_filler: list[tuple[str, str, str]]
    fillers_as_question: list[tuple[str, str, str]]

    @property
    def question_to_filler_rate(self) -> float:
        return len(self.questions_as_filler) / self.questions if self.questions else 0.0

    @property
    def filler_to_question_rate(self) -> float:
        return len(self.fillers_as_question) / self.fillers if self.fillers else 0.0


def labelled_examples(path: Path = SHORT_QUESTIONS) -> list[tuple[str, str]]:
    examples = []
    for block in yaml.safe_load(path.read_text("utf-8"))["nlu"]:
        for line in block["examples"].splitlines():
            if line.strip():
                examples.append((line.strip()[2:], block["intent"]))
    return examples


async def nlu_confusions(settings: Settings, path: Path = SHORT_QUESTIONS) -> Confusions:
    """Every held-out example parsed by the running Rasa server (its /model/parse)."""
    examples = labelled_examples(path)
    async with httpx.AsyncClient(timeout=30) as client:
        predicted = []
        for text, _ in examples:
            response = await client.post(
                f"{settings.rasa_url.rstrip('/')}/model/parse",
                params={"token": settings.rasa_token},
                json={"text": text},
            )
            response.raise_for_status()
            predicted.append(str(response.json()["intent"]["name"]))
    found = list(zip(examples, predicted, strict=True))
    return Confusions(
        questions=sum(label in QUESTION_INTENTS for _, label in examples),
        fillers=sum(label in FILLER_INTENTS for _, label in examples),
        questions_as_filler=[
            (text, label, guess)
            for (text, label), guess in found
            if label in QUESTION_INTENTS and guess in FILLER_INTENTS
        ],
        fillers_as_question=[
            (text, label, guess)
            for (text, label), guess in found
            if label in FILLER_INTENTS and guess in QUESTION_INTENTS
        ],
    )
