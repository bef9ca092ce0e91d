"""Errors as users read them, in one place.

Two handlers: request validation failures explained in Chinese, and the whole
``support.errors.KefuError`` family (each error carries its status, message and
headers), so routes raise domain errors and never translate them themselves.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from support.errors import KefuError


def _describe(error: dict[str, Any]) -> str:
    field = ".".join(str(part) for part in error.get("loc", ()) if part not in ("body", "query"))
    context = error.get("ctx") or {}
    kind = error.get("type", "")
    messages = {
        "missing": "缺少必填项",
        "string_too_short": f"至少需要 {context.get('min_length')} 个字符",
        "string_too_long": f"不能超过 {context.get('max_length')} 个字符",
        "greater_than_equal": f"不能小于 {context.get('ge')}",
        "less_than_equal": f"不能大于 {context.get('le')}",
        "int_parsing": "必须是整数",
        "string_type": "必须是文本",
        "json_invalid": "不是有效的 JSON",
        "model_attributes_type": "格式不正确",
        "dict_type": "格式不正确",
        "extra_forbidden": "不是可用的字段",
        "enum": "取值不在允许的范围内",
        "literal_error": "取值不在允许的范围内",
        "value_error": str(error.get("msg", "")).removeprefix("Value error, "),
    }
    message = messages.get(kind, "格式不正确")
    return f"{field}：{message}" if field else message


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [_describe(dict(error)) for error in exc.errors()]
    return JSONResponse(
        {"detail": "；".join(details), "errors": details},
        status_code=422,
    )


async def _kefu_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, KefuError)
    return JSONResponse(exc.payload(), status_code=exc.status_code, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(KefuError, _kefu_error)
