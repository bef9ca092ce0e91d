"""Reading a message (support.replies.signals) and deciding the turn (support.replies.turns)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace
from typing import cast

import pytest

from kb.content import FAQ
from kb.knowledge_base import Candidate, Decision, KnowledgeBase, QueryResult
from support.replies import signals
from support.replies.turns import (
    Context,
    context_from_history,
    echoed,
    relevant_part,
    respond,
    what_now,
)
from support.replies.vocabulary import (
    APOLOGY,
    HELPED_QUESTION,
    KEEP_SECRETS,
    NOT_THIS_ANSWER,
    NOTHING_MORE_TOLD,
    REQUEST_HUMAN,
    SCAM_WARNING,
    HandoffReason,
    chosen_faq_id,
    clarify_payload,
)


@pytest.mark.parametrize(
    "text",
    ["帮我转人工，充值不到账", "提现没到账 转人工!", "接人工", "我要找真人", "人工客服", "轉人工",
     "转认工", "I want to talk to a human", "能不能给我换个人工客服", "能不能安排人工跟我聊",
     "我想跟你们的工作人员直接通话", "有没有活人啊", "人工人工人工", "找你们经理来处理",
     "我要跟客服说话，别让机器人回复", "有人工吗？", "叫你们人工出来", "我不要跟机器人聊",
     "行吧 人工在哪 我直接问人", "人工客服在哪里", "can I speak to customer service?",
     "转人工处理",
     "人工 提现问题",
     "我要找客服",
     "麻烦人工帮我看下",
     "我要咨询人工",
     "transfer me to an agent please",
     "connect me to customer support",
     "我想跟你们的人直接说 有电话吗",
     "叫个人来",
     "能不能让一个真的客服来回答我",
     "我不想跟机器说话",
     "can i talk to a manager",
     "请安排人工处理 我的问题比较复杂",
     "给我接你们的工作人员",
     "能让我和客服人员通个电话吗",
     "人工在吗",
     "我只想找个人问问",
     "我要跟真人聊",
     "找个人跟我说",
     "有没有人能跟我说一下",
     "pls transfer me to 人工 my account got frozen",
     "号被冻住了 别再发那些链接了 我要跟活人讲",
     "钱转不出去 能不能让个工作人员跟我说说"],
)  # fmt: skip
def test_a_request_for_a_person_is_found_anywhere(text: str) -> None:
    assert signals.read(text).wants_person


@pytest.mark.parametrize(
    "text",
    ["不用转人工了", "人工费是多少钱", "怎么充值", "需要人工审核吗", "为什么要人工审核",
     "人工客服工作时间是几点", "人工客服电话是多少", "不想转人工", "不用帮我转人工", "别给我转人工",
     "和客服沟通过了还是没退款", "找主管审批需要多久", "有没有人工审核",
     "我不找人工，帮我看下怎么查交易记录",
     "人工客服排队要多久",
     "刚才人工客服说明天处理",
     "人工客服就不用了 我问问你就行",
     "没必要人工",
     "不用麻烦转人工了",
     "don't transfer me to a human",
     "no need for a human",
     "需要人工处理吗",
     "不要客服，我自己搞定",
     "昨天找客服，客服说3天到账",
     "我和客服打电话的时候说不清楚",
     "我要找人来装修",
     "叫个人来帮我搬家",
     "我回头找个人问问再决定",
     "人工 审核要多久",
     "怎么连接你们客服的电话",
     "I'll talk to the manager at the store",
     "我要个人工资流水证明", "找个人帮我代提",
     # A call that was made, or one to make, is no call back asked for.
     "客服打电话给我说要退款", "希望客服打电话给我的时候说清楚是哪家", "能不能打电话问一下银行",
     "不可以打电话给我", "我不希望客服打电话给我，在线说就行",
     "客服说可以回电话给我，结果一直没人打"],
)  # fmt: skip
def test_no_person_is_requested_by_other_words(text: str) -> None:
    assert not signals.read(text).wants_person


def test_the_question_is_what_is_left_of_a_request() -> None:
    assert signals.read("帮我转人工，充值不到账").question == "充值不到账"
    assert signals.read("先不用人工了，我想问下怎么换绑手机号").question == "怎么换绑手机号"
    assert signals.read("你好，请问怎么扫码付款").question == "怎么扫码付款"
    assert signals.read("好的谢谢 拜拜").question == ""


@pytest.mark.parametrize(
    "text",
    ["我被骗了，钱已经转过去了", "卡被盗刷了", "有笔交易不是我本人操作的", "my account was hacked",
     "对方自称客服，让我把验证码报给他", "我被詐騙了",
     "我妈刚接到电话说是你们客服，让她把验证码发过去，她已经发了",
     "有个人说他是官方的工作人员，刚叫我把支付密码告诉他",
     "接到电话说是公安局的，说我涉嫌洗钱，要把钱转到指定账户", "余额突然少了800，我最近都没用过",
     "收到登录提醒，不是我登的", "短信里的链接我点了，还输了验证码",
     "我把验证码告诉了对方，会不会被盗刷", "我被盗刷了，钱会退回来吗",
     "我的账户被盗了，如果报警有用吗", "有人在用我的号付款，快帮我冻结",
     "账户不是我本人在操作，现在有好几笔转出", "手机被偷了，上面登着钱包",
     "我手机丢了怎么办", "账号被hack了 钱都没了",
     "客服打电话说我的订单要退款，让我扫他发的二维码", "他说快递丢了要赔偿我，让我扫他的码",
     "好害怕，卡被盗刷了三千", "担心账户被盗了 里面的钱都没了",
     "我很担心，余额少了5000，我没有消费过", "恐怕是被盗号了 钱不翼而飞",
     "有一笔不认识的扣款 我好害怕", "担心 有人冒充你们客服让我共享屏幕",
     "手机丢了，还没找到，怎么办", "我的手机被人偷了",
     "刚有个自称你们热线的打给我 说我账户异常 让我把余额转到新账户",
     "someone called saying he is from the wallet and asked for my verification code",
     "我不小心点了链接 输了验证码", "卡被盗刷了 怎么才能不被继续扣",
     "刚有人打电话说是平台的 让我念一下 我已经念给他了", "被骗5000 需要注意什么",
     "陌生设备登录我的账号 怎么才能不被盗", "对方让我把钱转到新卡上",
     "someone called and asked for my verification code", "怎么才能不被盗号，昨天号被盗了",
     "怎样才能不被骗，昨天被人骗了3000", "my account was hacked, how do i protect it now",
     "说我账户有风险 让我把钱转到另一个账户", "they told me to pay a fee to unlock my account",
     "how do i avoid this, someone hacked my account and took 500",
     "被骗了3000 钱会退回来吗", "以后怎么避免被骗 今天被骗了2000", "被骗了 想了解一下怎么追回",
     "我的余额突然少了2000", "昨晚有人半夜转走了我的钱", "手机落在出租车上了",
     "someone used my card", "i didn't make this payment", "i lost my phone",
     "老板加我微信让我转5万给一个账户 我已经转了", "他让我把钱转到一个安全的账户进行资金核查",
     "快递丢了要理赔 让我加他QQ", "主要是我的卡被盗刷了",
     "万一我刚才给他的验证码被用了怎么办", "会不会是诈骗他让我把验证码发给他我已经发了",
     "朋友说能帮我贷款让我先转2000保证金我已经转了", "钱包里的钱没了",
     "my mom sent money to a scammer",
     "申请了个贷款 说要交会员费才能放款 我交了699",
     "会不会被骗 他让我交2000保证金 我交了",
     "有人用我的钱包买了一堆东西 快帮我止付",
     "收到了好几条付款成功的短信 我没付过",
     "半夜收到提现通知 不是我提的",
     "有人改了我的支付密码 我没改过",
     "已经被他转走了",
     "我的钱被转出去了 收款人我不认识",
     "手机在地铁上被人偷了 钱包里有两万",
     "新闻上说的那种冒充公检法 我今天就遇到了 他让我把钱转到安全账户",
     "我正在和一个客服共享屏幕 他说要帮我操作提现",
     "有人自称OKPay客服让我转账",
     "网友说带我赚钱 让我转钱到他给的账户",
     "我朋友说他是你们客服 让我把验证码给他",
     "someone logged in to my account",
     "i gave him my password",
     "我刚刚跟一个网恋男朋友转了3万 他说他账户被冻结了",
     "有人加我微信说是我领导 让我先帮他转5万给客户 我转了 现在打他电话说不认识我",
     "对方说我的快递丢了要理赔 发了个链接让我填银行卡号和验证码 我填了 钱被扣了800",
     "刚收到提示 我的支付密码被修改了 我没改过",
     "昨天晚上有一笔转账转给一个不认识的人",
     "不知道谁把我的钱转走了",
     "一个自称警察的人让我把钱都转到他说的安全账户了",
     "招聘的说入职要先交服装费和培训费 我交了1500 现在人找不到了",
     "我扫了陌生人发的二维码 说扫码领红包 结果被扣了500",
     "there's a charge of 1200 i didn't make",
     "现在有个人在微信上说是我老板 要我马上转钱给一个账户 我还没转",
     "有人说我抽中了一万块 要先交500手续费才能领 我交了",
     # Asked to, asking us, and done already or going on: no mere question first.
     "有人自称客服让我下载了屏幕共享 现在手机自己在动 怎么办",
     "有人自称客服让我下载向日葵 我下载了 怎么办", "有人自称客服让我点链接 我点进去了 怎么办",
     "客服让我下载向日葵 他在操作我的手机 怎么办",
     "有人自称平台客服 要我交解冻费 我交完了 还能退吗",
     "有个客服说我账户异常 让我转到安全账户 我转过了 能追回吗",
     "有人自称客服让我扫码 扫完了 钱会不会丢", "网友让我投资 投进去五万 现在提不出来 怎么办",
     "someone claiming to be support told me to install anydesk, i installed it, what should i do?",
     "someone called me and asked for my verification code, i read it to him, what now?"],
)  # fmt: skip
def test_fraud_in_progress_is_urgent(text: str) -> None:
    assert signals.read(text).urgent


@pytest.mark.parametrize(
    "text",
    ["要注意什么 有人自称客服让我下载向日葵", "客服说如果不转到安全账户就会冻结 我该转吗",
     "有个客服找我要助记词 说帮我升级钱包 给不给",
     "有个客服让我下载个屏幕共享的软件 说帮我办退款 能信吗",
     # A loan the caller claims the user opened (「开过校园贷」) is nothing under way.
     "有人打电话说我大学时候开过校园贷 要注销 叫我把钱包里的钱先转到他给的账户 这正常吗"],
)  # fmt: skip
def test_asked_to_and_asking_us_first_is_a_warning_not_yet_an_emergency(text: str) -> None:
    """Nothing under way, and the user asks before doing it: the warning, the entry on
    scams and a person on offer, and what they tell next (「我已经给了」) is urgent."""
    said = signals.read(text)
    assert said.scam and said.approached and not said.urgent


@pytest.mark.parametrize(
    "text",
    ["有个群里的管理员说能帮我把币找回来 让我把那几个单词发给他",
     "客服让我把那12个英文单词念给他听", "我把那些单词发给了一个自称官方的人"],
)  # fmt: skip
def test_the_mnemonic_described_not_named_is_still_a_secret(text: str) -> None:
    """Users rarely say 助记词: 「那几个单词」「12个英文单词」 asked for or given away is
    the same risk as the word itself."""
    said = signals.read(text)
    assert said.scam and (said.urgent or said.approached)


@pytest.mark.parametrize(
    "text",
    ["怎么防止别人冒充客服让我转账", "如果有人自称客服让我把钱转到安全账户 我该转吗",
     "假如有人让我共享屏幕 要不要共享", "以后要是有客服找我要验证码 给不给"],
)  # fmt: skip
def test_asking_ahead_of_any_approach_is_no_approach(text: str) -> None:
    said = signals.read(text)
    assert not said.approached and not said.urgent


@pytest.mark.parametrize(
    ("text", "kept"),
    [("好险 还没给 谢谢提醒", True), ("好 那我不理他了 拜拜", True), ("谢谢 已经拉黑了", True),
     ("谢谢 我没给他 但是他知道我身份证号", False), ("好的谢谢 我已经给了", False),
     ("谢谢 还没到", False)],
)  # fmt: skip
def test_thanks_for_the_warning_after_keeping_clear_is_small_talk(
    knowledge_base: KnowledgeBase, text: str, kept: bool
) -> None:
    assert signals.kept_clear(text) is kept
    warned = respond(knowledge_base, "有个客服找我要助记词 说帮我升级钱包 给不给", Context())
    assert warned.handoff is None and warned.context.urgent
    if kept:
        assert respond(knowledge_base, text, warned.context, intent="thank").small_talk


@pytest.mark.parametrize(
    "text",
    ["怎么识别冒充客服的诈骗电话", "平时怎么防止账户被盗？", "万一账户被盗了钱能找回吗",
     "这个钱包安全吗，会不会被黑", "我之前被骗过一次，现在想知道怎么开两步验证",
     "客服会找我要验证码吗", "听说有人被冒充客服的骗了，怎么识别", "骗子现在都用什么手段",
     "怎么设置能更安全 担心账户被盗", "害怕被盗刷，能关掉免密支付吗", "万一手机丢了钱包怎么办",
     "提现前要先交解冻费是真的吗", "平时要注意啥才能不被盗号",
     "有人说能帮我提高额度 要先交500手续费 靠谱吗", "how do i avoid getting scammed",
     "how can i protect my account from being hacked", "网上认识的人说帮我贷款 要先交800手续费",
     "说是抖音客服 要关闭百万保障", "对方说我注册过校园贷 要注销",
     "万一有人打电话说是你们客服怎么办", "what if someone asks for my otp",
     "如果手机丢了 钱被转走了怎么办", "听说有人账户被盗 钱全没了 我的安全吗",
     "如果有人自称客服让我转账怎么办", "网上认识一个人 带我在一个平台投资 赚了钱提不出来 说要交税",
     "客服说要交会员费才能放款",
     "how do i report a scammer",
     "刚才有人冒充客服给我打电话 我识破了",
     "我同事被骗了 怎么防", "我已经被骗过一次了 这次想问一下怎么开两步验证",
     "我朋友账号被盗了 我该怎么保护自己",
     "刚才收到一个陌生链接 没点 是你们发的吗",
     "how do i avoid scams",
     "我朋友去年被刷单骗了两万 这种钱还能追回来吗",
     "我舅舅三年前被网恋骗了 现在还有办法吗",
     "my friend got scammed last year, can you help him get it back?",
     "有人说能帮我提高转账额度"],
)  # fmt: skip
def test_a_question_about_scams_warns_but_is_not_urgent(text: str) -> None:
    said = signals.read(text)
    assert said.scam and not said.urgent


@pytest.mark.parametrize(
    "text",
    ["修改密码要验证码吗", "注册时要输入验证码吗", "你们会要我的验证码吗",
     "让我输入密码才能转账吗", "客服说是系统问题，要等多久", "注册时要求设置密码吗",
     "提现要先交手续费吗", "怎么把钱转到新的银行卡", "客服说是平台的问题 要等多久",
     "我打电话问了银行，说是平台那边的问题", "对方先转账给我了 怎么没到账",
     "我在闲鱼卖东西，对方说先付款再发货", "我要把余额转到新账号怎么弄",
     "the app keeps asking for a code every time I log in",
     "the merchant claimed to be out of stock", "我爸让我把钱转到他的新卡上 怎么添加银行卡",
     "老婆叫我把钱存到另一个账户 怎么转", "他先转了车费给我 我怎么收款",
     "对方让我先付邮费再发货 用什么付", "闲鱼上买了个二手手机 他让我先付运费 怎么付",
     "银行来电说是平台的原因导致退款失败", "they keep asking for a code when i log in",
     "我刚开通了百万保障 在哪里查看", "我已经还清了校园贷 能注销吗",
     "我刚用向日葵远程帮我爸付了电费 没到账", "可以帮我提高额度吗 需要先交费吗",
     "客服能帮我解冻吗 我需要先交什么费用", "充值了 银行卡里的钱没了 钱包没到账",
     "钱包里的钱没了 是不是被扣手续费了", "手机忘在家里了 能用电脑登录吗",
     "手机落在公司了今天怎么付款", "点进去输了密码还是登录不了",
     "登录提示账户存在风险 让我打开人脸验证", "银行让我做流水 怎么导出账单",
     "申请房贷银行说流水不够 怎么导出交易记录", "帮室友垫付了电费 怎么让他转给我",
     "提现不了 怎么解冻", "怎么设置一个安全的账户密码", "商家说是要找平台客服才能退款",
     "说明上说可以提高额度 要先付费吗",
     "我的钱还在转 什么时候能到",
     "正在扣款中 请问要多久",
     "我刚点了重置密码的链接 但是打不开",
     "我刚才共享屏幕给我女儿看怎么操作",
     "我不是骗子 你们为什么冻结我的账户 我已经提交了材料",
     "你们说我涉嫌洗钱冻结了我的账户 我已经提交了证明",
     "收到陌生设备登录提醒 是我自己换了新手机",
     "陌生设备登录需要验证吗",
     "我的账户被拉黑了 转不了账",
     "我没付款 能取消订单吗",
     "就是莫名其妙多扣了一笔手续费",
     "优惠券莫名其妙没了",
     "我没消费过 为什么有积分",
     "我没登录过这个app 怎么注册",
     "页面还在转圈",
     "你们的理财产品收益很高吗 我已经买了一万",
     "不是我买的 是我老公买的 能退吗",
     "手续费怎么莫名其妙多扣了2块",
     "how do I turn on 2FA so nobody can hack my account",
     "客服说是快递的问题 要等多久",
     "银行说是官方的规定 提现要审核",
     "转错人了 收款人我不认识 能撤回吗",
     "充值了100 钱不见了",
     "打了你们客服电话一直联系不上",
     "给我妈转了500 她一直不回消息",
     "信用卡自动还款把我的钱划走了",
     "会员费被自动划走了",
     "我不知道手机号怎么改",
     "这不是我提的问题",
     "银行卡不是本人的可以绑吗",
     "我没用过钱包 怎么充值100块",
     "我从来没登录过 怎么收不到验证码",
     "手机没了信号 付不了款",
     "余额清零怎么操作 我想注销",
     "对方正在转账给我 怎么还没到",
     "每个月一直在被扣会员费",
     "能不能把我的银行卡绑到别人的钱包上",
     "能让别人用我的钱包付款吗",
     "账号被登录了 是我在平板上登的",
     "I didn't make it to the bank before it closed",
     "老师让我们下载zoom上网课",
     "我点了短信里的激活链接 打不开",
     "客服发了个链接让我填工单",
     "收到注册邮件 让我点链接验证邮箱",
     "客服刚才让我修改登录密码",
     "在菜市场扫对方给的二维码付了钱",
     "房东发了收款码让我扫码付房租",
     "逾期会影响征信吗",
     "怎么关闭借呗",
     "会员不取消会自动扣费吗",
     "退款需要附带单号吗",
     "其他理财产品哪个保本",
     "有没有人能帮我解冻账户",
     "我跟银行说是我女儿要用这张卡",
     "关税怎么付",
     "公司要求我交个人所得税 可以用钱包交吗",
     "I clicked the link in your email to verify and it expired"],
)  # fmt: skip
def test_a_plain_question_about_codes_is_no_scam(text: str) -> None:
    said = signals.read(text)
    assert not said.scam and not said.urgent


@pytest.mark.parametrize(
    "text",
    ["收银员让我扫码付款 但是一直扫不出来", "店员叫我扫他的码付款", "朋友让我扫她的二维码转账给她",
     "我已经申请退款了 验证码收不到", "退款已经到了，但是链接打不开", "商家保证金已经交了 怎么退",
     "手机掉了 屏幕碎了 扫码扫不出来", "我手机丢了，但是已经找到了，需要改密码吗",
     "之前手机丢了，现在换了新手机，怎么登录"],
)  # fmt: skip
def test_everyday_scanning_refunds_and_old_losses_are_no_risk(text: str) -> None:
    said = signals.read(text)
    assert not said.scam and not said.urgent


@pytest.mark.parametrize(
    ("text", "complied"),
    [("我已经给他转过去了", True), ("钱转给他了", True), ("验证码念给他了", True),
     ("i already paid him", True), ("我已经付款了但订单还显示待支付", False),
     ("怎么给她转钱", False), ("我没给他转钱 也没告诉他验证码", False),
     ("放心 我不会给他转的", False), ("支付密码已经输错三次了", False), ("我已经发了工单", False),
     ("i sent money to my friend", False), ("我已经转了", True), ("钱已经转过去了 怎么办", True),
     ("我已经转给他了 不会有事吧", True), ("我已经把钱转给他了 他一直不发货", True),
     ("验证码已经发过去了", True), ("我转了3000", True), ("我给了他验证码", True),
     ("我把钱给他了", True), ("我扫了他的二维码", True), ("交了", True), ("我打了电话", False),
     ("我刚才转了500给我妈", False), ("我点了导出 没反应", False),
     ("我照做了", True),
     ("按他说的做了", True),
     ("我已经装了", True),
     ("我点了他发的链接", True),
     ("他拿到我的验证码了", True),
     ("i sent 500 to a guy on facebook", True),
     ("我打了110", False),
     ("有人说转错钱给我了 让我退给他 我退了500", True),
     ("我垫了好几笔了 一共6700", True)],
)  # fmt: skip
def test_money_or_a_secret_given_to_someone(text: str, complied: bool) -> None:
    assert signals.read(text).complied is complied


@pytest.mark.parametrize(
    "text",
    [
        "我把验证码发给你们吧",
        "需要我提供验证码吗",
        "我可以把密码给客服吗",
        "你们要我的cvv吗",
        "要不要我把助记词告诉你",
        "我把助记词发你 你帮我看看",
    ],
)
def test_a_secret_offered_to_us_is_kept_not_an_emergency(text: str) -> None:
    said = signals.read(text)
    assert said.offers_secret
    assert not (said.urgent or said.approached or said.scam)


@pytest.mark.parametrize(
    "text", ["我刚被骗了五千块需要我提供验证码吗", "我的卡被盗刷了两万要不要我把验证码发给你们"]
)
def test_an_offer_beside_a_loss_stays_urgent(text: str) -> None:
    assert signals.read(text).urgent


@pytest.mark.parametrize(
    "text", ["你们要我输入验证码吗", "你们需要我重新设置密码吗", "需要我给手机发验证码吗"]
)
def test_a_step_of_the_service_is_no_secret_offered(text: str) -> None:
    assert not signals.read(text).offers_secret


def test_something_named_is_no_unnamed_offer() -> None:
    assert signals.offers_us(signals.normalize("能不能直接发给你们帮我保存"))
    for text in ("我把手机号发给你们可以吗", "截图发给你们可以吗"):
        assert not signals.offers_us(signals.normalize(text))


@pytest.mark.parametrize(
    "text",
    ["我已经把验证码发给客服了", "他让我把验证码发给你们客服", "我把验证码告诉他了"],
)
def test_a_secret_already_given_or_at_someones_bidding_is_no_offer(text: str) -> None:
    said = signals.read(text)
    assert not said.offers_secret and said.urgent


@pytest.mark.parametrize(
    ("text", "asks"),
    [("我卡号 〔已隐藏〕 绑不上", True), ("支付密码是 〔已隐藏〕 帮我重置", True),
     ("身份证号〔已隐藏〕 实名认证失败", True),
     ("我的cvv是 〔已隐藏〕 卡号〔已隐藏〕 付不了款", True),
     ("验证码 〔已隐藏〕 你帮我看看", False), ("我的密码是〔已隐藏〕 你帮我登一下", False),
     ("〔已隐藏〕", False)],
)  # fmt: skip
def test_what_a_message_asks_besides_its_secrets(text: str, asks: bool) -> None:
    assert signals.asks_besides_secrets(text) is asks


def test_a_hidden_secret_joins_the_words_around_it() -> None:
    # 「我把验证码〔已隐藏〕发给你们」 offers the code as 「我把验证码发给你们」 does.
    assert signals.read("我把验证码 〔已隐藏〕 发给你们").offers_secret


def test_a_secret_offered_is_kept_and_the_rest_answered(knowledge_base: KnowledgeBase) -> None:
    alone = respond(knowledge_base, "我把验证码发给你们吧", Context())
    assert alone.handoff is None and "keep_secret" in alone.signals
    assert [reply.text for reply in alone.answer.replies] == [KEEP_SECRETS]
    besides = respond(knowledge_base, "我把验证码发给你们吧，另外提现要手续费吗", Context())
    assert besides.answer.replies[0].text == KEEP_SECRETS
    assert besides.answer.decision is Decision.ANSWER


def test_the_topics_secret_offered_unnamed_is_kept(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "助记词怎么备份", Context())
    assert first.context.topic == "mnemonic_safety"
    turn = respond(knowledge_base, "能不能直接发给你们帮我保存", first.context)
    assert [reply.text for reply in turn.answer.replies] == [KEEP_SECRETS]
    # A screenshot is no secret; nor is the offer after an answer on something else.
    assert "keep_secret" not in respond(knowledge_base, "截图发给你们可以吗", first.context).signals
    other = respond(knowledge_base, "提现怎么操作", Context())
    assert "keep_secret" not in respond(knowledge_base, "能不能直接发给你们", other.context).signals


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        # Money already sent by a relative after a "cancel your loan" call.
        ("我妈接到电话说她名下有一笔贷款要注销，不然影响征信，她已经转了3万过去了", True),
        ("有人说转错钱给我了 让我退到他另一张卡上 我退了500", True),
        ("有人说交500块手续费就能帮我马上解冻 靠谱吗", False),
        ("群里有人发了个红包链接 点开让输支付密码", None),
        ("微信上有人说卖usdt便宜 让我用钱包付款 安全吗", None),
        ("有个人发消息说维护期间要把钱转出去", None),
        ("我已经按他说的转了3000过去了 怎么办", True),
        # Someone "from support" asking for it is no offer of ours (「客服要我的…吗」 is).
        ("客服要我的助记词帮我恢复钱包", True),
        ("我已经投了三万了 现在提不出来", True),
        ("我已经转过去了 后来打电话他说没发过", True),
        ("他说就是帮忙过一下账", None),
        ("刚刚有个客服打电话说要给我退款 让我下载一个叫zoom的软件开会", True),
        ("我微信好友找我借钱 说急用 让我转到他给的卡号", None),
        ("刚收到一笔陌生人转账800 然后有人打电话说转错了 让我退到另外一个账户", None),
        ("卖闲鱼 买家说他付款了 钱被你们冻结了要我交保证金解冻", None),
        ("老板在群里让我转账给供应商 急", None),
        # A "claim" call that wants money first and promises it back doubled.
        ("快递丢了 客服打电话说理赔 让我在钱包里转了1980过去说会退双倍 现在电话打不通了", True),
        ("有人说帮我办理退款 让我先扫码付一笔验证", None),
        ("收到短信说我中了二等奖 要先付298邮费", None),
        ("抽奖中了一台手机 对方说要先交500的税才能寄", None),
        # "Family" asking for it may be a hacked account.
        ("儿子QQ上让我把付款码截图发给他", None),
        ("我已经按他说的把余额转到他给的账户了", True),
        # Top-ups "on your behalf" at a discount.
        ("有人说可以代充话费打八折 靠谱吗", False),
        ("低价代充游戏币 能用你们钱包付吗", False),
        ("网友说能帮我充值话费 便宜两成", False),
    ],
)
def test_scripts_without_the_usual_words_are_scams(text: str, urgent: bool | None) -> None:
    said = signals.read(text)
    assert said.scam
    if urgent is not None:
        assert said.urgent is urgent


@pytest.mark.parametrize(
    "text",
    [
        "提现要交手续费才能到账吗",
        "重置密码的链接打开后让我输入新密码",
        "朋友转错钱给我了 怎么退给他",
        "我想把余额转到新账户",
        "怎么把钱转出去",
        "绑卡的时候银行要我提供验证码",
        "他转错了钱，让我还给他，怎么操作",
        "注销账户会影响征信吗",
        "我想卖usdt怎么操作",
        "客服告诉我可以把余额转到银行卡",
        "领取优惠券的链接需要输入验证码吗",
        "按客服说的重置了密码",
        "投资了理财产品 什么时候能提现",
        "充了500 现在提不出来",
        "我想下载你们的app",
        "朋友发了个链接让我下载你们的app，安全吗",
        "我联系了卖家 对方说没有发货 怎么退款",
        "微信好友借钱给我 怎么收款",
        "老板让我转账给供应商怎么转",
        "借钱给朋友 怎么转账",
        "话费充值有优惠吗",
        "可以找朋友代付吗",
        "代付安全吗",
        "客服说退款会退到原卡 让我等三天",
        "客服说退款要我打开app看一下",
        "客服说退款 要我交一下订单截图",
        "电话说理赔 让我汇报一下情况",
        "客服说退款需要我扫码确认吗",
        "转账给客户 转到对方给的账户了 显示成功但对方说没收到",
        "朋友在国外 转到他给的账户要多久",
        "代缴水电费安全吗",
        "充值返双倍积分活动是真的吗",
        "商家欺诈 可以要求赔三倍吗",
        # Shared with one's own family: a question of use (the payment-code answer says
        # never to share it), no scam.
        "付款码可以截图发给我老婆去买菜用吗",
        # 中了 in other words than a prize.
        "我选中了零钱支付，为什么还要付手续费",
        "看中了一个商品，付款时多扣了钱",
        "充值打折活动什么时候有",
        # The user calling the wallet a fraud is anger, not a scam to warn of.
        "你们是骗子吧 钱提不出来",
    ],
)
def test_fees_reset_links_and_returns_of_ones_own_are_no_scam(text: str) -> None:
    assert not signals.read(text).scam


@pytest.mark.parametrize(
    ("text", "flag"),
    [
        ("我提现三天了还没到 你们能不能派个人工来处理一下", "wants_person"),
        ("问一下，我能跟活人说话吗", "wants_person"),
        ("人工客服能不能帮我查一笔交易", "wants_person"),
        ("字太小我看不清 可以让工作人员打电话给我吗", "wants_person"),
        ("麻烦给我回个电话", "wants_person"),
        ("按你说的都弄了 还是收不到", "not_solved"),
        ("还是登不上", "not_solved"),
        ("重装了也不行", "not_solved"),
        ("重启过也一样", "not_solved"),
        ("你们到底管不管", "frustrated"),
        ("账户被冻结了 里面有两万块 急死了 帮我找个人处理一下", "wants_person"),
        ("人呢", "wants_person"),
        ("查不到吗 那找个客服", "wants_person"),
        ("搵真人同我傾啦", "wants_person"),
        ("试过了", "not_solved"),
        ("按你说的弄了 还是锁着 😭", "not_solved"),
        ("改了密码还是显示账户异常", "not_solved"),
        ("按您的步骤操作了也一样", "not_solved"),
        ("回话啊", "frustrated"),
        ("再不给我解决我就报警了 钱被冻了一个礼拜", "frustrated"),
    ],
)
def test_more_ways_to_ask_for_a_person_say_it_failed_or_be_angry(text: str, flag: str) -> None:
    assert getattr(signals.read(text), flag)


def test_a_risk_control_freeze_is_no_scam() -> None:
    said = signals.read("账户显示涉嫌违规被冻结了")
    assert not said.scam and not said.urgent


@pytest.mark.parametrize(
    "text",
    ["垃圾软件", "气死我了", "我要投诉", "这都第四次了", "what a terrible app",
     "你们这什么破服务", "太气人了", "付款失败五次了", "我真是服了你们", "给我个说法",
     "这钱包太难用了", "卧槽又扣钱", "I'm so frustrated", "提現失敗好幾次了",
     "是不是有病啊，换绑了三次都失败", "累了，真的累了", "有没有搞错啊",
     "你们这客服就是个摆设", "这个功能纯属一个摆设",
     "你们就这态度",
     "你们这客服一点用都没有",
     "别给我发这些没用的 我要解决问题",
     "你们是不是想倒闭 提现拖了一周",
     "真的烂 换绑卡换了一下午",
     "this app is a joke",
     "你们怎么回事啊 一直登不上去",
     "凭什么冻结我的账户",
     "说了半天全是废话",
     "你们的客服太敷衍了吧",
     "i'm so fed up with this",
     "又扣我手续费 凭什么啊",
     "凭啥！"],
)  # fmt: skip
def test_frustration(text: str) -> None:
    assert signals.read(text).frustrated


@pytest.mark.parametrize(
    "text",
    ["这是我第二次转账", "第2次提现怎么收费", "App一打开就崩溃", "验证邮件在垃圾箱里",
     "麻烦问一下怎么提现", "我找过客服了吗", "公司破产了钱怎么办", "每天能转几次",
     "每天能转3次还是5次", "钱包里的垃圾币怎么删除", "一个月还能提现几次", "监管账户是什么",
     "密码输错5次会被锁吗", "提现三天了还没到", "投诉渠道在哪", "我想投诉一个商家",
     "麻烦人工帮我看下",
     "怎么给商家差评",
     "我要投诉外卖员",
     "我被误认为诈骗 账户被冻结了",
     "钱转给骗子了 不知道还能不能追回来",
     "昨天被骗子骗了5000 我报警了 你们能冻结他的账户吗",
     "我妈的钱包 她自己不会用 我帮她登录一下可以吗",
     "我老公给他妈转了2000",
     "好烦恼 不知道选哪种充值方式",
     "滚动条拉不动 账单页面看不全",
     "我想把钱转给他妈",
     "妈的生日 想给她转个红包",
     "atm都取不出钱",
     "我们店快倒闭了",
     "这苹果真的烂了",
     "我真蠢 转错账了",
     "商家这什么态度",
     "和商家说了半天",
     "退款要凭什么？",
     "领取需要凭什么"],
)  # fmt: skip
def test_words_that_also_name_a_state_are_not_frustration(text: str) -> None:
    assert not signals.read(text).frustrated


@pytest.mark.parametrize(
    ("text", "question"),
    [("你们这什么破服务，转账失败三次了，太气人了", "转账失败三次了"),
     ("太差了，我要投诉你们，转账两天都没到", "转账两天都没到"),
     ("垃圾app，提现一直失败", "提现一直失败"),
     ("你们这个app怎么这么难用，绑个卡都绑不上", "绑个卡都绑不上"),
     ("客服电话打不通，气死了", "客服电话打不通"),
     ("气死我了", ""), ("垃圾app 钱呢", "钱呢"), ("你们是骗子吧 钱提不出来", "钱提不出来"),
     ("再不给我解决我就报警了 钱被冻了一个礼拜", "钱被冻了一个礼拜")],
)  # fmt: skip
def test_anger_is_not_part_of_the_question(text: str, question: str) -> None:
    # 「什么破服务」 would otherwise be looked up as a question about the service.
    said = signals.read(text)
    assert said.frustrated
    assert said.question == question


@pytest.mark.parametrize(
    ("text", "question"),
    [("OKPay是什么", True), ("好的，那提现要手续费吗", True), ("不是，我问的是限额", True),
     ("好的", False), ("是的", False), ("谢谢 再见", False), ("是换号码 不是换手机", True),
     ("我说的是登录那个", True), ("不是", False), ("不是这个", False)],
)  # fmt: skip
def test_a_question_is_never_small_talk(text: str, question: bool) -> None:
    assert signals.is_real_question(signals.read(text)) is question


@pytest.mark.parametrize(
    ("text", "question"),
    [("提现到账了 谢谢你啊", ""), ("好了好了，能登上了，谢谢您", ""), ("充值成功了，多谢", ""),
     ("提现到账了，但是手续费扣了两次，谢谢", "提现到账了，但是手续费扣了两次"),
     ("谢谢 转账成功了 对方没收到", "转账成功了，对方没收到"),
     ("到账了吗？谢谢", "到账了吗"), ("提现到账了", "提现到账了"),
     ("谢谢 充值一直没到账", "充值一直没到账"), ("谢谢，但是验证码没收到", "但是验证码没收到"),
     ("谢谢！页面显示不正常", "页面显示不正常"), ("谢谢，绑卡没成功", "绑卡没成功"),
     ("绑好了 谢谢", ""), ("怎么提现 谢谢", "怎么提现"), ("早上好", ""), ("嗯嗯 明白了 谢啦", ""),
     ("算了 没事了", ""), ("早上好 我想问下提现", "提现"), ("明白怎么绑卡吗", "明白怎么绑卡吗"),
     ("好的明白了 谢谢", ""), ("打开了 谢谢", ""), ("我想问个事", ""),
     ("我说错了 是提现不是充值", "提现"), ("哦不是 是换绑银行卡", "换绑银行卡")],
)  # fmt: skip
def test_news_that_it_worked_said_with_thanks_is_no_question(text: str, question: str) -> None:
    assert signals.read(text).question == question


@pytest.mark.parametrize(
    ("text", "parts"),
    [("充值没到账 已经两个小时了 怎么办", ["充值没到账", "已经两个小时了", "怎么办"]),
     ("提现要多久还有手续费多少", ["提现要多久", "手续费多少"]),
     ("销户以后里面还有点余额咋办", ["销户以后里面还有点余额咋办"]),
     ("账户里还有多少钱能提现", ["账户里还有多少钱能提现"]),
     ("收款码 怎么 生成", ["收款码 怎么 生成"]), ("微信 支付 绑定 失败", ["微信 支付 绑定 失败"]),
     ("验证码还有效吗", ["验证码还有效吗"]), ("我还有一张卡没解绑", ["我还有一张卡没解绑"]),
     ("卡里还有500块", ["卡里还有500块"]),
     ("how do i send money", ["how do i 转账"])],  # English words read as the FAQ's
)  # fmt: skip
def test_clauses_split_at_spaces_between_chinese_and_at_joining_words(
    text: str, parts: list[str]
) -> None:
    assert signals.clauses(signals.normalize(text)) == parts


OPTIONS = ["忘记登录密码了怎么重置？", "忘记支付密码了怎么重置或修改？", "账户被锁定了怎么办？"]


@pytest.mark.parametrize(
    ("text", "index"),
    [("1", 0), ("2。", 1), ("第二个", 1), ("③", 2), ("选3", 2), ("the first one", 0),
     ("最后一个", 2), ("支付密码", 1), ("登录的那个", 0), ("怎么开启两步验证", None), ("4", None),
     ("第一个，谢谢", 0), ("第二个问题", 1), ("那就第三个吧", 2), ("不是登录的", None),
     ("怎么改支付密码", None)],
)  # fmt: skip
def test_a_choice_by_number_ordinal_or_words(text: str, index: int | None) -> None:
    assert signals.choice(text, OPTIONS) == index


@pytest.mark.parametrize(
    ("text", "index"),
    [("1", 0), ("第二个", 1), ("②", 1), ("最后一个", 2), ("4", None), ("提交工单", None),
     ("1000块没到账", None), ("就一个", None), ("好2", None), ("好的，第二个", 1),
     ("最上面那个", 0), ("中间那个", 1), ("最下面的", 2), ("中间", None), ("上面那个", None)],
)  # fmt: skip
def test_a_choice_by_position_alone(text: str, index: int | None) -> None:
    # 「就一个」「好2」 are no picks: typed digits press whatever buttons were shown.
    # Words are not read: 「提交工单」 as typed text stays a message of its own.
    assert signals.numbered_choice(text, 3) == index


def test_two_options_have_no_middle_one() -> None:
    assert signals.numbered_choice("中间那个", 2) is None
    assert signals.numbered_choice("中间那个", 5) == 2


@pytest.mark.parametrize(
    ("text", "rejects"),
    [("都不是", True), ("没有我要的", True), ("不是这个", True), ("none of them", True),
     ("不是，我问的是限额", False), ("第一个", False)],
)  # fmt: skip
def test_none_of_the_options(text: str, rejects: bool) -> None:
    assert signals.rejects_options(text) is rejects


def test_the_relevant_part_of_an_answer() -> None:
    answer = "1. 打开 App 点击提现；\n2. 到账时间一般 1–3 个工作日。\n3. 手续费以页面显示为准。"
    assert relevant_part(answer, "要多久") == "到账时间一般 1–3 个工作日。"
    assert relevant_part(answer, "手续费呢") == "手续费以页面显示为准。"
    assert relevant_part(answer, "嗯") is None
    # A lead-in ending in 「：」 is never quoted alone.
    led = "手续费因业务而不同，以 App 内为准：\n1. 确认页会列出费用；\n2. 提现到银行卡一般免费。"
    assert relevant_part(led, "提现也收手续费吗") == "提现到银行卡一般免费。"
    assert relevant_part("可以这样处理：\n1. 重新登录。", "手续费呢") is None
    reasons = "账户受限的常见原因有：密码多次输错、异常登录。"
    locked = f"{reasons}\n1. 锁定何时解除以 App 内显示为准。"
    assert relevant_part(locked, "为什么会被冻结") == reasons
    assert relevant_part(locked, "多久能解开") == "锁定何时解除以 App 内显示为准。"


def test_the_relevant_part_by_the_users_own_words() -> None:
    """No known aspect: a sentence that repeats two pairs of the user's characters."""
    answer = "打开付款码给收银员扫描。扫不出来时，可调高屏幕亮度或刷新付款码后再试。"
    assert relevant_part(answer, "收银员说扫不出来") == (
        "扫不出来时，可调高屏幕亮度或刷新付款码后再试。"
    )
    assert relevant_part(answer, "今天天气怎么样") is None
    assert relevant_part(answer, "出来了吗") is None  # one pair is not enough
    # Pairs that run through many sentences, or any text, set no sentence apart.
    common = "请稍等几分钟。如果一直没有收到，请稍后重试。一直没有收到时可以重新发送。"
    assert relevant_part(common, "为什么一直没有反应") is None


