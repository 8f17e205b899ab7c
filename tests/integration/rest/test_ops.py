"""/health, /ready, /metrics, CORS and the OpenAPI document, over real HTTP."""

from prometheus_client.parser import text_string_to_metric_families

from tests.integration.rest.helpers import Api, new_chat, send

OPERATIONS = {
    ("post", "/api/auth/register"), ("post", "/api/auth/login"), ("get", "/api/me"),
    ("post", "/api/chats"), ("get", "/api/chats"), ("get", "/api/chats/{chat_id}"),
    ("post", "/api/chats/{chat_id}/members"),
    ("delete", "/api/chats/{chat_id}/members/{user_id}"),
    ("get", "/api/chats/{chat_id}/messages"), ("post", "/api/chats/{chat_id}/messages"),
    ("post", "/api/chats/{chat_id}/read"), ("get", "/api/presence"), ("get", "/api/events"),
    ("get", "/health"), ("get", "/ready"), ("get", "/metrics"),
    # Chats people run (issue 17).
    ("patch", "/api/chats/{chat_id}"), ("post", "/api/chats/{chat_id}/leave"),
    ("put", "/api/chats/{chat_id}/admins/{user_id}"),
    ("delete", "/api/chats/{chat_id}/admins/{user_id}"),
    ("post", "/api/chats/{chat_id}/owner"),
    ("get", "/api/chats/{chat_id}/bans"), ("post", "/api/chats/{chat_id}/bans"),
    ("delete", "/api/chats/{chat_id}/bans/{user_id}"),
    ("get", "/api/chats/{chat_id}/mutes"), ("post", "/api/chats/{chat_id}/mutes"),
    ("delete", "/api/chats/{chat_id}/mutes/{user_id}"),
    ("post", "/api/chats/{chat_id}/messages/{message_id}/reports"),
    ("get", "/api/chats/{chat_id}/reports"),
    ("post", "/api/chats/{chat_id}/invites"), ("delete", "/api/chats/{chat_id}/invites/{code}"),
    ("post", "/api/invites/{code}/accept"),
    ("get", "/api/me/blocks"), ("put", "/api/me/blocks/{user_id}"),
    ("delete", "/api/me/blocks/{user_id}"),
    # Erasure (issue 18).
    ("delete", "/api/me"),
    # Messages over time (issue 16).
    ("patch", "/api/chats/{chat_id}/messages/{message_id}"),
    ("delete", "/api/chats/{chat_id}/messages/{message_id}"),
    ("get", "/api/chats/{chat_id}/messages/{message_id}/edits"),
    ("put", "/api/chats/{chat_id}/messages/{message_id}/reactions/{emoji}"),
    ("delete", "/api/chats/{chat_id}/messages/{message_id}/reactions/{emoji}"),
    ("post", "/api/chats/{chat_id}/pins/{message_id}"),
    ("delete", "/api/chats/{chat_id}/pins/{message_id}"), ("get", "/api/chats/{chat_id}/pins"),
    # Privacy (issue 18).
    ("get", "/api/me/settings"), ("patch", "/api/me/settings"),
}
PUBLIC = {("post", "/api/auth/register"), ("post", "/api/auth/login"), ("get", "/health"),
          ("get", "/ready"), ("get", "/metrics")}
# Actions whose whole meaning is in the path: no request body.
BODILESS = {("post", "/api/chats/{chat_id}/leave"), ("post", "/api/invites/{code}/accept"),
            ("post", "/api/chats/{chat_id}/pins/{message_id}")}


