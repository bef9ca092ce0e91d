"""The multi-turn conversation set, turn by turn against the real Rasa and action server."""

from __future__ import annotations

import asyncio

from ops.conversation_eval import load_scenarios, pass_rate, run_scenarios
from ops.stack import RunningStack

# The share of scenarios that must pass (see tests/conversations/README.md).
PASS_RATE_FLOOR = 0.95


def test_the_scenario_set_is_large_and_well_formed() -> None:
    scenarios = load_scenarios()
    assert len(scenarios) >= 80
    assert len({scenario.name for scenario in scenarios}) == len(scenarios)
    assert sum(len(scenario.turns) > 1 for scenario in scenarios) >= 30
    for scenario in scenarios:
        for turn in scenario.turns:
            assert turn.expect, scenario.name
            assert (turn.say is None) != (turn.press is None and turn.press_title is None)


def test_conversations_pass_on_the_live_bot(live_stack: RunningStack) -> None:
    results = asyncio.run(run_scenarios(live_stack.settings, load_scenarios()))
    failures = [
        f"{result.scenario.name}: {failure}" for result in results for failure in result.failures
    ]
    assert pass_rate(results) >= PASS_RATE_FLOOR, "\n".join(failures)