# The turn, on the real KB


def test_a_follow_up_never_repeats_the_answer(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "充值两个小时了还没到账", Context())
    assert first.context.topic == "topup_delay"
    answer = first.answer.replies[0].text
    again = respond(knowledge_base, "那一般要等多久？", first.context)
    texts = [reply.text for reply in again.answer.replies]
    assert answer not in texts and HELPED_QUESTION not in texts
    assert any(b.payload == REQUEST_HUMAN for r in again.answer.replies for b in r.buttons)


def test_follow_ups_the_answer_says_nothing_on_are_told_apart(
    knowledge_base: KnowledgeBase,
) -> None:
    """Two follow-ups in a row that the FAQ has nothing more on: the reply names each,
    rather than the same canned words twice."""
    first = respond(knowledge_base, "怎么查看余额", Context())
    assert first.context.topic == "check_balance"
    texts = []
    context = first.context
    for follow_up in ("那能看到利息吗", "那能设置提醒吗"):
        turn = respond(knowledge_base, follow_up, context)
        assert "follow_up" in turn.signals
        texts.append(turn.answer.replies[0].text)
        context = turn.context
    assert texts[0] != texts[1] and "「能设置提醒」" in texts[1]


@pytest.mark.parametrize("text", ["商家一直不回复啊", "卖家怎么不回消息"])
def test_a_merchant_not_answering_is_no_anger_at_us(text: str) -> None:
    said = signals.read(text)
    assert not said.frustrated and said.question


