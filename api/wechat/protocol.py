"""The WeChat callback protocol: signatures, AES safe mode, XML checks and passive replies.

Pure functions of the account settings and the request, with no state and no I/O, in the
way wechatpy keeps its crypto apart from its clients. What to answer, and when, is
api.wechat.service's business.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import BaseEvent
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

from api.wechat.schemas import CallbackParams, WeChatReply
from support.errors import KefuError
from support.settings import Settings

logger = logging.getLogger(__name__)

# The reply WeChat takes as "received, nothing to show" (and then does not retry).
SUCCESS = "success"

NOT_CONFIGURED = "微信公众号未配置"
AES_NOT_CONFIGURED = "微信公众号未配置消息加解密密钥（EncodingAESKey）"
AES_MISCONFIGURED = "微信公众号的消息加解密密钥（EncodingAESKey）配置有误"
BAD_SIGNATURE = "签名校验失败"
PLAINTEXT_REFUSED = "已配置消息加解密密钥，只接受安全模式（加密）的微信回调"
STALE = "请求时间戳无效或已过期"
BAD_NONCE = "请求缺少有效的随机数（nonce）"
REPLAYED = "该请求已被使用过，不能重复提交"
INVALID_MSG_ID = "消息编号（MsgId）无效"
INVALID_FIELD = "微信消息字段无效：{field}"
FORBIDDEN_XML = "不接受包含 DOCTYPE 或实体声明的 XML"
MALFORMED = "无法解析的微信消息"


class WeChatRequestError(KefuError):
    """A callback that is refused: 400 unless a subclass says otherwise."""

    status_code = 400
    default_message = MALFORMED


class BadSignatureError(WeChatRequestError):
    status_code = 403
    default_message = BAD_SIGNATURE


class WeChatNotConfiguredError(WeChatRequestError):
    status_code = 503
    default_message = NOT_CONFIGURED


class ReplayError(WeChatRequestError):
    """A signed callback that is too old, or whose timestamp and nonce were already used."""

    status_code = 403
    default_message = REPLAYED


# What WeChat sends, with room to spare: openids are 28 characters of base64url, account ids
# "gh_" and 12 hex digits; MsgIds are 64-bit integers; CreateTime is Unix seconds.
ACCOUNT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MSG_ID = re.compile(r"[1-9][0-9]{0,19}")
CREATE_TIME = re.compile(r"[1-9][0-9]{0,10}")
TIMESTAMP = re.compile(r"[0-9]{1,11}")
MAX_NONCE_LENGTH = 64
# The fields Kefu reads: each must be plain text (not repeated, not nested, no attributes).
TEXT_FIELDS = ("MsgType", "FromUserName", "ToUserName", "CreateTime", "MsgId", "Content", "Event")


@dataclass(frozen=True)
class Callback:
    """A verified, decrypted and parsed callback."""

    message: Any
    params: CallbackParams
    # Set in AES safe mode: the passive reply is encrypted with it too.
    crypto: WeChatCrypto | None = None


def require_configured(settings: Settings) -> None:
    if not settings.wechat_token:
        raise WeChatNotConfiguredError()


def is_signed(token: str, signature: str, *parts: str) -> bool:
    # wechatpy's check_signature compares with !=; compare in constant time instead.
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    return hmac.compare_digest(signer.signature.encode(), signature.encode())


def verify_url(settings: Settings, params: CallbackParams, echostr: str) -> str:
    """The server-address check (GET): ``echostr`` back if WeChat signed it."""
    require_configured(settings)
    if not is_signed(settings.wechat_token, params.signature, params.timestamp, params.nonce):
        raise BadSignatureError()
    return echostr


def reject_dangerous(xml: str) -> None:
    # No DTDs at all: that rules out entity expansion and external entities.
    lowered = xml.lower()
    if "<!doctype" in lowered or "<!entity" in lowered:
        raise WeChatRequestError(FORBIDDEN_XML)


def read_callback(settings: Settings, body: bytes, params: CallbackParams) -> Callback:
    """A message or event pushed by WeChat (POST), in plaintext or AES safe mode."""
    xml, crypto = open_callback(settings, body, params)
    return Callback(parse(xml), params, crypto)


def open_callback(
    settings: Settings, body: bytes, params: CallbackParams
) -> tuple[str, WeChatCrypto | None]:
    """The signed callback's plaintext XML, and the crypto to answer with in safe mode.

    With an EncodingAESKey configured only safe-mode callbacks are taken: the plaintext
    signature covers the query string and not the body, so anyone holding one callback
    URL could otherwise post any XML in any user's name.
    """
    require_configured(settings)
    safe_mode = params.encrypt_type.lower() == "aes"
    if settings.wechat_aes_key and not (safe_mode and params.msg_signature):
        raise BadSignatureError(PLAINTEXT_REFUSED)
    try:
        xml = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WeChatRequestError() from exc
    reject_dangerous(xml)
    if safe_mode:
        crypto = account_crypto(settings)
        return decrypt(crypto, settings.wechat_token, xml, params), crypto
    if not is_signed(settings.wechat_token, params.signature, params.timestamp, params.nonce):
        raise BadSignatureError()
    return xml, None


def check_fresh(params: CallbackParams, window: float, now: float) -> None:
    """Refuse a timestamp more than ``window`` seconds off ``now``, and a missing nonce.

    Together with remembering each timestamp and nonce for as long (api.wechat.service),
    this stops a signed callback URL from being used again.
    """
    if not TIMESTAMP.fullmatch(params.timestamp) or abs(now - int(params.timestamp)) > window:
        raise ReplayError(STALE)
    if not 0 < len(params.nonce) <= MAX_NONCE_LENGTH:
        raise ReplayError(BAD_NONCE)


def replay_key(params: CallbackParams) -> str:
    # The signature covers both, so a replayed URL repeats both.
    return f"{params.timestamp}:{params.nonce}"


def fingerprint(body: bytes) -> str:
    """Identifies the body a timestamp and nonce were first used with (WeChat's retries)."""
    return hashlib.sha256(body).hexdigest()


def account_crypto(settings: Settings) -> WeChatCrypto:
    if not settings.wechat_aes_key:
        raise WeChatNotConfiguredError(AES_NOT_CONFIGURED)
    try:
        return WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_app_id)
    except (ValueError, AssertionError) as exc:
        logger.error("微信消息加解密密钥无效：%s", exc)
        raise WeChatNotConfiguredError(AES_MISCONFIGURED) from exc


