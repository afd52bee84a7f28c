"""Run code in a Jupyter server's kernel over its REST and WebSocket API (through a proxy too).

What a browser does when a student runs a cell: start a kernel (POST api/kernels), open
api/kernels/<id>/channels, send an execute_request, read the outputs until the kernel is idle.
Used to check servers behind JupyterHub's proxy, where only an HTTP token is at hand.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from harness.errors import HarnessError


@dataclass
class CellResult:
    status: str  # the execute_reply's: "ok" or "error"
    stdout: str = ""
    outputs: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def execute(server_url: str, token: str, code: str, *, timeout_s: float = 120) -> CellResult:
    """Start a kernel on the server at server_url (ending in '/'), run code, shut the kernel down."""
    headers = {"Authorization": f"token {token}"}
    response = requests.post(f"{server_url}api/kernels", headers=headers, json={}, timeout=60)
    if response.status_code != 201:
        raise HarnessError(f"starting a kernel at {server_url} failed: {response.status_code} {response.text[:200]}")
    kernel_id = response.json()["id"]
    try:
        return asyncio.run(asyncio.wait_for(_run(server_url, kernel_id, headers, code), timeout_s))
    except TimeoutError:
        raise HarnessError(f"the kernel at {server_url} did not finish the cell within {timeout_s:.0f} s") from None
    finally:
        requests.delete(f"{server_url}api/kernels/{kernel_id}", headers=headers, timeout=30)


async def _run(server_url: str, kernel_id: str, headers: dict[str, str], code: str) -> CellResult:
    ws_url = server_url.replace("http", "ws", 1) + f"api/kernels/{kernel_id}/channels"
    connection = await websocket_connect(HTTPRequest(ws_url, headers=headers))
    msg_id = uuid.uuid4().hex
    request = {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "", "session": uuid.uuid4().hex,
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }
    await connection.write_message(json.dumps(request))
    result = CellResult(status="")
    idle = False
    try:
        while not (idle and result.status):
            raw = await connection.read_message()
            if raw is None:
                raise HarnessError(f"the kernel's WebSocket at {ws_url} closed before the cell finished")
            message = json.loads(raw)
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                result.stdout += content.get("text", "")
            elif kind in {"execute_result", "display_data"}:
                result.outputs.append(content.get("data", {}))
            elif kind == "error":
                result.error = f"{content.get('ename')}: {content.get('evalue')}"
            elif kind == "execute_reply":
                result.status = content.get("status", "error")
            elif kind == "status" and content.get("execution_state") == "idle":
                idle = True
    finally:
        connection.close()
    return result