@pytest.mark.parametrize(
    ("question", "named"),
    [("那能看到利息吗", "能看到利息"), ("那日元呢", "日元"), ("那个红色的按钮是不是", "红色的按钮"),
     ("周末呢？", "周末"), ("那是什么", "是什么"), ("那这是为什么", "这是为什么")],
)  # fmt: skip
def test_a_follow_up_is_named_without_its_follow_up_words(question: str, named: str) -> None:
    assert echoed(question) == named


@pytest.mark.parametrize("follow_up", ["那怎么办", "然后呢", "那我该怎么办？", "接下来怎么做"])
def test_what_now_after_an_answer_points_to_its_steps(
    knowledge_base: KnowledgeBase, follow_up: str
) -> None:
    """「那怎么办」 right after the steps: the steps are what to do, then a person."""
    first = respond(knowledge_base, "充值两个小时了还没到账", Context())
    assert first.context.topic == "topup_delay"
    turn = respond(knowledge_base, follow_up, first.context)
    text = turn.answer.replies[0].text
    assert "上面的步骤" in text and follow_up not in text
    assert any(b.payload == REQUEST_HUMAN for b in turn.answer.replies[0].buttons)
    assert turn.context.topic == "topup_delay"


def test_what_now_names_steps_only_where_the_answer_has_them() -> None:
    assert "上面的步骤" in what_now("请按以下步骤操作：\n1. 打开 App；\n2. 点「我的」。")
    assert "上面的步骤" in what_now("第一步，打开 App。")
    assert "上面的步骤" not in what_now("手续费以确认页显示为准，2026 年起按 0.1% 收取。")


@pytest.mark.parametrize(
    ("question", "follow_up", "quoted"),
    [
        ("app里那个两步验证是啥", "有必要开吗", "建议开启"),
        ("转错人了", "对方不还", "不肯退"),
        ("支持港币吗", "能互相换吗", "兑换"),
        ("限额多少", "能提高吗", "提高额度"),
        ("怎么注销", "里面还剩几十块钱 怎么先弄出来", "余额全部提现"),
    ],
)
def test_a_follow_up_on_an_aspect_quotes_the_sentence_on_it(
    knowledge_base: KnowledgeBase, question: str, follow_up: str, quoted: str
) -> None:
    first = respond(knowledge_base, question, Context())
    assert first.context.topic is not None
    turn = respond(knowledge_base, follow_up, first.context)
    assert turn.context.topic == first.context.topic
    text = turn.answer.replies[0].text
    assert quoted in text and not text.rstrip().endswith("；")


@pytest.mark.parametrize("follow_up", ["那能存新加坡元吗", "泰铢呢", "那可以放英镑吗"])
def test_a_currency_named_after_the_regions_answer_quotes_the_currencies(
    knowledge_base: KnowledgeBase, follow_up: str
) -> None:
    """The regions answer says nothing of currencies, and a currency named after it draws
    the place's entry as much as the currencies': the sentence on currencies is quoted,
    not 「nothing more on 新加坡元」."""
    first = respond(knowledge_base, "搬到新加坡了还能用吗", Context())
    assert first.context.topic == "supported_regions"
    turn = respond(knowledge_base, follow_up, first.context)
    assert turn.context.topic == "supported_currencies"
    assert "币种" in turn.answer.replies[0].text


@pytest.mark.parametrize(
    ("question", "kind", "topic"),
    [("限额", "转账的", "limits"), ("手续费怎么收", "跨境汇款的", "fees")],
)
def test_a_kind_named_after_an_answer_narrows_its_topic(
    knowledge_base: KnowledgeBase, question: str, kind: str, topic: str
) -> None:
    """「转账的」 after the limits asks for the transfer limits, not how to transfer."""
    first = respond(knowledge_base, question, Context())
    assert first.context.topic == topic
    turn = respond(knowledge_base, kind, first.context)
    assert turn.context.topic == topic and "follow_up" in turn.signals
    assert kind.removesuffix("的") in turn.answer.replies[0].text


@pytest.mark.parametrize("text", ["你是机器人吗", "你是真人吗？", "are you a bot?", "你叫什么名字"])
def test_asking_who_answers_is_small_talk_without_an_intent(
    knowledge_base: KnowledgeBase, text: str
) -> None:
    # Degraded mode has no NLU intent: the reply is the caller's own, not 「回答不了」.
    assert respond(knowledge_base, text, Context()).small_talk
    assert not respond(knowledge_base, "你是人吗 怎么提现", Context()).small_talk


def test_a_late_follow_up_means_the_topics_own_kind_among_the_choices(
    knowledge_base: KnowledgeBase,
) -> None:
    """「超过时间了还没到」 after how to withdraw: the late withdrawal, not a list of every
    kind of late money."""
    first = respond(knowledge_base, "提现到银行卡", Context())
    assert first.context.topic == "withdraw_how"
    turn = respond(knowledge_base, "超过时间了还没到", first.context)
    assert turn.answer.decision is Decision.ANSWER
    assert turn.context.topic == "withdraw_failed"


def test_pointing_back_past_a_side_question_returns_to_the_topic_before(
    knowledge_base: KnowledgeBase,
) -> None:
    context = Context()
    for text in ("充值没到账", "顺便问下 提现手续费多少"):
        context = respond(knowledge_base, text, context).context
    assert (context.topic, context.earlier) == ("fees", "topup_delay")
    turn = respond(knowledge_base, "那充值那个到底怎么办", context)
    assert turn.context.topic == "topup_delay"
    assert "充值" in turn.answer.replies[0].text


def test_a_limit_asked_after_a_topic_without_one_is_quoted_from_the_limits(
    knowledge_base: KnowledgeBase,
) -> None:
    """「那有没有上限」 after the top-up methods: the limits entry speaks to it."""
    first = respond(knowledge_base, "怎么充值", Context())
    assert first.context.topic == "topup_methods"
    turn = respond(knowledge_base, "那有没有上限", first.context)
    assert turn.context.topic == "limits"
    assert "额度" in turn.answer.replies[0].text or "限额" in turn.answer.replies[0].text
    # 「最多…多少」 asks for the limit without naming it.
    first = respond(knowledge_base, "跨境汇款怎么操作", Context())
    assert first.context.topic == "cross_border_transfer"
    turn = respond(knowledge_base, "那一次最多能汇多少", first.context)
    assert turn.context.topic == "limits"
    assert "额度" in turn.answer.replies[0].text or "限额" in turn.answer.replies[0].text
    # A dimension of any entry (time) is no such subject: no jump to another entry.
    first = respond(knowledge_base, "忘了登录密码", Context())
    assert respond(knowledge_base, "要多久", first.context).context.topic == first.context.topic
    first = respond(knowledge_base, "充值没到账", Context())
    turn = respond(knowledge_base, "最多要等多少天", first.context)
    assert turn.context.topic == first.context.topic


@pytest.mark.parametrize(
    ("question", "follow_up", "sibling"),
    [("怎么充值", "充完一般多久能到", "topup_delay"),
     ("怎么充值", "充进去多久能到账", "topup_delay")],
)  # fmt: skip
def test_a_follow_up_the_entry_beside_the_topic_answers_is_not_quoted_from_the_topic(
    knowledge_base: KnowledgeBase, question: str, follow_up: str, sibling: str
) -> None:
    """「充完一般多久能到」 after how to top up: the top-up answer mentions the expected
    time in passing, the entry on late top-ups beside it is about that; no quoting."""
    first = respond(knowledge_base, question, Context())
    assert first.context.topic not in {None, sibling}
    alone = knowledge_base.query(follow_up)
    assert alone.decision is Decision.ANSWER and alone.top is not None
    assert alone.top.id == sibling
    turn = respond(knowledge_base, follow_up, first.context)
    assert turn.context.topic == sibling
    assert not turn.answer.replies[0].text.startswith("关于这一点")


@pytest.mark.parametrize(
    ("text", "corrects"),
    [("我说错了 是提现不是充值", True), ("哦不是 是换绑银行卡", True),
     ("是换号码 不是换手机", True), ("是我操作的 不是别人", False), ("不是我操作的", False),
     ("是手续费不是很高吗", False), ("不对 我是想把钱弄到银行卡上", True),
     ("不对啊 我问的是提现", True), ("不对", False), ("不对吧 这么贵", False)],
)  # fmt: skip
def test_corrections_with_a_slip_or_the_meant_thing_first(text: str, corrects: bool) -> None:
    assert signals.corrects(text) is corrects


def test_still_not_solved_after_a_person_was_suggested_hands_off(
    knowledge_base: KnowledgeBase,
) -> None:
    first = respond(knowledge_base, "登录密码忘了", Context())
    second = respond(knowledge_base, "没用", first.context)
    assert "not_solved" in second.signals and second.handoff is None
    third = respond(knowledge_base, "还是不行", second.context)
    assert third.handoff is not None
    assert third.handoff.reason is HandoffReason.BOT_FALLBACK and not third.handoff.urgent


def test_not_solved_with_a_request_for_a_ticket_opens_the_form(
    knowledge_base: KnowledgeBase,
) -> None:
    """「试了还是不行 给我提交个工单」: the ticket asked for, not the buttons to choose it."""
    first = respond(knowledge_base, "提现失败了怎么办", Context())
    assert first.context.topic == "withdraw_failed"
    turn = respond(knowledge_base, "试了还是不行 给我提交个工单", first.context)
    assert turn.opens_ticket and turn.handoff is None
    assert "not_solved" in turn.signals
    assert turn.answer.ticket_category is not None
    assert all(not reply.buttons for reply in turn.answer.replies)
    # Without the request, the person comes first, as before.
    plain = respond(knowledge_base, "试了还是不行", first.context)
    assert not plain.opens_ticket and plain.answer.replies[0].buttons


def test_trouble_the_kb_places_elsewhere_is_no_follow_up(knowledge_base: KnowledgeBase) -> None:
    """「网上买东西也付不了」 after paying in a shop: the same trouble somewhere else, read
    on its own, not 「nothing more on this」 about the shop."""
    first = respond(knowledge_base, "在店里怎么扫码付款", Context())
    assert first.context.topic == "qr_payment"
    turn = respond(knowledge_base, "网上买东西也付不了", first.context)
    assert "follow_up" not in turn.signals
    shown = [candidate["id"] for candidate in turn.answer.candidates]
    assert "qr_payment" not in shown[:1]
    assert {"payment_failed", "online_checkout"} & set(shown)
    # Trouble that stays with the topic still continues it.
    locked = respond(knowledge_base, "账户被锁了怎么办", Context())
    again = respond(knowledge_base, "我什么都没干 突然就锁了", locked.context)
    assert again.context.topic == "account_locked"


def test_a_cause_ruled_out_moves_on_to_the_others(knowledge_base: KnowledgeBase) -> None:
    """「余额是够的」 after the payment failures: not the balance sentence again."""
    first = respond(knowledge_base, "付款失败", Context())
    assert first.context.topic == "payment_failed"
    enough = respond(knowledge_base, "余额是够的", first.context)
    text = enough.answer.replies[0].text
    assert "其他几种可能" in text and "余额" not in text
    card = respond(knowledge_base, "卡也没问题", enough.context)
    assert "网络" in card.answer.replies[0].text and "卡号" not in card.answer.replies[0].text


def test_a_cause_ruled_out_before_another_clause_still_counts(
    knowledge_base: KnowledgeBase,
) -> None:
    """「余额是够的啊 还是不行」: the balance is ruled out though the message goes on."""
    first = respond(knowledge_base, "付款失败", Context())
    turn = respond(knowledge_base, "余额是够的啊 还是不行", first.context)
    text = turn.answer.replies[0].text
    assert "其他几种可能" in text and "余额" not in text


def test_a_step_done_then_a_new_question_is_not_read_with_the_topic(
    knowledge_base: KnowledgeBase,
) -> None:
    """「绑好了 那怎么充值」 after binding a card asks about top-ups; 「转账成功了 对方
    怎么没收到」 keeps its transfer, which is no step done but the trouble's context."""
    first = respond(knowledge_base, "银行卡怎么绑定", Context())
    assert first.context.topic == "bind_card"
    turn = respond(knowledge_base, "綁好了 那怎麼儲值", first.context)
    assert turn.context.topic == "topup_methods" and "follow_up" not in turn.signals
    assert signals.read("绑好了 那怎么充值").question == "那怎么充值"
    assert "转账" in signals.read("转账成功了 对方怎么没收到").question
    assert signals.read("绑好了 但是充不进去").question == "绑好了，但是充不进去"


def test_the_entry_just_answered_is_not_offered_again_as_the_only_choice(
    knowledge_base: KnowledgeBase,
) -> None:
    """「绑完发现被扣了0.01 这是啥」 after binding a card: the sentence on the test debit,
    not a button for the answer just given."""
    first = respond(knowledge_base, "怎么绑定银行卡", Context())
    assert first.context.topic == "bind_card"
    turn = respond(knowledge_base, "绑完发现被扣了0.01 这是啥", first.context)
    assert turn.answer.decision is Decision.ANSWER and turn.context.topic == "bind_card"
    assert "扣款" in turn.answer.replies[0].text


@pytest.mark.parametrize(
    ("first", "again"),
    [("你们这破app天天付款失败 什么玩意儿", "回答的啥啊 跟没说一样"),
     ("充值到底什么时候到 我问第四遍了", "你们是不是骗子平台")],
)  # fmt: skip
def test_angry_again_at_the_answer_or_at_us_gets_a_person(
    knowledge_base: KnowledgeBase, first: str, again: str
) -> None:
    before = respond(knowledge_base, first, Context())
    assert before.context.frustrated and before.handoff is None
    turn = respond(knowledge_base, again, before.context)
    assert turn.handoff is not None and turn.handoff.reason is HandoffReason.FRUSTRATION
    # The first time, 「你们是不是骗子」 asks whether we are real: the entries on fakes.
    assert respond(knowledge_base, "你们是不是骗子平台", Context()).handoff is None


