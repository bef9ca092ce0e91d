"""What a user's message says besides its question: a request for a person, a risk of
fraud or theft, anger, a pick from the options just offered, small talk around it.

Read from the message's normalised text (kb.text.canonicalize: width, case,
traditional → simplified, common typos), so 「轉人工」「转认工」 and 「转人工」 are one
request. Used by the action server and by the gateway's degraded mode alike, so both
understand a message the same way. Patterns describe how people phrase each thing,
not particular messages: a person requested by any verb, money lost in any words.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass, replace
from functools import cache

from guard import REDACTED
from kb.text import SYNONYMS_FILE, USER_DICTIONARY, canonicalize

# A request for a person: a verb of asking or moving, then a human; or the bare noun.
_PERSON_NOUN = r"(?:人工|真人|活人|人类|人工服务|坐席|客服专员|客服人员)"
# People who work for the wallet, asked for with a verb of talking to them.
_STAFF = r"(?:工作人员|经理|主管|负责人|客服人员|客服专员|真人客服|人工客服|客服)"
_PERSON = re.compile(
    # 「转人工处理」 asks for a person to handle it; 「需要人工处理吗」 asks how it is done.
    rf"(?:转|接|找|叫|呼叫|帮我转|我要|我想找|转接|咨询|请求|麻烦|安排|派)"
    rf"(?:一下)?(?:你们)?的?[个一位名]?(?:个)?{_PERSON_NOUN}"
    r"(?!审核|核实|复核|费|智能|资|作|处理(?:吗|嘛|么|的|时间|要|需要|多久))"
    rf"|(?:要|换|请|联系|需要|给我|让)"
    rf"(?:一下)?(?:你们)?的?[个一位名]?(?:个)?{_PERSON_NOUN}"
    # 「需要人工审核吗」「人工费」 are about a process or a fee, not a request for a person.
    r"(?!审核|核实|复核|处理|费|智能|资|作)"
    # 「我要找客服」「客服 客服」: in a chat with the bot, the wallet's staff.
    r"|(?<![不没别])(?:找|要|叫|转|接)(?:个|一个|一位)?(?:你们)?的?(?:真的?)?客服(?=$|吧|啊|呀|[!！])"
    # 「人呢」: in a chat with the bot, the person who should be there.
    r"|^人(?:呢|在哪|去哪了|在吗)[?？!！。]*$"
    r"|^(?:客服[\s,，!！]*){2,}$"
    # 「我想跟你们的工作人员直接通话」「找你们经理来处理」「有没有活人啊」「人工人工」.
    rf"|(?:跟|和|与|同)(?:你们)?的?{_STAFF}(?:直接)?(?:说话|聊|通话|沟通|对话|谈)(?!过|了)"
    r"|(?:跟|和|与|同)(?:你们)?的?(?:客服|人工客服|客服人员|客服专员|工作人员)(?:直接)?(?:通个电话|打个?电话)(?!的时候|时)"
    rf"|(?<!连)(?:给我)?接(?:一下)?你们的?{_STAFF}"
    r"|(?:跟|和|与|同)(?:你们的?)?(?:真人|活人)(?:直接)?(?:说|聊|讲|通话|沟通|对话|谈)"
    r"|(?:跟|和|与|同)你们(?:的)?(?:人|真人)(?:直接)?(?:说|聊|通话|沟通|对话|谈)(?!过|了|明)"
    r"|(?:找|叫|让)(?:你们)?的?(?:经理|主管|负责人|领导)(?:来|出来|过来)?(?=处理|说话|跟我|$|[\s,，。!！?？])"
    rf"|(?:让|叫)(?:你们)?的?(?:个|一个|一位)?{_STAFF}(?:小姐姐|小哥哥|妹子)?(?:来)?(?:跟|和|给)我(?:说|聊|讲|回|打)"
    rf"|有(?:没有)?{_PERSON_NOUN}(?!审核|核实|复核|处理|费|智能)(?:吗|么|没有|不)?(?=$|[\s?？!！,，。啊呀])"
    r"|(?:人工){2,}|找(?:个)?(?:你们)?的?(?:客服)?(?:小姐姐|小哥哥)"
    rf"|(?:可以|能)(?:转)?{_PERSON_NOUN}(?:服务)?吗|找个真人(?:问问|问一下|聊聊|说说)"
    r"|(?:只想|就想|我想)找个(?:真)?人(?:问问|问一下|聊聊|说说)"
    r"|^(?:agent|representative|real human)$"
    # 「人工客服能不能帮我查一笔交易」: the person asked to do it.
    rf"|^{_PERSON_NOUN}(?:客服)?(?:能不能|可不可以|可以|能否|能)(?:帮我|帮忙|替我|给我)"
    # 「能不能让人打电话给我」「可以给我回个电话吗」: a person to call back (not 「客服打电话
    # 给我说…」, a call that was made).
    r"|(?<![不别没说])(?:能不能|可不可以|可以|能否|麻烦|请|希望)(?:你们)?(?:让|叫|安排|派)?"
    r"(?:个|一个|一位)?(?:人|客服|工作人员|专人)?(?:尽快|马上|直接|赶紧)?"
    r"(?:给我(?:打|回)(?:个|一个)?电话|(?:打|回)(?:个|一个)?电话给我)(?!的时候|时)"
    # 「我要找人」「叫个人来」「让一个真的客服来回答我」.
    r"|(?:我要|我想)找(?:个)?真人|(?:我要|我想)找(?:个)?人(?=$|[\s,，。!！]|吧)"
    # 「我要跟人说话」: a person, not the bot (「我想跟人说说这事」 too).
    r"|(?<![不别])(?:我要|我想)(?:跟|和|与|同)(?:真)?人(?:直接)?(?:说话|聊聊?|讲|说说|沟通|对话|谈谈?)(?!过|了)"
    # 「搵真人同我傾啦」 (Cantonese, 揾 → 找 by now), 「找个真人来」.
    r"|找(?:个|一个)?真人(?=$|[\s,，。!！]|同|跟|和|来|吧|啦|呀)"
    r"|(?:叫|找)(?:个|一个)(?:真)?人(?:来|过来|出来)(?=$|[\s,，。!！]|吧|处理|看看|说话|跟我)"
    # 「还是给我接个人吧」 (not 「我去机场接个人」).
    r"|(?:^|给我|帮我|还是|直接|你们)接(?:个|一个|一位)(?:真)?人(?=$|[\s,，。!！]|吧|啊|呀|来|过来)"
    # 「嗯 转吧」「那就转吧」: yes to the person the bot just offered (nothing else to move).
    r"|^(?:(?:嗯+|好的?|行|可以|ok|对|那)[\s,，。!！]*)*(?:那就|那|就)?(?:帮我|给我)?转(?:接)?(?:一下)?"
    r"(?:吧|呀|啊|啦|嘛)[\s。!！]*$"
    # 「帮我找个人处理一下」: someone to take the case, not 「找个人帮我代提」.
    r"|(?<![他她们方子以说])(?:帮我|给我)?(?:找|叫|安排)(?:个|一个|一位)(?:真)?人(?:来)?(?:帮我)?"
    r"(?:处理|解决|跟进|看看|看|查查|查|核实|核查)(?:一下)?"
    # 「直接找个人帮我弄」「能不能找个人帮帮我」 (「找个人帮我代提」 is someone else's doing).
    r"|(?<![他她们方子以])(?:找|叫|安排)(?:个|一个|一位)(?:真)?人(?:来)?(?:帮帮我|帮我|帮忙)"
    r"(?:弄|办|处理|操作|搞|看|查查|查|核实|一下)?(?:一下)?(?=$|吧|啊|呀|[\s,，。!！])"
    # 「让你们客服打给我吧」: a call back from the staff.
    rf"|(?<![不别没])(?:让|叫|请)(?:你们)?的?{_STAFF}(?:尽快|马上|直接)?"
    r"(?:打给我|给我打(?:个|一个)?电话|回(?:个|一个)?电话|联系我)(?!的时候|时|说)"
    r"|(?:让|叫)(?:一个|个)(?:真的?|真人)?客服(?:来)?(?:回答|跟|和|给|帮)我"
    # 「找个人跟我说」「有没有人能跟我讲一下」: someone to talk to, in a chat with the bot.
    r"|(?<![他她们方子])(?:找|叫|让)(?:个|一个|一位)(?:真)?人(?:来)?(?:跟|和|给|同)我"
    r"(?:说|聊|讲|解释|谈)(?!过)"
    r"|有没有(?:真)?人(?:能|可以)?(?:跟|和|给)我(?:说|聊|讲|解释)(?!过)"
    r"|(?:不要|别让?|不想)(?:再)?(?:跟|和)?机器(?:人|说话|聊)"
    # 「人工客服几点上班」 asks about the service; the FAQ answers it. 「人工在哪」 in a
    # chat asks for one.
    # 「人工客服排队要多久」「刚才人工客服说明天处理」 speak of the service, not to it.
    rf"|{_PERSON_NOUN}客服(?=$|[\s,，。!！]|吧|啊|呀|呢|在哪|快|来|出来)"
    rf"|{_PERSON_NOUN}(?:客服)?(?:在哪|去哪了|呢|在吗|在不在)"
    r"|^[\s\W]*(?:人工|转人工|真人)(?:[\s\W]*$|[\s,，!！]+(?!认证|审核|核实))"
    r"|转(?:认|仁|任|忍)工|人\s+工客服"
    r"|(?<![a-z])(?:human|real person|live agent|live person|real agent|someone real"
    # (canonicalize has already turned 「customer service」 into 客服.)
    r"|(?:talk|speak|chat) (?:to|with) (?:an? |the |your )?(?:agent|person|representative"
    r"|someone|客服|customer (?:service|support)|support (?:team|staff)|staff|operator)"
    r"|(?:talk|speak) to (?:a|your) (?:manager|supervisor)"
    # (canonicalize has made 「transfer」 转账 by now.)
    r"|(?:转账|connect|put) me (?:to|through to|with) (?:an? |the |your )?(?:live |real )?"
    r"(?:agent|human|person|representative|客服|人工|真人|operator|staff|someone|support"
    r"|customer (?:service|support)))"
)
# 「要人工后面处理的那种工单」「人工跟进的工单」: the person handles the ticket.
_PERSON_NOUN_NAMED = re.compile(rf"{_PERSON_NOUN}|真人|活人|转接|接个人|找个人|人呢")
_PERSON_FOR_A_TICKET = re.compile(
    rf"{_PERSON_NOUN}(?:后面|之后|来)?(?:处理|跟进|审核|核实|查看)的?(?:那种|那个)?工单"
)
# 「不用转人工」「不要人工」 say the opposite.
_NOT_PERSON = re.compile(
    rf"(?:先|暂时|暂且|还)?(?:不用|不要|别|无需|不需要|不必|不想|不找|不转|不接|没必要|不是要|不用麻烦|不麻烦)"
    rf"(?:帮我|给我)?(?:转|找|接|要)?{_PERSON_NOUN}(?:了|啦)?"
    rf"|{_PERSON_NOUN}(?:客服)?(?:就)?(?:不用|不需要|不必)了"
    r"|(?:不要|不用|没必要|不需要|不必)(?:找|转|联系)?客服"
    r"|(?<![a-z])(?:no need (?:for|to)|(?:don'?t|do not) (?:need|want|transfer|转账|connect))"
    r"(?: [a-z]+){0,3} (?:human|agent|person|转账)"
)

# Money or access already lost: someone else acted, or the user was deceived.
_LOSS = re.compile(
    r"被骗(?!子)|被(?:人|他|她|对方|网友)骗|受骗|上当|被诈骗|诈骗了|骗了我|骗走|被盗|盗刷|盗号|被黑(?!名单)"
    r"|[账帐]?[户号]被(?:人|别人|陌生人)?(?:盗|黑了|黑客|入侵|登录了|登上了|登了)"
    r"|(?:支付密码|登录密码|密码|手机号|绑定的?手机)[^，,。]{0,4}"
    r"(?:被(?:人|别人)(?:修改|改|换|解绑)了|被(?:修改|改)了)"
    r"|冒用(?:了)?我的?(?:身份|名义|信息|身份证)|(?:被人?|有人)补(?:办)?了?(?:我的)?(?:手机)?卡"
    r"|(?:谁|有人|别人|陌生人|骗子|对方)[^，,。]{0,4}把我的?(?:钱|余额)[^，,。]{0,4}(?:转走|划走|盗走|取走)"
    r"|有一?笔[^。]{0,12}(?:转给|付给)[^。]{0,4}(?:不认识|陌生)"
    r"|被绑(?:在|到)了?别人的|绑(?:在|到)了别人的|绑(?:在|到)别人的[^，,。]{0,6}了(?!吗)|卡[^，,。]{0,4}被(?:人)?补办"
    # Paid, and then the other side vanished: 「转了5万 现在打他电话说不认识我」.
    r"|(?:(?:转|付|交|汇|垫)(?:了|完)[^。]{0,4}(?:\d|万|千|块|元|钱|款)|钱(?:已经)?(?:转|付|交|汇)(?:了|过去了))"
    r"[^。]{0,26}(?:拉黑|删了我|说不认识我|跑路|联系不上(?:了)?(?:他|她|对方)|(?:人|卖家)也?联系不上"
    r"|(?:网友|对方|骗子|那个人)[^，,。]{0,2}(?:不回|联系不上|不见了|消失了))"
    r"|转完(?:就|后|以后)?[^。]{0,6}联系不上"
    r"|不是(?:我|本人)(?:本人)?(?:在)?(?:的)?(?:操作|转|付|消费|买|登录|提现|授权)"
    r"(?![^，,。]{0,6}(?:可以|能|行)吗|的?问题)"
    r"|不是(?:我|本人)(?:本人)?(?:提|登|花|扣|改|换|绑)的(?!问题|事)"
    r"|(?<![让叫给请能])(?:有人|有个人|别人|陌生人)(?:一直|还)?(?:在)?(?:用|登|登了|上了|盗用)(?:了)?"
    r"我的?(?:号|账号|账户|卡|银行卡|钱包)(?![^，,。]{0,6}给我)"
    r"|(?:有人|别人|陌生人)[^，,。]{0,4}改了我的?(?:密码|支付密码|登录密码|手机号|绑定)"
    r"|陌生(?:交易|扣款|转账)|(?:有|收到|显示|提示|出现)[^，,。]{0,4}陌生(?:设备|登录|手机)(?!.{0,4}(?:需要|要不要|会不会))"
    # (「莫名其妙多扣了一笔手续费」 is a question about fees.)
    r"|(?<!费)(?<!费怎么)(?<!费为什么)莫名(?:其妙)?.{0,4}(?:扣|少了|转走)(?![^，,。]{0,8}(?:手续费|服务费|年费|会员费|利息))"
    r"|(?:钱|余额|资金)[^，,。]{0,6}莫名(?:其妙)?.{0,4}没了"
    r"|不翼而飞"
    r"|被(?!自动|系统)[^，,。]{0,4}(?:转走|盗走|取走|刷走)"
    r"|被(?:人|别人|陌生人|骗子|他|她|对方)[^，,。]{0,4}(?:划走|转出去|提走)"
    r"|(?:钱|余额)[^，,。]{0,4}被(?!自动|系统)(?:划走|转出去)"
    r"|不是(?:我|本人)登的|(?:钱|余额).{0,6}少了.{0,12}(?:没(?:有)?(?:用|动|消费|操作|花)|不是我)"
    # Charges or logins the user does not know, still going on, or a card tied elsewhere.
    r"|不认识的?(?:消费|扣款|交易|转账|登录|设备|手机|iphone|电脑|地点|ip)"
    r"|不知道(?:是)?(?:哪|谁)(?:来|弄)的(?:消费|扣款|交易|转账)|不知道的(?:消费|扣款|交易|转账|登录|设备)"
    r"|陌生的(?:消费|扣款|交易|转账|登录|设备)|发现[^，,。]{0,4}陌生(?:设备|登录)"
    r"|陌生(?:设备|手机|人|ip)[^，,。]{0,2}登(?:录|上|了)了?[^，,。]{0,2}我的?(?:账|号|钱包)"
    r"|不是我(?:本人)?(?:的)?(?:买|花|扣)的"
    # 「还在被扣钱」, not 「钱还在转 什么时候到」 (a transfer on its way).
    r"|(?:正在|还在|一直在)被(?:人)?(?:扣|刷|转|盗|登)(?![^，,。]{0,4}(?:会员|月费|年费|手续费|服务费))"
    r"|(?:有人|别人|陌生人)(?:正在|还在|一直在)(?:扣|刷|转|盗|登|用)我的?"
    r"|被(?:人|别人|陌生人)(?:绑|刷|登|转|盗)|被.{1,8}骗(?:了|走)"
    r"|(?:转|汇|付|打)(?:了|给)?.{0,8}骗子|骗子.{0,6}(?:转|汇|付|钱)"
    # Money gone without the user: 「余额突然少了2000」「钱包里的钱没了」「有人转走了我的钱」.
    r"|有人[^，,。]{0,8}(?:转走|划走|盗走|取走)"
    r"|被hack|hack了"
    r"|(?<![a-z])(?:scammed|hacked|(?:got|been|was|is) hack|stolen|stole|fraudulent|victim of fraud"
    r"|unauthori[sz]ed"
    r"|i (?:didn'?t|did not|never) (?:make|authori[sz]e)"
    r"(?: (?:this|that|these|the|any)(?![a-z])|$)"
    r"|(?:sent|paid|gave|transferred)(?: [a-z]+){0,3} to (?:a |the )?scammers?"
    r"|someone (?:is |has )?(?:used|logged into|logged in to|took|stole|sent|is using|accessed"
    r"|hacked) my"
    r"|(?:payment|charge|transaction|transfer|purchase)s? (?:that )?i (?:didn'?t|did not|never)"
    r" (?:make|authori[sz]e|do)"
    r"|shared my screen|lost my phone|(?:phone|wallet) (?:was |got )?stolen"
    r"|(?:balance|money) (?:dropped|disappeared|is gone|went missing|vanished)"
    r"|gave (?:him|her|them|the caller|a stranger|someone) (?:my |the )?"
    r"(?:验证码|code|密码|password|pin)"
    r"|didn'?t (?:make|authori[sz]e) (?:this|that|these|the)|don'?t recogni[sz]e"
    r"|gave (?:the |my )?(?:验证码|code|密码|支付密码) to)(?![a-z])"
)
# 「我从没付过」 where a charge or an alert is in view: 「收到付款成功的短信 我没付过」, not
# 「我没消费过 为什么有积分」 or 「我没登录过这个app 怎么注册」.
_NEVER_DID = re.compile(
    r"我(?:从来|根本|都|也)?(?:没|没有|从没|从来没)(?:有)?"
    r"(?:操作|转账|付款|消费|登录|授权|提现|付|转|提)过"
    r"|我(?:从来|根本)?(?:没|没有|从没|从来没)(?:有)?(?:操作|授权)"
    r"(?!好|成功|过来|[^，,。]{0,4}(?:访问|权限|相册|位置|通讯录))"
    r"|(?:根本|压根)没(?:在)?(?:操作|转账|付款|消费|登录|授权|提现|买|转)"
    # A payee the user does not know, where money went out: 「转给一个叫张什么的 我不认识这人」.
    r"|(?:转给|付给|转出|转到)[^。]{0,16}不认识|收款人我不认识"
)
# The user's own slip: 「转错人了 收款人我不认识」 is a wrong transfer, not a theft.
_OWN_MISTAKE = re.compile(r"转错|打错|汇错|付错|输错|填错")
# Something already happened in the account: a charge, money gone, an alert received.
_CHARGE_IN_VIEW = re.compile(
    r"扣了|扣款|扣费|被扣|少了|一笔|账单上|付款成功|支付成功|转出|支出"
    r"|收到[^，,。]{0,8}(?:验证码|短信|提醒|通知)|(?:消费|交易|登录|提现)(?:提醒|通知)"
)
# Money gone with nothing the user did to explain it: 「余额突然少了2000」「钱包里的钱没了」,
# not 「充值了 卡里的钱没了 钱包没到账」 (a top-up on its way).
_VANISHED = re.compile(
    r"(?:余额|钱)[^，,。]{0,6}(?:突然|一下子|莫名)(?:少|没)了|(?:钱包|账户|余额)里?的钱(?:都|全)?(?:突然)?没了"
    r"|(?:钱|余额|存款|积蓄|资金)[^，,。]{0,4}全没了|余额(?:被|突然)清零|(?:发现|突然)[^，,。]{0,4}余额[^，,。]{0,2}清零|(?:没信号|停机)[^。]{0,12}(?:钱|余额)[^，,。]{0,4}(?:少|没)了"
)
_OWN_DOING = re.compile(
    r"充值|充了|提现|提了|付款|支付|转账|转了|手续费|到账|消费|买|扣费|退款|还款"
)
# The phone that holds the wallet is gone: whoever has it may get in. Not when it was
# found again, or long ago (「之前手机丢了，现在换了新手机」).
_PHONE_GONE = re.compile(
    r"手机(?:被人?)?(?:丢|偷|抢|盗)了|手机(?:丢失|被人?偷|被人?抢|被盗|不见了|找不到了|没了(?=$|[，,。\s!！]))"
    r"|手机(?:掉|丢)[^，,。]{0,6}(?:找不到|不见了)"
    r"|手机[^，,。\s]{0,8}?(?:被人?|让人)(?:偷|抢|盗|顺)(?:了|走)"
    r"|手机(?:落|丢)在(?!家|公司|宿舍|办公室|单位|学校|车里)"
)
_PHONE_BACK = re.compile(
    r"(?<![没未不还])(?:找到了|找回来了)|帮我收着|收着呢|保管着|(?:之前|以前|上次|去年|前几年)的?手机"
    r"|(?:半年|一年|两年|几年|几个月|好几个月|很久|好久)(?:前|以前)"
)
# It was the user, or their own people: 「是我自己换了新手机」「是我老公买的」.
_MINE = re.compile(
    r"(?<!不)(?<!不是)是我(?:自己|本人)?(?:的)?(?:老公|老婆|妈|爸|孩子|家人|儿子|女儿|父母)?"
    r"(?:在[^，,。]{0,6}|出差)?(?:换|登|用|操作|弄|买|付|花|转|改)|我自己(?:换|登|用|操作|改)"
)
# Calling the wallet itself a scam: anger at the service, not fraud by someone else.
_ACCUSATION = re.compile(
    r"(?:你们|你|平台|公司|这个?(?:app|平台|钱包|软件))(?:就|都)?(?:是|是不是)(?:一群|个)?(?:骗子|骗钱的|诈骗)"
    r"|(?:骗子|黑心)(?:公司|平台|app|软件)"
)
_ACCUSED = re.compile(rf"(?:{_ACCUSATION.pattern})(?:吧|吗|么|啊|呀|呢)*")
# The user taken for a fraudster: 「我不是骗子」「被误认为诈骗 账户被冻结了」「你们说我涉嫌洗钱」.
_TAKEN_FOR_FRAUD = re.compile(
    r"(?:你们|平台|系统|银行)(?:说|认为|判定|怀疑)我[^，,。]{0,4}(?:涉嫌|涉及|是)[^，,。\s]*"
    r"|(?:我|本人)(?:又)?不是骗子|(?:误认为|误判为?|误以为|当成|当作|以为我是)(?:是)?(?:诈骗|骗子)"
)
# Signs of a scam in progress or a question about one: impersonation, codes asked for,
# "safe accounts", screen sharing.
_SCAM = re.compile(
    r"冒充|自称.{0,8}(?:客服|官方|工作人员|警察|民警|派出所|公安|检察|法院|热线|银行|平台)|假(?:冒)?客服|诈骗|骗子|骗局|安全账户|刷单|刷信誉"
    # A stranger or "official" telling the user to move the money to another account
    # (「对方让我把余额转到新账户」; a father's new card or the user's own plan is no scam).
    r"|(?:对方|客服|警察|工作人员|陌生人|骗子|那个人|自称|说是)[^。]{0,12}(?:让|叫|要求|要)我[^，,。]{0,10}"
    r"(?:转|移|打|存)(?:钱)?(?:到|进|入)[^，,。]{0,6}"
    r"(?:新|另一个|另外一个|另一张|指定|安全|监管|国家|清查|核查|他给|她给|对方给|他发|她发)的?(?:账户|账号|卡)"
    # Money "returned" to a stranger: 「对方说多退了钱 让我还给他」「陌生人给我转了500 让我退回去」.
    r"|(?:(?:陌生人|对方|有人|客服)[^。]{0,12}多退|(?:陌生人|客服)[^。]{0,12}(?:多转|多打|操作失误))[^。]{0,12}"
    r"(?:让|叫|要)我[^。]{0,6}(?:还|退|转)|(?:陌生人|不认识)[^。]{0,12}给我转了[^。]{0,12}(?:让|叫|要)我[^。]{0,6}(?:还|退|转)"
    r"|(?:账户|账号|资金|银行卡)(?:有|存在)?(?:风险|异常|不安全|被冻结|涉嫌)[^。]{0,16}(?:让|叫|要求)(?:我|她|他)"
    r"[^，,。]{0,8}(?:转|汇|打(?:钱|款|到|给))"
    # Help offered (more limit, unfreezing, a loan) for a fee paid first: 「有人说能帮我提额
    # 先交500手续费」, not 「他让我先付运费」 or 「他先转了车费给我」.
    r"|(?:有人|的人|对方|(?<!其)他|她|网友|陌生人|朋友|客服说|那个人)(?:说)?[^。]{0,8}(?:帮|能|可以)[^。]{0,12}"
    r"(?:提额|提高|额度|解冻|解封|贷款|借款|借钱|办理|开通|激活|恢复|消除|注销)"
    r"[^。]{0,16}(?:先|提前)(?:交|付|转)[^，,。.]{0,8}(?:费|保证金|押金|税|解冻金)"
    # ... or the fee told first: 「有个人说交300手续费就能帮我把额度提到50万」.
    r"|(?:有人|有个人|的人|对方|网友|陌生人|那个人)(?:说)?[^。]{0,8}(?:交|付|转)[^，,。]{0,8}"
    r"(?:费|保证金|押金)[^。]{0,4}(?:就能|就可以|才能|就)[^。]{0,12}(?:提额|提高|额度|解冻|解封|贷款|借款|放款)"
    r"|(?:转|存|打)(?:到|进|入)[^。]{0,4}安全的账户"
    # Told to install a meeting or remote app: 「让我下载一个叫zoom的软件开会」.
    r"|(?:让|叫|要)我(?:下载|安装|装)[^。]{0,12}(?:会议|zoom|腾讯会议|钉钉|向日葵|todesk|飞书|远程)"
    # A "friend" online borrowing money to their card: 「微信好友找我借钱 让我转到他给的卡号」.
    r"|(?:微信|qq|网上|网友)[^。]{0,4}(?:好友|朋友)?[^。]{0,6}(?:找我|向我|跟我|问我)借钱"
    r"|借钱[^。]{0,16}(?:转到|打到|汇到)(?:他|她|对方)给的"
    # A "mistaken" transfer to be returned elsewhere: 「说转错了 让我退到另外一个账户」.
    r"|(?:转错|打错|汇错)[^。]{0,12}(?:让|叫|要)我[^。]{0,4}(?:退|还|转)(?:到|给|回)[^。]{0,2}"
    r"(?:另外|另一|别的|新的|他给的|她给的|指定)"
    # A deposit to release money: 「要我交保证金解冻」.
    r"|(?:交|付|转)[^，,。]{0,6}保证金[^，,。]{0,4}(?:解冻|激活|提现|到账|才能)"
    # The boss in a chat group or on a new account wanting money moved.
    r"|(?:老板|领导|上司|经理|董事长|总经理)(?:在|从|用)?(?:群里|微信|qq|新号)[^。]{0,12}(?:让|叫|要)我"
    r"[^。]{0,8}(?:转账|转钱|打款|汇款|转给)"
    # Money put into an "investment" that will not come out: 「我已经投了三万了 现在提不出来」.
    r"|(?:投|投资|入金)了[^。]{0,12}(?:提不出|取不出|出不了金|出不来|无法提现|提现不了|不能提现)"
    # Lending the account to move someone's money (跑分): 「他说就是帮忙过一下账」.
    r"|帮(?:忙|他|她|人|别人|朋友)?过(?:一下|个|一笔)?账|跑分|(?:出借|出租|借用|借)(?:我的|你的)?(?:账户|账号|钱包|收款码)"
    r"|(?:收|接)(?:一笔|笔)?钱(?:再|然后)转(?:给|出)"
    # The friend who asked for money says it was not them: 「打电话他说没发过」.
    r"|(?:打电话|打过去|问了|联系|视频)[^。]{0,8}(?:他|她|对方|本人|朋友)(?:说)?(?:根本)?"
    r"(?:没发过|没有发过|没找过我|不知道这事|号被盗|微信被盗|qq被盗)"
    # Money moved on a stranger's say-so: 「我已经按他说的转了3000过去了」.
    r"|按(?:照)?(?:他|她|对方|那人|那个人|他们|陌生人|网友|骗子)(?:说的|的要求|要求的|的指示|教的|的话|的步骤)"
    r"[^。]{0,6}(?:转|汇|付|打|充|交|投)(?:了|过去|出去|完)"
    # Money moved to an account a stranger gave: 「把余额转到他给的账户了」.
    # (Done, and to a person who is no customer or payee: 「转到对方给的账户了」 is how a
    # transfer to a client goes, and 「转到他给的账户要多久」 a plan.)
    r"|(?:转|汇|打|存)(?:到|进|入)了?(?:他|她|那人|那个人|陌生人)(?:给|发)的(?:账户|账号|卡|卡号|银行卡)了"
    # Remote-control apps, the "百万保障" and student-loan scripts: only when someone else
    # asks for them (「我刚开通了百万保障」「用向日葵帮我爸付电费」 are the user's own doing).
    r"|(?:让|叫|要|要求)我?[^。]{0,8}(?:下载|下了|安装|装|打开|开)[^。]{0,6}"
    r"(?:向日葵|todesk|teamviewer|anydesk|远程|会议(?:软件|app))"
    r"|(?:对方|客服|有人|自称|说我|说是)[^。]{0,16}(?:百万保障|校园贷)"
    r"|验证流水|流水不够[^。]{0,12}(?:转|交|存|打)(?:一笔|钱|进|\d)|验证还款能力"
    # Tasks paid in commissions, platforms that want tax before a withdrawal, loans that
    # want a fee before the money: 「做任务给佣金 我先垫付了」「赚了钱提不出来 说要交税」.
    r"|(?:做任务|佣金|刷单|返利|返现)[^。]{0,12}垫(?:付|了)|垫(?:付|了)[^。]{0,12}(?:佣金|刷单|返利|返现)"
    r"|做任务[^。]{0,10}(?:佣金|返利|返现)"
    r"|(?:提不出|提现不了|取不出|无法提现|提不了)[^。]{0,16}"
    r"(?:交税|税费|所得税|个税|保证金|解冻金|解冻费|激活费|会员费|交钱|交费)"
    r"|(?:交|付)[^。]{0,6}(?:税|保证金|解冻金|会员费)[^。]{0,4}才能(?:提现|提出|取出|放款)"
    r"|放款[^。]{0,12}(?:先交|先付|先转|会员费|保证金|解冻)|会员费[^。]{0,8}放款"
    r"|(?:老板|领导|上司)[^。]{0,8}加(?:了)?我[^。]{0,16}(?:转|汇|打钱)"
    r"|钓鱼|可疑链接|陌生链接"
    # Apps from outside the stores, and "support" numbers passed round for refunds.
    r"|(?:内部|内测|破解)版(?:的)?(?:app|软件|安装包|下载|链接|钱包)"
    r"|(?:群里|有人|有个人|陌生人|短信|别人|对方|网友)[^。]{0,6}(?:发|给|推|传|分享)[^。]{0,8}"
    r"(?:安装包|apk|下载链接)"
    r"|(?:群里|有人|有个人|陌生人|短信|别人|对方|网友|朋友圈|百度|搜到|搜索|网上搜|网上找)(?!不到)"
    r"[^。]{0,12}客服(?:电话|号码|热线|微信|qq)[^。]{0,16}"
    r"(?:能|可以|帮|给)[^。]{0,6}(?:退款|理赔|退钱|赔偿|赔付|解冻|返还|加急|提额|代办)"
    # Crypto sold by someone in a chat, someone telling the user to move the money out
    # (「我想卖usdt怎么操作」「客服告诉我可以把余额转到银行卡」 are no scam).
    r"|(?:有人|群里|群主|网友|陌生人|朋友圈|微信上|对方)[^。]{0,12}(?:卖|出)[^。]{0,6}(?:usdt|泰达币|虚拟币|数字货币)"
    r"|(?:有人|有个人|对方|陌生人|短信|消息)[^。]{0,16}(?:把钱|把余额|把资金)[^。]{0,2}(?:转出去|转走|转移)"
    # A loan "to be cancelled or the credit record suffers", a mistaken transfer to be
    # returned to another card, a fee that "unlocks" help, a link that wants a secret.
    r"|(?:注销|关闭|取消)[^。]{0,12}(?:不然|否则|要不然)[^。]{0,4}影响(?:个人)?征信"
    r"|(?:电话|来电|有人|对方)[^。]{0,12}(?:名下|账户下)[^。]{0,8}(?:贷款|借款|网贷)"
    r"|(?:有人|对方|陌生人|(?<!其)他|她)[^。]{0,8}(?:误转|转错|多转|打错)[^。]{0,16}(?:让|叫|要)我[^。]{0,6}(?:还|退|转)"
    r"[^。]{0,8}(?:另一张|另一个|另外的?|别的|其他|他给的|她给的|对方给的|指定的?)(?:银行卡|卡|账户|账号)"
    r"|(?:有人|的人|对方|(?<!其)他|她|网友|陌生人|客服|那个人)(?:说)?[^。]{0,6}(?:先)?(?:交|付|转)[^。]{0,8}"
    r"(?:费|保证金|押金|税|解冻金|\d+\s*(?:块|元)|钱)[^。]{0,4}(?:就能|才能|就可以|才可以|就给|就帮)[^。]{0,8}"
    r"(?:提额|提高|额度|解冻|解封|贷款|放款|借款|恢复|激活|开通)"
    r"|(?:红包|中奖|领奖|理赔|陌生|可疑|群里|别人|对方|(?<!其)他|她)[^。]{0,12}(?:链接|网页|网址)[^。]{0,12}"
    r"(?:让|要|要求|提示|需要)我?(?:输|填|输入|填写)[^。]{0,4}(?:支付密码|密码|验证码|卡号|cvv|安全码)"
    # Officials who "need" the money moved, links that ask for codes, promised returns.
    r"|(?:公安|警察|检察院|法院|派出所).{0,20}(?:转|账户|洗钱|资金|冻结)|涉嫌(?:洗钱|犯罪|违法|案件|刑事)|涉案"
    r"|洗钱|指定账户|国家账户|清查账户|资金清查"
    # A link someone sent, not the wallet's own reset or activation link.
    r"|(?:点|点开|打开)了[^，,。]{0,8}(?:陌生|可疑|奇怪|对方|他|她|别人|中奖|理赔)[^，,。]{0,6}链接"
    r"|(?:陌生|可疑|奇怪|对方发|他发|她发|别人发)的?链接|链接.{0,10}(?:输|填)了(?:.{0,4}(?:卡号|密码|验证码))"
    r"|(?:链接|网址|网页|短信)[^。]{0,8}点进去[^。]{0,10}(?:输|填)了"
    r"|(?:有人|对方|(?<!其)他|她|网友|老师|群里)[^。]{0,12}(?:高收益|稳赚|收益很高|收益高|保本)|带(?:你|我)?赚钱|荐股|杀猪盘|(?:网友|陌生人)(?:让|叫|要|拉)我|刷流水|跑流水"
    # Top-ups or repayments "on your behalf" at a discount (代充 is a classic front for
    # stolen cards and laundering); a friend paying for the user (代付) is a feature.
    r"|代(?:充|还)[^。]{0,12}(?:[打几一二三四五六七八九]折|便宜|优惠|低价|折扣|半价|靠谱|可信|能信|返利|返现)"
    r"|代付[^。]{0,12}(?:[打几一二三四五六七八九]折|便宜|低价|折扣|半价|返利|返现)"
    r"|(?:[打几一二三四五六七八九]折|低价|半价|便宜)[^。]{0,8}代(?:充|付|还)"
    r"|(?:有人|对方|网友|陌生人|群里)[^。]{0,12}(?:帮|替)[^。]{0,4}充[^。]{0,10}(?:[打几一二三四五六七八九]折|便宜|低价|半价)"
    # A "refund" or "claim" call that wants money sent first, or returns promised several
    # times over: 「客服打电话说理赔 让我转了1980过去说会退双倍」.
    r"|(?:客服|对方|有人|陌生人|自称|电话)[^。]{0,12}(?:理赔|退款|赔偿|退费|赔付)[^。]{0,16}"
    r"(?:让|叫|(?<!需)要)我[^。]{0,8}(?:转账|转钱|转了|转过去|付款|付钱|先付|交钱|交费|交保证金|打钱|打款|汇款|扫码付)"
    r"|(?:先|转|付|交)[^。]{0,12}(?:退|赔|返)(?:你|我)?(?:双倍|两倍|三倍|十倍|翻倍)"
    # A wallet App that is not the official one: 「内部版钱包」「破解版」.
    r"|(?:内部版|内测版|破解版)[^。]{0,6}(?:钱包|app|软件|客户端)"
    r"|内幕消息|内部消息|(?:老师|导师)带(?:我们|大家|我)?[^。]{0,4}(?:炒|投资|买|赚)|(?<![附携])带单(?!号)"
    r"|(?:投资|理财|炒股|荐股|刷单|兼职|博彩)(?:群|app|平台|软件|网站)|(?:股票|炒币|数字货币|虚拟币)(?:群|平台|网站)"
    r"|(?:还款|还钱|转|打)到[^，,。]{0,4}个人(?:账户|账号|卡)"
    r"|网恋|婚恋网站|裸聊"
    r"|(?:中奖|抽中|(?<![选看命猜考打射相])中了|获奖|得奖)[^。]{0,16}(?:交|付|缴)[^。]{0,6}(?:费|税|钱)|(?:消除|修复)征信|(?:说|对方|客服|有人)[^。]{0,10}关闭[^。]{0,4}(?:金条|借呗|微粒贷|白条|贷款|校园贷)"
    r"|理赔群|航班(?:取消|延误)[^。]{0,30}(?:理赔|改签)[^。]{0,12}(?:转|付|交|链接|加)|(?:说|让我|要我|要求)[^。]{0,8}(?:诉讼费|验资费|海关|关税)"
    # (To one's own family, 「付款码能截图发给我老公用吗」 is a question of use, which the
    # payment-code answer takes: never share it.)
    r"|付款码[^。]{0,6}(?:截图|发给)(?![^。]{0,6}(?:老公|老婆|爱人|丈夫|妻子|家人|爸爸|妈妈|爸妈|父母|孩子))"
    # Asked for by someone, even "family" (a hacked account): 「儿子QQ上让我把付款码截图发给他」.
    r"|(?:让|要|叫)我[^。]{0,6}付款码[^。]{0,6}(?:截图|发给)"
    r"|(?:客服|对方|有人|陌生人|网友)[^。]{0,12}(?:二维码|收款码)[^。]{0,6}(?:让|叫|要)我(?:扫|付)"
    r"[^。]{0,8}(?:领|退|理赔|赔|返|收钱|收款)"
    # Lending one's account to move someone else's money.
    r"|帮(?:他|她|别人|朋友|人)?收(?:钱|款).{0,8}(?:转|提)|好处费|跑分|(?:出借|出租|借用?)(?:我的)?(?:账户|账号|银行卡)"
    # Someone else asking for a secret (「修改密码要验证码吗」 is a plain question).
    r"|(?:索要|问我要|找我要|跟我要|向我要|骗"
    # (「客服不会要我提供密码吧」 asks to be reassured; 「客服会不会要我…」 asks about the
    # scam, so the 不会 of 会不会 does not count.)
    r"|(?:对方|他|她|陌生人|骗子|有人|客服|警察|工作人员)[^，,。\s]{0,4}(?<!(?<!会)不会)(?:让|叫|要)我"
    r"(?!.{0,4}(?:设置|修改|重置|改|找回|输入新)))"
    r".{0,8}(?:验证码|密码|助记词|私钥)"
    r"|(?:验证码|密码|助记词|私钥).{0,6}(?:发给|告诉|给)了?.{0,10}(?:人|他|她|对方|客服|官方|你们|陌生人)"
    # Asked for one by someone further back: 「有人说帮我找回资产，要我提供私钥」 (a bank
    # that 「要我提供验证码」 while binding a card is no one).
    r"|(?:有人|对方|陌生人|骗子|自称|说是|那个人|网友)[^。]{0,16}(?<![需不会])(?:要|让|叫)我(?:提供|发给?|告诉|报|给)"
    r"[^，,。\s]{0,6}(?:验证码|密码|助记词|私钥)"
    # ... or further back still, the secret named after a word or two: 「群里有个人说…
    # 还要我登录号码和验证码」.
    r"|(?:有人|有个人|对方|陌生人|骗子|网友|群主|群里的人)[^。]{0,30}(?:还|也|又|就)?(?:要|让|叫)我"
    r"(?!.{0,4}(?:设置|修改|重置|改|找回|输入新))(?:的|把)?[^，,。\s?？]{0,8}(?:验证码|密码|助记词|私钥)"
    # Someone (the user, or a relative they ask for) told to pass a secret on.
    r"|(?:让|叫|要求)[^，,。.]{0,6}(?:验证码|密码|助记词|私钥)[^，,。.]{0,4}"
    r"(?:发过去|发出去|发给|报给|念给|读给|告诉|截图)"
    # Someone claiming to be the wallet's staff: 「说是你们客服」「他说他是官方的」.
    r"|说(?:是|(?:他|她|自己|对方)是)(?:你们|官方|平台|钱包|[^，,。\s]{0,4}(?:金融|银行|抖音|京东|淘宝|支付宝|微信"
    r"|美团|拼多多|电商))?的?(?:客服|官方|工作人员|员工|警察)"
    r"(?!的?(?:问题|原因|错|责任|规定|系统|那边))"
    r"|声称"
    # Someone claiming to be the user's boss, a teacher, the police: 「说是我领导 让我先帮他转5万」.
    r"|(?:(?:他|她|对方|有人|有个人|那人|那个人|网友|陌生人|一个|一位)[^，,。\s]{0,6}说|自称)"
    r"(?:他|她|自己)?是(?:我|你们|我们)?(?:[^，,。\s]{0,6}的|[^，,。\s]{0,4}[市省区县])?"
    r"(?:领导|老板|上司|老师|班主任|亲戚|儿子|女儿|快递员|客服|警察|公安|网警|银行(?:的人|工作人员|客服)"
    r"|税务局|社保局?|医保局?|法院|检察院|部队|军人|军官|民警|官方)"
    r"(?!的?(?:问题|原因|错|责任|规定|系统|那边))"
    r"|(?:检察官|法官|民警|警官)[^。]{0,10}(?:加我|让我|要我|打电话|来电)|资产核查|资金核查"
    r"|扫(?:他|她|对方)(?:发|给)的(?:码|二维码)[^。]{0,8}(?:领|退|理赔|赔|返|收钱|收款)"
    r"|备用金[^。]{0,10}转给(?:他|她|对方)"
    r"|(?:客服|对方|有人|陌生人)[^。]{0,6}发了?(?:个|一个)?链接[^。]{0,6}(?:让|要|叫)我[^。]{0,4}"
    r"(?:登录|输|填|核实|验证)(?![^。]{0,4}(?:工单|问题|邮箱))"
    r"|(?:说|对方|客服|有人)[^。]{0,12}(?:不关闭|不取消|不然)[^。]{0,6}(?:扣费|每月扣|自动扣)"
    # A message that pushes a link: 「收到短信说我账户异常，让点链接验证」.
    r"|(?:短信|邮件|私信|消息)[^。]{0,12}(?:异常|风险|冻结|中奖|理赔|扣费|过期|失效|违规|退款|注销)"
    r"[^。]{0,10}(?:点|打开|登录)[^。]{0,4}(?:链接|网址|网站)"
    # Words a user's own trouble uses too (锁定, 限制): only with a link to click.
    r"|(?:短信|邮件|私信|消息)[^。]{0,12}(?:限制|受限|封号|封禁|锁定|停用|补资料|补充资料|更新资料|升级)"
    r"[^。]{0,10}(?:点|打开)[^。]{0,4}(?:链接|网址)"
    r"|(?:买家|卖家|对方|客服)说[^。]{0,10}(?:没开通|未开通|需要开通|要开通)[^。]{0,6}(?:保证金|担保|诚信)"
    r"|(?:入职|兼职|招聘)[^。]{0,10}(?:先交|要交|交)[^。]{0,6}(?:服装费|培训费|押金|保证金)"
    r"|(?:转|存)到了?(?:他|她|对方)说的[^，,。]{0,4}(?:账户|账号|卡)"
    r"|(?:旧|原来的?)(?:账户|账号)(?:有|存在)风险|陌生人发的二维码"
    # Someone claiming to be the wallet's own staff: 「群主说他是官方客服」 is 自称 in other words.
    r"|(?:群主|管理员|有人|对方|网友|陌生人|那个人|(?<!其)他|她)说(?:他|她|自己)?是[^，,。]{0,10}"
    r"(?:官方|你们|平台)[^，,。]{0,4}(?:客服|工作人员|人员|员工)"
    # Help with the limit or a freeze offered by someone: 「有人说能帮我提高转账额度」.
    r"|(?:(?<!没)有人|对方|网友|陌生人|那个人)[^。]{0,6}(?:能|可以)帮(?:我|你)?[^。]{0,4}"
    r"(?:提额|提高[^。]{0,4}额度|解冻|解封|消除征信|刷流水|贷款)"
    r"|(?:理赔|赔偿|补偿)[^。]{0,12}(?:发|给)了?(?:我)?(?:个|一个)?链接"
    # A caller who says he is the wallet: 「刚有人打电话说是平台的」, not 「银行来电说是平台
    # 的原因」.
    r"|(?:打电话|打来电话|来电|电话里|打给我).{0,8}说(?:是|他是|她是|自己是|对方是)(?:你们|官方|平台|钱包)"
    r"(?:的)?(?:客服|工作人员|员工|人)?(?=[\s，,。!！]|$)"
    r"|(?:发给|告诉|给)(?:他|她|对方|陌生人).{0,6}(?:验证码|密码|助记词|私钥)"
    # A stranger's "refund" or "compensation" that needs the user to scan, pay or borrow,
    # and fees paid up front to release money: the usual scripts.
    r"|(?:理赔|赔付|赔偿|补偿).{0,16}(?:扫|二维码|收款码|贷款|借呗|备用金|加(?:他|我)?的?(?:qq|微信))"
    r"|(?:打电话|来电|电话里|自称).{0,20}(?:理赔|赔付|赔偿|补偿|退款|退费).{0,16}(?:扫|二维码|收款码|贷款)"
    r"|解冻费|解冻金|(?:先|要|得|需要)(?:交|付|转)[^，,。.]{0,4}(?:保证金|激活费|认证费|税费|解冻)"
    r"|(?<!公司)(?<!单位)(?:让|叫|要求)我(?:先)?(?:交|付|转)[^，,。]{0,8}(?:解冻金|激活费|会员费|认证费)"
    r"|(?:他|她|对方|网友|陌生人|客服|平台)(?:让|叫|要求)我(?:先)?(?:交|付|转)[^，,。]{0,8}"
    r"(?:保证金|个人所得税|税费)"
    # English, after canonicalize (「verification code」 is 验证码 by now): a person asking
    # for a secret, not the app (「the app keeps asking for a code」).
    # (canonicalize has made 「account」 账户 and 「fee」 手续费 by now.)
    r"|(?<![a-z])(?:phishing|scams?|scammers?|safe 账户|screen ?shar\w*|share (?:my |your )?screen"
    r"|remote (?:access|control)|(?:pay|paid) (?:a |the )?手续费 to (?:unlock|unfreeze|release)"
    r"|(?:asked|told|wants?) me to (?:download|install) |anydesk|teamviewer"
    r"|(?:he|she|someone|somebody|caller|a man|a woman)(?: [a-z]+){0,8}?"
    r" (?:ask(?:ed|ing|s)? (?:me )?for|want(?:ed|s)?|need(?:ed|s)?"
    r"|ask(?:ed|ing|s)? me to (?:give|send|tell|read|share))"
    r" (?:him |her |them )?(?:my |the |a |his |her )?"
    r"(?:验证码|密码|支付密码|code|otp|pin)"
    r"|(?:claim(?:ed|ing|s)?|pretend(?:ed|ing)?) to be from|pos(?:ing|ed) as"
    r"|(?:clicked|opened|tapped) (?:a|on a) link"
    r"|(?:claim(?:ed|ing|s)?|pretend(?:ed|ing)?) to be (?:with )?(?:your |the |an? )?"
    r"(?:客服|support|staff|official|police|bank|wallet|company|agent|employee)"
    r"|(?:said|saying|says) (?:he|she|they) (?:is|was|are|were) from)(?![a-z])"
)
# Someone else at the controls of the user's phone; not when it is the user helping their
# own people (「我刚才共享屏幕给我女儿看怎么操作」).
_REMOTE = re.compile(r"共享屏幕|屏幕共享|屏幕分享|分享屏幕|远程(?:控制|协助|操控|看)")
_FOR_FAMILY = re.compile(
    r"(?:给|帮|和|跟|教|替)(?:我)?的?(?:妈|爸|女儿|儿子|孩子|家人|老婆|老公|父母|爷爷|奶奶|外婆|外公|姥姥|老人)"
)
# The user is personally involved (not asking in general): "让我…", money moved, "刚…".
_INVOLVED = re.compile(
    r"让我|叫我|要我|要求我|给我打|我刚|刚才|刚刚|已经|转了|付了|汇了|打了.{0,4}钱|我被"
    r"|正在(?:转|汇|付|打钱|操作|输|扣)|(?:我|她|他)(?:已经|刚)?点了|(?:输|填|输入)了.{0,4}(?:验证码|密码|信息|卡号)"
    r"|(?:让|叫|要)(?:她|他|我妈|我爸|家人|老人)|拉我|加我|问我要|找我要|(?:让|叫|要)我?把钱"
    r"|(?:我|她|他)把.{0,8}(?:发给|告诉|给|转给|报给|念给)|还在"
    # Still at it, or about to: 「我现在开着呢」「我该转吗」.
    r"|(?:正在|还在)(?:和|跟)[^，,。]{0,6}(?:共享|通话|视频|聊)|开着|(?:该|要|能|可以)(?:转|给|交|付)吗"
    r"|要不要(?:转|给|交|付)|(?:共享|操控|控制)着|在(?:转|扣|刷)(?:我的)?钱"
    r"|(?<![a-z])(?:was|were) (?:asked|told) to(?![a-z])"
    r"|(?<![a-z])(?:called me|asked me|told me|asked for my|someone (?:called|texted|messaged)"
    r"|i (?:gave|sent|told|clicked|paid|transferred))(?![a-z])"
)
# Under way already, beyond being asked: money moved, a link opened, a call going on.
_UNDER_WAY = re.compile(
    r"我刚|刚才|刚刚|已经|转了|付了|汇了|打了.{0,4}钱|我被"
    r"|正在|(?:我|她|他)(?:已经|刚)?点了|(?:输|填|输入)了|(?:我|她|他)把.{0,8}(?:发给|告诉|给|转给|报给|念给)"
    r"|还在|开着|(?:共享|操控|控制)着|在(?:转|扣|刷)(?:我的)?钱"
    # Done by the user (「我下载了」「扣完了」「投进去五万」), or going on (「他在操作我的手机」).
    # (Not 「说我开过校园贷」: a loan or membership the caller claims the user opened.)
    r"|(?<![他她方])(?!开过[^，,。\s]{0,4}(?:贷|会员))(?:下载|下|装|安装|开|打开|点|扫|输|填|交|投|转|汇|发|念|读|报|共享|操作|授权)"
    r"(?:了|完|好了|过|进去)"
    r"|在(?:操作|控制|操控|共享|远程|看)|现在|手机(?:自己)?在动"
    r"|(?<![a-z])i (?:gave|sent|told|clicked|paid|transferred|installed|downloaded|read|shared"
    r"|entered|scanned|opened)(?![a-z])"
)
# 「给不给」「能不能信」「要不要下」: a question put as A-not-A.
_EITHER_OR = re.compile(r"([\u4e00-\u9fff])不\1")
# The user did what a scammer asked: money, a code or a password already given. Said
# after fraud came up (「我已经给他转过去了」), it makes the conversation urgent.
_COMPLIED = re.compile(
    # Given to someone: 「我已经给他转过去了」「钱转给他了」「验证码念给他了」; or sent off
    # already: 「我已经转了」「钱已经转过去了」 (「我已经付款了」 is a payment of one's own).
    r"已经[^，,。]{0,6}(?:给|转给|发给|告诉|念给|报给|付给|打给|交给)了?(?:他|她|对方|骗子|那个人|那人)"
    r"|(?:转|汇|付|打|发|告诉|念|报|交)给了?(?:他|她|对方|骗子|那个人|那人)[^，,。]{0,4}(?:了|过)"
    r"|已经(?:把钱)?(?:转|汇|付|打|交|给)(?:了|过去|出去|过)"
    r"|(?:钱|款|验证码|密码)[^，,。]{0,3}已经(?:转|汇|付|打|发|给|告诉)(?:了|过去|出去|给)"
    r"|(?:转|汇|付|打|发|交)(?:过去|出去)了"
    # Said after someone approached the user, any past act of giving counts: 「我转了3000」
    # 「给了他验证码」「我扫了他的二维码」「交了」「钱没了」.
    r"|(?:转|汇|打|存)到[^，,。]{0,10}(?:账户|账号|卡|那里|那边)(?:里|上)?了|(?:转|汇|打|存)到了"
    r"|(?<![a-z])(?:made me (?:transfer|pay|send)|entered my)(?![a-z])"
    r"|(?:转|汇|付|打|交|给|发|扫|下载|告诉|念|报|投|充|还|装|下(?!单)|输|填|共享|退|垫)了"
    r"(?!一?(?:个|张|封)?(?:工单|邮件|反馈|投诉|电话|110|96110|报警))"
    r"|点了(?:他|她|对方)?[^，,。]{0,4}(?:链接|网址)|点进去了|(?:输|填|写)(?:进去|上去)了"
    r"|照(?:着)?做了|按(?:他|她|对方)?说的(?:做|弄|操作)了|拿到(?:了)?我的"
    r"|被(?:他|她|对方|骗子)[^，,。]{0,4}(?:转走|拿走|划走|骗走)"
    r"|钱[^，,。]{0,4}没了|给了?(?:他|她|对方|骗子|那个人|那人)了"
    r"|(?:验证码|密码|助记词|私钥)[^，,。]{0,6}(?:给|告诉|发给|念给|报给|读给)了?"
    r"(?:他|她|对方|骗子|别人)"
    r"|(?:告诉|发给|念给|报给)了?(?:他|她|对方|骗子)[^，,。]{0,4}(?:验证码|密码|助记词|私钥)"
    r"|(?<![a-z])(?:i (?:already )?(?:paid|sent|gave|transferred|told)"
    r" (?:him|her|them|the scammer|the money|the fee|it)"
    r"|already (?:paid|sent|gave|transferred)|i (?:paid|sent|gave|transferred|did)$"
    r"|(?:i|he|she|they) (?:already )?(?:paid|sent|gave|transferred) (?:him|her|them|\d+|my \S+ to)"
    r"|(?:i|he|she|they) (?:already )?(?:paid|sent|transferred) \S+ to)(?![a-z])"
)
_HANDED = re.compile(
    r"(?:转|汇|付|打|交|给|发|告诉|念|报|扫|投|垫)(?:了|过去|出去|完)|(?:转|汇|打|存)到"
    r"|(?:验证码|密码|助记词|私钥)[^，,。]{0,6}(?:给|告诉|发给|念给|报给|读给)|填了|输了"
    r"|充了[^，,。]{0,2}(?:\d|[一二两三四五六七八九十几]+[万千百])"
    r"|(?<![a-z])(?:paid|sent|gave|transferred|entered|made me)(?![a-z])"
)
# 「我没给他转钱」「我不会给他的」: not done (「他一直不发货」「不会有事吧」 deny nothing given).
# The other party's sending, not the user's: 「有人发了个链接」「他给我发了张截图」 (but
# 「我给他发了验证码」 is the user's).
_THEIR_SENDING = re.compile(
    r"(?<![给向])(?:有人|有个人|别人|对方|他们|她们|网友|骗子|他|她|群里|群主)(?:又|还|刚|刚才)?(?:给我|在群里)?"
    r"发了(?:个|一个|条|一条|张|一张|些)?"
)
_REFUSED = re.compile(
    r"(?:没|没有|未|不会|不|别|还没)(?:给|转|汇|付|发|告诉|念|报)(?:给)?(?:他|她|对方|骗子|钱)|拒绝"
    # Money to one's own people is no money to the one who approached.
    r"|给(?:我)?(?:妈|爸|老婆|老公|家人|朋友|房东|商家|室友|同事|孩子|儿子|女儿|父母|自己)"
    r"|(?<![a-z])(?:didn'?t|did not|won'?t|never) (?:pay|send|give|transfer|tell)(?![a-z])"
    r"|(?<![a-z])to my (?:friend|mom|mother|dad|father|family|wife|husband|son|daughter|sister"
    r"|brother|parents|own)(?![a-z])"
)
# Someone in particular deals with the user (a caller, a stranger, "customer service"), as
# opposed to a question about scams in general (「怎么防止被诈骗」) or hearsay.
_SOMEONE = re.compile(
    r"收到[^。]{0,4}(?:短信|邮件|私信)|群里|群主|有人|有个人|那个人|对方|(?<!其)他|她|自称|说是|打电话|来电|接到.{0,4}电话|电话里|网友|陌生人|客服说"
    r"|(?<![a-z])(?:someone|somebody|he|she|caller)(?![a-z])"
)
_HEARSAY = re.compile(r"听说|据说|新闻|网上(?:说|看到|有人说|看)|(?<![a-z])(?:heard|news)(?![a-z])")
# The user turned them away: 「我没理他」「直接挂了」.
_TURNED_AWAY = re.compile(
    r"没理|不理|没搭理|没有理|挂了|挂断|挂掉|(?<!被)(?<!把我)拉黑(?!了?我)|没上当|没有上当|没信|不信"
    # The user's 「没转」, not the scammer's 「他根本没转钱给我」.
    r"|(?<![他她方本还])没(?:给|转|告诉)|识破|没点|没有点|没打开|没下载|没装"
)
# The user offers this service a secret (「我把验证码发给你们吧」「需要我提供验证码吗」), or
# to send us what the topic just was (「能不能直接发给你们帮我保存」 after the mnemonic
# answer): nothing lost and nobody at work on them, but the answer is 「请不要」.
_SECRET_WORDS = (
    r"(?:验证码|密码|助记词|私钥|安全码|cvv|(?<![a-z])(?:pin|otp|seed phrase|private key)(?![a-z]))"
)
_SECRET = re.compile(_SECRET_WORDS)
_US = r"(?:你们|你|您|客服|机器人)"
_GIVE = r"(?:发|告诉|给|报|念|提供|传|截图)(?:一下)?(?:给)?"
# The secret is what is given: 「把密码给客服」「验证码发给你们」「需要我提供验证码吗」「你们要
# 我的cvv吗」; not 「我告诉你们 验证码一直收不到」 or 「给你们打电话要验证码吗」.
_OFFERS_A_SECRET = re.compile(
    rf"{_SECRET_WORDS}(?:直接|也|都|先)?{_GIVE}{_US}"
    rf"|(?:需要|用不用|需不需要|要不要)我(?:把)?(?:提供|发|告诉|报)(?:给{_US})?(?:我的)?{_SECRET_WORDS}"
    # Asked, not told: 「客服要我的助记词帮我恢复钱包」 reports someone posing as us.
    rf"|{_US}(?:要|需要)我的{_SECRET_WORDS}[^，。,;；]{{0,8}}(?:吗|么|嘛|[?？])"
    rf"|{_US}(?:需不需要|要不要)我的{_SECRET_WORDS}"
)
# Something unnamed sent our way, asked or proposed: 「能不能直接发给你们帮我保存」.
_OFFERS_SOMETHING = re.compile(
    rf"(?:发|给|报|传)(?:一下)?(?:给)?{_US}(?![们打写留回说讲]|反馈|投诉)"
)
_OFFER_MOOD = re.compile(r"吧|吗|么|能不能|可不可以|可以|行不行|好不好|要不要|需要|帮我")
# Already sent (to a "customer service" that may well be a fake one), or at someone
# else's bidding: that is the scam's business, not an offer.
_NOT_AN_OFFER = re.compile(
    r"已经|(?:发|告诉|给|报|念|提供|传)(?:给)?(?:你们|你|您|客服)?了(?!吗)"
    r"|(?:对方|他|她|有人|陌生人|骗子|那个人|自称|说是|说|电话|短信)[^。]{0,20}(?:让|叫|要|要求|需要)我"
)


def offers_a_secret(normal: str) -> bool:
    """Whether the user offers this service a secret, rather than saying it is gone."""
    return bool(_OFFERS_A_SECRET.search(normal)) and not _NOT_AN_OFFER.search(normal)


# Something named: 「我把手机号发给你们可以吗」 offers no secret.
_NAMED = re.compile(r"把[^，,。\s]{1,8}(?:发|给|报|传)")
# What a user may offer to send that is no secret: 「截图发给你们可以吗」.
_NO_SECRET = re.compile(r"截图|截屏|照片|图片|视频|录屏|订单|单号|流水|记录|凭证|回执")


def offers_us(normal: str) -> bool:
    """Whether the user asks to send us something not named (「能不能发给你们」)."""
    return bool(
        _OFFERS_SOMETHING.search(normal)
        and _OFFER_MOOD.search(normal)
        and not _NOT_AN_OFFER.search(normal)
        and not _NAMED.search(normal)
        and not _NO_SECRET.search(normal)
    )


def names_a_secret(normal: str) -> bool:
    return bool(_SECRET.search(normal))


# Asking in general, ahead of time or about someone else: 「怎么防止账户被盗」「万一被盗
# 了能找回吗」「听说有人被骗了」. Each takes what it asks about with it, to the end of its
# clause; what is left must show no risk of its own (「被骗了3000 钱会退回来吗」 is urgent).
_CLAUSE_REST = r"[^，,。.!！?？;；\n\s]*"
_HYPOTHETICAL = re.compile(
    # A supposition runs on past spaces: 「如果手机丢了 钱被转走了怎么办」 supposes both;
    # one the caller says (「客服说如果不转到安全账户就会冻结」) is the threat itself.
    r"(?<!说)(?:如果|万一|假如|(?<![主只需还就])要是|以防)"
    r"[^，,。.!！?？;；\n]*"
    r"|(?<![a-z])(?:what if|if|in case)(?![a-z])[^，,。.!！?？;；\n]*"
)
# What others tell of, to the end of its clause: 「新闻上说的那种冒充公检法 我今天就遇到了」
# goes on about the user.
_HEARSAY_SPAN = re.compile(
    r"(?:听说|据说|(?<![男女])(?:朋友|别人|同事|网上|新闻)(?:说|讲|看到|里|上))"
    # On past spaces, until the user speaks of themselves (「…我今天就遇到了」).
    r"(?:[^，,。.!！?？;；\n\s]|\s(?![^，,。.!！?？;；\n\s]*(?:我|今天|刚|昨天|现在)))*"
)
_AHEAD = re.compile(
    rf"(?:怎么防|防止|预防|避免|会不会|防范|提防|一般(?:怎么|该|会|要)|提前|想了解|了解一下){_CLAUSE_REST}"
    r"|安全吗|安不安全|安全一?点|更安全|会.{0,10}吗|是真的吗|是不是真的|可信吗|靠谱吗"
    rf"|{_CLAUSE_REST}(?:被骗|被盗|受骗|上当)过{_CLAUSE_REST}"
    r"|(?<![a-z])how to (?:avoid|prevent)(?![a-z])[^，,。.!！?？;；\n]*"
)
# How not to lose anything (「要注意啥才能不被盗号」), as long as nothing has been lost yet
# (「被骗5000 需要注意什么」 is an emergency).
_PREVENTION = re.compile(
    r"不(?:会)?被(?:人)?(?:盗号|盗刷|盗|骗|黑|冒用|入侵)|注意(?:什么|啥|哪些|些)|保护好|保护自己"
    # 「我存一个 省得再被骗」: so as not to be caught (again).
    r"|(?:省得|免得|以免|防止|避免|别)(?:以后)?(?:再|又)?(?:被(?:人)?|上当)(?:盗号|盗刷|盗|骗|黑|冒用|入侵|受骗)?"
    r"|(?:怎么|如何|怎样)(?:才能)?(?:更好地)?保护"
    # English puts what is avoided after the verb: 「how do i avoid getting scammed」.
    r"|(?<![a-z])(?:avoid\w*|prevent\w*|protect\w*|report (?:a |the )?scam|stay safe"
    r"|keep .{0,20}?safe)(?![a-z])(?: [^\s,，。.!！?？]+){0,6}"
)
# Someone else's loss (「我同事被骗了 怎么防」「我朋友去年被刷单骗了两万」), a loss long
# ago (「我舅舅三年前被网恋骗了」), or one the user only thought had happened: no
# emergency of the user's now (a warning still).
_THEIR_LOSS = re.compile(
    r"(?<![男女])(?:朋友|同事|邻居|同学|室友|网友)(?:的)?[^，,。.!！?？;；\n\s]{0,10}?"
    rf"(?:被|受骗|上当){_CLAUSE_REST}"
    r"|(?<![a-z])(?:my )?(?:friend|neighbou?r|colleague|classmate|coworker)(?:'s)?"
    r"(?: [a-z]+){0,2} (?:got|was|has been|were) (?:scammed|hacked)[^,，。.!！?？]*"
)
_LONG_AGO_LOSS = re.compile(
    rf"{_CLAUSE_REST}(?:去年|前年|[一二两三四五六七八九十几\d]+年前|上个?月|几个月前|很久以前|好久以前)"
    rf"{_CLAUSE_REST}"
    r"|(?<![a-z])[^,，。.!！?？]*(?:last (?:year|month)|years ago|months ago)[^,，。.!！?？]*"
    r"|以为(?:是)?(?:被盗|被骗|被黑|被盗刷)了?"
)
# The user about to do what they were told: 「…就会冻结 我该转吗」 (which 「会…吗」 would take
# for a question ahead of time).
_DECIDING = re.compile(r"(?:该|要不要|能不能|可以)(?:转|给|交|付|汇|发|告诉)")
_DONE_ALREADY = re.compile(
    r"刚才|刚刚|我刚|已经.{0,4}(?:转|汇|发|给|付|告诉|被|交)(?![^，,。\s]{0,2}过)"
)
# Worry ahead of time (「怕被盗」「担心被骗」), as long as nothing has been lost yet.
_WORRY = re.compile(r"(?<![可恐哪])怕(?!是)|担心|害怕")
# The worried phrase itself, up to the next break: 「怕被盗」.
# (It stops where the one worried about acts: 「我害怕对方让我把验证码发给他…」.)
_WORRY_SPAN = re.compile(
    r"(?:(?<![可恐哪])怕(?!是)|担心|害怕)[^，,。.!！?？;；\s]*?"
    r"(?=(?:对方|他|她|有人|骗子)[^，,。\s]{0,2}(?:让|叫|要求?)我|[，,。.!！?？;；\s]|$)"
)
_ALREADY_LOST = re.compile(
    r"被.{0,4}了|少了|没了|不见了|不翼而飞|(?:没|没有|从没)(?:消费|操作|用|动|花)过|转走|盗刷了"
)
_HAPPENING_NOW = re.compile(
    r"刚|正在|马上|这会儿|现在.{0,6}(?:少|没|转|扣|登)|已经|(?:告诉|发|给|报|转|汇|付)了"
    # 「我被骗了」「我的账户被盗了」 tell what happened, whatever is asked after.
    r"|我的?.{0,4}被.{0,4}了|(?:让|叫|要)我?(?:把钱)?转"
    r"|(?<![a-z])(?:(?:was|got|been|were|is being) (?:被盗|被黑|scammed|stolen|冻结)"
    r"|someone (?:stole|used|took|logged))(?![a-z])"
)

# Anger, contempt or asking again and again: insults aimed at the service, how the user
# feels, threats to complain, swearing, and counting the tries. Words that also name a
# product state (「App 崩溃了」「麻烦」「客服了吗」) only count in their angry form.
# What anger is aimed at, besides the wallet's own terms: no question in itself.
_AIMED_AT_WORDS = r"app|软件|机器人|平台|系统|玩意儿?|服务|东西|产品|公司|客服"
_AIMED_AT = re.compile(_AIMED_AT_WORDS)
_SERVICE_NOUN = rf"(?:{_AIMED_AT_WORDS}|钱包|银行)"
# 「怎么这么难用」「怎么又…」 ask nothing.
_RHETORICAL = re.compile(r"怎么(?:这么|那么|又|老是|总是|回事)|凭什么|为什么这么")
# Contempt aimed at the service: 「什么破服务」「垃圾app」.
_CONTEMPT = re.compile(rf"(?:你们|这)?(?:这个?)?(?:什么)?(?:垃圾|破|烂)的?{_SERVICE_NOUN}")
_FRUSTRATION = re.compile(
    # Contempt for the service or the bot, with what it is aimed at (so that the
    # question left over, see question_part, is not 「服务」 or 「app」 alone).
    rf"{_CONTEMPT.pattern}"
    r"|垃圾(?!箱|邮件|短信|桶|文件夹|信息|币|分类|电话)|废物|智障|弱智|脑残|有毛病|有病(?:吧|啊|呀)|是不是有病|什么玩意儿?"
    r"|什么东西啊|什么鬼|搞什么|搞啥|怎么搞的|什么破|(?:到底|还)管不管(?!用)"
    # Impatience with the bot: 「回话啊」「说话啊」「怎么不回」.
    r"|^(?:你|你们|客服|机器人)?(?:快)?(?:说话|回话|回复|回我|理我)(?:啊|呀|呢)"
    r"|(?:^|你|你们|客服|机器人)怎么不(?:说话|回|回复|理)"
    # A threat: 「再不给我解决我就报警了」「再不退钱就去投诉你们」.
    r"|再不[^，,。]{0,10}就(?:要|去|会)?(?:报警|投诉|曝光|起诉|告|举报)"
    r"|烂透|很烂|真烂|太烂|难用|太差|真差|好差|差劲|(?<!给商家)(?<!给卖家)(?<!给店家)差评"
    r"|坑人|坑钱|坑爹|被坑|太坑|黑心|流氓|恶心|离谱|过分|不靠谱|靠不住|忽悠|扯淡|胡扯"
    r"|(?:你们|平台|app|软件)(?:是|就是|这是|在)?骗钱|骗钱的|吞(?:了)?我的?钱|黑(?:了)?我的?钱"
    # Rhetorical questions and sarcasm about the service.
    r"|干什么吃的|干啥吃的|(?:是|属)(?:个|一个)?摆设|形同虚设|能不能有点用|能不能靠谱|到底能不能"
    r"|还让不让人|到底(?:要|还要|得)(?:我)?等|就知道(?:让|叫|要)我|^呵呵|跟没回一样|跟没说一样|等于没说|答非所问|答了个寂寞|复制粘贴|就会(?:说|复制|回复)|真行啊|真是谢谢你们"
    # How the user feels.
    r"|气死|气炸|气人|生气(?!的时候)|气愤|火大|恼火|愤怒|烦死|(?<!麻)烦人|好烦(?!恼)|真烦|太烦|急死|无语|失望|寒心"
    r"|受不了|忍不了|忍无可忍|心累|醉了|(?:我|真|真的|真是|简直|彻底)服了|服了你们|^服了|我(?:要|快)?崩溃|心态崩"
    r"|累死|好累|累了|(?:迟早|赶紧|早点)(?:要)?倒闭|别跟我扯|有没有搞错|有没有人(?:在)?管|有人管吗|折腾(?:了)?(?:半天|一晚上|一整天|一天|好久|好几天)|能不能行|还能不能(?:行|好|靠谱|正常|有点用|用了吗)"
    r"|(?:是不是|就是)故意|故意的|抢钱|抢劫|(?:你们|平台|公司|这个?app)[^。]{0,4}(?:想|要|快)倒闭|到底行不行|(?:再|最后)问最后一次|真的?烂(?!了)|(?<!商家)就这态度|(?<!商家)(?<!卖家)(?<!对方)这(?:是)?什么态度|一点用(?:都|也)没有|(?<!我)(?:真|太)蠢"
    r"|是死人吗|心是黑的|黑猫投诉|(?:别|不要)再?(?:给我)?(?:发|回|说)(?:这些|这种)?(?:没用|废话|套话)|不想说了|你们就这样吧|(?:别|不要)再?让我重复"
    r"|好气|真气|太气|^靠(?=[\s,，!！了])"
    # The answer scorned: 「回答的啥啊」「你这答的什么」 (not 「答的是什么意思」).
    # (At the start or after 你 / 这: 「商家回的啥」「审核回复的是什么」 are others' replies.)
    r"|(?:^|(?<=[\s,，。!！])|你们?|你这|这)(?:回|答|回答|回复)的(?:这)?(?:是)?(?:啥|什么)(?:玩意儿?|东西)?(?:啊|呀|嘛)?"
    r"(?=$|[\s,，。!！?？])"
    r"|太慢了|慢死|(?:给|还)我(?:一)?个说法|给个说法|还我钱|把钱还(?:给)?我"
    # Complaining elsewhere.
    # 「我要投诉你们」, not 「投诉渠道在哪」 or 「我想投诉一个商家」.
    r"|(?:我要|我想|要|去|必须|一定|肯定|会)投诉(?!.{0,4}(?:商家|卖家|商户|店|司机|骗子|对方|他|她|别人|外卖|快递|骑手|买家|客人))"
    r"|(?:投诉|举报|曝光|起诉|告)(?:你们|你|平台|客服|机器人)"
    r"|12315|消协|消费者协会|银保监|金融监管局|找律师|报警(?!了)[^。]{0,4}(?:你们|平台)"
    # Swearing.
    # (「我妈的钱包」「给他妈转钱」 are family.)
    r"|(?<![给是转和跟])(?:他|你|真|太|特)妈的?(?=[\s,，!！。?？]|$)|^妈的(?=[\s,，!！])|(?:真|太|特|好)他妈"
    r"|tmd|卧槽|尼玛|(?<![a-z])tm(?=[已再又就都])"
    r"|^操(?=[\s,，!！])|^滚(?!动|筒|轮)|滚吧|滚蛋|没用的东西|敷衍|模板回复|(?:服务|客服|app|你们)[^。]{0,4}越来越差|效率(?:也)?太低|听不懂人话|我再说一遍"
    r"|你们怎么回事|凭什么(?:冻结|扣|封|不让|限制)|(?<![要需用拿靠])凭(?:什么|啥)(?:啊|呀|呢|嘛)?(?=$|[\s,，。!！?？])|(?:全是|都是|尽是)废话|(?<!商家)(?<!卖家)(?<!对方)说了半天"
    # Asking or trying again, not counting: 「都第三次了」「失败三次了」, not 「第二次转账」.
    r"|(?:都|已经)第[二三四五六七八九十几两\d]+次"
    r"|第[二三四五六七八九十几两\d]+次(?:了|问|说|联系|找|来|打|反映|咨询|投诉)"
    # (「输错 5 次会锁定」 is a rule, not a try.)
    r"|(?:试|问|说|弄|找|重置|重发|提交|申请|联系|反映|打了?电话|失败|不成功)了?.{0,3}"
    r"[两三四五六七八九十几好多百千万\d]+(?:次|遍)(?:了|都|也|还)|[百千万]遍"
    # Asked or tried for long (「问了半天」); a wait alone (「三天了还没到」) is the problem.
    r"|(?:问|弄|搞|折腾|试)了半天"
    r"|说了(?:多少|几|好几|n)(?:次|遍)|问了(?:多少|几|好几|n)(?:次|遍)|一直没人|没人管|没人理"
    r"|[!！]{3,}|[?？]{3,}"
    r"|(?<![a-z])(?:terrible|useless|worst|ridiculous|awful|wtf|angry|furious|pissed|annoyed"
    r"|frustrat\w*|unacceptable|a joke|fed up|hopeless"
    r"|disgusting|rubbish|garbage|scam app|fuck\w*|shit\w*|damn"
    r"|nobody helps|no one helps)(?![a-z])"
)

# The answer just given did not solve it: 「还是不行」「试了没用」「照做了还是登不上」.
# Still stuck after the answer's step, told rather than asked: the other side does not
# answer (「已读不回，打语音也不接」), or the wait is long past (「一个礼拜了还没审核完」
# 「显示处理中，已经两天了」).
_STUCK = re.compile(
    r"已读不回|(?:打|拨)?(?:电话|语音)[^，,。]{0,4}(?:也|都)?(?:不接|没人接|打不通)"
    r"|[一二两三四五六七八九十几半\d]+(?:个)?(?:多)?(?:天|小时|周|星期|礼拜|月)了?[^，,。]{0,3}"
    r"(?:还(?:是)?(?:没|没有|不|在)|仍然|依然)"
    r"|(?:处理中|审核中|待审核|没到账|未到账)[^。]{0,8}(?:已经|都)[^，,。]{0,4}"
    r"(?:天|小时|周|星期|礼拜|月)了"
)


def still_stuck(text: str) -> bool:
    """「已读不回」「一个礼拜了还没审核完」: the step the answer gave did not get the user
    anywhere, told without a new question."""
    return bool(_STUCK.search(normalize(text)))


_NOT_SOLVED = re.compile(
    r"^(?:还是|仍然|依然|也)?(?:不行|没用|不管用|没效果|没反应|没解决|不可以|不好使)(?:啊|呀|哦|的|了|呢)*"
    r"(?:[\s,，。!！]|$)"
    r"|还是(?:不|没|失败|一样|老样子)|还是(?:收|登|打|提|转|付|用|进)(?:不|没)"
    # The state the answer was to change stays: 「还是锁着」「还是显示处理中」.
    r"|还是(?:被)?(?:锁|冻|卡着|卡在|显示|提示|报错|处理中|转圈)"
    # The app still falls over: 「还是闪退」「还是一点就退」「还是白屏」.
    r"|还是(?:闪退|崩|白屏|黑屏|卡死)(?!模式|主题)|还是一[^，,。\s]{0,3}就(?:退(?!回|款|钱)|闪退|崩|卡|白屏|黑屏)"
    # Did as told, to no end: 「按你说的弄了 还是锁着」「按您的步骤操作了也一样」.
    r"|按(?:你|您)[^，,。]{0,6}(?:弄|做|操作|试|改)(?:了|过).{0,8}(?:还是|也|都|依然|仍然)"
    r"|试了(?:也|还是|都)?(?:不行|没用)|没用(?!过)"
    # 「试过了」 after the steps: they did not help.
    r"|^(?:都|也|早就|已经|我)?(?:试过了|试过|弄过了|做过了|照做了)(?:啊|呀|的|了)*$"
    # What the user did besides, to no end: 「重装了也不行」「重启过也一样」.
    r"|(?:了|过)(?:也|都)(?:不行|一样|打不开|进不去|登不上|不管用)"
    r"|照(?:着)?做了.{0,6}(?:还是|也|都)|(?:没|不)(?:管用|好使)"
    # The step the answer sent them to went nowhere: 「联系了商家，商家根本不理我」.
    r"|(?:商家|卖家|对方|银行|他们)[^，,。]{0,4}(?:根本)?(?:不理|不回|不管|不给退|不退|不处理)"
    r"|(?<![a-z])(?:still (?:not|doesn'?t|didn'?t|won'?t)|didn'?t work|doesn'?t work)(?![a-z])"
)

# Asking to leave a message for the support team.
# Asking to have a ticket opened, in so many words (not 「我的工单处理到哪了」).
_OPENS_TICKET = re.compile(
    r"(?:帮我|给我|我要|我想|^想|请|麻烦|能不能|可以)[^。]{0,4}(?:提交|提|开|建|填|留)(?:个|一个|一张)?工单"
    r"(?!后|了|过|.{0,4}(?:进度|状态|处理到|怎么样))"
    # 「提交工单：充值没到账……」: the request is the message's first words.
    r"|^(?:提交|提|开|建|填)(?:个|一个|一张)?工单(?!后|了|过|.{0,6}(?:进度|状态|处理到|怎么样|多久|吗|呢))"
    r"|(?:帮我|给我|请|麻烦)[^。]{0,8}(?:登记|(?:报|反馈|转|提交)给(?:后台|技术|相关部门))"
    # A complaint or an appeal to file, in so many words (「我要投诉」 alone is anger, and
    # is answered as such).
    r"|(?:我要|我想|帮我|请|麻烦)[^。]{0,4}提交(?:个|一个|一份)?(?:投诉|申诉)"
    r"|(?:我要|我想)(?:申诉|反馈(?:一下|个)?(?:问题|情况))"
)
# What may follow a request to file and say nothing more: 「帮我登记一下吧」.
_REQUEST_TAIL = " ，,。.!！~～一下吧呀啊哈"
_TICKET = re.compile(
    r"(?:提交|提|开|建|填|留)(?:个|一个|一张)?(?:工单|单子)|工单|留言|(?<![a-z])ticket(?![a-z])"
    r"|帮我登记|登记一下|报给(?:后台|技术|相关部门)|反馈给(?:后台|技术|相关部门)"
)

# Words that file something, the form's own and the NLU's open_ticket examples' (「我要投诉」
# 「反馈问题」「我要报修」「file a complaint」): a message heard as open_ticket without any
# (「帮我写个请假条」「我要不要再转一次」) asks to file nothing.
_FILES = re.compile(
    r"工单|单子|(?:开|提|建)个?单|投诉|反馈|报障|报修|故障|举报|申诉|提交|登记|记录|留言|备案"
    r"|上报|意见|建议|售后|赔偿|索赔"
    r"|(?<![a-z])(?:ticket|complain|complaint|report|file)(?![a-z])"
)


def without_the_request(text: str) -> str:
    """「帮我提个工单 …充值2000 银行扣了钱包里没有」: the problem told, without the words
    that ask for the ticket (which the KB would read as a question on tickets)."""
    return _OPENS_TICKET.sub(" ", normalize(text)).strip(_REQUEST_TAIL)


def files_something(text: str) -> bool:
    """Whether ``text`` asks, in so many words, for something to be filed."""
    return bool(_FILES.search(normalize(text)))


# A question, by its mark or its question words (not "好的" with a question in tow).
_ASKS = re.compile(
    # 「什么都没做」「怎么都不行」: 什么 and 怎么 before 都 or 也 mean "any", and ask nothing.
    r"[?？]|(?:吗|嘛|么|呢|没)[\s。.!！~～]*$|怎么(?![都也])|怎样|如何|为什么|为啥|咋(?![都也])"
    r"|啥(?![都也])|什么(?![都也])"
    r"|多少|多久|多长"
    r"|(?<![好这那前十])几[天点个号次分小张笔种家位年月周岁件条遍]|哪|能不能|能否|可不可以|可以.{0,12}吗|是否|有没有|会不会|要不要|行不行|是不是|在哪"
    r"|^(?:how|what|why|when|where|can|could|is|are|do|does|will|which|who|should)(?![a-z])"
)

# Words around a question that carry nothing of it: greetings, thanks, yes/no, goodbyes.
_FILLER = re.compile(
    # Openers that may run straight into the question: 「请问怎么…」.
    r"^(?:你好|您好|请问|麻烦(?:问一下|问下|问)|打扰(?:一下)?|在吗|在不在|有人吗"
    r"|(?:我)?(?:想)?(?:问一下|问下|咨询一下|咨询下)(?![单载线架面])|(?:我)?(?:想)?问个问题|我有个问题"
    r"|(?:我)?(?:想)?问(?:个|件|点)事(?:情|儿)?|(?:我)?有(?:个|件)事(?:情|儿)?(?:想问)?"
    r"|(?:另外|还有)(?:一个|个)问题)[\s,，.。!！~～、:：?？]*"
    # Words that stand alone: 「好的，…」, but 「好用吗」 is a question.
    r"|^(?:哈喽|哈啰|嗨|客服|亲|谢谢(?:你|您)们?[啊呀啦哈了]?"
    r"|谢谢(?:你|您)?(?:们)?的?(?:提醒|解答|帮助|帮忙|回复|耐心)|谢谢|多谢|感谢(?:你|您)?们?|谢啦|谢了"
    r"|好的|好吧|行吧|好嘞|好滴|好|行|嗯+|哦+|噢|ok|okay|yes|no|thanks|thx|3q|3ks|tks"
    r"|thank you|hi|hello|hey|是的|是|对|对的|对了|不是|不对|没有|不用了|算了|那个|还有|另外|顺便"
    # Greetings and acknowledgements: 「早上好」「明白了 谢啦」「算了 没事了」.
    r"|(?:早上|上午|中午|下午|晚上)好|早安|晚安|明白了?|知道了|懂了|了解了?|清楚了|收到了?"
    r"|没事了?|没问题了?|那就这样|就这样吧?"
    # (「886」「88」: internet slang for bye-bye; only as a word of its own.)
    r"|拜拜|再见|bye|(?:886|88)(?=[,，.。!！~～]*$))(?:[\s,，.。!！~～、:：]+|$|(?=谢谢|多谢|谢啦|拜拜|再见|bye|明白|知道|了解|收到))"
)

_CLAUSE_BREAK = re.compile(
    # (Not the point of an amount: 「88.5元没到账」.)
    r"(?:[，,。!！?？;；\n]|(?<!\d)\.|\.(?!\d))+"
    r"|(?:还有(?!点|一点|些|一些|钱|余额|多少|几|剩|吗|没|效|\d|[一两]?[张笔块元条]|[一两]?个(?!问题)"
    r"|[一二两三四五六七八九十百千万]+多?[块元毛张笔条万千百])"
    r"|另外(?!一|的|那)|顺便问一下|顺便问下|顺便|以及|and also)"
    # Phone users type a space where a comma would go (「充值没到账 怎么办」), but also
    # between words (「微信 支付 失败」): only pieces of three characters or more split.
    r"|(?<=[\u4e00-\u9fff]{3})\s+(?=[\u4e00-\u9fff]{3})"
)
_SPACES = re.compile(r"\s+")
# 「提现到账了，谢谢」: the problem is solved, and the user says so with thanks.
_SOLVED = re.compile(
    r"(?:到账|到了|好了|可以了|成功|解决|搞定|收到|弄好|恢复|正常|登上|进去|找到|能用|打开|开了)了?"
    r"[啊呀哈啦哦嘞]*$"
)
_NEGATED = re.compile(r"[没不未无]|失败")
MAX_SOLVED_LENGTH = 10
_THANKS = re.compile(
    r"谢谢|多谢|感谢|谢啦|谢了|(?<![a-z])(?:thank|thx)|(?<![a-z0-9])(?:3q|3ks|tks)(?![a-z0-9])"
)
_TRAILING_THANKS = re.compile(
    r"(?<=\S)[\s,，.。!！~～]*(?:谢谢(?:你|您)?们?|多谢|谢啦|谢了|thanks|thank you|thx|3q|3ks|tks)"
    r"[啊呀啦哈了!！~～。.]*$"
)

# A pick from a numbered list: 「1」「第一个」「①」「选2」「the first one」.
_ORDINALS = "一二三四五六七八九"
_CIRCLED = "①②③④⑤⑥⑦⑧⑨"
_ENGLISH_ORDINALS = ("first", "second", "third", "fourth", "fifth")
_CHOICE = re.compile(
    rf"^(?:我)?(?:选|选择|要|是)?(?:第)?(?P<n>[1-9]|[{_ORDINALS}])"
    r"(?:个问题|个选项|个吧|问题|选项|个|项|条|种|号)?(?:吧|的)?$"
    rf"|^(?P<c>[{_CIRCLED}])$"
    r"|^(?:the |option )?(?P<e>first|second|third|fourth|fifth|[1-9])(?: one| option)?$"
)
# What people say around a pick: 「那就第二个吧」「第一个，谢谢」.
_AROUND_PICK = re.compile(
    r"^(?:(?:好的?|嗯|ok)[\s,，]+)?(?:那就|就选|那我选|麻烦|请问|请)?(?:帮我)?"
    r"|[\s,，。.!！~～]*(?:谢谢|多谢|谢了|thanks|thank you)(?:啦|了|你|您|哈)?[\s,，。.!！~～]*$"
)
# None of the options offered: 「都不是」「没有我要的」「不是这个」.
_NONE_OF_THEM = re.compile(
    r"^(?:都|全都|全|一个都|以上都|这些都|这几个都)?(?:不是|不对)"
    r"(?:这个|这些|这几个|我要(?:的|问的|找的)|我想问的)?(?:问题|意思)?(?:啊|呀|哦|吧|的)?$"
    r"|^没有(?:我要|我想)(?:的|问的|找的)|^(?:none of (?:them|these|the above)|neither)$"
)
_LAST = re.compile(
    r"^(?:选|要)?(?:最后一个|最后那个|最后这个|最后一项|最下面(?:那个|的|一个|那条)?|最后面(?:那个|的)?"
    r"|the last one|last)(?:吧)?$"
)
# Where in the list, not which number: 「最上面那个」「中间那个」.
_TOP = re.compile(r"^(?:选|要)?(?:最上面|最前面|最顶上)(?:那个|的|一个|那条|这个)?(?:吧)?$")
_MIDDLE = re.compile(r"^(?:选|要)?(?:中间|当中)(?:那个|的|一个|那条|这个)(?:吧)?$")
_DENIES = re.compile(r"不是|不要|不对|别")
# 「不是登录那个 我说的是付钱时候要输的那串数字」「不是第一个，是第二个」: one option turned
# down, another named in the same breath.
_CORRECTION = re.compile(
    r"^(?:不是|不要)(?P<denied>[^，,。.!！?？ 也不]{0,12}?)(?:那个|那种|那项|的)?[，,。.!！ ]*"
    r"(?:我(?:说|问|要|找|指|想问)的?是|我是(?:说|问|想问|要问|指)?|我要|我想问|而是|是)"
    r"(?P<meant>.{2,30})$"
)
# What people add to an option's words: 「登录的那个」「选支付密码」.
_CHOICE_WORDS = re.compile(r"^(?:我)?(?:选|选择|要|是)?|(?:的)?(?:那个|这个|那项|那条|吧|啊|呀)$")


@dataclass(frozen=True)
class Signals:
    """What one message says, besides (or instead of) its question."""

    text: str
    wants_person: bool
    # Money or access already lost, or a scam the user is caught in right now.
    urgent: bool
    # Any sign of fraud or impersonation, even a question about it in general.
    scam: bool
    frustrated: bool
    wants_ticket: bool
    asks: bool
    # The answer just given did not help (「还是不行」).
    not_solved: bool
    # Asks for a ticket to be opened (「充值三天了没到账，帮我登记一下」).
    opens_ticket: bool
    # The user says they already gave money or a secret away (see _COMPLIED).
    complied: bool
    # A scam or a loss involving someone in particular, not a question in general: what
    # makes a later 「我已经转了」 or a request for a person urgent.
    approached: bool
    # The message without what is said around the question (requests, greetings, anger).
    question: str
    # Offers this service a secret: 「我把验证码发给你们吧」 (see offers_a_secret).
    offers_secret: bool = False


# Where the guard hid a secret (〔已隐藏〕): the value is gone, and the words around it are
# read as one (「我把验证码〔已隐藏〕发给你们」 offers the code, as 「我把验证码发给你们」 does).
_HIDDEN = re.compile(rf"\s*{re.escape(REDACTED)}\s*")


# Emoji and other pictographs (with their joiners, variation selectors and skin tones):
# 「ok 明白了👌」 is small talk, and the KB has no use for them.
_PICTOGRAPHS = re.compile("[\u200d\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")


def _without_pictographs(text: str) -> str:
    text = _PICTOGRAPHS.sub("", text)
    return "".join(" " if unicodedata.category(char) == "So" else char for char in text)


def normalize(text: str) -> str:
    return _SPACES.sub(" ", canonicalize(_without_pictographs(_HIDDEN.sub("", text)))).strip()


# The mnemonic as users describe it: 「那12个英文单词」「让我把那几个单词发给他」.
_MNEMONIC_DESCRIBED = re.compile(
    r"(?:(?:\d{1,2}|十二|二十四|几)个|那些|这些|那串|这串)(?:英文)?单词"
)


def read(text: str) -> Signals:
    normal = _MNEMONIC_DESCRIBED.sub("助记词", normalize(text))
    # Offered to us, a secret is no scam of anyone's nor lost yet: the reply says keep it.
    offers_secret = offers_a_secret(normal)
    if offers_secret:
        # Only the offer itself is set aside when reading for risks (「我刚被骗了五千块需要我
        # 提供验证码吗」 is urgent); the question is what the other clauses ask.
        rest = "，".join(
            clause for clause in _CLAUSE_BREAK.split(normal) if not _OFFERS_A_SECRET.search(clause)
        )
        read_for_risks = _read(_OFFERS_A_SECRET.sub(" ", normal))
        return replace(
            read_for_risks, text=normal, question=question_part(rest), offers_secret=True
        )
    return _read(normal)


def _read(normal: str) -> Signals:
    # 「要人工后面处理的那种工单」: the person is who will handle the ticket asked for.
    # 「不想跟机器人聊了 能不能留个工单 让你们的人回我电话」: the ticket is how they ask for
    # someone, unless they name a person to talk to now (「转人工 或者留个工单」).
    opens_ticket = bool(_OPENS_TICKET.search(normal))
    for_the_ticket = opens_ticket and (
        bool(_PERSON_FOR_A_TICKET.search(normal)) or not _PERSON_NOUN_NAMED.search(normal)
    )
    wants_person = (
        bool(_PERSON.search(normal))
        and not _NOT_PERSON.search(normal)
        and not for_the_ticket
        and not _thinks_better(normal)
    )
    accused = bool(_ACCUSATION.search(normal))
    # Fraud by someone else, not the wallet "scamming" or the user taken for a fraudster.
    others = _TAKEN_FOR_FRAUD.sub("", _ACCUSATION.sub("", normal))
    # Warned about, but no emergency of the user's now: others' losses, and old ones.
    mentioned = others
    others = _THEIR_LOSS.sub(" ", _LONG_AGO_LOSS.sub(" ", others))
    loss = _lost(others)
    scam = _scam(others)
    # Asking ahead, in general or about what might happen, counts only when the rest of
    # the message, those words taken out, shows no risk of its own (「有一笔不认识的扣款
    # 我好害怕」 and 「被骗了3000 钱会退回来吗」 are emergencies, 「怕被盗」 is not).
    ahead = any(p.search(others) for p in (_HYPOTHETICAL, _HEARSAY_SPAN, _AHEAD, _PREVENTION))
    worried = bool(_WORRY.search(others)) and not _ALREADY_LOST.search(normal)
    rest = others
    asked = []
    for words in (_HYPOTHETICAL, _HEARSAY_SPAN, _AHEAD, _PREVENTION, _WORRY_SPAN):
        asked += [found.group() for found in words.finditer(rest)]
        rest = words.sub(" ", rest)
    gave = bool(_COMPLIED.search(_THEIR_SENDING.sub(" ", normal))) and not _REFUSED.search(normal)
    # In the same message as the scam, only money or a secret handed over counts (「我交了」
    # 「告诉他了」); 「我下了」「输了」 need the scam to have come up before.
    handed = gave and bool(_HANDED.search(normal))
    risk_besides = (
        _lost(rest)
        or bool(_scam(rest) and (_INVOLVED.search(rest) or _COMPLIED.search(rest)))
        or bool(_scam(rest) and _SOMEONE.search(rest) and _DECIDING.search(others))
        or bool(_HAPPENING_NOW.search(rest))
        # Typed without a break, a supposition may run on into what already happened:
        # 「会不会是诈骗他让我把验证码发给他我已经发了」.
        or any(_DONE_ALREADY.search(words) for words in asked)
    )
    general = (ahead or worried) and not risk_besides
    turned_away = bool(_TURNED_AWAY.search(normal))
    # A scam with the user in it, unless they turned the caller away with nothing given;
    # 「他让我交保证金 我交了」 is in it whatever the words.
    # Asked to, and asking us first (「有个客服找我要助记词 给不给」「让我下载屏幕共享 能信吗」)
    # with nothing under way: the warning and the entry on scams, a person on offer; what
    # they tell next (「我已经给了」) is the emergency.
    asks_first = (
        bool(_ASKS.search(normal) or _EITHER_OR.search(normal))
        and not gave
        and not _UNDER_WAY.search(normal)
    )
    caught = scam and (
        handed or (bool(_INVOLVED.search(normal)) and not turned_away and not asks_first)
    )
    urgent = not general and (loss or caught)
    # Someone in particular, outside what is only asked about or supposed.
    approached = (
        urgent
        or (
            scam
            and asks_first
            and not general
            and bool(_INVOLVED.search(normal))
            and not turned_away
        )
        or (
            (_scam(rest) or _lost(rest))
            and bool(_SOMEONE.search(rest))
            and not _HEARSAY.search(rest)
            and not turned_away
        )
    )
    return Signals(
        text=normal,
        wants_person=wants_person,
        urgent=urgent,
        scam=scam or _scam(mentioned) or _lost(mentioned),
        frustrated=accused or bool(_FRUSTRATION.search(normal)),
        wants_ticket=bool(_TICKET.search(normal)),
        asks=bool(_ASKS.search(normal)),
        not_solved=bool(_NOT_SOLVED.search(normal)),
        opens_ticket=bool(_OPENS_TICKET.search(normal)),
        complied=gave,
        approached=approached,
        question=question_part(normal),
    )


def _scam(text: str) -> bool:
    """Signs of a scam: a script (_SCAM), or someone else at the controls of the phone."""
    return bool(_SCAM.search(text)) or bool(_REMOTE.search(text) and not _FOR_FAMILY.search(text))


def _lost(text: str) -> bool:
    """Money or access already lost, or the phone that holds the wallet gone."""
    return (
        bool(_LOSS.search(text) and not _MINE.search(text))
        or bool(
            _NEVER_DID.search(text)
            and _CHARGE_IN_VIEW.search(text)
            and not _OWN_MISTAKE.search(text)
        )
        or bool(_NEVER_BOUGHT.search(text) and _UNEXPLAINED_CHARGE.search(text))
        or bool(_PHONE_GONE.search(text) and not _PHONE_BACK.search(text))
        or bool(_VANISHED.search(text) and not _OWN_DOING.search(text))
    )


# 「多了两笔游戏充值 我根本没玩过游戏」「被扣了钱 我没买过东西」: a charge for what the user
# never bought (「我没充过值 第一笔充值有优惠吗」 has no charge in it).
_NEVER_BOUGHT = re.compile(
    r"我(?:从来|根本|压根|都|也)?(?:没|没有|从没|从来没)(?:有)?(?:买|玩|订阅|下单|开通)过"
)
_UNEXPLAINED_CHARGE = re.compile(
    r"扣了|扣款|被扣|扣钱|扣我|多了[^，,。]{0,4}笔|多出[^，,。]{0,4}笔"
)


def clauses(text: str) -> list[str]:
    """The message's clauses, each long enough to mean something on its own."""
    return [part.strip() for part in _CLAUSE_BREAK.split(text) if len(part.strip()) >= 3]