def decrypt(crypto: WeChatCrypto, token: str, xml: str, params: CallbackParams) -> str:
    """The plaintext XML inside a safe-mode envelope, once its msg_signature is checked."""
    try:
        encrypted = xmltodict.parse(xml)["xml"]["Encrypt"]
    except (ExpatError, KeyError, TypeError) as exc:
        raise WeChatRequestError() from exc
    if not isinstance(encrypted, str):
        raise WeChatRequestError()
    if not is_signed(token, params.msg_signature, params.timestamp, params.nonce, encrypted):
        raise BadSignatureError()
    try:
        plain = str(
            crypto.decrypt_message(
                {"Encrypt": encrypted}, params.msg_signature, params.timestamp, params.nonce
            )
        )
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise BadSignatureError() from exc
    except Exception as exc:  # the signature was right, so the ciphertext is garbage
        raise WeChatRequestError() from exc
    reject_dangerous(plain)
    return plain


def parse(xml: str) -> Any:
    """wechatpy's message or event object, once the fields Kefu reads are checked.

    wechatpy converts fields lazily (``int(MsgId)`` on first use), so a bad value must be
    refused here, as a 400, rather than fail later as a 500.
    """
    try:
        raw = xmltodict.parse(xml)["xml"]
        if not isinstance(raw, dict):
            raise WeChatRequestError()
        validate_fields(raw)
        message = parse_message(xml)
    except (ExpatError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WeChatRequestError() from exc
    if message is None or not message.source:
        raise WeChatRequestError()
    return message


def validate_fields(raw: dict[str, Any]) -> None:
    """Every message names its sender, its account and its time; a MsgId is a 64-bit number."""
    for name in TEXT_FIELDS:
        if not isinstance(raw.get(name), str | None):
            raise WeChatRequestError(INVALID_FIELD.format(field=name))
    for name, pattern in (
        ("FromUserName", ACCOUNT_ID),
        ("ToUserName", ACCOUNT_ID),
        ("CreateTime", CREATE_TIME),
    ):
        if not pattern.fullmatch(raw.get(name) or ""):
            raise WeChatRequestError(INVALID_FIELD.format(field=name))
    # An empty or missing MsgId is keyed like an event (sender and time), as before.
    msg_id = raw.get("MsgId")
    if msg_id and not MSG_ID.fullmatch(msg_id):
        raise WeChatRequestError(INVALID_MSG_ID)


def is_event(message: Any) -> bool:
    if isinstance(message, BaseEvent):
        return True
    # Events wechatpy does not know come back as UnknownMessage.
    raw = getattr(message, "_data", None) or {}
    return str(raw.get("MsgType", "")).lower() == "event"


def inbox_key(message: Any) -> str:
    """Messages are identified by sender and MsgId, events by sender and creation time.

    WeChat advises MsgId alone, but it is only unique per sender as far as Kefu can
    check: keyed on it alone, another user's message with the same MsgId would be
    dropped and get the first user's reply.
    """
    if not is_event(message) and message.id:
        return f"msg:{message.source}:{message.id}"
    return f"event:{message.source}:{message.time}"


def passive_reply(callback: Callback, text: str | None) -> WeChatReply:
    """The HTTP answer to a callback: ``text`` as a reply message, or "success" for none."""
    if text is None:
        return WeChatReply(SUCCESS, "text/plain")
    reply = create_reply(text, message=callback.message, render=True)
    if callback.crypto is not None:
        reply = callback.crypto.encrypt_message(
            reply, callback.params.nonce, callback.params.timestamp
        )
    return WeChatReply(reply, "application/xml")
