"""The WeChat official-account webhook. Thin: the logic is in api.wechat.service.

A refused callback raises a KefuError (api.wechat.protocol.WeChatRequestError); the
gateway's handler answers it as ``{"detail": ...}`` JSON with its status, as before.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response

from api.wechat.schemas import CallbackParams
from api.wechat.service import WeChatService

router = APIRouter(prefix="/wechat", tags=["wechat"])


def get_wechat(request: Request) -> WeChatService:
    """The service the gateway's lifespan built (api.main)."""
    service: WeChatService = request.app.state.wechat
    return service


WeChat = Annotated[WeChatService, Depends(get_wechat)]


# Missing parameters are left empty, so they fail the signature check (403), not validation.
def callback_params(
    signature: str = "",
    timestamp: str = "",
    nonce: str = "",
    encrypt_type: str = "",
    msg_signature: str = "",
) -> CallbackParams:
    return CallbackParams(signature, timestamp, nonce, encrypt_type, msg_signature)


Params = Annotated[CallbackParams, Depends(callback_params)]


@router.get("", response_class=PlainTextResponse)
async def verify(wechat: WeChat, params: Params, echostr: Annotated[str, Query()] = "") -> str:
    return wechat.verify_url(params, echostr)


@router.post("")
async def callback(request: Request, wechat: WeChat, params: Params) -> Response:
    body = await request.body()
    reply = await wechat.handle_callback(body, params)
    return Response(reply.body, media_type=reply.media_type)