# Going back to what was asked before, in so many words: 「还是说…的事」「回到刚才那个」.
_GOING_BACK = r"(?:还是说|说回|回到|回头说|接着说|继续说)"
_BEFORE = r"(?:刚才|之前|前面|上面)"
_RETURNS = re.compile(
    rf"{_GOING_BACK}{_BEFORE}?[^，,。\s]{{0,8}}(?:的事|那个问题)"
    rf"|{_GOING_BACK}{_BEFORE}(?:那个|那件|说的|问的)?"
)
# A clause that says only that (「回到刚才闪退那个」「说回之前绑卡的事」), nothing more.
_ONLY_RETURNS = re.compile(
    rf"(?:那|那个|再)?{_GOING_BACK}{_BEFORE}?[^，,。\s]{{0,8}}?(?:的事|的问题|那个问题|那个|那事)?"
)


def returns_to_earlier(text: str) -> bool:
    """Whether ``text`` goes back to a matter raised before (「回到刚才那个」)."""
    return _RETURNS.search(text) is not None


# 「刷新了」「重新登录了」: something the user did, told, not asked.
_DID = re.compile(r"(?:了|过)[啊呀吧的]*$")


def tried_then_still(text: str) -> bool:
    """「刷新了 重新登录了 还是没有」: what the user tried, then that it still fails. The
    things tried may name a subject (登录), but the message asks nothing new of it."""
    # 「回到刚才闪退那个」 only says which matter the rest is about.
    parts = [part for part in clauses(normalize(text)) if not _ONLY_RETURNS.fullmatch(part)]
    if len(parts) < 2 or not _NOT_SOLVED.search(parts[-1]):
        return False
    return all(_DID.search(part) and not _ASKS.search(part) for part in parts[:-1])


