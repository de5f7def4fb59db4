"""The error body every failure answers with, as an OpenAPI model: documented once as the
default response of every operation so clients (and the schema fuzz test) know its shape."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["Invalid request: name: Field required"])
    details: Any = Field(
        default=None,
        description="Machine-readable context: for 422 a list of {field, location, message, "
        "type}; for 500 the request id.",
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


# Passed to include_router: any status an operation does not document answers this body.
DEFAULT_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "default": {
        "model": ErrorBody,
        "description": "Any failure (4xx, 5xx): the stable error body.",
    }
}