def samples(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_health_and_ready(api: Api) -> None:
    assert api.http.get("/health").json() == {"status": "ok"}
    alice = api.user("alice")
    message = send(alice, new_chat(alice)["id"], "x")
    response = api.http.get("/ready")
    assert response.status_code == 200
    ready = response.json()
    assert ready["status"] == "ready"
    assert set(ready["projections"]) == {"history", "chats", "presence", "roster"}
    assert ready["head"] >= message["seq"]
    assert ready["projectionLag"] == {name: ready["head"] - position
                                      for name, position in ready["projections"].items()}


def test_metrics_count_messages_requests_and_projection_lag(api: Api) -> None:
    alice = api.user("alice")
    chat = new_chat(alice)
    before = samples(api)
    for i in range(3):
        send(alice, chat["id"], f"m{i}")
    assert api.http.get("/no/such/path").status_code == 404
    after = samples(api)

    stored = ("eschat_messages_stored_total", ())
    assert after[stored] - before.get(stored, 0) == 3
    route = "/api/chats/{chat_id}/messages"
    sent = ("eschat_http_requests_total",
            (("method", "POST"), ("route", route), ("status", "201")))
    assert after[sent] - before.get(sent, 0) == 3
    unmatched = ("eschat_http_requests_total",
                 (("method", "GET"), ("route", "unmatched"), ("status", "404")))
    assert after[unmatched] - before.get(unmatched, 0) == 1
    latency = ("eschat_http_request_duration_seconds_count", (("method", "POST"),
                                                              ("route", route)))
    assert after[latency] - before.get(latency, 0) == 3
    for name in ("history", "chats", "presence"):
        assert after[("eschat_projection_lag_events", (("projection", name),))] >= 0
        assert after[("eschat_projection_position", (("projection", name),))] > 0
    assert after[("eschat_store_head_position", ())] > 0
    assert ("eschat_connections", ()) in after
    assert not any(name == "eschat_kafka_relay_lag_events" for name, _ in after)  # no Kafka


def test_cors_allows_the_configured_origin_with_credentials(api: Api) -> None:
    preflight = api.http.options("/api/chats", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert preflight.headers["access-control-allow-credentials"] == "true"
    assert "POST" in preflight.headers["access-control-allow-methods"]

    simple = api.http.get("/health", headers={"Origin": "http://localhost:3000"})
    assert simple.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert simple.headers["access-control-allow-credentials"] == "true"

    stranger = api.http.options("/api/chats", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in stranger.headers
    other = api.http.get("/health", headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_openapi_describes_every_endpoint_with_shapes_and_bearer_auth(api: Api) -> None:
    assert api.http.get("/schema").status_code == 200
    doc = api.http.get("/schema/openapi.json").json()
    found = {(method, path) for path, item in doc["paths"].items() for method in item}
    assert found == OPERATIONS
    scheme = doc["components"]["securitySchemes"]["BearerToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for method, path in OPERATIONS:
        op = doc["paths"][path][method]
        if (method, path) in PUBLIC:
            assert not op.get("security"), path
        else:
            assert op["security"] == [{"BearerToken": []}], path
            assert "401" in op["responses"], path
        if method == "post" and (method, path) not in BODILESS:
            assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"], path
        success = [c for c in op["responses"] if c.startswith("2")]
        assert success, path
    schemas = doc["components"]["schemas"]
    message = schemas["MessageView"]["properties"]
    assert set(message) == {"id", "chatId", "senderId", "content", "seq", "createdAt",
                            "clientMessageId", "deliveredTo", "readBy",
                            # Messages over time (issue 16).
                            "editedAt", "deleted", "replyTo", "threadId", "threadReplyCount",
                            "threadLastReplyAt", "reactions", "mentions", "pinned",
                            "erased"}  # erasure (issue 18)
    assert {"unreadCount", "lastMessage", "memberIds", "unreadMentions"} <= set(
        schemas["ChatListItem"]["properties"])
    assert set(schemas["EditView"]["properties"]) == {"content", "editedAt", "seq"}
    chats = doc["paths"]["/api/chats"]["get"]["responses"]["200"]["content"]
    assert chats["application/json"]["schema"]["type"] == "array"
    assert set(schemas["HistoryPage"]["properties"]) == {"messages", "nextBefore"}
    assert set(schemas["ErrorBody"]["properties"]) == {"statusCode", "error", "code", "field"}