# 「不是看余额，是余额少了一笔钱」: what the user does not mean, then what they do.
# 「我说错了」「哦」 before a correction.
_OWN_SLIP = r"^(?:(?:我)?(?:说错了|打错了|写错了|搞错了|弄错了)|哦|噢|啊|呃)?[\s,，。]*"
_NOT_THIS_BUT = re.compile(
    # 「不是我操作的」 denies having done it; it corrects nothing. 「哦不是 是换绑银行卡」:
    # what is not meant may go unsaid.
    _OWN_SLIP + r"(?:我)?(?:不是|并不是)(?!我|本人)[^，,。.!！?？\s]{0,12}[，,\s]*"
    r"(?:是|而是|我是说|我说的是|我是想|我是要|我想|我要)(?=\S{2,})"
    # 「不对 我是想把钱弄到银行卡上」: the answer is called wrong, then what is meant.
    r"|^(?:不对|错了|不是这个|答非所问)[啊呀吧，,。!！\s]*(?:我)?"
    r"(?:是想|是要|是说|想问的是|问的是|说的是|要问的是)(?=\S{2,})"
)
# 「我说错了 是提现不是充值」: what is meant first, then what is not.
_THIS_NOT_THAT = re.compile(
    _OWN_SLIP
    + r"是(?!我|本人)(?P<meant>[^，,。\s]{2,10}?)[\s,，]*(?:不是|而不是)"
    # A question (「是手续费不是很高吗」) corrects nothing.
    + r"[^，,。!！?？]{1,10}(?<![吗么呢嘛])$"
)


