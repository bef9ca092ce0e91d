"""The FAQ schema (every problem reported with file:line, entry and field) and the shipped
content's rules: house style, hedges, safety warnings, and the demo help page answered."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from kb.content import (
    ContentError,
    FAQCollection,
    dump_paraphrases_yaml,
    load_faqs,
    secret_request,
)
from kb.knowledge_base import Decision, KnowledgeBase
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
    # Issue #11: what wallet users ask most.
    "fraud_scam",
    "wrong_recipient",
    "check_balance",
    "about_wallet",
    "supported_currencies",
    "limits",
    "online_checkout",
    "terms_privacy",
    "keep_receipts",
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


def test_too_few_paraphrases_is_a_warning_with_its_line(write_faq: WriteFAQ) -> None:
    path = write_faq("faqs:\n" + entry(paraphrases="      - 充值没到账\n      - 儲值了還沒到帳"))
    (warning,) = [str(w) for w in load_faqs(path).warnings]
    assert warning.startswith(f"{path}:")
    assert "[topup_delay] paraphrases:" in warning
    assert "至少 8 条释义" in warning


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


def test_a_traditional_paraphrase_is_advised(write_faq: WriteFAQ) -> None:
    simplified_only = "\n".join(f"      - 充值没到账的第{n}种问法" for n in range(8))
    (warning,) = load_faqs(write_faq("faqs:\n" + entry(paraphrases=simplified_only))).warnings
    assert "繁体" in str(warning)


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


# House style and safety rules, checked on every shipped answer (and any added later).

HEDGE = "以 App 内显示为准"
# Specifics the help articles do not support: left out, or hedged in the same sentence.
UNSUPPORTED_SPECIFICS = re.compile(
    r"6 ?位|六位|自动解除|自动解锁|Google Authenticator|谷歌验证器|身份验证器"
    r"|人脸识别|刷脸|设备管理"
)
OTHER_NAMES_FOR_2FA = re.compile(
    r"双重验证|双重认证|二次验证|多因素认证|双因素|两步认证|二步验证|2FA"
)
SUPPORT_NEVER_ASKS = re.compile(r"官方客服不会[^。]*索要[^。]*密码[^。]*验证码[^。]*助记词")
MENU_SEPARATOR_OTHER_THAN_ARROW = re.compile(r"」\s*(-|—|－|>|＞|/|／|->)\s*「")
LIST_ITEM = re.compile(r"^(\d+)\. ")
OTHER_LIST_STYLES = re.compile(r"^\s*(\d+[、．)）]|[（(]\d+[)）]|[-*•·] )", re.MULTILINE)


def answers(faqs: FAQCollection) -> list[tuple[str, str]]:
    """Every text a user reads as an answer: the answer and, when set, the WeChat one."""
    texts = []
    for faq in faqs:
        texts.append((faq.id, faq.answer))
        wechat = getattr(faq, "wechat_answer", None)
        if wechat:
            texts.append((f"{faq.id}/wechat", wechat))
    return texts


def sentences(text: str) -> list[str]:
    return [part for part in re.split(r"[。！？；\n]", text) if part.strip()]


def test_answers_leave_the_handoff_to_the_buttons(faqs: FAQCollection) -> None:
    for faq_id, answer in answers(faqs):
        assert "提交工单或转人工客服" not in answer, faq_id
        last_line = answer.strip().splitlines()[-1]
        assert not re.search(r"工单|转人工|人工客服", last_line), (faq_id, last_line)


def test_one_quote_style(faqs: FAQCollection) -> None:
    for faq_id, answer in answers(faqs):
        assert not re.search("[\"“”‘’『』'＂]", answer), faq_id
        assert answer.count("「") == answer.count("」"), faq_id


def test_menu_paths_use_one_notation(faqs: FAQCollection) -> None:
    for faq_id, answer in answers(faqs):
        assert not MENU_SEPARATOR_OTHER_THAN_ARROW.search(answer), faq_id


def test_numbered_lists_use_one_punctuation(faqs: FAQCollection) -> None:
    for faq_id, answer in answers(faqs):
        assert not OTHER_LIST_STYLES.search(answer), faq_id
        lines = answer.splitlines()
        items = [(n, line) for n, line in enumerate(lines) if LIST_ITEM.match(line)]
        if not items:
            continue
        numbers = [int(LIST_ITEM.match(line).group(1)) for _, line in items]  # type: ignore[union-attr]
        assert numbers == list(range(1, len(items) + 1)), faq_id
        assert [n for n, _ in items] == list(range(items[0][0], items[0][0] + len(items))), (
            f"{faq_id}: the list is interrupted"
        )
        *middle, (_, last) = items
        assert all(line.endswith("；") for _, line in middle), faq_id
        assert last.endswith("。"), faq_id


def test_one_name_for_two_step_verification(faqs: FAQCollection) -> None:
    for faq_id, answer in answers(faqs):
        assert not OTHER_NAMES_FOR_2FA.search(answer), faq_id
    assert "两步验证" in faqs.by_id()["two_factor"].answer


def test_unsupported_specifics_are_hedged_or_left_out(faqs: FAQCollection) -> None:
    for faq_id, answer in answers(faqs):
        for sentence in sentences(answer):
            if UNSUPPORTED_SPECIFICS.search(sentence):
                assert HEDGE in sentence, (faq_id, sentence)


def test_no_answer_asks_for_a_secret(faqs: FAQCollection) -> None:
    for faq_id, answer in answers(faqs):
        assert secret_request(answer) is None, faq_id


def test_security_answers_say_real_support_never_asks(faqs: FAQCollection) -> None:
    security = [faq for faq in faqs if faq.category in ("账户安全", "登录与密码")]
    assert len(security) >= 8
    for faq in security:
        assert SUPPORT_NEVER_ASKS.search(faq.answer), faq.id


def test_refund_and_closing_answers_warn_about_fake_support_calls(faqs: FAQCollection) -> None:
    money_back = [faq for faq in faqs if re.search(r"退款|注销", faq.question)]
    assert {"refund", "close_account"} <= {faq.id for faq in money_back}
    for faq in money_back:
        assert re.search(r"冒充客服|客服退款", faq.answer), faq.id
        assert "骗" in faq.answer, faq.id


def test_fraud_and_theft_entries_ask_for_a_person(faqs: FAQCollection) -> None:
    urgent = [faq for faq in faqs if re.search(r"被骗|被盗|诈骗|冒充|不是本人", faq.question)]
    assert {"fraud_scam", "suspicious_activity"} <= {faq.id for faq in urgent}
    for faq in urgent:
        assert faq.escalate == "human", faq.id


def test_fraud_answer_gives_safety_steps(faqs: FAQCollection) -> None:
    answer = faqs.by_id()["fraud_scam"].answer
    for step in ("冻结", "修改登录密码", "报案", "安全账户"):
        assert step in answer, step


# The questions the demo help page at `/` lists must be answered, and by the right entry.
HELP_PAGE = Path(__file__).resolve().parents[2] / "api" / "web" / "static" / "index.html"
HELP_PAGE_TOPICS = {
    "充值一直没到账怎么办？": "topup_delay",
    "提现多久可以到账？": "withdraw_how",
    "提现手续费如何计算？": "fees",
    "忘记支付密码如何找回？": "payment_password_reset",
    "如何更换绑定手机号？": "change_phone",
    "账户被冻结了怎么办？": "account_locked",
    "转账转错了人能撤回吗？": "wrong_recipient",
    "付款失败的常见原因": "payment_failed",
    "单笔与每日支付限额说明": "limits",
}


def help_page_questions() -> list[str]:
    cards = re.findall(r'<section class="card">(.*?)</section>', HELP_PAGE.read_text("utf-8"), re.S)
    items = [re.findall(r"<li>(.*?)</li>", card) for card in cards]
    # The contact card lists opening hours and a phone number, not questions.
    return [item for card in items for item in card if not re.search(r"客服[：:]|热线", item)]


def test_every_help_page_question_has_an_expected_topic() -> None:
    assert sorted(help_page_questions()) == sorted(HELP_PAGE_TOPICS)


@pytest.mark.parametrize("question", sorted(HELP_PAGE_TOPICS))
def test_help_page_questions_are_answered(knowledge_base: KnowledgeBase, question: str) -> None:
    result = knowledge_base.query(question)
    assert result.decision == Decision.ANSWER, result.as_dict()
    assert result.top is not None and result.top.id == HELP_PAGE_TOPICS[question]


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


@pytest.mark.parametrize(
    "answer",
    [
        "请提供验证码，我们帮您核实。",
        "把密码发给客服即可处理。",
        "请将短信验证码告诉客服。",
        "请把您的支付密码发送给在线客服。",
        "如果收不到，请提供验证码。",
    ],
)
def test_asking_for_a_secret_is_caught_in_either_word_order(answer: str) -> None:
    assert secret_request(answer) is not None


@pytest.mark.parametrize(
    "warning",
    [
        "请勿把验证码告诉任何人。",
        "官方客服不会要求您提供密码、验证码或助记词。",
        "验证码不要告诉任何人，包括自称客服的人。",
        "切莫将助记词发给陌生人。",
    ],
)
def test_a_warning_about_secrets_is_not_a_request(warning: str) -> None:
    assert secret_request(warning) is None
