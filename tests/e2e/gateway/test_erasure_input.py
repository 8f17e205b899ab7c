"""Bad input to erasure and retention: clear 4xx (or a CLI error), nothing stored."""

import subprocess
import sys

import httpx

from tests.conftest import ServerProcess
from tests.e2e.conftest import create_chat


def head(server: ServerProcess, token: str) -> int:
    items = httpx.get(f"{server.url}/api/events?limit=1000",
                      headers={"Authorization": f"Bearer {token}"}).json()
    return max((i["position"] for i in items), default=0)


def test_erasure_and_retention_refuse_bad_input_and_store_nothing(server: ServerProcess) -> None:
    alice, bob = server.token("alice"), server.token("bob")
    chat_id = create_chat(server.url, alice, "bob")
    direct = httpx.post(f"{server.url}/api/chats", json={"direct": True, "memberIds": ["bob"]},
                        headers={"Authorization": f"Bearer {alice}"})
    assert direct.status_code in (200, 201), direct.text
    before = head(server, bob)

    assert httpx.delete(f"{server.url}/api/me").status_code == 401
    assert httpx.delete(f"{server.url}/api/me",
                        headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    cli = subprocess.run([sys.executable, "-m", "interfaces.cli", "users", "erase", "nobody"],
                         env=server.env, cwd=server.env["ESCHAT_DATA_DIR"],
                         capture_output=True, text=True, timeout=60)
    assert cli.returncode == 1 and "not found" in cli.stderr
    cli = subprocess.run([sys.executable, "-m", "interfaces.cli", "retention", "sweep",
                          "--now", "yesterday"], env=server.env,
                         cwd=server.env["ESCHAT_DATA_DIR"], capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 2 and "ISO 8601" in cli.stderr
    cli = subprocess.run([sys.executable, "-m", "interfaces.cli", "retention", "sweep",
                          "--retention-days", "0"], env=server.env,
                         cwd=server.env["ESCHAT_DATA_DIR"], capture_output=True, text=True,
                         timeout=60)
    assert cli.returncode == 2 and "ESCHAT_RETENTION_DAYS" in cli.stderr

    for token, chat, body, status in (
            (bob, chat_id, {"retentionDays": 7}, 403),  # not an admin
            (alice, direct.json()["id"], {"retentionDays": 7}, 403),  # a direct chat
            (alice, chat_id, {"retentionDays": -3}, 400),
            (alice, chat_id, {"retentionDays": 10**6}, 400),
            (alice, chat_id, {"retentionDays": 2.5}, 400),
            (alice, chat_id, {"retentionDays": [1]}, 400),
            (alice, chat_id, {"retentionDays": False}, 400)):
        response = httpx.patch(f"{server.url}/api/chats/{chat}", json=body,
                               headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status, (body, response.text)
        assert response.json()["code"] in ("invalid", "invalid_input", "forbidden"), response.text
    assert head(server, bob) == before  # nothing was stored

    # a valid change stores once; the same again stores nothing; null goes back to the default
    ok = httpx.patch(f"{server.url}/api/chats/{chat_id}", json={"retentionDays": 7},
                     headers={"Authorization": f"Bearer {alice}"})
    assert ok.status_code == 200, ok.text
    again = httpx.patch(f"{server.url}/api/chats/{chat_id}", json={"retentionDays": 7},
                        headers={"Authorization": f"Bearer {alice}"})
    assert again.status_code == 200
    reset = httpx.patch(f"{server.url}/api/chats/{chat_id}", json={"retentionDays": None},
                        headers={"Authorization": f"Bearer {alice}"})
    assert reset.status_code == 200