def corrects(text: str) -> bool:
    """「不是看余额，是余额少了一笔钱」「我不是要看余额，我想看每一笔的明细」: the user
    sets the topic aside for another matter."""
    normal = normalize(text)
    return bool(_NOT_THIS_BUT.search(normal) or _THIS_NOT_THAT.search(normal))


# 「另外日元能放钱包里吗」「对了，我老公……」: the user marks a new question.
_ANOTHER_MATTER = re.compile(
    r"^(?:(?:好的?|嗯|哦|ok|谢谢)[\s,，。!！]*)*(?:另外(?![一两那这的个张笔])|对了[\s,，。!！]|顺便(?:问|说)"
    r"|换个问题|另一个问题"
    r"|再问(?:个|一个)?(?:别的|其他的?)问题|(?:我)?还想问(?:个|一个)?(?:别的|其他的?)?(?:问题)?"
    r"|by the way|btw)"
)


def opens_another_matter(text: str) -> bool:
    """Whether the message says it asks about something new, not the topic so far."""
    return bool(_ANOTHER_MATTER.search(normalize(text)))


def question_part(normal: str) -> str:
    """The clauses that carry the question: person requests and filler words dropped;
    after 「不是X，是…」 only what the user does mean."""
    normal = _THIS_NOT_THAT.sub(r"\g<meant>", _NOT_THIS_BUT.sub("", normal))
    kept = []
    solved = []
    done = []
    thanked = bool(_THANKS.search(normal))
    clauses = _CLAUSE_BREAK.split(normal)
    for clause in clauses:
        rest = _PERSON.sub("", _NOT_PERSON.sub("", clause)).strip()
        # 「我想提交一个投诉」 beside the problem: the form takes the request, and read as
        # a question it would be one about contacting us.
        if len(clauses) > 1 and not _OPENS_TICKET.sub("", rest).strip(_REQUEST_TAIL):
            continue
        calm = _FRUSTRATION.sub("", rest)
        # Anger, and nothing about the wallet once the service it is aimed at is taken
        # out too: 「太气人了」「我要投诉你们」「你们这个 app 怎么这么难用」.
        if calm != rest and not _still_asks(calm):
            continue
        # 「垃圾app 钱呢」: the contempt says nothing of the question (「钱呢」); nor does
        # 「你们是骗子吧」 beside 「钱提不出来」 (no scam to look up: the withdrawal is asked).
        rest = _CONTEMPT.sub("", rest).strip() or rest
        accusation = _ACCUSED.sub("", rest).strip()
        if accusation != rest and len(accusation) <= len("你们"):
            if len(clauses) > 1:
                continue  # beside another clause; alone, 「你们是不是骗子」 asks if we are real
            accusation = ""
        rest = accusation or rest
        while True:  # 「好的谢谢」: one filler word after another
            stripped = _FILLER.sub("", rest, count=1).strip()
            if stripped == rest:
                break
            rest = stripped
        # Thanks at the end: 「绑好了 谢谢」 (too short a piece to split off as a clause).
        rest = _TRAILING_THANKS.sub("", rest)
        rest = rest.strip(" ，,。.!！~～、:：")
        if rest:
            kept.append(rest)
            worked = (
                len(rest) <= MAX_SOLVED_LENGTH
                and bool(_SOLVED.search(rest))
                and not _NEGATED.search(rest)
                and not _ASKS.search(rest)
            )
            solved.append(thanked and worked)
            # 「绑好了」 naming nothing of the wallet: the step just answered went fine.
            done.append(worked and not has_domain_term(rest))
    # News that it worked, said with thanks, is no question; but next to another problem
    # it is that problem's context (「谢谢 转账成功了 对方没收到」).
    if kept and all(solved):
        return ""
    # 「绑好了 那怎么充值」: the step went fine and the question that follows is a new one;
    # read with 「绑好了」 it leans back on binding the card.
    # Only when what follows names a subject of its own: beside 「对方怎么没收到」 the
    # success (「转账成功了」) is that problem's context.
    asking = [rest for rest, finished in zip(kept, done, strict=True) if not finished]
    if len(asking) < len(kept) and any(
        _ASKS.search(rest) and names_a_subject(rest) for rest in asking
    ):
        kept = asking
    return "，".join(kept)


