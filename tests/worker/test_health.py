import httpx
import pytest


@pytest.mark.asyncio(loop_scope="session")
async def test_healthz_reports_version_python_and_pyodide(client: httpx.AsyncClient):
    response = await client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"
    assert body["python"].startswith("3.")
    assert body["pyodide"].count(".") >= 2
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.asyncio(loop_scope="session")
async def test_unknown_route_is_404_problem_json(client: httpx.AsyncClient):
    response = await client.get("/no/such/route")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


@pytest.mark.asyncio(loop_scope="session")
async def test_wrong_method_is_405_with_allow(client: httpx.AsyncClient):
    response = await client.delete("/healthz")

    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, OPTIONS"
    assert response.headers["content-type"] == "application/problem+json"
    assert "DELETE" in response.json()["detail"]


@pytest.mark.asyncio(loop_scope="session")
async def test_every_request_writes_one_log_line(client: httpx.AsyncClient, worker):
    response = await client.get("/healthz")

    line = worker.log_for(response.headers["x-request-id"])
    assert line["method"] == "GET"
    assert line["route"] == "/healthz"
    assert line["status"] == 200
    assert isinstance(line["ms"], float | int)
