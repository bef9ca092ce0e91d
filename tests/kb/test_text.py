"""Normalisation and tokenisation: what lets 冲值/儲值/top up meet 充值."""

from __future__ import annotations

import json

import pytest
import yaml

from kb.text import DIALECT_FILE, Tokenizer, canonicalize, is_traditional, normalize, to_simplified
from tests.conftest import PROJECT_ROOT


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("忘記密碼怎麼辦", "忘记密码怎么办"),
        ("ＡＰＰ　登不上", "app 登不上"),
        ("  充值   没到账 ", "充值 没到账"),
        # Cantonese words become the Mandarin the FAQ uses (唔該 is thanks, not 不该).
        ("我嘅帳戶俾人鎖咗 點算", "我的帐户俾人锁了 怎么办"),
        ("要幾耐先到", "要多久先到"),
        ("咁澳門可唔可以用", "那澳门可不可以用"),
        ("唔該", "谢谢"),
        ("余额木有变 肿么办", "余额没有变 怎么办"),
        # Mandarin that holds a variant's characters is left alone.
        ("你们这边处理一下", "你们这边处理一下"),
        ("差一点算了", "差一点算了"),
        ("有点样子", "有点样子"),
    ],
)
def test_normalize_folds_script_width_case_and_space(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("冲值一直没到帐", "充值一直没到账"),
        ("Top up 失败", "充值 失败"),
        ("cz了没到", "充值了没到"),
        # 冲 typed for 充, but not in a bank's reversal (冲正).
        ("冲了2000没到账", "充了2000没到账"),
        ("钱冲不进去", "钱充不进去"),
        ("冲正是什么意思", "冲正是什么意思"),
        ("体现到银行卡", "提现到银行卡"),
        ("误转了500块", "转错了500块"),
        ("怎么开 2FA", "怎么开 两步验证"),
        ("KYC 怎么弄", "实名认证 怎么弄"),
        ("转帐 pending", "转账 处理中"),
        ("我的 apple 账号", "我的 apple 账号"),  # "app" must not match inside "apple"
        # Whole English questions meet the FAQ's words (the longest variant first).
        ("I forgot my payment PIN", "i 忘记 my 支付密码"),
        ("how can I check my balance", "how can i check my 余额"),
        ("how do I send money to a friend", "how do i 转账 to a friend"),
        ("please delete my account", "please 注销账户"),
    ],
)
def test_canonicalize_rewrites_typos_and_english_terms(raw: str, expected: str) -> None:
    assert canonicalize(raw) == expected


def test_the_dialect_table_leaves_mandarin_alone() -> None:
    """No Cantonese variant occurs in the FAQs, answers and labelled questions we hold
    (「点办」 once turned 网点办理 into 网怎么办理)."""
    table = yaml.safe_load(DIALECT_FILE.read_text("utf-8"))
    variants = [variant for words in table.values() for variant in words]
    texts: list[str] = []
    for name in ("data/faq_zh.yml", "tests/kb/data/bank_faq.yml"):
        data = yaml.safe_load((PROJECT_ROOT / name).read_text("utf-8"))
        for faq in data["faqs"] if isinstance(data, dict) else data:
            texts += [faq["question"], faq.get("answer", ""), *faq.get("paraphrases", [])]
    for path in [
        *PROJECT_ROOT.glob("data/eval/*.jsonl"),
        *PROJECT_ROOT.glob("tests/kb/data/*.jsonl"),
    ]:
        texts += [
            json.loads(line)["query"] for line in path.read_text("utf-8").splitlines() if line
        ]
    assert len(texts) > 2000
    simplified = [to_simplified(text.lower()) for text in texts]
    assert [(v, t) for t in simplified for v in variants if v in t] == []


def test_is_traditional() -> None:
    assert is_traditional("轉賬")
    assert not is_traditional("转账")


def test_tokenizer_keeps_domain_words_whole_and_yields_their_parts() -> None:
    tokens = Tokenizer().tokens("充值一直没到账，助记词和两步验证")
    for word in ("充值", "没到账", "到账", "助记词", "两步验证"):
        assert word in tokens
    assert "，" not in tokens