def test_angry_again_about_the_entry_just_answered_gets_a_person(
    knowledge_base: KnowledgeBase,
) -> None:
    """「你这答的什么 我说的是提现没到账」 right after the answer on failed withdrawals:
    that answer once more would not help. Before any answer, it is the question."""
    text = "你这答的什么 我说的是提现没到账"
    answered = Context(topic="withdraw_failed", answered=True, frustrated=True)
    turn = respond(knowledge_base, text, answered)
    assert turn.handoff is not None and turn.handoff.reason is HandoffReason.FRUSTRATION
    listed = Context(frustrated=True, offered=("withdraw_failed", "topup_delay", "refund"))
    turn = respond(knowledge_base, text, listed)
    assert turn.handoff is None and turn.context.topic == "withdraw_failed"


def test_a_detail_of_the_case_stays_with_the_answer(knowledge_base: KnowledgeBase) -> None:
    """「是建行的卡」「金额是五千」 right after the answer on failed withdrawals tell more of
    that case; 「是不是要手续费」 asks anew."""
    first = respond(knowledge_base, "提现失败了怎么办", Context())
    assert first.context.topic == "withdraw_failed"
    for detail in ("是建行的卡 昨天取钱还好好的", "金额是五千"):
        turn = respond(knowledge_base, detail, first.context)
        assert turn.context.topic == "withdraw_failed" and "follow_up" in turn.signals
    asked = respond(knowledge_base, "怎么充值", Context())
    assert respond(knowledge_base, "是不是要手续费", asked.context).context.topic == "fees"
    # Another kind the KB is sure of corrects the topic: 「是充值没到账」.
    corrected = respond(knowledge_base, "是充值没到账", first.context)
    assert corrected.context.topic == "topup_delay" and "follow_up" not in corrected.signals


@pytest.mark.parametrize(
    ("text", "intent"),
    [("已经五个小时了", "affirm"), ("bank是HSBC香港", "affirm"), ("是三井住友的visa", "affirm"),
     ("在电脑上订机票 想用okpay付", "bot_challenge")],
)  # fmt: skip
def test_a_fact_heard_as_small_talk_is_read(
    knowledge_base: KnowledgeBase, text: str, intent: str
) -> None:
    """NLU hears a yes or 「你是机器人吗」 in a fact of the user's case; it is read."""
    first = respond(knowledge_base, "充值了但是没到账", Context())
    assert not respond(knowledge_base, text, first.context, intent=intent).small_talk
    for pleasantry in ("好的谢谢", "嗯嗯好的", "是的", "好的 我晚点再去试一下"):
        assert respond(knowledge_base, pleasantry, first.context, intent="affirm").small_talk


def test_an_angry_follow_up_on_one_aspect_still_gets_that_part(
    knowledge_base: KnowledgeBase,
) -> None:
    first = respond(knowledge_base, "急死了 充值一直没到账", Context())
    assert first.context.frustrated and first.context.topic == "topup_delay"
    turn = respond(knowledge_base, "急死了 到底要多久才能到", first.context)
    assert turn.handoff is None and "follow_up" in turn.signals


def test_a_space_inside_the_clause_that_rules_a_cause_out(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "付款失败", Context())
    text = respond(knowledge_base, "余额 是够的", first.context).answer.replies[0].text
    assert "其他几种可能" in text and "余额" not in text


def test_a_success_beside_a_problem_stays_as_its_context() -> None:
    assert signals.read("谢谢 显示成功了 对方怎么没收到").question == "显示成功了，对方怎么没收到"


def test_scorn_for_the_answer_is_anger_but_a_question_about_it_is_not() -> None:
    assert signals.read("回答的啥啊 跟没说一样").frustrated
    assert signals.read("你这答的什么").frustrated
    assert not signals.read("客服回答的是什么意思").frustrated
    # Someone else's reply asked about is no scorn for ours.
    for text in ("商家回的啥", "审核回复的是什么"):
        assert not signals.read(text).frustrated


def test_emoji_say_nothing() -> None:
    assert signals.read("ok 明白了👌").question == ""
    assert signals.read("充值没到账😭😭").question == "充值没到账"
    assert signals.read("👍🏻").question == ""


@pytest.mark.parametrize(
    ("question", "late", "topic"),
    [("充值两个小时了还没到账", "都半小时了", "topup_delay"),
     ("怎么提现", "现在都过了24小时了", "withdraw_failed")],
)  # fmt: skip
def test_late_after_an_answer_quotes_what_to_do_when_it_is_late(
    knowledge_base: KnowledgeBase, question: str, late: str, topic: str
) -> None:
    first = respond(knowledge_base, question, Context())
    turn = respond(knowledge_base, late, first.context)
    assert turn.context.topic == topic
    text = turn.answer.replies[0].text
    assert "未到账" in text and "没有比上面更具体" not in text


def test_anger_again_with_nothing_to_look_up_hands_off(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "充了钱没到账", Context())
    impatient = respond(knowledge_base, "回话啊", first.context)
    assert impatient.handoff is None and impatient.context.frustrated
    complaint = respond(knowledge_base, "我要投诉你们", impatient.context)
    assert complaint.handoff is not None
    assert complaint.handoff.reason is HandoffReason.FRUSTRATION
    # Angry again but asking something new: answered (with the apology), not handed off.
    asked = respond(knowledge_base, "垃圾app 提现要手续费吗", impatient.context)
    assert asked.handoff is None and asked.context.topic is not None


@pytest.mark.parametrize("request_", ["我要投诉，给我提个工单", "太气人了 帮我登记一下"])
def test_angry_again_asking_for_a_ticket_gets_the_form_not_a_person(
    knowledge_base: KnowledgeBase, request_: str
) -> None:
    """Angry twice, but the second message asks for the form in so many words: the apology,
    and the form asks next; a person is what the user did not ask for."""
    angry = Context(topic="withdraw_failed", answered=True, frustrated=True)
    turn = respond(knowledge_base, request_, angry)
    assert turn.handoff is None and turn.opens_ticket and "ticket" in turn.signals
    assert [reply.text for reply in turn.answer.replies] == [APOLOGY]
    # Without the request, the same anger gets a person.
    assert respond(knowledge_base, "我要投诉你们", angry).handoff is not None


def test_only_a_kind_of_the_topic_narrows_it(knowledge_base: KnowledgeBase) -> None:
    """「不是我的」 after the transaction records names no kind of them: it is read as it
    stands (the safety steps), not as 「which kind」."""
    first = respond(knowledge_base, "怎么查交易记录", Context())
    turn = respond(knowledge_base, "不是我的", first.context)
    assert "没有比上面更具体" not in turn.answer.replies[0].text


def test_urgent_risk_is_a_handoff_with_safety_steps(knowledge_base: KnowledgeBase) -> None:
    turn = respond(knowledge_base, "我的卡被盗刷了，不是我操作的", Context())
    assert turn.handoff is not None
    assert turn.handoff.urgent and turn.handoff.reason is HandoffReason.URGENT
    assert "冻结" in turn.answer.replies[0].text


def test_a_person_request_hands_off_with_the_question(knowledge_base: KnowledgeBase) -> None:
    turn = respond(knowledge_base, "提现三天了还没到，转人工", Context(), intent="ask_faq")
    assert turn.handoff is not None
    assert turn.handoff.reason is HandoffReason.USER_REQUEST and not turn.handoff.urgent
    assert turn.handoff.question == "提现三天了还没到"


def test_a_bare_request_shows_the_agent_the_whole_message(knowledge_base: KnowledgeBase) -> None:
    # Without 「叫…经理」 only 「出来」 would be left: nothing for the agent to read.
    turn = respond(knowledge_base, "叫你们经理出来", Context())
    assert turn.handoff is not None and turn.handoff.question == "叫你们经理出来"


def test_frustration_apologises_and_offers_a_person(knowledge_base: KnowledgeBase) -> None:
    turn = respond(knowledge_base, "垃圾app，提现一直失败，气死我了", Context())
    assert turn.handoff is None
    assert "抱歉" in turn.answer.replies[0].text
    assert turn.answer.replies[-1].buttons[0].payload == REQUEST_HUMAN
    assert turn.context.frustrated
    assert "frustration" in turn.signals


def test_an_angry_request_for_a_person_is_apologised_for(knowledge_base: KnowledgeBase) -> None:
    turn = respond(knowledge_base, "你们这什么破机器人 说了等于没说 给老子转人工 马上", Context())
    assert turn.handoff is not None and not turn.handoff.urgent
    assert [reply.text for reply in turn.answer.replies] == [APOLOGY]
    # A calm request gets the person without it.
    calm = respond(knowledge_base, "麻烦帮我转人工", Context())
    assert calm.handoff is not None and calm.answer.replies == ()


def test_an_angry_question_is_answered_on_its_question(knowledge_base: KnowledgeBase) -> None:
    turn = respond(knowledge_base, "你们这什么破服务，充值三个小时还没到账，太气人了", Context())
    assert turn.handoff is None and "frustration" in turn.signals
    assert "抱歉" in turn.answer.replies[0].text
    assert {c["id"] for c in turn.answer.candidates[:3]} & {"topup_delay"}
    assert any(b.payload == REQUEST_HUMAN for r in turn.answer.replies for b in r.buttons)


def test_anger_alone_gets_an_apology_and_a_person(knowledge_base: KnowledgeBase) -> None:
    turn = respond(knowledge_base, "你们客服形同虚设", Context())
    (reply,) = turn.answer.replies
    assert "抱歉" in reply.text and reply.buttons[0].payload == REQUEST_HUMAN
    assert turn.context.frustrated and not turn.answer.candidates


def test_still_not_working_after_an_answer_offers_a_person(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "充值两个小时了还没到账", Context())
    assert first.context.topic == "topup_delay"
    turn = respond(knowledge_base, "试了，还是不行", first.context)
    assert "not_solved" in turn.signals and turn.handoff is None
    texts = [reply.text for reply in turn.answer.replies]
    assert first.answer.replies[0].text not in texts
    assert turn.answer.replies[-1].buttons[0].payload == REQUEST_HUMAN
    assert turn.context.topic == "topup_delay"


def test_none_of_the_options_asks_again_and_forgets_them(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "密码", Context())
    assert first.context.offered
    turn = respond(knowledge_base, "都不是", first.context, intent="deny")
    assert "none_of_these" in turn.signals and not turn.small_talk
    assert turn.context.offered == ()
    assert any(b.payload == REQUEST_HUMAN for r in turn.answer.replies for b in r.buttons)


def test_a_rejection_is_not_read_as_an_option_s_words(knowledge_base: KnowledgeBase) -> None:
    # 「不是」 is also in 「…不是本人操作的交易…」: still a rejection of the list.
    context = Context(offered=("suspicious_activity", "fraud_scam"))
    turn = respond(knowledge_base, "不是这个", context)
    assert "none_of_these" in turn.signals and turn.context.offered == ()


def test_yes_to_a_single_option_answers_it(knowledge_base: KnowledgeBase) -> None:
    turn = respond(knowledge_base, "是的", Context(offered=("password_reset",)), intent="affirm")
    assert "choice" in turn.signals and turn.context.topic == "password_reset"


def test_still_failing_is_not_a_new_subject(knowledge_base: KnowledgeBase) -> None:
    # 失败、重置 are synonym targets, but they say how it went, not what it is about.
    first = respond(knowledge_base, "付款失败怎么办", Context())
    assert first.context.topic == "payment_failed"
    for text in ("还是失败", "重置了还是不行"):
        assert "not_solved" in respond(knowledge_base, text, first.context).signals
    # They still are the wallet's words in a message of their own.
    angry = respond(knowledge_base, "气死 支付一直失败", Context())
    assert angry.answer.decision is not Decision.FALLBACK


def test_asking_after_the_money_follows_the_topic(knowledge_base: KnowledgeBase) -> None:
    # Every answer of a wallet is about money: 「钱呢」 names no subject of its own.
    first = respond(knowledge_base, "充值了还没到账", Context())
    assert first.context.topic == "topup_delay"
    for text in ("钱呢", "垃圾app 钱呢"):
        turn = respond(knowledge_base, text, first.context)
        assert "follow_up" in turn.signals and turn.context.topic == "topup_delay"
    assert "not_solved" in respond(knowledge_base, "钱还是没到", first.context).signals


@pytest.mark.parametrize(
    ("first", "follow_up", "topic", "quoted"),
    [
        # Where to find it: the sentence with the App's menus.
        ("怎么开启两步验证", "这个在哪设置", "two_factor", "安全中心"),
        # Naming nothing of its own, it is about the topic, not about closing the account.
        ("二次验证在哪开", "开了以后能关掉吗", "two_factor", "不建议关闭"),
        # What to bring: the sentence naming documents.
        ("换手机号", "要准备什么材料", "change_phone", "材料"),
        # Where to keep it: the sentence on where not to store it.
        ("助记词怎么备份", "它能存在微信收藏里吗", "mnemonic_safety", "不要存进"),
        # One of the entry's own questions, in no word of its answer: closest in meaning.
        ("官方app在哪下载", "朋友发来一个apk说是新版，能装吗", "official_app", "安装包"),
    ],
)
def test_a_follow_up_quotes_the_part_that_answers_it(
    knowledge_base: KnowledgeBase, first: str, follow_up: str, topic: str, quoted: str
) -> None:
    before = respond(knowledge_base, first, Context())
    assert before.context.topic == topic
    turn = respond(knowledge_base, follow_up, before.context)
    assert "follow_up" in turn.signals and turn.context.topic == topic
    assert quoted in turn.answer.replies[0].text


def test_an_aspect_the_answer_says_nothing_of_is_not_quoted_by_meaning(
    knowledge_base: KnowledgeBase,
) -> None:
    # The card answer has no word on how many cards: the honest reply says so.
    before = respond(knowledge_base, "請問怎麼綁定信用卡", Context())
    assert before.context.topic == "bind_card"
    turn = respond(knowledge_base, "那最多可以綁幾張", before.context)
    assert "follow_up" in turn.signals and "最多可以绑几张" in turn.answer.replies[0].text


def test_a_follow_up_to_a_clarify_list_asks_to_pick_first(knowledge_base: KnowledgeBase) -> None:
    listed = respond(knowledge_base, "钱没到账", Context())
    assert listed.answer.decision is Decision.CLARIFY and listed.context.offered
    turn = respond(knowledge_base, "那怎么办", listed.context)
    assert "pick_first" in turn.signals and turn.context.offered == listed.context.offered
    shown = [button.payload for button in turn.answer.replies[0].buttons]
    assert shown == [clarify_payload(faq_id) for faq_id in listed.context.offered]
    # The list still picks; another matter is no follow-up to it.
    assert "choice" in respond(knowledge_base, "1", turn.context).signals
    assert "pick_first" not in respond(knowledge_base, "今天天气怎么样", listed.context).signals


@pytest.mark.parametrize("intent", [None, "affirm"])
def test_a_pick_that_names_no_option_shows_the_list_again(
    knowledge_base: KnowledgeBase, intent: str | None
) -> None:
    """「上面那个」 to a list of three (NLU may hear a yes): which one is not said."""
    listed = respond(knowledge_base, "钱没到账", Context())
    assert len(listed.context.offered) > 1
    turn = respond(knowledge_base, "上面那个", listed.context, intent=intent)
    assert "pick_first" in turn.signals and not turn.small_talk
    assert (
        respond(knowledge_base, "最上面那个", listed.context).context.topic
        == (listed.context.offered[0])
    )
    # With no list shown, 「这个」 is nothing to pick from.
    assert "pick_first" not in respond(knowledge_base, "上面那个", Context()).signals


def test_not_this_question_to_an_answer_asks_again(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "付款失败", Context())
    assert first.context.answered
    turn = respond(knowledge_base, "不是这个问题", first.context)
    assert "none_of_these" in turn.signals and turn.answer.replies[0].text == NOT_THIS_ANSWER


@pytest.mark.parametrize("text", ["我想问一下", "问个问题", "我有个问题"])
def test_announcing_a_question_is_no_question(text: str) -> None:
    assert signals.read(text).question == ""
    assert signals.read(f"{text}，提现多久到账").question == "提现多久到账"
    # 「问下单后多久发货」 asks about an order: 下单 is no 问下.
    assert signals.read("问下单后多久发货").question == "问下单后多久发货"


def test_an_amount_left_is_no_second_question() -> None:
    assert signals.clauses("里面还有两百多块钱咋办") == ["里面还有两百多块钱咋办"]
    assert signals.clauses("限额是多少 还有一个问题 怎么改密码")[-1] == "怎么改密码"


def test_words_pointing_back_lean_on_the_topic(knowledge_base: KnowledgeBase) -> None:
    # 「里面」 is the account just closed; money left there is what its answer says of 余额.
    first = respond(knowledge_base, "怎么注销账户", Context())
    assert first.context.topic == "close_account"
    turn = respond(knowledge_base, "里面还有几十块钱怎么办", first.context)
    assert "follow_up" in turn.signals and "余额" in turn.answer.replies[0].text


def test_still_not_working_is_about_the_last_answer_only(knowledge_base: KnowledgeBase) -> None:
    # The topic is remembered, but a clarify came since: nothing was just answered.
    context = Context(topic="topup_delay", answered=False)
    assert "not_solved" not in respond(knowledge_base, "还是不行", context).signals


def test_several_questions_offer_each_of_the_others(knowledge_base: KnowledgeBase) -> None:
    turn = respond(
        knowledge_base, "怎么注销账户？另外怎么开启两步验证？还有怎么换绑手机号？", Context()
    )
    assert "several_questions" in turn.signals
    answered = turn.context.topic
    offered = [chosen_faq_id(b.payload) for b in turn.answer.replies[-1].buttons if b.payload]
    assert len(offered) == 2 and answered not in offered


def test_escalate_human_offers_a_person_first(knowledge_base: KnowledgeBase) -> None:
    human = [faq for faq in knowledge_base.faqs if faq.escalate == "human"]
    assert human
    turn = respond(knowledge_base, human[0].question, Context())
    assert turn.answer.replies[-1].buttons[0].payload == REQUEST_HUMAN


def test_small_talk_around_a_question_answers_it(knowledge_base: KnowledgeBase) -> None:
    assert respond(knowledge_base, "好的 拜拜", Context(), intent="goodbye").small_talk
    turn = respond(knowledge_base, "谢谢，另外怎么换绑手机号", Context(), intent="thank")
    assert not turn.small_talk and turn.context.topic is not None


