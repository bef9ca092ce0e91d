"""The FAQ schema: every problem reported with file:line, entry and field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from kb.content import ContentError, FAQCollection, dump_paraphrases_yaml, load_faqs
from kb.text import is_traditional

WriteFAQ = Callable[[str], Path]

REQUIRED_TOPICS = [
    "password_reset",
    "payment_password_reset",
    "payment_failed",
    "topup_delay",
    "topup_methods",
    "withdraw_how",
    "withdraw_failed",
    "account_locked",
    "account_security",
    "two_factor",
    "register",
    "kyc_verification",
    "bind_card",
    "transfer_how",
    "transfer_pending",
    "cross_border_transfer",
    "transaction_history",
    "fees",
    "close_account",
    "supported_regions",
    "contact_support",
    "suspicious_activity",
    "mnemonic_safety",
    "refund",
    "official_app",
    "qr_payment",
    "system_maintenance",
    "change_phone",
]

PARAPHRASES = "\n".join(
    f"      - {text}"
    for text in [
        "充值没到账",
        "冲值一直没到",
        "top up 没到账咋办",
        "充了钱余额没变",
        "充值显示成功但是没钱",
        "儲值了還沒到帳",
        "银行卡扣了钱但钱包没到",
        "充值要多久到账",
    ]
)


def entry(faq_id: str = "topup_delay", **overrides: str) -> str:
    fields = {
        "category": "充值",
        "question": "充值了但还没到账怎么办？",
        "answer": "请先在交易记录里查看这笔充值的状态。",
    } | overrides
    lines = [f"  - id: {faq_id}"]
    lines += [f"    {key}: {value}" for key, value in fields.items() if key != "paraphrases"]
    lines.append("    paraphrases:")
    lines.append(fields.get("paraphrases", PARAPHRASES))
    return "\n".join(lines) + "\n"


def issues_of(path: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_faqs(path)
    return [str(issue) for issue in caught.value.issues]


def test_a_valid_file_loads(write_faq: WriteFAQ) -> None:
    collection = load_faqs(write_faq("faqs:\n" + entry()))
    assert [faq.id for faq in collection] == ["topup_delay"]
    assert collection.faqs[0].texts[0] == "充值了但还没到账怎么办？"
    assert len(collection.content_hash) == 64


def test_duplicate_ids_name_both_lines(write_faq: WriteFAQ) -> None:
    path = write_faq("faqs:\n" + entry() + entry())
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:15: [topup_delay] id:")
    assert "第 2 行" in issue


def test_empty_answer_is_reported_on_its_line(write_faq: WriteFAQ) -> None:
    path = write_faq("faqs:\n" + entry(answer='""'))
    (issue,) = issues_of(path)
    assert issue == f"{path}:5: [topup_delay] answer: 回答不能为空"


def test_too_few_paraphrases(write_faq: WriteFAQ) -> None:
    path = write_faq("faqs:\n" + entry(paraphrases="      - 充值没到账\n      - 儲值了還沒到帳"))
    (issue,) = issues_of(path)
    assert f"{path}:6: [topup_delay] paraphrases:" in issue
    assert "至少需要 8 条释义" in issue


def test_unknown_key_is_reported(write_faq: WriteFAQ) -> None:
    path = write_faq("faqs:\n" + entry(answr="拼错了字段名"))
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:6: [topup_delay] answr: 未知字段")


def test_every_problem_is_reported_at_once(write_faq: WriteFAQ) -> None:
    text = "faqs:\n" + entry(category="乱写") + entry("Bad-Id", answer='""')
    found = issues_of(write_faq(text))
    assert len(found) == 3
    assert any("category" in issue and "分类必须是" in issue for issue in found)
    assert any("[Bad-Id] id:" in issue for issue in found)
    assert any("[Bad-Id] answer: 回答不能为空" in issue for issue in found)


def test_a_traditional_paraphrase_is_required(write_faq: WriteFAQ) -> None:
    simplified_only = "\n".join(f"      - 充值没到账的第{n}种问法" for n in range(8))
    (issue,) = issues_of(write_faq("faqs:\n" + entry(paraphrases=simplified_only)))
    assert "繁体" in issue


def test_an_answer_asking_for_a_secret_is_rejected(write_faq: WriteFAQ) -> None:
    path = write_faq("faqs:\n" + entry(answer="请提供您收到的短信验证码，我们帮您查询。"))
    (issue,) = issues_of(path)
    assert "回答不能向用户索要" in issue


def test_yaml_syntax_errors_carry_the_line(write_faq: WriteFAQ) -> None:
    path = write_faq("faqs:\n  - id: x\n    question: [不闭合\n")
    (issue,) = issues_of(path)
    assert issue.startswith(f"{path}:")
    assert "YAML" in issue


def test_duplicate_field_in_one_entry(write_faq: WriteFAQ) -> None:
    text = "faqs:\n" + entry().replace(
        "    category: 充值\n", "    category: 充值\n    category: 支付\n"
    )
    (issue,) = issues_of(write_faq(text))
    assert "[topup_delay] category: 字段重复" in issue


# The shipped content itself.


def test_shipped_faq_has_every_required_topic(faqs: FAQCollection) -> None:
    assert set(REQUIRED_TOPICS) <= {faq.id for faq in faqs}


def test_shipped_paraphrases_are_varied(faqs: FAQCollection) -> None:
    for faq in faqs:
        assert len(faq.paraphrases) >= 8, faq.id
        assert any(is_traditional(p) for p in faq.paraphrases), faq.id
        assert any(any("a" <= ch.lower() <= "z" for ch in p) for p in faq.paraphrases), faq.id
    every_text = [text for faq in faqs for text in faq.texts]
    assert len(every_text) == len(set(every_text)), "a paraphrase appears under two topics"


@pytest.mark.parametrize(
    "topic",
    [
        "password_reset",
        "payment_password_reset",
        "account_locked",
        "account_security",
        "two_factor",
        "suspicious_activity",
        "mnemonic_safety",
        "official_app",
        "change_phone",
        "contact_support",
    ],
)
def test_security_answers_warn_that_support_never_asks(faqs: FAQCollection, topic: str) -> None:
    answer = faqs.by_id()[topic].answer
    assert "不会" in answer
    assert all(word in answer for word in ("密码", "验证码", "助记词")), answer


def test_dumped_paraphrases_paste_into_the_faq_file() -> None:
    text = dump_paraphrases_yaml(
        {"fees": ["提现手续费是多少", "扫码付款: yes"]},
        header=["导出的释义"],
        notes={"fees": "标准问题：手续费"},
    )
    assert text.startswith("# 导出的释义\nfaqs:\n  # 标准问题：手续费\n  - id: fees\n")
    assert "\n    paraphrases:\n      - 提现手续费是多少\n" in text
    assert yaml.safe_load(text) == {
        "faqs": [{"id": "fees", "paraphrases": ["提现手续费是多少", "扫码付款: yes"]}]
    }
    assert yaml.safe_load(dump_paraphrases_yaml({})) == {"faqs": []}
