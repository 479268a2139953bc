import pytest

from cors import cors_headers, is_allowed_origin

APP = "https://app.example"
OTHER = "https://admin.example"
LISTED = [APP, OTHER]


def simple(origin, allowed):
    return cors_headers(origin, allowed, preflight=False, max_age=600)


def preflight(origin, allowed, max_age=600):
    return cors_headers(origin, allowed, preflight=True, max_age=max_age)


def listed(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(",")}


@pytest.mark.parametrize("origin", [APP, OTHER])
def test_listed_origin_is_allowed(origin):
    assert is_allowed_origin(origin, LISTED)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://app.example",  # another scheme is another origin
        "https://app.example:8443",
        "https://APP.example",
        "https://app.example/",
        "https://app.example.evil.example",
        "https://sub.app.example",
        "null",
        "*",
    ],
)
def test_anything_but_an_exact_listed_origin_is_refused(origin):
    assert not is_allowed_origin(origin, LISTED)


@pytest.mark.parametrize("origin", [None, ""])
def test_absent_origin_is_never_allowed(origin):
    assert not is_allowed_origin(origin, LISTED)
    assert not is_allowed_origin(origin, ["*"])


def test_wildcard_admits_any_origin():
    assert is_allowed_origin("https://anything.example", ["*"])


def test_empty_list_admits_nothing():
    assert not is_allowed_origin(APP, [])
    assert simple(APP, []) == {"Vary": "Origin"}


@pytest.mark.parametrize("origin", ["https://evil.example", None, ""])
@pytest.mark.parametrize("is_preflight", [False, True])
def test_disallowed_origin_gets_only_vary(origin, is_preflight):
    headers = cors_headers(origin, LISTED, preflight=is_preflight, max_age=600)

    assert headers == {"Vary": "Origin"}


@pytest.mark.parametrize("allowed", [LISTED, ["*"], []])
@pytest.mark.parametrize("is_preflight", [False, True])
def test_vary_origin_is_always_sent(allowed, is_preflight):
    headers = cors_headers(APP, allowed, preflight=is_preflight, max_age=600)

    assert headers["Vary"] == "Origin"


def test_simple_request_from_a_listed_origin_echoes_it_with_credentials():
    headers = simple(APP, LISTED)

    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Methods" not in headers
    assert "Access-Control-Max-Age" not in headers


def test_simple_request_exposes_the_headers_clients_read():
    exposed = listed(simple(APP, LISTED)["Access-Control-Expose-Headers"])

    assert {"location", "repr-digest", "x-request-id", "retry-after"} <= exposed
    assert {"upload-offset", "tus-resumable", "x-fastio-file-id"} <= exposed


def test_preflight_lists_methods_headers_and_max_age():
    headers = preflight(APP, LISTED, max_age=1234)

    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Max-Age"] == "1234"
    assert "Access-Control-Expose-Headers" not in headers
    methods = listed(headers["Access-Control-Allow-Methods"])
    assert {"get", "head", "put", "post", "patch", "delete", "options"} <= methods
    allowed_headers = listed(headers["Access-Control-Allow-Headers"])
    assert {"authorization", "content-type", "content-digest"} <= allowed_headers
    assert {"upload-offset", "upload-length", "tus-resumable"} <= allowed_headers


def test_preflight_from_a_listed_origin_allows_credentials():
    assert preflight(APP, LISTED)["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize("is_preflight", [False, True])
def test_wildcard_answers_star_and_never_allows_credentials(is_preflight):
    headers = cors_headers(APP, ["*"], preflight=is_preflight, max_age=600)

    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers


def test_wildcard_in_a_list_wins_and_still_never_allows_credentials():
    headers = simple(APP, [APP, "*"])

    assert headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in headers


def test_each_listed_origin_gets_its_own_echo():
    assert simple(OTHER, LISTED)["Access-Control-Allow-Origin"] == OTHER
