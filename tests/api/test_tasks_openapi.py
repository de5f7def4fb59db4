"""OpenAPI: each agent-facing task and approval operation is tagged with the agent kinds that
may call it."""

from __future__ import annotations

import httpx

ALL = ["agent-lead", "agent-worker", "agent-main"]
BOARD = ["agent-lead", "agent-worker"]
BASE = "/api/v1/agent/boards/{board_id}"
EXPECTED = {
    ("get", f"{BASE}/tasks"): ALL,
    ("post", f"{BASE}/tasks"): ["agent-lead"],
    ("get", f"{BASE}/tasks/{{task_id}}"): ALL,
    ("patch", f"{BASE}/tasks/{{task_id}}"): BOARD,
    ("put", f"{BASE}/tasks/{{task_id}}/tags/{{tag_id}}"): ["agent-lead"],
    ("delete", f"{BASE}/tasks/{{task_id}}/tags/{{tag_id}}"): ["agent-lead"],
    ("get", f"{BASE}/tasks/{{task_id}}/comments"): ALL,
    ("post", f"{BASE}/tasks/{{task_id}}/comments"): BOARD,
    ("get", f"{BASE}/tags"): ALL,
    ("get", f"{BASE}/custom-fields"): ALL,
    ("get", f"{BASE}/approvals"): ALL,
    ("post", f"{BASE}/approvals"): BOARD,
    ("get", f"{BASE}/approvals/{{approval_id}}"): ALL,
    ("get", f"{BASE}/tasks/{{task_id}}/runs"): ALL,
    ("post", f"{BASE}/tasks/{{task_id}}/runs"): BOARD,
    ("get", f"{BASE}/tasks/{{task_id}}/runs/{{run_id}}"): ALL,
    ("get", f"{BASE}/tasks/{{task_id}}/runs/{{run_id}}/log"): ALL,
    ("post", f"{BASE}/tasks/{{task_id}}/runs/{{run_id}}/cancel"): BOARD,
}


async def test_agent_operations_carry_agent_kind_tags(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    found = {
        (method, path): operation.get("tags", [])
        for path, operations in document["paths"].items()
        if path.startswith(BASE)
        and any(part in path for part in ("/tasks", "/tags", "/custom-fields", "/approvals"))
        for method, operation in operations.items()
    }
    assert found == EXPECTED
    # No user-facing operation claims an agent kind.
    for path, operations in document["paths"].items():
        if path.startswith(("/api/v1/boards", "/api/v1/tags", "/api/v1/custom-fields")):
            for operation in operations.values():
                assert not set(operation.get("tags", [])) & set(ALL), path