def _still_asks(calm: str) -> bool:
    """Whether a clause, its anger taken out, still asks or tells about the wallet."""
    return has_domain_term(_AIMED_AT.sub("", calm)) or bool(_ASKS.search(_RHETORICAL.sub("", calm)))


# Terms that name no subject after an answer: synonym targets that tell how something
# went (「还是失败」), and money itself, which every answer of a wallet is about (「钱呢」
# after a top-up answer asks after that top-up).
# 「到账要多久」 after cross-border: every movement of money arrives, so 到账 names none.
_NO_SUBJECT = frozenset({"失败", "重置", "忘记", "锁定", "钱", "到账", "没到账", "处理中"})


@cache
def domain_terms() -> frozenset[str]:
    """The wallet's own words (the KB's jieba dictionary and synonym targets)."""
    words = {
        line.split()[0] for line in USER_DICTIONARY.read_text("utf-8").splitlines() if line.strip()
    }
    for line in SYNONYMS_FILE.read_text("utf-8").splitlines():
        head = line.split(":", 1)[0].strip()
        if head and not head.startswith("#"):
            words.add(head)
    words |= {"钱", "余额", "银行卡", "卡", "付款", "转账", "密码", "手续费", "汇率", "限额", "币"}
    return frozenset(normalize(word) for word in words if len(word) >= 1)