def test_the_context_is_rebuilt_from_a_transcript() -> None:
    def message(role: str, text: str = "", kb: dict[str, str] | None = None, buttons=()):  # type: ignore[no-untyped-def]
        return SimpleNamespace(role=role, text=text, kb=kb, buttons=list(buttons))

    button = SimpleNamespace(payload=clarify_payload("bind_card"), title="绑卡")
    transcript = [
        message("user", "垃圾，气死了"),
        message("bot", "……", {"decision": "answer", "faq_id": "topup_delay"}),
        message("user", "密码"),
        message("bot", "请选择", {"decision": "clarify", "faq_id": "x"}, [button]),
    ]
    context = context_from_history(transcript)
    assert context == Context("topup_delay", ("bind_card",), 0, False, True, asked="密码")
    # 「都不是」 was answered with other buttons: a later 「1」 picks from those, not the list.
    person = SimpleNamespace(payload=REQUEST_HUMAN, title="转人工客服")
    rejected = [*transcript, message("user", "都不是"), message("bot", "好的", None, [person])]
    assert context_from_history(rejected).offered == ()
    assert context_from_history(rejected).listed_before == ()
    # Two answers: the first is the topic before the second.
    later = [*transcript, message("bot", "……", {"decision": "answer", "faq_id": "fees"})]
    assert context_from_history(later).earlier == "topup_delay"
    # The answer to a side question after the list: 「1」 may still pick from it.
    side = [*transcript, message("user", "手续费呢"), later[-1]]
    assert context_from_history(side).listed_before == ("bind_card",)
    helped = SimpleNamespace(payload="/affirm", title="是")
    asked = [*side, message("bot", "解决了吗", None, [helped])]
    assert context_from_history(asked).listed_before == ("bind_card",)
    # A turn after that which lists nothing leaves no list before it (「7」, 「转人工」).
    then = [*asked, message("user", "7"), message("bot", "只有 3 个", {"decision": "fallback"})]
    assert context_from_history(then).listed_before == ()


def test_a_number_after_a_side_question_picks_from_the_list_before(
    knowledge_base: KnowledgeBase,
) -> None:
    listed = respond(knowledge_base, "密码忘了", Context())
    assert len(listed.context.offered) >= 2
    side = respond(knowledge_base, "怎么查看余额", listed.context)
    assert side.context.offered == () and side.context.listed_before == listed.context.offered
    for pick in ("1", "那就选第一个"):
        turn = respond(knowledge_base, pick, side.context)
        assert turn.context.topic == listed.context.offered[0]
    # Turned down, the list picks nothing more.
    rejected = respond(knowledge_base, "都不是", listed.context)
    assert rejected.context.listed_before == ()
    assert respond(knowledge_base, "1", rejected.context).context.topic is None


@pytest.mark.parametrize(
    ("turns", "topic", "quoted"),
    [
        # The fees answer says nothing of when a withdrawal arrives; the withdrawal does.
        (("怎么提现到银行卡", "要手续费吗", "大概几天能到"), "withdraw_how", "预计到账时间"),
        # Back to cross-border transfers: its part on rates, not all of it again.
        (("跨境汇款怎么操作", "手续费多少", "汇率呢"), "cross_border_transfer", "汇率"),
    ],
)
def test_a_follow_up_may_be_about_the_topic_before(
    knowledge_base: KnowledgeBase, turns: tuple[str, ...], topic: str, quoted: str
) -> None:
    context = Context()
    for text in turns[:-1]:
        context = respond(knowledge_base, text, context).context
    assert context.topic == "fees" and context.earlier == topic
    turn = respond(knowledge_base, turns[-1], context)
    assert "follow_up" in turn.signals and turn.context.topic == topic
    assert (
        turn.answer.replies[0].text.startswith("关于这一点")
        and quoted in turn.answer.replies[0].text
    )


def test_a_new_subject_is_not_read_as_a_follow_up(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "冲值一直没到帐", Context())
    turn = respond(knowledge_base, "密码", first.context)
    assert "follow_up" not in turn.signals
    shown = {c["id"] for c in turn.answer.candidates}
    assert shown & {"password_reset", "payment_password_reset"}


class ScriptedKB:
    """The real entries, with the KB's decisions scripted per text (else: fall back)."""

    def __init__(
        self,
        kb: KnowledgeBase,
        script: dict[str, tuple[Decision, list[str]]],
        scores: dict[str, float] | None = None,
        outside: dict[str, float] | None = None,
        held_back: frozenset[str] = frozenset(),
    ) -> None:
        self._kb = kb
        self._script = script
        self._scores = scores or {}
        self._outside = outside or {}
        # Texts whose best entry the head's doubt kept from a direct answer.
        self._held_back = held_back

    def get(self, faq_id: str) -> FAQ | None:
        return self._kb.get(faq_id)

    @property
    def manifest(self) -> object:
        return self._kb.manifest

    def best_among(self, text: str, wanted: object) -> Candidate | None:
        return None

    def same_category(self, faq: FAQ) -> tuple[FAQ, ...]:
        return self._kb.same_category(faq)

    def query(self, text: str, top_k: int = 3) -> QueryResult:
        decision, ids = self._script.get(text, (Decision.FALLBACK, []))
        candidates = []
        for rank, faq_id in enumerate(ids):
            faq = self._kb.get(faq_id)
            assert faq is not None
            top = 0.15 if decision is Decision.FALLBACK else 0.5  # a fallback's best is weak
            top = self._scores.get(text, top)
            candidates.append(Candidate(faq, top - rank / 20, 0.5, 0.5))
        return QueryResult(
            decision,
            candidates,
            1.0,
            held_back=text in self._held_back,
            outside=self._outside.get(text, 0.0),
        )


def test_a_clause_does_not_narrow_a_message_the_faq_surely_does_not_cover(
    knowledge_base: KnowledgeBase,
) -> None:
    """The head is sure the FAQ does not cover 「能不能借钱啊 我最近手头有点紧」 as a whole:
    its asking clause's guesses (what the wallet does) are no plausible choices, and the
    honest fallback stays. Unsure, the clause narrows the lost story as before."""
    asked, story = "你们这个钱包能不能借钱啊", "我最近手头有点紧"
    whole = f"{asked}，{story}"
    script = {
        whole: (Decision.FALLBACK, ["about_wallet"]),
        asked: (Decision.CLARIFY, ["about_wallet", "supported_regions"]),
    }
    sure = ScriptedKB(knowledge_base, script, outside={whole: 0.83})
    turn = respond(cast(KnowledgeBase, sure), f"{asked} {story}", Context())
    assert turn.answer.decision is Decision.FALLBACK
    unsure = ScriptedKB(knowledge_base, script, outside={whole: 0.3})
    turn = respond(cast(KnowledgeBase, unsure), f"{asked} {story}", Context())
    assert turn.answer.decision is Decision.CLARIFY


def test_a_clause_that_only_sets_the_scene_does_not_take_over(
    knowledge_base: KnowledgeBase,
) -> None:
    """「原来那张卡注销了」 sets the scene; the question is how to add the new card. The whole
    message narrowed it to two choices; a clause whose answer is neither is context."""
    scene, question = "原来那张卡注销了", "怎么换一张新的上去"
    kb = ScriptedKB(
        knowledge_base,
        {
            f"{scene}，{question}": (Decision.CLARIFY, ["change_phone", "bind_card"]),
            scene: (Decision.ANSWER, ["close_account"]),
        },
    )
    turn = respond(cast(KnowledgeBase, kb), f"{scene} {question}", Context())
    assert turn.answer.decision is Decision.CLARIFY
    assert turn.context.offered == ("change_phone", "bind_card")
    # A clause that settles it among the choices does take over.
    kb = ScriptedKB(
        knowledge_base,
        {
            f"{scene}，{question}": (Decision.CLARIFY, ["change_phone", "bind_card"]),
            question: (Decision.ANSWER, ["bind_card"]),
        },
    )
    turn = respond(cast(KnowledgeBase, kb), f"{scene} {question}", Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "bind_card")


def test_a_story_whose_question_points_nowhere_keeps_to_what_it_is_about(
    knowledge_base: KnowledgeBase,
) -> None:
    """「请问这是什么情况」 points at no entry: of the clauses the KB answers, the one that
    agrees with the message as a whole (the top-up), not the scene with the higher score."""
    paid, records, asked = "往钱包里充了两千块钱", "交易记录里面这笔显示处理中", "这是什么情况"
    script = {
        f"{paid}，{records}，{asked}": (Decision.FALLBACK, ["topup_delay", "transfer_pending"]),
        paid: (Decision.ANSWER, ["topup_delay"]),
        records: (Decision.ANSWER, ["transaction_history"]),
        asked: (Decision.FALLBACK, ["about_wallet"]),
    }
    kb = ScriptedKB(knowledge_base, script, {paid: 0.4, records: 0.45})
    turn = respond(cast(KnowledgeBase, kb), f"{paid} {records} {asked}", Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "topup_delay")
    # Where no answered clause agrees with the whole, the best scored one still answers.
    script[f"{paid}，{records}，{asked}"] = (Decision.FALLBACK, ["transfer_pending"])
    turn = respond(cast(KnowledgeBase, kb), f"{paid} {records} {asked}", Context())
    assert turn.context.topic == "transaction_history"


def test_a_story_held_back_by_the_head_is_answered_when_it_keeps_coming_back(
    knowledge_base: KnowledgeBase,
) -> None:
    """The whole story clears the answer's score and lead and only the head's "none of
    these" holds it back (amounts, banks and family look like nothing it was taught):
    when two clauses lead to the same entry and nothing else is asked or answered, the
    story is about it."""
    paid, debited, missing, asked = (
        "我用农行卡往钱包里充了800块",
        "农行短信说扣款成功了",
        "可是钱包里一直没有",
        "孩子还等着交钱呢",
    )
    whole = "，".join((paid, debited, missing, asked))
    script: dict[str, tuple[Decision, list[str]]] = {
        whole: (Decision.FALLBACK, ["topup_delay", "withdraw_failed"]),
        paid: (Decision.FALLBACK, ["topup_delay"]),
        missing: (Decision.CLARIFY, ["topup_delay", "withdraw_how"]),
        asked: (Decision.FALLBACK, ["transfer_pending"]),
    }
    message = "，".join((paid, debited, missing, asked))
    kb = ScriptedKB(knowledge_base, script, outside={whole: 0.37}, held_back=frozenset({whole}))
    turn = respond(cast(KnowledgeBase, kb), message, Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "topup_delay")
    # Not held back (too weak to answer as a whole): no answer from the story alone.
    weak = ScriptedKB(knowledge_base, script, outside={whole: 0.37})
    assert respond(cast(KnowledgeBase, weak), message, Context()).answer.decision is not (
        Decision.ANSWER
    )
    # The head sure that the FAQ does not cover it: no answer either.
    sure = ScriptedKB(knowledge_base, script, outside={whole: 0.7}, held_back=frozenset({whole}))
    assert respond(cast(KnowledgeBase, sure), message, Context()).answer.decision is not (
        Decision.ANSWER
    )
    # A clause that asks and is offered something else: the story does not decide.
    script[asked] = (Decision.CLARIFY, ["transfer_pending"])
    kb = ScriptedKB(knowledge_base, script, outside={whole: 0.37}, held_back=frozenset({whole}))
    assert respond(cast(KnowledgeBase, kb), message, Context()).context.topic != "topup_delay"


def test_the_trouble_told_narrows_a_lost_story(knowledge_base: KnowledgeBase) -> None:
    """「…她今天在菜市场摊上扫码付钱一直显示交易失败 …啥原因啊」: the question alone points
    nowhere and the story as a whole is under the clarify line; the trouble, told in the
    wallet's words, offers its choices instead of a fallback."""
    scene, trouble, asked = (
        "帮我妈弄的这个钱包",
        "她今天在菜市场摊上扫码付钱一直显示交易失败",
        "啥原因啊",
    )
    whole = "，".join((scene, trouble, asked))
    script: dict[str, tuple[Decision, list[str]]] = {
        whole: (Decision.FALLBACK, ["qr_payment", "payment_failed"]),
        trouble: (Decision.CLARIFY, ["qr_payment", "payment_failed"]),
        asked: (Decision.FALLBACK, ["payment_failed"]),
    }
    message = " ".join((scene, trouble, asked))
    kb = ScriptedKB(knowledge_base, script, outside={whole: 0.23})
    turn = respond(cast(KnowledgeBase, kb), message, Context())
    assert turn.answer.decision is Decision.CLARIFY
    assert turn.context.offered == ("qr_payment", "payment_failed")
    # The head sure the FAQ does not cover the message: the honest fallback stays.
    sure = ScriptedKB(knowledge_base, script, outside={whole: 0.8})
    assert respond(cast(KnowledgeBase, sure), message, Context()).answer.decision is (
        Decision.FALLBACK
    )


def test_a_long_story_is_read_up_to_its_question(knowledge_base: KnowledgeBase) -> None:
    """Nine clauses, the question last: the scene at the start is what is left unread, and
    the entry that the whole, the question and two clauses of the story agree on is
    offered, not the scene clause's answer (how to use the wallet)."""
    scene = ["我今年六十八了", "孩子在外地上班", "上个月教会我用这个钱包", "说可以给孙子发红包"]
    story = ["我昨天给孙子转了两百块", "孩子打电话说没收到", "我这边看还写着处理中"]
    asked = ["想问问这钱到底去哪了", "会不会丢啊"]
    script: dict[str, tuple[Decision, list[str]]] = {
        "，".join(scene + story + asked): (Decision.FALLBACK, ["transfer_pending", "fees"]),
        "上个月教会我用这个钱包": (Decision.ANSWER, ["about_wallet"]),
        "我昨天给孙子转了两百块": (Decision.CLARIFY, ["transfer_pending", "fraud_scam"]),
        "孩子打电话说没收到": (Decision.CLARIFY, ["transfer_pending", "fraud_scam"]),
        "想问问这钱到底去哪了": (Decision.FALLBACK, ["topup_delay", "transfer_pending"]),
    }
    kb = ScriptedKB(knowledge_base, script)
    turn = respond(cast(KnowledgeBase, kb), " ".join(scene + story + asked), Context())
    assert turn.answer.decision is Decision.CLARIFY
    assert turn.context.offered == ("transfer_pending",)
    # Led to, but offered by no clause on its own: no plausible choice, the fallback.
    script["我昨天给孙子转了两百块"] = (Decision.FALLBACK, ["transfer_pending"])
    script["孩子打电话说没收到"] = (Decision.FALLBACK, ["transfer_pending"])
    turn = respond(cast(KnowledgeBase, kb), " ".join(scene + story + asked), Context())
    assert turn.answer.decision is Decision.FALLBACK
    # Told only once, the entry is no agreement: the honest fallback.
    script["我昨天给孙子转了两百块"] = (Decision.CLARIFY, ["transfer_pending", "fraud_scam"])
    del script["孩子打电话说没收到"]
    turn = respond(cast(KnowledgeBase, kb), " ".join(scene + story + asked), Context())
    assert turn.answer.decision is Decision.FALLBACK


def test_a_clause_does_not_settle_it_away_from_the_topic(knowledge_base: KnowledgeBase) -> None:
    """Changing the phone number, then 「旧号已经停机了 收不到验证码」: the codes clause alone
    would be about two-step verification, but the topic is among the choices."""
    scene, problem = "旧号已经停机了", "收不到验证码"
    kb = ScriptedKB(
        knowledge_base,
        {
            f"{scene}，{problem}": (Decision.CLARIFY, ["two_factor", "change_phone"]),
            problem: (Decision.ANSWER, ["two_factor"]),
        },
    )
    turn = respond(cast(KnowledgeBase, kb), f"{scene} {problem}", Context(topic="change_phone"))
    assert turn.answer.decision is Decision.CLARIFY
    assert "change_phone" in turn.context.offered
    # Without that topic, the clause settles it.
    turn = respond(cast(KnowledgeBase, kb), f"{scene} {problem}", Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "two_factor")


def test_the_scene_does_not_settle_it_against_the_question(
    knowledge_base: KnowledgeBase,
) -> None:
    """「…以前都是去银行汇，…，我要怎么转给他」: the old habit alone answers remittances
    abroad, one of the two choices; the question points at the other one, so the choice
    stays with the user. A question that points at neither leaves the scene to settle it."""
    scene, asked = "以前都是去银行汇", "我要怎么转给他"
    whole = f"{scene}，{asked}"
    script: dict[str, tuple[Decision, list[str]]] = {
        whole: (Decision.CLARIFY, ["cross_border_transfer", "transfer_how"]),
        scene: (Decision.ANSWER, ["cross_border_transfer"]),
        asked: (Decision.CLARIFY, ["fraud_scam", "transfer_how"]),
    }
    kb = ScriptedKB(knowledge_base, script)
    turn = respond(cast(KnowledgeBase, kb), whole, Context())
    assert turn.answer.decision is Decision.CLARIFY
    assert turn.context.offered == ("cross_border_transfer", "transfer_how")
    script[asked] = (Decision.FALLBACK, ["fees"])
    turn = respond(cast(KnowledgeBase, kb), whole, Context())
    assert turn.context.topic == "cross_border_transfer"
    # Nor does a question the KB places nowhere (「怎么弄啊」), whatever its guesses.
    script[asked] = (Decision.FALLBACK, ["transfer_how"])
    turn = respond(cast(KnowledgeBase, kb), whole, Context())
    assert turn.context.topic == "cross_border_transfer"


def test_a_story_that_keeps_coming_back_to_a_choice_settles_it(
    knowledge_base: KnowledgeBase,
) -> None:
    """No trouble told settles the choices (收不到验证码 alone is about two-step
    verification), but two clauses answer changing the number and the story keeps
    coming back to it: that is the answer."""
    clauses = [
        "我老公帮我注册的账户",
        "用的是他以前的手机号",
        "现在那个号已经停机了",
        "我登录要验证码根本收不到",
        "想把手机号换成我自己的",
    ]
    script: dict[str, tuple[Decision, list[str]]] = {
        "，".join(clauses): (Decision.CLARIFY, ["change_phone", "register", "password_reset"]),
        clauses[1]: (Decision.ANSWER, ["change_phone"]),
        clauses[2]: (Decision.FALLBACK, ["change_phone"]),
        clauses[3]: (Decision.ANSWER, ["two_factor"]),
        clauses[4]: (Decision.ANSWER, ["change_phone"]),
    }
    kb = ScriptedKB(knowledge_base, script)
    turn = respond(cast(KnowledgeBase, kb), "，".join(clauses), Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "change_phone")
    # Said once only, it is no agreement: the choices stay.
    script[clauses[2]] = (Decision.FALLBACK, ["register"])
    script[clauses[4]] = (Decision.FALLBACK, ["register"])
    turn = respond(cast(KnowledgeBase, kb), "，".join(clauses), Context())
    assert turn.answer.decision is Decision.CLARIFY


def test_the_story_around_a_problem_does_not_settle_it(knowledge_base: KnowledgeBase) -> None:
    """「昨晚订酒店用钱包付款 一直转圈最后提示付款未成功」: the first clause alone is about
    paying online, and the KB is surer of it than of the problem; the problem settles it."""
    scene, problem = "昨晚订酒店用钱包付款", "一直转圈最后提示付款未成功"
    whole = (Decision.CLARIFY, ["payment_failed", "transfer_pending", "online_checkout"])
    kb = ScriptedKB(
        knowledge_base,
        {
            f"{scene}，{problem}": whole,
            scene: (Decision.ANSWER, ["online_checkout"]),
            problem: (Decision.ANSWER, ["payment_failed"]),
        },
        scores={scene: 0.49, problem: 0.44},
    )
    turn = respond(cast(KnowledgeBase, kb), f"{scene} {problem}", Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "payment_failed")
    # Nor does the story settle it alone, while the problem names no single entry.
    kb = ScriptedKB(
        knowledge_base,
        {f"{scene}，{problem}": whole, scene: (Decision.ANSWER, ["online_checkout"])},
    )
    turn = respond(cast(KnowledgeBase, kb), f"{scene} {problem}", Context())
    assert turn.answer.decision is Decision.CLARIFY
    assert turn.context.offered[0] == "payment_failed"


