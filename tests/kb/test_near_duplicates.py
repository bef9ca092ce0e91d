"""Near-duplicate entries: found at build, named in the manifest, clarified as a pair."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from kb.duplicates import find_near_duplicates
from kb.encoders import Encoder
from kb.knowledge_base import Decision, KnowledgeBase
from kb.pipeline import build_knowledge_base, build_warnings

# A small FAQ where two entries (card_unbind and card_remove) are the same question
# written twice in slightly different words (identical wordings are a content error),
# and a third (card_bind) is related but distinct.
OVERLAPPING_FAQ = """
faqs:
  - id: card_bind
    category: 支付
    question: 怎么绑定银行卡？
    paraphrases: [添加银行卡, 绑卡流程, 怎样加一张新卡, 银行卡怎么绑上去, 新增储蓄卡,
                  绑卡失败怎么办, 绑定信用卡, 綁定銀行卡]
    answer: 在「我的」—「银行卡」点「添加」按提示操作。
  - id: card_unbind
    category: 支付
    question: 怎么解绑银行卡？
    paraphrases: [解除绑定银行卡, 删除银行卡, 不想用这张卡了怎么去掉, 银行卡怎么移除,
                  取消绑卡, 解绑信用卡, 把卡从账户里删掉, 解綁銀行卡]
    answer: 在「我的」—「银行卡」选中卡片，点「解除绑定」。
  - id: card_remove
    category: 支付
    question: 怎么删除已绑定的银行卡？
    paraphrases: [删除银行卡片, 银行卡怎样移除, 解除绑定的银行卡, 取消绑定卡片, 移除一张卡,
                  把卡从账号里删除, 卡不用了怎么删, 刪除銀行卡片]
    answer: 在「我的」—「银行卡」选中卡片，点「删除」。
  - id: weather_tip
    category: 其他
    question: 天气不好会影响到账吗？
    paraphrases: [下雨天转账会慢吗, 台风天能提现吗, 恶劣天气到账延迟, 天气影响交易吗,
                  暴雨会不会影响充值, 天气原因到账慢, 下雪影响付款吗, 天氣會影響到賬嗎]
    answer: 天气不影响线上交易，到账时间以 App 内显示为准。
"""


def test_overlapping_entries_are_reported_and_clarified_as_a_pair(
    write_faq: Callable[[str], Path], tmp_path: Path, use_encoder: Encoder
) -> None:
    outcome = build_knowledge_base(
        write_faq(OVERLAPPING_FAQ),
        tmp_path / "index",
        encoder_spec="use",
        calibration_file=None,
        encoder=use_encoder,
    )
    pairs = {frozenset((d["first"], d["second"])) for d in outcome.manifest.near_duplicates}
    assert pairs == {frozenset(("card_unbind", "card_remove"))}
    [record] = outcome.manifest.near_duplicates
    assert int(str(record["confused"])) >= 4
    warnings = build_warnings(outcome.manifest)  # what `kefu kb build` prints
    assert "card_unbind" in warnings[0] and "card_remove" in warnings[0]
    kb = KnowledgeBase.load(outcome.directory, encoder=use_encoder)
    [duplicate] = kb.near_duplicates
    assert "card_unbind" in duplicate.describe() and "card_remove" in duplicate.describe()

    result = kb.query("银行卡怎么删除掉")
    assert result.decision is Decision.CLARIFY
    assert {c.id for c in result.candidates} == {"card_unbind", "card_remove"}


def test_distinct_entries_are_not_flagged() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 32))
    vectors = np.concatenate([c + 0.3 * rng.normal(size=(9, 32)) for c in centres])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owners = np.repeat(np.arange(5), 9).astype(np.int32)
    texts = [f"问法{i}" for i in range(len(vectors))]
    ids = [f"e{i}" for i in range(5)]
    assert find_near_duplicates(ids, texts, owners, vectors.astype(np.float32)) == []

    # Entry 4 rewritten as a copy of entry 3's direction: the pair is found.
    vectors[owners == 4] = centres[3] + 0.3 * rng.normal(size=(9, 32))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    found = find_near_duplicates(ids, texts, owners, vectors.astype(np.float32))
    assert [(d.first, d.second) for d in found] == [("e3", "e4")]
    assert found[0].confused >= 4 and not found[0].shared
