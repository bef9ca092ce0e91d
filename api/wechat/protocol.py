"""The WeChat callback protocol: signatures, AES safe mode, XML checks and passive replies.

Pure functions of the account settings and the request, with no state and no I/O, in the
way wechatpy keeps its crypto apart from its clients. What to answer, and when, is
api.wechat.service's business.
"""

from __future__ import annotations

import hmac
import logging
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
    require_configured(settings)
    try:
        xml = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WeChatRequestError() from exc
    reject_dangerous(xml)
    crypto: WeChatCrypto | None = None
    if params.encrypt_type.lower() == "aes":
        crypto = account_crypto(settings)
        xml = decrypt(crypto, settings.wechat_token, xml, params)
    elif not is_signed(settings.wechat_token, params.signature, params.timestamp, params.nonce):
        raise BadSignatureError()
    return Callback(parse(xml), params, crypto)


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
    """wechatpy's message or event object; every message must name its sender."""
    try:
        message = parse_message(xml)
    except (ExpatError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise WeChatRequestError() from exc
    if message is None or not message.source:
        raise WeChatRequestError()
    return message


def is_event(message: Any) -> bool:
    if isinstance(message, BaseEvent):
        return True
    # Events wechatpy does not know come back as UnknownMessage.
    raw = getattr(message, "_data", None) or {}
    return str(raw.get("MsgType", "")).lower() == "event"


def inbox_key(message: Any) -> str:
    """Messages are identified by MsgId, events by sender and creation time (WeChat's advice)."""
    if not is_event(message) and message.id:
        return f"msg:{message.id}"
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
