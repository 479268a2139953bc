"""CORS as browsers see it, against the Worker in workerd."""

import httpx
import pytest

from support.files import PDF, body
from support.tokens import bearer

pytestmark = pytest.mark.asyncio(loop_scope="session")

ORIGIN = "https://app.example"  # the test Worker's ALLOWED_ORIGINS


async def test_preflight_is_answered_without_a_token(client):
    response = await client.options(
        "/files/a.pdf",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-digest",
        },
    )

    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "PUT" in response.headers["access-control-allow-methods"]
    allowed = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed
    assert "content-digest" in allowed
    assert "upload-offset" in allowed
    assert response.headers["access-control-max-age"] == "600"
    assert response.headers["vary"] == "Origin"


async def test_disallowed_origin_gets_no_cors_headers(client):
    response = await client.options(
        "/files/a.pdf",
        headers={
            "Origin": "https://evil.example",
            "Access-Control-Request-Method": "PUT",
        },
    )

    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-methods" not in response.headers
    assert response.headers["vary"] == "Origin"


async def test_upload_response_exposes_location_digest_and_tus_headers(client, fastio):
    response = await client.put(
        "/files/a.pdf", content=body(PDF, 2000), headers={**bearer(), "Origin": ORIGIN}
    )

    assert response.status_code == 201
    assert response.headers["access-control-allow-origin"] == ORIGIN
    exposed = {
        h.strip().lower()
        for h in response.headers["access-control-expose-headers"].split(",")
    }
    assert {
        "location",
        "repr-digest",
        "retry-after",
        "upload-offset",
        "tus-resumable",
        "x-fastio-file-id",
    } <= exposed


async def test_errors_carry_cors_headers_too(client):
    response = await client.put(
        "/files/a.pdf", content=b"x", headers={"Origin": ORIGIN}
    )

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ORIGIN


async def test_wildcard_origin_never_allows_credentials(make_worker):
    worker = make_worker(ALLOWED_ORIGINS="*")
    async with httpx.AsyncClient(base_url=worker.url) as http:
        response = await http.get("/healthz", headers={"Origin": "https://any.example"})

    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers
