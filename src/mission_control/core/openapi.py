"""The API's own documentation: the OpenAPI document with Mission Control's security schemes and
error body, and Swagger UI 5 served from the files of the installed ``fastapi-offline`` package
(no CDN, so ``/api/v1/docs`` works offline)."""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from mission_control.core.api import API_PREFIX

DOCS_PATH = f"{API_PREFIX}/docs"
# Swagger UI 5 (OpenAPI 3.1) as shipped by the fastapi-offline package; only its files are used.
SWAGGER_FILES = files("fastapi_offline") / "static"
ASSETS_PATH = f"{DOCS_PATH}/assets"
OPENAPI_PATH = f"{API_PREFIX}/openapi.json"

OPERATOR_SCHEME = "operatorToken"
AGENT_SCHEME = "agentToken"
SECURITY_SCHEMES: dict[str, Any] = {
    OPERATOR_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator token (MC_AUTH_TOKEN, or <data dir>/operator-token) or a "
        "personal API token (mcu_...), sent as 'Authorization: Bearer <token>'.",
    },
    AGENT_SCHEME: {
        "type": "apiKey",
        "in": "header",
        "name": "X-Agent-Token",
        "description": "An agent's own token (mca_...), for the agent API under /api/v1/agent.",
    },
}
# Endpoints anyone may call: no Authorize needed.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorBody",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string", "description": "What went wrong and what to do."},
                "details": {
                    "description": "Extra facts; for validation errors a list of "
                    "{field, location, message, type}.",
                    "anyOf": [
                        {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
                        {"type": "object"},
                        {"type": "null"},
                    ],
                },
            },
        }
    },
}
FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "FieldError",
    "type": "object",
    "properties": {
        "field": {"type": "string", "description": "The offending field ('body': the body)."},
        "location": {"type": "string", "description": "body, query, path or header."},
        "message": {"type": "string"},
        "type": {"type": "string"},
    },
}
ERROR_RESPONSE = {
    "description": "Error: the body says what went wrong",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
}
ERROR_STATUSES = {
    "4XX": "Client error (401 unauthenticated, 403 forbidden, 404 not found, 409 conflict, ...)",
    "422": "Validation error: details lists each offending field",
    "5XX": "Server or gateway error (502: the gateway failed, with what to check)",
}


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with our security schemes and every error documented as ErrorBody."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas["ErrorBody"] = ERROR_SCHEMA
    schemas["FieldError"] = FIELD_ERROR_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    document["security"] = [{OPERATOR_SCHEME: []}, {AGENT_SCHEME: []}]
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            _document_errors(operation)
            if path in PUBLIC_PATHS:
                operation["security"] = []
    app.openapi_schema = document
    return document


def _document_errors(operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status, description in ERROR_STATUSES.items():
        responses[status] = {**ERROR_RESPONSE, "description": description}


DOCS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" href="{assets}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{docs}/init.js"></script>
</body>
</html>
"""
# An external script, not an inline one: the Content-Security-Policy allows only 'self'.
INIT_SCRIPT = """window.ui = SwaggerUIBundle({{
  url: {openapi!r},
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout"
}});
"""


def install_docs(app: FastAPI) -> None:
    """The OpenAPI document and Swagger UI, with the UI's files served by this process."""
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    app.mount(ASSETS_PATH, StaticFiles(directory=str(SWAGGER_FILES)), name="swagger-ui")
    page = DOCS_PAGE.format(title=f"{app.title} API", assets=ASSETS_PATH, docs=DOCS_PATH)
    script = INIT_SCRIPT.format(openapi=OPENAPI_PATH)

    @app.get(DOCS_PATH, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{DOCS_PATH}/init.js", include_in_schema=False)
    async def swagger_init() -> Response:
        return Response(script, media_type="text/javascript")