def test_clauses_that_settle_it_differently_follow_the_whole_message(
    knowledge_base: KnowledgeBase,
) -> None:
    """Two troubled clauses answered on their own: the one the whole message ranks first
    wins, even when the KB is surer of the other one alone."""
    first, second = "提现一直没到账", "银行卡也绑不上"
    kb = ScriptedKB(
        knowledge_base,
        {
            f"{first}，{second}": (Decision.CLARIFY, ["withdraw_failed", "bind_card"]),
            first: (Decision.ANSWER, ["withdraw_failed"]),
            second: (Decision.ANSWER, ["bind_card"]),
        },
        scores={second: 0.9, first: 0.5},
    )
    turn = respond(cast(KnowledgeBase, kb), f"{first} {second}", Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "withdraw_failed")


@pytest.mark.parametrize(
    ("text", "asks"),
    [("我什么都没干啊", False), ("怎么都不行", False), ("什么也没收到", False),
     ("什么时候到账", True), ("怎么还没到", True), ("为什么要冻结什么都不说", True),
     ("最多可以绑几张", True), ("一天能转几笔", True), ("我啥都没干啊", False),
     ("这几笔钱都没到账", False), ("十几笔都失败了", False)],
)  # fmt: skip
def test_any_is_not_a_question(text: str, asks: bool) -> None:
    """什么 and 怎么 before 都 or 也 mean "any": 「我什么都没干啊」 tells, it does not ask."""
    assert signals.asks(text) is asks


def test_emphasis_and_a_plain_cause_ask_no_aspect() -> None:
    """「我是真的没收到」 stresses, 「因为我换了手机」 tells; neither asks after trust or a
    cause, so neither gets the sentence on scams or on causes."""
    trust = "自称能帮您提额并先收费的都是骗局。到账时间以页面显示为准。"
    assert relevant_part(trust, "这是真的吗") == "自称能帮您提额并先收费的都是骗局。"
    assert relevant_part(trust, "我是真的没收到") is None
    causes = "常见原因有：密码多次输错、异常登录。\n1. 重新登录后再试。"
    assert relevant_part(causes, "是不是因为这个") == "常见原因有：密码多次输错、异常登录。"
    assert relevant_part(causes, "因为我换了手机") is None


def test_being_told_before_is_no_request_for_a_person() -> None:
    assert not signals.read("有没有人跟我说过这个").wants_person
    assert not signals.read("他们找个人跟我说是客服").wants_person


def test_a_statement_on_the_topic_gets_no_list_of_guesses(knowledge_base: KnowledgeBase) -> None:
    """「我什么都没干啊」 after the answer on locked accounts names nothing of the wallet;
    three unrelated choices would be guesses. Read with the topic, it is about the lock."""
    locked = knowledge_base.get("account_locked")
    assert locked is not None
    told, asked = "我什么都没干啊", "你们几点下班啊"
    guesses = (Decision.CLARIFY, ["about_wallet", "transfer_pending", "payment_failed"])
    kb = ScriptedKB(
        knowledge_base,
        {
            told: guesses,
            f"{locked.question} {told}": (Decision.ANSWER, ["account_locked"]),
            asked: (Decision.CLARIFY, ["contact_support", "about_wallet"]),
            f"{locked.question} {asked}": (Decision.ANSWER, ["account_locked"]),
        },
    )
    context = Context(topic="account_locked", answered=True)
    turn = respond(cast(KnowledgeBase, kb), told, context)
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "account_locked")
    assert turn.answer.replies[0].text == NOTHING_MORE_TOLD
    # A question of its own is no statement on the topic: its choices stand.
    turn = respond(cast(KnowledgeBase, kb), asked, context)
    assert turn.answer.decision is Decision.CLARIFY
    assert turn.context.offered[0] == "contact_support"


def test_what_the_topic_speaks_of_is_a_follow_up(knowledge_base: KnowledgeBase) -> None:
    """「余额里还有钱怎么办」 after the answer on closing the account: alone the KB can only
    guess between balance entries, but the closing answer says what to do with the balance."""
    closing = knowledge_base.get("close_account")
    assert closing is not None and "余额" in closing.answer
    question = "余额里还有钱怎么办"
    kb = ScriptedKB(
        knowledge_base,
        {
            question: (Decision.CLARIFY, ["check_balance", "topup_methods", "withdraw_how"]),
            f"{closing.question} {question}": (Decision.ANSWER, ["close_account"]),
        },
    )
    turn = respond(cast(KnowledgeBase, kb), question, Context(topic="close_account", answered=True))
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "close_account")
    assert "余额" in turn.answer.replies[0].text
    assert "follow_up" in turn.signals
    # Naming what the answer never speaks of (汇率), it is a question of its own.
    other = "汇率怎么算"
    assert "汇率" not in closing.answer
    kb = ScriptedKB(
        knowledge_base,
        {
            other: (Decision.CLARIFY, ["cross_border_transfer", "fees"]),
            f"{closing.question} {other}": (Decision.ANSWER, ["close_account"]),
        },
    )
    turn = respond(cast(KnowledgeBase, kb), other, Context(topic="close_account", answered=True))
    assert turn.answer.decision is Decision.CLARIFY


def test_a_question_on_an_aspect_is_answered_by_a_sentence_on_it(
    knowledge_base: KnowledgeBase,
) -> None:
    """「到账要多久」 asks how long: the fees answer's 「实际到账金额」 shares a word and says
    nothing of time; the withdrawal answer's 「预计到账时间」 does."""
    fees, withdraw, locked = (
        knowledge_base.get(faq_id) for faq_id in ("fees", "withdraw_how", "account_locked")
    )
    assert fees is not None and withdraw is not None and locked is not None
    assert "到账" in fees.answer
    assert relevant_part(fees.answer, "到账要多久") is None
    assert "到账时间" in (relevant_part(withdraw.answer, "到账要多久") or "")
    # 「是不是因为这个」 asks after the cause.
    assert "常见原因" in (relevant_part(locked.answer, "是不是因为这个") or "")


@pytest.mark.parametrize(
    ("topic", "follow_up", "quoted"),
    [("mnemonic_safety", "截图存相册可以吗", "不要截图"),
     ("mnemonic_safety", "我忘了抄 还能找回吗", "无法由平台找回"),
     ("contact_support", "可信吗", "不要相信"),
     ("topup_delay", "会退吗", "原路退回"),
     ("close_account", "里面还有200块怎么办", "余额全部提现")],
)  # fmt: skip
def test_the_answer_s_own_sentence_is_quoted(
    knowledge_base: KnowledgeBase, topic: str, follow_up: str, quoted: str
) -> None:
    """Follow-ups that the topic's answer does speak to: where to keep it, whether it can
    be recovered, whether to trust it, whether the money comes back, money left in it."""
    faq = knowledge_base.get(topic)
    assert faq is not None
    assert quoted in (relevant_part(faq.answer, follow_up) or "")


@pytest.mark.parametrize(
    ("kind", "expected"), [("提现的", "withdraw_failed"), ("转账的呢", "transfer_pending")]
)
def test_another_kind_of_the_same_trouble_switches_the_topic(
    knowledge_base: KnowledgeBase, kind: str, expected: str
) -> None:
    """「提现的」 after the answer on late top-ups: the top-up answer says nothing of
    withdrawals, so it is the same trouble with a withdrawal, not 「nothing more」."""
    context = Context(topic="topup_delay", answered=True)
    turn = respond(knowledge_base, kind, context)
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, expected)
    # A kind the topic's answer does speak of stays with it (the limits of transfers).
    turn = respond(knowledge_base, kind, Context(topic="limits", answered=True))
    assert (turn.context.topic, "follow_up" in turn.signals) == ("limits", True)


def test_a_kind_the_topic_s_question_names_stays_with_it(knowledge_base: KnowledgeBase) -> None:
    """「冻结的呢」 after the answer on locked or frozen accounts: its own kind."""
    locked = knowledge_base.get("account_locked")
    assert locked is not None and "冻结" in locked.question
    turn = respond(knowledge_base, "冻结的呢", Context(topic="account_locked", answered=True))
    assert turn.context.topic == "account_locked"


def test_and_what_about_another_kind(knowledge_base: KnowledgeBase) -> None:
    """「那充值呢」 after how to withdraw asks how to top up; after the fees answer, which
    names top-ups among its kinds, it asks after the fees of top-ups."""
    turn = respond(knowledge_base, "那充值呢", Context(topic="withdraw_how", answered=True))
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "topup_methods")
    turn = respond(knowledge_base, "那充值呢", Context(topic="fees", answered=True))
    assert (turn.context.topic, "follow_up" in turn.signals) == ("fees", True)
    assert "充值" in turn.answer.replies[0].text


def test_an_option_is_picked_by_what_describes_it(knowledge_base: KnowledgeBase) -> None:
    """「付钱时输的那个」 to the two password resets: the KB points to one of them and to
    no other option offered."""
    offered = Context(offered=("password_reset", "payment_password_reset"))
    kb = ScriptedKB(
        knowledge_base,
        {
            "付钱时输的那个": (Decision.CLARIFY, ["payment_password_reset"]),
            "登不进app那个": (Decision.CLARIFY, ["password_reset", "system_maintenance"]),
            "密码那个": (Decision.CLARIFY, ["password_reset", "payment_password_reset"]),
            "手续费多少": (Decision.CLARIFY, ["fees", "withdraw_how"]),
            "两个密码都要": (Decision.CLARIFY, ["password_reset"]),
            "我说的不是这个": (Decision.FALLBACK, ["payment_password_reset", "fees"]),
            "转账时用的": (Decision.ANSWER, ["transfer_how", "payment_password_reset", "fees"]),
            "怎么重置的": (Decision.CLARIFY, ["password_reset"]),
            "今天早上的": (Decision.FALLBACK, ["password_reset"]),
            "付款时没输对的": (Decision.CLARIFY, ["payment_password_reset", "account_locked"]),
            "没有我要的那个": (Decision.CLARIFY, ["payment_password_reset"]),
        },
    )
    for text, picked in (
        ("付钱时输的那个", "payment_password_reset"),
        ("登不进app那个", "password_reset"),
        # The KB would answer something else, but of the options only this one is near.
        ("转账时用的", "payment_password_reset"),
        # A 不/没 that describes the option denies nothing.
        ("付款时没输对的", "payment_password_reset"),
    ):
        turn = respond(cast(KnowledgeBase, kb), text, offered)
        assert "choice" in turn.signals and turn.context.topic == picked
        assert turn.answer.decision is Decision.ANSWER
    # Words that fit two of the options, or something else first, or that do not point
    # at an option (「两个密码都要」), pick nothing.
    for text in (
        "密码那个",
        "手续费多少",
        "两个密码都要",
        "我说的不是这个",
        "怎么重置的",
        "今天早上的",
        "没有我要的那个",
    ):
        turn = respond(cast(KnowledgeBase, kb), text, offered)
        assert "choice" not in turn.signals
    # Without a list there is nothing to pick.
    assert "choice" not in respond(cast(KnowledgeBase, kb), "付钱时输的那个", Context()).signals


def test_a_correction_turns_one_option_down_and_picks_another(
    knowledge_base: KnowledgeBase,
) -> None:
    """「不是登录那个 我说的是付钱时候要输的那串数字」: the denial rules one option out and
    the rest of the message names or describes the one meant, by words or position."""
    offered = Context(offered=("password_reset", "payment_password_reset", "account_locked"))
    kb = ScriptedKB(
        knowledge_base,
        {
            "付钱时候要输的那串数字": (
                Decision.CLARIFY,
                ["password_reset", "payment_password_reset"],
            ),
            # The user names another entry the KB is sure of: that one, not a near option.
            "充值失败": (Decision.ANSWER, ["topup_delay", "payment_password_reset"]),
        },
    )
    for text, picked in (
        ("不是登录那个 我说的是付钱时候要输的那串数字", "payment_password_reset"),
        ("不是第一个，是第二个", "payment_password_reset"),
        ("不是登录的 是账户被锁那个", "account_locked"),
    ):
        turn = respond(cast(KnowledgeBase, kb), text, offered)
        assert "choice" in turn.signals and turn.context.topic == picked, text
    for text in ("不是第一个，是第一个", "不是这个 是充值失败"):
        assert "choice" not in respond(cast(KnowledgeBase, kb), text, offered).signals, text
    assert signals.correction("不是登录那个 我说的是付钱时候要输的那串数字") == (
        "登录",
        "付钱时候要输的那串数字",
    )
    # A denial with nothing named after it is no correction.
    assert signals.correction("不是这个") is None
    assert signals.correction("不是登录那个 也不是支付的") is None
    assert signals.correction("不是登录那个也不是支付的") is None


def test_a_number_that_picks_nothing_says_what_can_be_picked(
    knowledge_base: KnowledgeBase,
) -> None:
    offered = Context(offered=("password_reset", "payment_password_reset"), topic="fees")
    turn = respond(knowledge_base, "3", offered, intent="goodbye")
    assert "no_such_option" in turn.signals and not turn.small_talk and turn.handoff is None
    assert "1–2" in turn.answer.replies[0].text
    # No buttons of its own: a digit typed next still picks from the list on screen.
    assert not turn.answer.replies[0].buttons
    assert turn.context == offered  # the list can still be picked from
    assert "no_such_option" in respond(knowledge_base, "10", offered).signals
    alone = respond(knowledge_base, "第三个", Context(), intent="goodbye")
    assert "no_such_option" in alone.signals and "编号" in alone.answer.replies[0].text
    # Rebuilt from the transcript (degraded mode), the list survives the reply too.
    history = [
        SimpleNamespace(role="bot", text="", buttons=[], kb={"decision": "clarify"}),
        SimpleNamespace(role="user", text="3", buttons=[], kb=None),
        SimpleNamespace(role="bot", text=turn.answer.replies[0].text, buttons=[], kb=None),
    ]
    history[0].buttons = [SimpleNamespace(payload=clarify_payload(i)) for i in offered.offered]
    assert context_from_history(history).offered == offered.offered
    assert respond(knowledge_base, "2", offered).context.topic == "payment_password_reset"


def test_money_sent_after_a_scam_came_up_is_urgent(knowledge_base: KnowledgeBase) -> None:
    first = respond(knowledge_base, "有人说能帮我把转账额度提高 先交500手续费 靠谱吗", Context())
    assert first.handoff is None and "scam" in first.signals and first.context.urgent
    turn = respond(knowledge_base, "我已经给他转过去了", first.context)
    assert turn.handoff is not None and turn.handoff.urgent
    assert "冻结" in turn.answer.replies[0].text
    # Without the scam before, the same words are no emergency; nor is a payment of one's
    # own, or a refusal, after one.
    calm = respond(knowledge_base, "我已经给他转过去了", Context())
    assert calm.handoff is None
    for text in ("我已经付款了但订单还显示待支付", "我没给他转钱 也没告诉他验证码"):
        assert respond(knowledge_base, text, first.context).handoff is None
    # A question about scams in general is no scammer in touch with the user.
    for asked in (
        "怎么防止被诈骗",
        "万一有人打电话说是你们客服怎么办",
        "有人打电话说是你们客服 我没理他",
    ):
        general = respond(knowledge_base, asked, Context())
        assert "scam" in general.signals and not general.context.urgent
        calm = respond(knowledge_base, "我已经转给她了 她说没收到", general.context)
        assert calm.handoff is None
    # A request for a person said while being approached is urgent at once.
    turn = respond(knowledge_base, "有人给我打电话说是你们的客服 是真的吗 转人工", Context())
    assert turn.handoff is not None and turn.handoff.urgent and turn.context.urgent
    # Nor does a list on screen turn it into a pick.
    listed = replace(first.context, offered=("topup_delay", "transfer_pending"))
    turn = respond(knowledge_base, "我已经给他转过去了", listed)
    assert turn.handoff is not None and turn.handoff.urgent and "choice" not in turn.signals


def test_the_clauses_that_ask_carry_the_question(knowledge_base: KnowledgeBase) -> None:
    """In a long story only the asking clause is the question: a scene-setting clause
    that the KB would answer on its own (「好多年没联系了」 → contacting support) is not."""
    story = "转给了另一个老王"
    scene, question = "好多年没联系了", "这钱还能拿回来吗"
    kb = ScriptedKB(
        knowledge_base,
        {
            scene: (Decision.ANSWER, ["contact_support"]),
            question: (Decision.CLARIFY, ["wrong_recipient"]),
        },
    )
    turn = respond(cast(KnowledgeBase, kb), f"{story} {scene} {question}", Context())
    assert turn.answer.decision is Decision.CLARIFY
    assert turn.context.offered == ("wrong_recipient",)
    assert "several_questions" not in turn.signals
    # A message of statements only is still read clause by clause.
    turn = respond(cast(KnowledgeBase, kb), f"{story} {scene}", Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "contact_support")
    # A question about nothing of the wallet (「不知道为什么」) carries no question.
    kb = ScriptedKB(knowledge_base, {"余额显示不对": (Decision.ANSWER, ["check_balance"])})
    turn = respond(cast(KnowledgeBase, kb), "不知道为什么 余额显示不对", Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "check_balance")


def test_a_scene_the_kb_answers_does_not_outvote_what_the_question_points_to(
    knowledge_base: KnowledgeBase,
) -> None:
    """Nothing answers the whole story, nor its asking clause; of the clauses the KB does
    answer, the one the question points to is taken, not the scene with the higher score
    (「给我妈转生活费」 would be how to transfer)."""
    scene, slip, question = "给我妈转生活费", "结果通讯录里选错了人", "你们能直接帮我撤回吗"
    kb = ScriptedKB(
        knowledge_base,
        {
            scene: (Decision.ANSWER, ["transfer_how"]),
            slip: (Decision.ANSWER, ["wrong_recipient"]),
            question: (Decision.FALLBACK, ["wrong_recipient", "transfer_pending"]),
        },
        scores={scene: 0.56, slip: 0.38},
    )
    turn = respond(cast(KnowledgeBase, kb), f"{scene} {slip} {question}", Context())
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "wrong_recipient")
    # A question that points at neither leaves the choice to the scores.
    kb = ScriptedKB(
        knowledge_base,
        {
            scene: (Decision.ANSWER, ["transfer_how"]),
            slip: (Decision.ANSWER, ["wrong_recipient"]),
            question: (Decision.FALLBACK, ["fees"]),
        },
        scores={scene: 0.56, slip: 0.38},
    )
    turn = respond(cast(KnowledgeBase, kb), f"{scene} {slip} {question}", Context())
    assert turn.context.topic == "transfer_how"


def test_a_short_message_on_another_matter_does_not_lean_on_the_topic(
    knowledge_base: KnowledgeBase,
) -> None:
    """Read with the topic's question in front, anything short looks like the topic; a
    follow-up must say so, ask after an aspect, or be near the topic on its own."""
    after = Context(topic="payment_password_reset", answered=True)
    turn = respond(knowledge_base, "今天北京天气怎么样", after)
    assert "follow_up" not in turn.signals and turn.answer.decision is Decision.FALLBACK
    assert "follow_up" in respond(knowledge_base, "那要多久", after).signals


