"""Edits to a copy of data/faq_zh.yml, for the tests that rebuild and hot-reload the KB."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.conftest import FAQ_PATH

NEW_FAQ_ID = "digital_rmb"
NEW_FAQ_QUESTION = "支持绑定数字人民币钱包吗"
NEW_FAQ = """
  - id: digital_rmb
    category: 其他
    question: 可以绑定数字人民币钱包吗？
    paraphrases:
      - 支持绑定数字人民币钱包吗
      - 数字人民币能绑定吗
      - 怎么关联数字人民币钱包
      - e-CNY 可以用吗
      - 数币钱包能不能接进来
      - 数字人民币 绑定 入口在哪
      - 我想用数字人民币付款
      - 能綁定數字人民幣錢包嗎
    answer: 目前暂不支持绑定数字人民币钱包，上线后会在 App 公告中通知。
"""
# Two broken entries: an empty answer and too few paraphrases.
BROKEN_FAQS = """
  - id: broken_answer
    category: 其他
    question: 这个问题没有回答
    paraphrases: [一, 二, 三, 四, 五, 六, 七, 八]
    answer: ''
  - id: broken_paraphrases
    category: 其他
    question: 这个问题释义太少
    paraphrases: [只有一条]
    answer: 回答
"""


def copy_faq(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(FAQ_PATH, directory / "faq_zh.yml"))


def append(path: Path, entries: str) -> int:
    """Append entries to the faqs list; returns the line number of the first one."""
    text = path.read_text("utf-8")
    path.write_text(text + entries, "utf-8")
    return text.count("\n") + 2