def asks_about_the_wallet(text: str) -> bool:
    """Whether ``text`` asks something about the wallet: a question mark or word and one
    of the wallet's terms (「不知道为什么」 alone asks nothing of it)."""
    normal = normalize(text)
    return bool(_ASKS.search(normal)) and has_domain_term(normal)


def asks(text: str) -> bool:
    """Whether ``text`` asks anything at all (a question mark or word)."""
    return bool(_ASKS.search(normalize(text)))


def names_a_subject(normal: str) -> bool:
    """Whether ``normal`` names something of the wallet, not only how it went
    (「还是失败」「重置了还是不行」 name nothing new after an answer)."""
    return any(term in normal for term in domain_terms() if term not in _NO_SUBJECT)


# 「你是机器人吗」: asked of the bot, not of the wallet (Rasa's bot_challenge; this reads it
# where no intent comes with the text, in degraded mode).
_ASKS_WHO_ANSWERS = re.compile(
    r"^(?:你|您)(?:叫|是)什么(?:名字)?[?？]*$|^(?:你|您)是谁[?？]*$"
    r"|^(?:请问)?(?:你|您|这|这边|对面)?(?:是|是不是)(?:个|一个)?(?:机器人|真人|人工|ai|智能客服|自动回复|程序|人)"
    r"(?:吗|么|嘛|啊|吧|呀)?[?？]*$|^(?:are you|r u) (?:a )?(?:bot|robot|human|real person)\??$"
)