def test_someone_working_on_the_user_gets_the_entry_on_scams(
    knowledge_base: KnowledgeBase,
) -> None:
    """「有人说能帮我提额 先交手续费 靠谱吗」 names fees, but the user needs to hear about the
    scam: of the KB's candidates, the entry on scams is answered, after the warning."""
    pitch = "有人说能帮我提额 先交手续费 靠谱吗"
    general = "听说提额要先交手续费 手续费怎么收"
    kb = ScriptedKB(
        knowledge_base,
        {
            pitch.replace(" ", "，"): (Decision.ANSWER, ["fees", "fraud_scam", "limits"]),
            general.replace(" ", "，"): (Decision.ANSWER, ["fees", "fraud_scam", "limits"]),
        },
    )
    turn = respond(cast(KnowledgeBase, kb), pitch, Context())
    assert turn.answer.decision is Decision.ANSWER and turn.context.topic == "fraud_scam"
    assert "scam" in turn.signals and turn.answer.replies[0].text == SCAM_WARNING
    # Hearsay is no one working on the user: the question asked is answered.
    turn = respond(cast(KnowledgeBase, kb), general, Context())
    assert turn.context.topic == "fees"
    # None among the candidates: the KB's best entry on scams, wherever it ranks.
    relayed = respond(knowledge_base, "我爸说有人加他微信说可以帮他提额 要先交500手续费", Context())
    assert relayed.context.topic == "fraud_scam"
    assert relayed.answer.replies[0].text == SCAM_WARNING
    # No entry on scams anywhere (the scripted KB has nothing beyond its script): the
    # KB's answer stands, warned.
    kb = ScriptedKB(
        knowledge_base, {pitch.replace(" ", "，"): (Decision.ANSWER, ["fees", "limits"])}
    )
    turn = respond(cast(KnowledgeBase, kb), pitch, Context())
    assert turn.context.topic == "fees" and turn.answer.replies[0].text == SCAM_WARNING


def test_staff_claimed_in_other_words_and_money_for_a_limit_are_scams(
    knowledge_base: KnowledgeBase,
) -> None:
    """「群主说他是官方客服 能帮我解冻提现 但要先交300手续费」 is 自称 in other words, and
    「交200块就能帮我提额」 a fee for help, though no 费 is named: both warned, the entry on
    scams answered. Someone who only does that job, or the user paying, is no scam."""
    for pitch in (
        "我加了个QQ群 群主说他是OKPay官方客服 能帮我解冻提现 但要先交300手续费 这靠谱吗",
        "有人说交200块就能帮我提额 是真的吗",
        # The fee told first, and the code asked for a few words on.
        "群里有个人说交300手续费就能帮我把额度提到50万 还要我登录号码和验证码 可以吗",
    ):
        assert signals.read(pitch).scam, pitch
        turn = respond(knowledge_base, pitch, Context())
        assert "scam" in turn.signals and turn.answer.replies[0].text == SCAM_WARNING
        assert turn.context.topic == "fraud_scam", pitch
    for innocent in (
        "我朋友说他是做客服的",
        "我交了钱就能提额吗",
        "他说他是你们的老用户了",
        "对方要我设置一个新密码",
        "银行要我输验证码",
    ):
        assert not signals.read(innocent).scam, innocent


def test_a_correction_sets_the_topic_aside(knowledge_base: KnowledgeBase) -> None:
    """「不是看余额，是余额少了一笔钱」 after the balance answer asks about the money gone,
    not about checking the balance again."""
    first = respond(knowledge_base, "怎么查余额", Context())
    assert first.context.topic == "check_balance"
    said = signals.read("不是看余额，是余额少了一笔钱")
    assert said.question == "余额少了一笔钱" and signals.corrects(said.text)
    turn = respond(knowledge_base, "不是看余额，是余额少了一笔钱", first.context)
    assert "follow_up" not in turn.signals and turn.context.topic != "check_balance"
    wanted = respond(knowledge_base, "我不是要看余额，我想看每一笔的明细", first.context)
    assert wanted.context.topic == "transaction_history"
    # Denying having done it corrects nothing.
    assert not signals.corrects("不是我操作的，我要冻结账户")


def test_a_wallet_app_that_is_not_the_official_one_is_a_scam(
    knowledge_base: KnowledgeBase,
) -> None:
    """「群里有人发了个内部版钱包的链接 说收益高」: someone works on the user (「有人发了」 is
    their sending, nothing of the user's given yet); installed and logged in next, urgent."""
    said = signals.read("群里有人发了个内部版钱包的链接 说收益高")
    assert said.scam and said.approached and not said.complied and not said.urgent
    first = respond(knowledge_base, "群里有人发了个内部版钱包的链接 说收益高", Context())
    assert "scam" in first.signals and first.handoff is None
    turn = respond(knowledge_base, "我已经装了 还登录了", first.context)
    assert turn.handoff is not None and turn.handoff.urgent


def test_what_the_other_party_does_later_is_read_on_guard(knowledge_base: KnowledgeBase) -> None:
    """「他发了个你们的官方截图」 after someone promised a prize for a fee: the entry on
    fakes and scams among the choices is the answer, not a list beside it."""
    text = "他发了个你们的官方截图"
    kb = ScriptedKB(knowledge_base, {text: (Decision.CLARIFY, ["keep_receipts", "official_app"])})
    turn = respond(cast(KnowledgeBase, kb), text, Context(urgent=True))
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "official_app")
    # With nobody working on the user before, the choices stand.
    assert respond(cast(KnowledgeBase, kb), text, Context()).answer.decision is Decision.CLARIFY


@pytest.mark.parametrize(
    ("text", "gave"),
    [("有个人发了个链接", False), ("网友给我发了个链接", False), ("他们发了个截图", False),
     ("我给他发了验证码", True), ("刚给对方发了验证码", True), ("验证码我发了", True)],
)  # fmt: skip
def test_the_other_party_sending_is_not_the_user_giving(text: str, gave: bool) -> None:
    assert signals.read(text).complied is gave


@pytest.mark.parametrize(
    "text",
    ["短信验证码收不到，账户锁定了，登录网站也登不上",
     "收到短信说账户锁定了，我去官网登录网站也不行",
     "高级版钱包有什么功能"],
)  # fmt: skip
def test_a_users_own_lock_is_no_phishing(text: str) -> None:
    said = signals.read(text)
    assert not said.scam and not said.approached


def test_a_sure_answer_is_kept_after_a_scam_came_up(knowledge_base: KnowledgeBase) -> None:
    """Once someone worked on the user, 「我老婆说她也想开户」 is still a question the KB
    is sure of: no entry on scams instead."""
    text = "我老婆说她也想开户"
    kb = ScriptedKB(knowledge_base, {text: (Decision.ANSWER, ["register", "official_app"])})
    turn = respond(cast(KnowledgeBase, kb), text, Context(urgent=True))
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "register")


@pytest.mark.parametrize(
    "pushed",
    ["收到短信说我钱包账户异常，让点链接验证", "收到短信说我账户被限制了 要点链接补资料",
     "收到短信说账户要升级 点链接登录"],
)  # fmt: skip
def test_a_message_pushing_a_link_then_a_password_typed_is_urgent(
    knowledge_base: KnowledgeBase, pushed: str
) -> None:
    first = respond(knowledge_base, pushed, Context())
    assert "scam" in first.signals and first.handoff is None and first.context.urgent
    turn = respond(knowledge_base, "我点了，还输了登录密码", first.context)
    assert turn.handoff is not None and turn.handoff.urgent


@pytest.mark.parametrize(
    ("text", "opens"),
    [("充值三天了没到账，帮我登记一下", True), ("麻烦提交个工单", True), ("帮我提交一个工单", True),
     ("帮我把这个问题报给后台处理", True), ("提交工单后多久回复", False),
     ("之前提交工单了 没人回", False), ("去派出所登记一下", False), ("我的工单处理到哪了", False),
     ("商家开单子了吗", False), ("提交工单：充值没到账，订单号CZ20240601778", True),
     ("我想提交一个投诉 付款失败了还扣了钱", True), ("我要申诉 提现被退回了好几次", True),
     ("我要反馈问题 提现被冻结了好几天了", True), ("提交工单要多久才有人处理", False),
     ("我要投诉", False), ("提交投诉后多久有结果", False),
     ("想提交个工单 昨天充值了300 余额一直没变", True), ("不想提交工单", False)],
)  # fmt: skip
def test_a_request_to_open_a_ticket(text: str, opens: bool) -> None:
    assert signals.read(text).opens_ticket is opens


def test_a_person_named_as_who_handles_the_ticket_is_no_handoff() -> None:
    """「要人工后面处理的那种工单」 asks for the ticket; the person is who will handle it."""
    said = signals.read("帮我登记一下问题 要人工后面处理的那种工单")
    assert said.opens_ticket and not said.wants_person
    assert signals.read("帮我转人工").wants_person
    # A person asked for beside a ticket is still asked for.
    assert signals.read("我要人工 帮我提交个工单").wants_person
    assert signals.read("给我转人工 我要提工单").wants_person


@pytest.mark.parametrize(
    ("text", "declines"),
    [("不用转人工 我自己看看 就问下支付密码咋改", True), ("先不需要人工哈 再问下最少充多少", True),
     ("转人工", False), ("不要机器人 给我转人工", False), ("人工审核要多久", False)],
)  # fmt: skip
def test_a_person_turned_down(text: str, declines: bool) -> None:
    assert signals.declines_person(text) is declines


@pytest.mark.parametrize(
    ("text", "worked"),
    [("绑好了 多谢", True), ("到账了", True), ("好了谢谢", False), ("没好", False),
     ("成功了吗", False), ("谢谢", False), ("提现到账了，但少了十块", False), ("收到", False),
     ("好的 可以了", False), ("正常", False)],
)  # fmt: skip
def test_news_that_it_worked(text: str, worked: bool) -> None:
    assert signals.says_it_worked(text) is worked


@pytest.mark.parametrize(
    ("text", "question"),
    [("好的谢谢 886", ""), ("88", ""), ("提现886块", "提现886块"), ("转了88元", "转了88元"),
     ("88 块钱没到账", "88 块钱没到账"), ("88.5元没到账", "88.5元没到账"),
     ("12.5元没到账", "12.5元没到账")],
)  # fmt: skip
def test_internet_goodbyes_are_small_talk(text: str, question: str) -> None:
    assert signals.read(text).question == question


@pytest.mark.parametrize(
    ("text", "pleasantry"),
    [("好的谢谢 886", "goodbye"), ("好的 多谢", "thank"), ("好的 拜拜", "goodbye"),
     ("转了88元", None), ("好的", None)],
)  # fmt: skip
def test_which_pleasantry_a_message_amounts_to(text: str, pleasantry: str | None) -> None:
    assert signals.pleasantry_of(text) == pleasantry


@pytest.mark.parametrize("text", ["已经等了一下午了", "已经过了三个工作日了", "等了一整晚"])
def test_how_long_it_has_been_is_a_fact_of_the_case(text: str) -> None:
    assert signals.tells_a_fact(signals.read(text))


@pytest.mark.parametrize(
    ("text", "about"),
    [("真人客服啥时候在线", True), ("人工客服几点下班", True), ("客服电话多少", True),
     ("转人工客服", False), ("客服太慢了", False)],
)  # fmt: skip
def test_a_question_about_the_staff(text: str, about: bool) -> None:
    assert signals.asks_about_the_service(text) is about


def test_a_currency_asked_after_an_answer_is_a_question_of_its_own(
    knowledge_base: KnowledgeBase,
) -> None:
    """「可以用哪些幣」 after what the wallet is: 币 names a subject; not 「nothing more」."""
    first = respond(knowledge_base, "这个钱包能干嘛", Context())
    assert first.context.topic == "about_wallet"
    turn = respond(knowledge_base, "可以用哪些幣", first.context)
    assert "follow_up" not in turn.signals
    assert turn.answer.candidates[0]["id"] == "supported_currencies"


def test_going_back_to_the_earlier_topic_in_so_many_words(knowledge_base: KnowledgeBase) -> None:
    """「那还是说锁号的事」 after a side question on a wrong recipient: the locked account."""
    first = respond(knowledge_base, "帐户被锁了 登不进去", Context())
    assert first.context.topic == "account_locked"
    side = respond(knowledge_base, "先不管这个 我上礼拜转错人了 钱还能要回来吗", first.context)
    assert side.context.topic == "wrong_recipient"
    back = respond(knowledge_base, "行 那还是说锁号的事 要多久能解开", side.context)
    assert back.context.topic == "account_locked"


def test_new_trouble_after_a_side_question_is_no_follow_up_on_it(
    knowledge_base: KnowledgeBase,
) -> None:
    """「那要是扫了付不出去是什么原因」 after a side question on currencies: trouble of its
    own, though it starts with 那."""
    first = respond(knowledge_base, "在便利店怎么用这个扫码付钱", Context())
    side = respond(knowledge_base, "btw 能用港币吗", first.context)
    assert side.context.topic == "supported_currencies"
    turn = respond(knowledge_base, "ok 那要是扫了付不出去是什么原因", side.context)
    assert turn.answer.candidates[0]["id"] != "supported_currencies"
    assert "payment_failed" in [candidate["id"] for candidate in turn.answer.candidates]


def test_typing_a_secret_into_a_link_after_being_approached_is_giving_it() -> None:
    """「收到条短信…让点链接输密码」, then 「我已经输进去了」: done as told; typing one's
    password into the official app is not."""
    assert signals.read("收到条短信说钱包要升级 让点链接输密码").approached
    assert signals.read("我已经输进去了 怎么办啊").complied
    assert not signals.read("我在官方app里输入了登录密码 还是登不上").complied


@pytest.mark.parametrize(
    ("text", "trouble"),
    [("网上买东西也付不了", True), ("钱转不出去", True), ("钱包余额一直没变", True),
     ("我什么都没动 它自己就这样了", False), ("他也用这个app", False)],
)  # fmt: skip
def test_what_tells_of_trouble(text: str, trouble: bool) -> None:
    assert signals.reports_trouble(text) is trouble


def test_everyday_words_for_back_are_no_way_back(knowledge_base: KnowledgeBase) -> None:
    """「退款会回到原来的卡上吗」 after a side question: a question of its own, not a
    return to the locked account."""
    first = respond(knowledge_base, "帐户被锁了 登不进去", Context())
    side = respond(knowledge_base, "先不管这个 我上礼拜转错人了 钱还能要回来吗", first.context)
    turn = respond(knowledge_base, "退款会回到原来的卡上吗", side.context)
    assert turn.context.topic != "account_locked"


@pytest.mark.parametrize(
    ("text", "question"),
    [("我想提交一个投诉 付款失败了还扣了钱", "付款失败了还扣了钱"),
     ("充值三天了没到账，帮我登记一下", "充值三天了没到账"),
     ("我要申诉 提现被退回了好几次", "提现被退回了好几次"),
     ("我要提交工单", "我要提交工单")],
)  # fmt: skip
def test_the_request_to_file_is_not_part_of_the_question(text: str, question: str) -> None:
    """Beside the problem, the request is the form's to take; looked up, 「我想提交一个投诉」
    would be a question about contacting us. Alone, it is what the user asks."""
    assert signals.read(text).question == question


@pytest.mark.parametrize(
    ("text", "dropped"),
    [
        ("算了 不注销了 拜拜", True),
        ("那我先不转了 谢谢", True),
        ("不弄了", True),
        ("算了算了 我不想注销了", True),
        ("那就先不提现了吧", True),
        ("哦 没有就算了 拜拜", True),  # told there is none, the user lets it go
        ("不支持的话那就算了 谢谢", True),
        ("还是不行了", False),  # it does not work: no matter dropped
        ("不注销了 那会员怎么退", False),  # says more
        ("不转了吗？", False),
        ("没有就算了 那怎么提现", False),
    ],
)
def test_a_matter_dropped_is_small_talk_not_a_question(
    knowledge_base: KnowledgeBase, text: str, dropped: bool
) -> None:
    """「算了 不注销了 拜拜」 names the closing of the account only to drop it: no answer on
    closing it again, whatever the KB would make of the words."""
    kb = ScriptedKB(knowledge_base, {})
    assert signals.drops_the_matter(text) is dropped
    if dropped:
        assert respond(kb, text, Context(topic="close_account", answered=True)).small_talk


@pytest.mark.parametrize(
    ("text", "parting"),
    [("行吧 谢谢 下次别再出bug了", True), ("好吧 希望你们早点修好 谢谢", True),
     ("谢谢 以后注意点 拜拜", True),
     ("谢谢 下次提现能快点吗", False),  # asks
     ("拜拜 以后别再乱扣我钱了", False),  # a charge to take up
     ("下次别再出bug了", False)],  # no leave taken: a complaint
)  # fmt: skip
def test_thanks_with_a_parting_wish_is_small_talk(
    knowledge_base: KnowledgeBase, text: str, parting: bool
) -> None:
    """「行吧 谢谢 下次别再出bug了」 leaves with a reproach: nothing to look up, and no
    「回答不了」 to a user who is done (the Latin 「bug」 tells no fact of the case)."""
    assert signals.leaves_with_words(text) is parting
    if parting:
        after = respond(knowledge_base, "充值没到账", Context())
        assert respond(knowledge_base, text, after.context).small_talk


@pytest.mark.parametrize(
    ("text", "choices"),
    [
        ("提现有问题", ["withdraw_how", "withdraw_failed"]),
        ("我的提现出问题了", ["withdraw_how", "withdraw_failed"]),
        # More than a subject and 「有问题」: the KB's own decision stands.
        ("提现有问题 昨天提了五百到现在没到", []),
        ("余额有利息吗", []),
    ],
)
def test_a_subject_with_a_vague_problem_lists_the_entries_that_name_it(
    knowledge_base: KnowledgeBase, text: str, choices: list[str]
) -> None:
    """「提现有问题」: the KB falls back (too little to be sure), but the user said where
    the trouble is; the candidates whose own question names 提现 are the choices."""
    candidates = ["withdraw_how", "withdraw_failed", "contact_support"]
    kb = ScriptedKB(knowledge_base, {text: (Decision.FALLBACK, candidates)})
    turn = respond(kb, text, Context())
    offered = [
        chosen_faq_id(button.payload)
        for reply in turn.answer.replies
        for button in reply.buttons
        if chosen_faq_id(button.payload)
    ]
    assert offered == choices
    assert (turn.answer.decision is Decision.CLARIFY) is bool(choices)


