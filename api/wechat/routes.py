"""The WeChat official-account webhook. Thin: the logic is in api.wechat.service."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response

from api.wechat.service import CallbackParams, WeChatRequestError, WeChatService, wechat_service

router = APIRouter(prefix="/wechat", tags=["wechat"])


def get_wechat(request: Request) -> WeChatService:
    return wechat_service(request.app.state)


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
    try:
        return wechat.verify_url(params, echostr)
    except WeChatRequestError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc


@router.post("")
async def callback(request: Request, wechat: WeChat, params: Params) -> Response:
    body = await request.body()
    try:
        reply = await wechat.handle_callback(body, params)
    except WeChatRequestError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    return Response(reply.body, media_type=reply.media_type)