def asks_who_answers(question: str) -> bool:
    normal = normalize(question)
    return any(_ASKS_WHO_ANSWERS.match(text) for text in (normal, normal.replace(" ", "")))


def has_domain_term(normal: str) -> bool:
    return any(term in normal for term in domain_terms())


# A correction says what the user meant: 「是换号码 不是换手机」「我说的是支付密码」.
_CORRECTS = re.compile(
    r"(?:我说的|我问的|我要问的|我想问的|我指的|我是说)是?[^，,。\s]{2,}"
    r"|^是[^，,。\s]{2,10}[\s,，]*(?:不是|而不是)|^不是[^，,。\s]{2,10}[\s,，]*(?:是|而是)[^，,。\s]{2,}"
)


def is_real_question(signals: Signals) -> bool:
    """Whether the words left after the small talk ask or tell something about the wallet.

    「好的，那提现要手续费吗」 is a question with 好的 in front; 「好的 拜拜」 is not.
    """
    rest = signals.question
    if len(rest) < 2:
        return False
    return (
        has_domain_term(rest)
        or bool(_ASKS.search(rest) or _CORRECTS.search(rest))
        or corrects(signals.text)
    )


# A hidden secret with its label: 「我的支付密码是〔已隐藏〕」「卡号〔已隐藏〕」.
_LABELLED_SECRET = re.compile(
    r"(?:我的|我)?(?:支付|登录|交易)?(?:密码|验证码|校验码|动态码|cvv|cvc|安全码|银行卡号|卡号"
    r"|身份证号码?|证件号码?|助记词|私钥|pwd|password|pin)(?:是|为|:|：)?\s*" + re.escape(REDACTED),
    re.IGNORECASE,
)
# What goes wrong, said without a question: 「绑不上」「付不了款」.
_TROUBLE = re.compile(
    r"不上|不了|失败|不到|不行|[不未没]成功|没到|错误|报错|异常|被拒|冻结|锁|不出去|不进去|不出来"
)
_TROUBLE_MORE = re.compile(
    r"忘|丢|被盗|盗刷|转错|扣了|多扣|没收到|收不到|没反应|卡住|不对|不见|少了|没动静|(?:余额|金额|数字|钱)[^，,。]{0,2}没(?:有)?变"
)