@pytest.mark.parametrize(
    ("text", "still"),
    [
        ("刷新了 重新登录了 还是没有", True),
        ("卸载重装过 还是登不上", True),
        ("还是不行 另外提现怎么弄", False),  # a new question besides
        ("充值了吗 还是没有", False),
        # Which matter, then what was tried: 「回到刚才…那个」 is no question.
        ("回到刚才闪退那个 缓存清了 也重装了 还是一点就退", True),
        ("缓存清了 也重装了 还是闪退", True),
    ],
)
def test_what_was_tried_then_still_failing_is_not_solved(
    knowledge_base: KnowledgeBase, text: str, still: bool
) -> None:
    """After an answer, 「刷新了 重新登录了 还是没有」 names 登录 only as something tried:
    the answer did not help, and a person is offered; it is no new question on logging in."""
    assert signals.tried_then_still(text) is still
    if still:
        options = ["password_reset", "kyc_verification"]
        kb = ScriptedKB(knowledge_base, {text: (Decision.CLARIFY, options)})
        turn = respond(kb, text, Context(topic="topup_delay", answered=True))
        payloads = {b.payload for reply in turn.answer.replies for b in reply.buttons}
        assert REQUEST_HUMAN in payloads
        assert turn.answer.decision is Decision.FALLBACK


def test_a_word_after_a_list_narrows_the_question_that_got_it(
    knowledge_base: KnowledgeBase,
) -> None:
    """「没到账」 gets a list without withdrawals; 「提现的」 narrows 「没到账」 to the entry on
    withdrawals not arriving, which the list did not hold."""
    script = {
        "没到账": (Decision.CLARIFY, ["topup_delay", "refund", "transfer_pending"]),
        "没到账 提现的": (Decision.ANSWER, ["withdraw_failed", "topup_delay"]),
    }
    kb = cast(KnowledgeBase, ScriptedKB(knowledge_base, script))
    first = respond(kb, "没到账", Context())
    assert first.context.offered and first.context.asked == "没到账"
    second = respond(kb, "提现的", first.context)
    assert second.context.topic == "withdraw_failed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok 3q", "thank"),
        ("好的 3q", "thank"),
        ("谢谢", "thank"),
    ],
)
def test_thanks_in_internet_slang(text: str, expected: str) -> None:
    assert signals.read(text).question == ""
    assert signals.pleasantry_of(text) == expected


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("同一笔订单被扣了两次钱", True),
        ("昨天充值了300 余额一直没变", True),
        ("还是不行", False),
        ("哪个都不行啊", False),
        ("重复好几遍了 还是不行啊", False),
        ("你说的方法我试了两笔都不行", False),
    ],
)
def test_a_problem_told_in_full_is_told_apart(text: str, told: bool) -> None:
    assert signals.tells_the_problem(text) is told


@pytest.mark.parametrize(
    ("text", "tries"),
    [
        ("好的谢谢，我重新登录看看", True),
        ("谢谢 我去试试", True),
        ("那我重新绑一下卡试试", True),
        ("我试试 但是卡绑不上怎么办", False),
        ("我去看看怎么提现", False),
        ("我重新试了还是不行", False),
        ("好 我去交易记录里看看原因", True),
        ("我去明细里看看情况吧", True),
        ("我去看看原因在哪里写着", False),
        # An errand of their own, set off on now.
        ("好 我先去银行把卡挂了 谢谢", True),
        ("谢谢 我这就去改密码", True),
        ("我去哪改密码 谢谢", False),
        ("我去充值了 但是没到账", False),
        ("我去充值了但是一直没到账 谢谢", False),
        ("好的谢谢 我去交保证金", False),  # money handed to someone is no errand
        # A wait of their own.
        ("行吧我再等两天 拜拜", True),
        ("好吧 我再等一会儿", True),
        ("那我等两天还没到怎么办", False),
        ("我等了两天了", False),
    ],
)
def test_the_user_going_to_try_it_is_told_apart(text: str, tries: bool) -> None:
    assert signals.tries_it_themselves(text) is tries


def test_going_to_try_it_or_news_that_it_worked_is_no_question(
    knowledge_base: KnowledgeBase,
) -> None:
    for text in ("好的谢谢，我重新登录看看", "转过去了，她收到了，谢谢啊"):
        assert respond(
            knowledge_base, text, Context(topic="transfer_how"), intent="ask_faq"
        ).small_talk


@pytest.mark.parametrize(
    ("text", "wants", "declines"),
    [
        ("转人工还得排队是吧，算了不用了，我下个月对账的时候再说", False, True),
        ("转人工！！算了算了不要了", False, True),
        ("算了不用了 转人工吧", True, False),
        ("太麻烦了，直接找个人帮我弄", True, False),
        ("能不能找个人帮帮我", True, False),
        ("都两天了还没退回来 找个人帮我查一下", True, False),
        ("你这说了等于没说 我要跟人说话", True, False),
        ("我想跟人聊聊这事", True, False),
        ("我不想跟人说话", False, False),
        ("网上说可以找个人查一下征信 靠谱吗", False, False),
        ("我需要和人沟通一下再决定要不要转", False, False),
        ("他不让我跟人讲 说讲了就冻结账户", False, False),
        ("他们说可以找个人核实一下身份", False, False),
        ("能不能安排个人核实一下", True, False),
        ("打字说不清楚，让你们客服打给我吧", True, False),
        ("找个人帮我代提", False, False),
        ("实名认证可以找个人帮忙吗", False, False),  # may someone else help: a question
        ("提现可以找个人帮我操作吗", False, False),
        ("客服打电话给我说要退款", False, False),
    ],
)
def test_a_person_asked_for_and_thought_better_of(text: str, wants: bool, declines: bool) -> None:
    assert signals.read(text).wants_person is wants
    assert signals.declines_person(text) is declines


@pytest.mark.parametrize(
    ("text", "scam"),
    [
        ("群里发了个内部版下载链接，能装吗", True),
        ("有人发了个apk让我装", True),
        ("群里有人发了个客服号码，说打过去能退款，靠谱吗", True),
        ("你们客服电话多少", False),
        ("我想找客服退款", False),
        ("高级版钱包有什么功能", False),
        ("网上找不到客服电话 我要退款", False),
        ("对方没有安装包怎么收款", False),
        ("内测版怎么申请", False),
    ],
)
def test_apps_and_support_numbers_passed_round_are_scams(text: str, scam: bool) -> None:
    assert signals.read(text).scam is scam


def test_asking_whether_to_install_is_not_yet_an_emergency_but_having_done_so_is(
    knowledge_base: KnowledgeBase,
) -> None:
    first = respond(knowledge_base, "群里发了个内部版下载链接，能装吗", Context())
    assert first.handoff is None and first.context.urgent
    then = respond(knowledge_base, "我已经装了，还在里面登录过", first.context)
    assert then.handoff is not None and then.handoff.urgent


def test_a_new_matter_is_told_from_a_follow_up() -> None:
    assert signals.opens_another_matter("另外日元能直接放在钱包里吗")
    assert signals.opens_another_matter("对了，我老公也想注册")
    assert not signals.opens_another_matter("那日元呢")
    assert not signals.opens_another_matter("另外一张卡怎么解绑")  # the other card
    assert not signals.opens_another_matter("对了吗")


@pytest.mark.parametrize(
    ("follow_up", "moves"),
    [
        ("那如果朋友在国外呢", True),  # another circumstance: the entry on it
        ("那能设置提醒吗", False),  # something the topic may offer: the topic still
    ],
)
def test_a_follow_up_in_other_circumstances_moves_to_their_entry(
    knowledge_base: KnowledgeBase, follow_up: str, moves: bool
) -> None:
    """Read with the topic, the topic comes first, but its answer has nothing on the
    follow-up; the entry the message alone points to is close behind."""
    topic = knowledge_base.get("transfer_how")
    assert topic is not None
    script = {
        follow_up: (Decision.FALLBACK, ["cross_border_transfer", "transfer_how"]),
        f"{topic.question} {follow_up}": (
            Decision.ANSWER,
            ["transfer_how", "cross_border_transfer"],
        ),
    }
    kb = cast(KnowledgeBase, ScriptedKB(knowledge_base, script))
    turn = respond(kb, follow_up, Context(topic="transfer_how", answered=True))
    assert (turn.context.topic == "cross_border_transfer") is moves
    assert turn.context.topic in ("transfer_how", "cross_border_transfer")


@pytest.mark.parametrize(
    ("text", "stuck"),
    [
        ("我给他发消息了，已读不回，打语音也不接", True),
        ("选了原号码不可用，身份证也传了，一个礼拜了还没审核完", True),
        ("交易记录里显示处理中，已经两天了", True),
        ("我上周注册的", False),
        ("两天能到账吗", False),
    ],
)
def test_still_stuck_after_the_step_is_told_apart(text: str, stuck: bool) -> None:
    assert signals.still_stuck(text) is stuck


def test_still_stuck_after_the_answer_offers_a_person_unless_it_is_another_matter(
    knowledge_base: KnowledgeBase,
) -> None:
    stuck = "交易记录里显示处理中，已经两天了"
    elsewhere = "提现两天了还没到卡上"
    script = {
        stuck: (Decision.CLARIFY, ["transaction_history", "topup_delay"]),
        elsewhere: (Decision.ANSWER, ["withdraw_failed"]),
    }
    kb = cast(KnowledgeBase, ScriptedKB(knowledge_base, script))
    after = Context(topic="topup_delay", answered=True)
    turn = respond(kb, stuck, after)
    assert "not_solved" in turn.signals
    assert any(b.payload == REQUEST_HUMAN for r in turn.answer.replies for b in r.buttons)
    other = respond(kb, elsewhere, after)
    assert "not_solved" not in other.signals and other.context.topic == "withdraw_failed"
    # With no answer before it, the same words are a question of their own.
    assert "not_solved" not in respond(kb, stuck, Context()).signals


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("账单里多了两笔游戏充值一共648 我根本没玩过游戏", True),
        ("账单里多了一笔扣款 我没买过东西", True),
        ("我没用过这个功能 怎么开通", False),
        ("我没玩过游戏 怎么充值点券", False),
        ("我没买过东西为什么扣钱", True),
        ("我没用过转账 转出要手续费吗", False),
        ("我没充过值 第一笔充值有优惠吗", False),
    ],
)
def test_a_charge_for_something_the_user_never_bought_is_an_emergency(
    text: str, urgent: bool
) -> None:
    assert signals.read(text).urgent is urgent


def test_a_pointer_after_no_answer_narrows_what_was_asked(knowledge_base: KnowledgeBase) -> None:
    """「到账好慢怎么回事」 finds nothing; 「充值那个」 points back at it, though alone it
    reads as how to top up."""
    script = {
        "充值那个": (Decision.ANSWER, ["topup_methods"]),
        "到账好慢怎么回事 充值那个": (Decision.ANSWER, ["topup_delay"]),
    }
    kb = cast(KnowledgeBase, ScriptedKB(knowledge_base, script))
    first = respond(kb, "到账好慢怎么回事", Context())
    assert first.context.fallback_streak and first.context.asked == "到账好慢怎么回事"
    assert respond(kb, "充值那个", first.context).context.topic == "topup_delay"


@pytest.mark.parametrize("text", ["886", "88"])
def test_bye_bye_in_digits_is_no_option_number(text: str) -> None:
    assert not signals.is_bare_number(text)
    assert signals.pleasantry_of(text) == "goodbye"


@pytest.mark.parametrize("text", ["好的明白了 谢谢提醒", "谢谢你的解答"])
def test_thanks_for_the_reminder_is_thanks(text: str) -> None:
    assert signals.read(text).question == ""


def test_more_ways_of_calling_for_a_person_and_finding_a_fake_number() -> None:
    assert signals.read("人工客服在吗，充值了300到现在还没到账").wants_person
    assert not signals.read("人工客服几点上班").wants_person
    assert signals.read("百度搜到一个客服电话，说能帮我加急处理，靠谱吗").scam
    assert signals.tries_it_themselves("好滴 我去试试")


@pytest.mark.parametrize(
    ("text", "wants"),
    [("哎还是不行 还是给我接个人吧", True), ("嗯 转吧", True), ("那就转吧", True),
     ("我要去机场接个人", False), ("我马上接个人 回来再弄", False), ("转账怎么转", False),
     ("我转了", False), ("可以转", False), ("转一下", False)],
)  # fmt: skip
def test_a_person_taken_up_in_few_words(text: str, wants: bool) -> None:
    """「嗯 转吧」 to the person on offer, 「给我接个人」: a person; picking someone up
    or transferring money is not."""
    assert signals.read(text).wants_person is wants


@pytest.mark.parametrize(
    ("text", "still"),
    [("还是一点就退", True), ("还是闪退", True), ("还是退款吧", False), ("还是退出登录吧", False),
     ("还是一天就退回吗", False), ("还是黑屏模式怎么开", False)],
)  # fmt: skip
def test_the_app_still_falling_over_is_not_solved(text: str, still: bool) -> None:
    assert signals.read(text).not_solved is still


def test_saved_so_as_not_to_be_caught_again_is_no_emergency() -> None:
    said = signals.read("你们官方的客服电话到底是多少啊 网上一搜出来好几个 我存一个 省得再被骗")
    assert not said.urgent and said.asks


def test_still_failing_back_on_the_earlier_topic_is_about_that_topic(
    knowledge_base: KnowledgeBase,
) -> None:
    """「回到刚才闪退那个 … 还是一点就退」 after a side question: the earlier answer
    failed, and a person is offered for it, not the side question's entry again."""
    context = Context(topic="online_checkout", earlier="system_maintenance", answered=True)
    turn = respond(knowledge_base, "回到刚才闪退那个 缓存清了 也重装了 还是一点就退", context)
    assert "not_solved" in turn.signals
    assert turn.context.topic == "system_maintenance"
    assert any(b.payload == REQUEST_HUMAN for r in turn.answer.replies for b in r.buttons)


def test_a_follow_up_naming_the_sibling_entry_is_that_entry(
    knowledge_base: KnowledgeBase,
) -> None:
    """「那登录的那个密码呢」 after the answer on payment passwords: the entry whose question
    names login passwords, not the sentence of the topic's answer that sets them apart."""
    context = Context(topic="payment_password_reset", answered=True)
    turn = respond(knowledge_base, "那登录的那个密码呢 也想顺便换个", context)
    assert turn.answer.decision is Decision.ANSWER
    assert turn.context.topic == "password_reset"


def test_a_follow_up_naming_what_only_the_other_entry_has_is_that_entry(
    knowledge_base: KnowledgeBase,
) -> None:
    """「那网上买东西呢」 after paying in shops: 网上 is no wallet term, but the entry the KB
    answers outright has it in its question, and the topic has it nowhere."""
    context = Context(topic="qr_payment", answered=True)
    script = {"那网上买东西呢": (Decision.ANSWER, ["online_checkout", "qr_payment"])}
    kb = ScriptedKB(knowledge_base, script)
    turn = respond(cast(KnowledgeBase, kb), "那网上买东西呢", context)
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "online_checkout")


def test_a_guess_at_the_cause_follows_the_answer(knowledge_base: KnowledgeBase) -> None:
    """「是不是因为五一放假的原因啊」 after the answer on failed withdrawals guesses at the
    cause of that case: it is read with the topic, not as a question of its own."""
    context = Context(topic="withdraw_failed", answered=True)
    turn = respond(knowledge_base, "是不是因为五一放假的原因啊", context)
    assert turn.answer.decision is Decision.ANSWER
    assert turn.context.topic == "withdraw_failed"


def test_a_follow_up_the_topic_says_nothing_of_is_what_the_kb_answers(
    knowledge_base: KnowledgeBase,
) -> None:
    """「那我人在香港能用吗」 after the currencies answer: the KB answers it with the regions
    entry outright and the topic's answer has no sentence on it, so it is no follow-up to
    quote the topic for (the topic is still among the KB's candidates)."""
    context = Context(topic="supported_currencies", answered=True)
    asked = "那我人在香港能用吗"
    script = {
        asked: (
            Decision.ANSWER,
            ["supported_regions", "cross_border_transfer", "supported_currencies"],
        )
    }
    turn = respond(cast(KnowledgeBase, ScriptedKB(knowledge_base, script)), asked, context)
    assert (turn.answer.decision, turn.context.topic) == (Decision.ANSWER, "supported_regions")


def test_a_kind_narrowed_then_the_aspect_asked_again_follows_the_topic(
    knowledge_base: KnowledgeBase,
) -> None:
    """「转账呢 给朋友转也扣钱？」 after the fees answer: 「转账呢」 narrows the topic to a
    kind and the rest asks after the fees again, which the topic's answer speaks of; the
    KB alone would answer how to transfer."""
    context = Context(topic="fees", answered=True)
    fees = knowledge_base.get("fees")
    assert fees is not None
    script = {
        "转账呢，给朋友转也扣钱": (Decision.ANSWER, ["transfer_how"]),
        "转账呢": (Decision.ANSWER, ["transfer_how"]),
        f"{fees.question} 转账呢": (Decision.ANSWER, ["fees"]),
    }
    kb = cast(KnowledgeBase, ScriptedKB(knowledge_base, script))
    turn = respond(kb, "转账呢 给朋友转也扣钱？", context)
    assert turn.context.topic == "fees"
    assert "follow_up" in turn.signals


def test_a_correction_after_an_answer_answers_what_was_meant(
    knowledge_base: KnowledgeBase,
) -> None:
    """「不是这个 我说的是付款时候输的那个六位的」 after the login password answer: the words
    after the denial clear an answer's score and lead for the payment password, which
    the head alone holds back (a description is new to it)."""
    answered = Context(topic="password_reset", answered=True)
    meant = "付款时候输的那个六位的"
    script = {meant: (Decision.FALLBACK, ["payment_password_reset", "payment_failed"])}
    kb = ScriptedKB(knowledge_base, script, outside={meant: 0.2}, held_back=frozenset({meant}))
    turn = respond(cast(KnowledgeBase, kb), f"不是这个 我说的是{meant}", answered)
    assert "corrected" in turn.signals
    assert turn.context.topic == "payment_password_reset"
    # Words the KB can place nowhere, or the very entry just answered: no such answer.
    weak = ScriptedKB(knowledge_base, script, outside={meant: 0.2})
    assert (
        "corrected"
        not in respond(cast(KnowledgeBase, weak), f"不是这个 我说的是{meant}", answered).signals
    )
    same = Context(topic="payment_password_reset", answered=True)
    assert (
        "corrected"
        not in respond(cast(KnowledgeBase, kb), f"不是这个 我说的是{meant}", same).signals
    )


def test_the_request_for_a_ticket_is_set_aside_from_the_problem() -> None:
    told = signals.without_the_request("帮我提个工单 昨天充值了2000 银行扣了钱包里没有")
    assert "工单" not in told and "充值了2000" in told
    assert signals.without_the_request("充值三天了没到账") == "充值三天了没到账"


@pytest.mark.parametrize(
    ("text", "person", "ticket"),
    [
        # The ticket is how they ask for someone.
        ("不想跟机器人聊了 能不能留个工单 让你们的人回我电话", False, True),
        ("给我开个工单 找你们经理来处理", False, True),
        # A person named to talk to now.
        ("不想跟机器人聊了 给我转人工", True, False),
    ],
)
def test_a_ticket_asked_for_to_reach_someone_is_the_ticket(
    text: str, person: bool, ticket: bool
) -> None:
    said = signals.read(text)
    assert (said.wants_person, said.opens_ticket) == (person, ticket)


def test_opened_as_told_is_still_done() -> None:
    """「开过了」 said by the user is done; only a loan the caller claims is not."""
    said = signals.read("客服让我开共享屏幕 我开过了 要紧吗")
    assert said.urgent and said.approached