# A fact of the user's situation: an amount, a time, a count (「已经五个小时了」「金额是五千」).
_AMOUNT_OR_TIME = re.compile(
    r"\d|[一二三四五六七八九十两几半百千万]+(?:个|整)?(?:小时|分钟|天|周|星期|礼拜|月|年|块|元|笔|次|万|千"
    r"|工作日|上午|下午|晚|早上|夜|宿)"
)
_LATIN = re.compile(r"[a-z]{3,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def tells_a_fact(signals: Signals) -> bool:
    """Whether the words left after the pleasantries tell something of the user's own
    case: an amount or a time, or a name in Latin letters among Chinese (「bank是HSBC香港」
    「在电脑上订机票 想用okpay付」). NLU may hear such a message as a yes, a goodbye or
    「你是机器人吗」; it is no small talk. (A long pleasantry, 「好的 我晚点再去试一下」, is.)"""
    rest = signals.question
    if not rest:
        return False
    return bool(_AMOUNT_OR_TIME.search(rest)) or (
        bool(_HAN.search(rest)) and bool(_LATIN.search(rest))
    )


def only_accuses(signals: Signals) -> bool:
    """「你们是不是骗子平台」: the message calls the wallet a fraud and says nothing else."""
    question = signals.question.strip(" ，,。.!！?？")
    rest = _ACCUSED.sub("", question).strip(" ，,。.!！?？")
    return rest != question and len(rest) <= len("平台")


def speaks_of_someone(text: str) -> bool:
    """Whether ``text`` tells of another party (「他发了个你们的官方截图」「对方说」)."""
    return bool(_SOMEONE.search(normalize(text)))


def declines_person(text: str) -> bool:
    """Whether ``text`` turns a person down (「不用转人工」「先不需要人工哈」「转人工还得
    排队是吧，算了不用了」) and asks for none elsewhere."""
    normal = normalize(text)
    if _thinks_better(normal):
        return True
    return bool(_NOT_PERSON.search(normal)) and not _PERSON.search(_NOT_PERSON.sub(" ", normal))


# 「…算了不用了」「…还是不转了」 after the person: the user thought better of it.
_THOUGHT_BETTER = re.compile(
    r"(?:算了|还是)[\s,，。!！~]*(?:算了[\s,，。!！~]*)?(?:不用|不要|不需要|不转|不找|不等)(?:了|啦)"
)


def _thinks_better(normal: str) -> bool:
    """A person asked for (or asked about), then turned down later in the message."""
    ends = [found.end() for found in _PERSON.finditer(normal)]
    return bool(ends) and bool(_THOUGHT_BETTER.search(normal, ends[-1]))


# 「真人客服啥时候在线」「人工客服几点下班」: a question about the service, not a request.
_ABOUT_THE_SERVICE = re.compile(
    rf"{_PERSON_NOUN}?客服[^，,。]{{0,4}}(?:几点|什么时候|啥时候|何时|时间|在线|上班|下班|电话|热线)"
)


def asks_about_the_service(text: str) -> bool:
    """Whether ``text`` asks when or how the support staff can be reached."""
    normal = normalize(text)
    return bool(_ABOUT_THE_SERVICE.search(normal)) and bool(_ASKS.search(normal))


# (886 and 88 only at the end, as in _FILLER: 「转了88元」 is an amount.)
_GOODBYE = re.compile(r"拜拜|再见|(?<![a-z])bye(?![a-z])|(?<![\d.])88(?:6)?[,，.。!！~～]*$")


def pleasantry_of(text: str) -> str | None:
    """The small-talk intent a message with nothing to look up amounts to, read from its
    words (the NLU may have heard it as a question): goodbye before thanks."""
    normal = normalize(text)
    if _GOODBYE.search(normal):
        return "goodbye"
    if _THANKS.search(normal):
        return "thank"
    return None


# 「算了 不注销了」「那我先不转了」: the user drops what they were about to do.
_DROPPED = r"(?:注销|转账?|提现?|充值?|绑定?|解绑|付款?|买|弄|办|改|换|申请|退款?|等|问|查|试|提交)"
_DROPS = re.compile(
    r"(?:(?:算了|那|好吧|行吧|行|嗯|哦|噢)[\s,，]*)*(?:我)?(?:就|先|还是|暂时)*"
    rf"(?:不(?:再)?{_DROPPED}了|(?:不想|不用)(?:再)?{_DROPPED}了?"
    # 「没有就算了」「不行的话那就算了」: told it can't be had, the user lets it go.
    r"|(?:没有|没|不行|不能|不支持|办不了|做不到)(?:的话)?[\s,，]*(?:那)?(?:就|也)?算了)[啊吧哈呀]*"
)


def _only_this_besides_pleasantries(pattern: re.Pattern[str], text: str) -> bool:
    """Whether ``pattern`` is all that the message says once its thanks and goodbyes
    are gone."""
    rest = _GOODBYE.sub(" ", _THANKS.sub(" ", normalize(text)))
    return bool(pattern.fullmatch(rest.strip(" ，,。.!！~～、")))


# 「下次别再出bug了」「希望你们早点修好」「以后注意点」: a wish or a reproach to leave on,
# asking nothing.
_PARTING_WORDS = re.compile(
    r"(?:下次|以后|希望|拜托|麻烦)?(?:你们|你)?(?:可)?(?:千万)?"
    r"(?:别再|不要再|别老|早点|尽快|赶紧|快点|注意点?|上点心|用点心|改进|改改|优化|加油|修好)"
    r"[^?？吗么呢]{0,12}"
)


def leaves_with_words(text: str) -> bool:
    """「行吧 谢谢 下次别再出bug了」: thanks or goodbye with a parting wish or reproach
    and nothing to look up (「谢谢 下次提现能快点吗」 asks)."""
    normal = normalize(text)
    # (「以后别再乱扣我钱了」 names the wallet's business: a complaint to take up.)
    if pleasantry_of(text) not in ("thank", "goodbye") or _ASKS.search(normal):
        return False
    rest = _strip_openers(text)
    return not has_domain_term(rest) and _only_this_besides_pleasantries(_PARTING_WORDS, rest)


def _strip_openers(text: str) -> str:
    """The message without the acknowledgements in front of it (「行吧」「好的」)."""
    rest = normalize(text)
    while True:
        stripped = _FILLER.sub("", rest, count=1).strip()
        if stripped == rest:
            return rest
        rest = stripped


def drops_the_matter(text: str) -> bool:
    """「算了 不注销了 拜拜」「不弄了 谢谢」: the matter dropped, nothing else said (no
    question to look up; 「不注销了 那会员怎么退」 says more)."""
    return _only_this_besides_pleasantries(_DROPS, text)


# 「我重新登录看看」「我去试试」「那我晚点再试试吧」: the user will try it themselves.
_OWN_TRY = re.compile(
    r"(?:(?:好的?|好滴|好嘞|好哒|好吧|行吧?|嗯+|哦+|噢|ok|那)[\s,，]*)*我(?:先|再|去|就|晚点|晚些|等会儿?|明天|回头|自己|重新)*"
    # 「行吧我再等两天」: a wait of their own.
    r"[^\s,，。?？吗呢么]{0,6}?(?:看看|试试|试一下|看一下|等等|等一等|等一下"
    r"|等(?:[一两二三几1-9]|一两|两三)(?:天|会儿?|下|个?小时))"
    # 「我去交易记录里看看原因」: what they will look at.
    r"(?:原因|情况|怎么回事|咋回事|明细|记录)?(?:吧|啊|哈|呀)?"
)
# 「我先去银行把卡挂了」「那我这就去改密码」: an errand of their own, set off on now (not
# 「我去充值了但是一直没到账」, trouble; nor 「我去交保证金」, money handed to someone).
_OWN_ERRAND = re.compile(
    r"(?:(?:好的?|好滴|好嘞|行|嗯+|哦+|噢|ok|那)[\s,，]*)*我(?:先|这就|马上|现在|赶紧|立刻|就|回头|明天)*去"
    r"(?![^，,。]*(?:没|不|失败|一直|显示|提示|异常|但|交|转|付|汇|给|打钱|充))"
    r"[^\s,，。?？吗呢么怎咋啥哪什谁几多]{1,12}?(?:了|吧|一下|看看|问问)?"
)


def tries_it_themselves(text: str) -> bool:
    """「好的谢谢，我重新登录看看」「谢谢 我去试试」: the user goes to try the answer,
    nothing else said (「我试试 但是卡绑不上怎么办」 says more). An errand of their own
    (「好 我先去银行把卡挂了 谢谢」) counts when thanks or goodbye come with it."""
    return _only_this_besides_pleasantries(_OWN_TRY, text) or (
        pleasantry_of(text) in ("thank", "goodbye")
        and _only_this_besides_pleasantries(_OWN_ERRAND, text)
    )


# 「好险 还没给」「那我不理他了」「已经拉黑了」: the user kept clear of someone.
_KEPT_CLEAR = re.compile(
    r"(?:(?:好险|幸好|还好|幸亏|好的?|好|嗯+|哦+|那)[\s,，!！]*)*(?:我)?(?:就|也|还|已经)*"
    r"(?:没(?:有)?(?:给|转|告诉|点|下|下载|装|理|信|上当)(?:他|她|对方|过)?"
    r"|不理(?:他|她|对方)?(?:了)?|(?:把(?:他|她|对方))?(?:拉黑|挂(?:断|掉)?)了)"
    # What the thanks leave behind: 「谢谢提醒」「谢谢啊」.
    r"(?:[\s,，!！]*(?:了|啊|呀|哈|呢|哦|提醒|你的提醒))*"
)


def kept_clear(text: str) -> bool:
    """「好险 还没给 谢谢提醒」「好 那我不理他了 拜拜」: thanks or goodbye after a warning,
    with only the word that the user kept clear; nothing to look up."""
    if pleasantry_of(text) not in ("thank", "goodbye"):
        return False
    return _only_this_besides_pleasantries(_KEPT_CLEAR, text)


# Acknowledgements that only sound like an outcome: 「收到」「好了」「可以了」 say OK.
_ONLY_OK = re.compile(
    r"^(?:好的?|算了吧?|行|嗯)?[\s,，]*(?:收到|好了|可以了|正常)[了啊呀哈啦哦嘞]*$"
)


def says_it_worked(text: str) -> bool:
    """「绑好了 多谢」「到账了」: news that the problem went away, and nothing else
    (「收到」「好的 可以了」 only acknowledge the answer)."""
    rest = _TRAILING_THANKS.sub("", normalize(text)).strip(" ，,。.!！~～、:：")
    rest = _THANKS.sub("", rest).strip(" ，,。.!！~～、:：")
    return (
        0 < len(rest) <= MAX_SOLVED_LENGTH
        and bool(_SOLVED.search(rest))
        and not _ONLY_OK.match(rest)
        and not _NEGATED.search(rest)
        and not _ASKS.search(rest)
    )


def reports_trouble(text: str) -> bool:
    """Whether a clause tells of something gone wrong: 「另外我的支付密码忘了」 does,
    「他也用这个app」 does not."""
    return bool(_TROUBLE.search(text) or _TROUBLE_MORE.search(text))


# A charge is a subject of its own (「同一笔订单被扣了两次钱」 names no wallet term).
_A_CHARGE = re.compile(
    r"订单|扣(?:了|款|钱|费)|多扣|重复(?:扣|支付|付款)|[一两二三几多]笔[^，,。]{0,4}扣"
)


def tells_the_problem(problem: str) -> bool:
    """Whether a clause tells what went wrong and with what (「昨天充值了300 余额一直没变」
    「同一笔订单被扣了两次钱」), enough for a ticket's description; 「还是不行」「哪个都不行啊」
    name nothing."""
    normal = normalize(problem)
    return reports_trouble(problem) and (names_a_subject(normal) or bool(_A_CHARGE.search(normal)))


def asks_besides_secrets(text: str) -> bool:
    """Whether a message with secrets in it (hidden by now) asks or tells something
    besides them: 「我卡号〔已隐藏〕 绑不上」 does, 「验证码〔已隐藏〕 你帮我看看」 only hands
    the code over."""
    said = read(_LABELLED_SECRET.sub(" ", text))
    return is_real_question(said) or bool(_TROUBLE.search(said.question))


def choice(text: str, options: list[str]) -> int | None:
    """The index of the option that ``text`` picks (a number, an ordinal or its words).

    ``options`` are the titles offered, in order. A message that picks none (a new
    question) gives None.
    """
    if not options:
        return None
    normal = _pick_words(text)
    if _CHOICE.match(normal) or _LAST.match(normal) or _TOP.match(normal) or _MIDDLE.match(normal):
        return numbered_choice(text, len(options))
    return _choice_by_words(normal, [normalize(option) for option in options])


def numbered_choice(text: str, count: int) -> int | None:
    """The index that ``text`` picks among ``count`` options by position alone (「1」
    「第二个」「②」「最后一个」), or None: words are not read here."""
    if count <= 0:
        return None
    normal = _pick_words(text)
    found = _CHOICE.match(normal)
    if found:
        if found.group("n"):
            token = found.group("n")
            number = int(token) if token.isdigit() else _ORDINALS.index(token) + 1
        elif found.group("c"):
            number = _CIRCLED.index(found.group("c")) + 1
        else:
            token = found.group("e")
            number = int(token) if token.isdigit() else _ENGLISH_ORDINALS.index(token) + 1
        return number - 1 if number <= count else None
    if _LAST.match(normal):
        return count - 1
    if _TOP.match(normal):
        return 0
    # The middle one of an odd number of options; of two or four there is none.
    if _MIDDLE.match(normal) and count % 2 == 1 and count > 1:
        return count // 2
    return None


_YES = re.compile(
    r"^(?:是|是的|对|对的|对对|嗯+|好|好的|是这个|就是这个|对就是这个|没错|yes|yep|yeah|ok)(?:啊|呀|吧|哦)?$"
)


_BARE_NUMBER = re.compile(r"^\s*\d{1,3}\s*$")


def is_bare_number(text: str) -> bool:
    """「0」「10」「123」: a number typed alone, beyond any position a list can have
    (「88」「886」 alone say bye-bye)."""
    normal = normalize(text)
    bye = _GOODBYE.fullmatch(normal.strip(" ，,。.!！~～"))
    return bool(_BARE_NUMBER.match(normal)) and not bye


def affirms(text: str) -> bool:
    """Whether ``text`` is a bare yes: 「是的」「对」「就是这个」."""
    return bool(_YES.match(_pick_words(text)))


def rejects_options(text: str) -> bool:
    """Whether ``text`` says that none of the options just offered is the one."""
    return bool(_NONE_OF_THEM.match(_pick_words(text)))


def _pick_words(text: str) -> str:
    return _AROUND_PICK.sub("", normalize(text)).strip(" 。.!！~～")


def correction(text: str) -> tuple[str, str] | None:
    """The option turned down and the one meant, when ``text`` corrects a pick from a
    list in one breath (「不是登录那个 我说的是付钱时候要输的那串数字」); else None."""
    found = _CORRECTION.match(_pick_words(text))
    if found is None or denies(found.group("meant")):
        return None
    return found.group("denied"), found.group("meant").strip(" ，,。")


def denies(words: str) -> bool:
    """「不是登录的」「不要这个」: the words turn an option down rather than pick it."""
    return bool(_DENIES.search(words))


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if c.strip() and c not in "，,。.!！?？、的了吗呢"]
    return {a + b for a, b in itertools.pairwise(chars)}


def _choice_by_words(normal: str, options: list[str]) -> int | None:
    """A short message naming words that only one option has: 「支付密码」「登录的那个」."""
    words = _CHOICE_WORDS.sub("", normal).strip()
    # 「不是登录的」 rules one out; 「怎么充值的」 asks something new.
    if not 2 <= len(words) <= 10 or denies(words) or _ASKS.search(words):
        return None
    mine = _bigrams(words)
    hits = []
    for index, option in enumerate(options):
        others = set().union(*(_bigrams(o) for i, o in enumerate(options) if i != index))
        hits.append(len(mine & (_bigrams(option) - others)))
    best = max(hits)
    if best == 0 or hits.count(best) > 1:
        return None
    return hits.index(best)
