import json

import pytest

from problems import PROBLEM_TYPE_BASE, ConfigError, HTTPError


def test_status_alone_gives_the_status_phrase_everywhere():
    error = HTTPError(404)

    assert error.status == 404
    assert error.title == "Not Found"
    assert error.detail == "Not Found"
    assert error.code == "not-found"
    assert str(error) == "404 Not Found"
    assert error.headers == {}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "bad-request"),
        (401, "unauthorized"),
        (403, "forbidden"),
        (405, "method-not-allowed"),
        (415, "unsupported-media-type"),
        (429, "too-many-requests"),
        (500, "internal-server-error"),
        (502, "bad-gateway"),
        (503, "service-unavailable"),
        (504, "gateway-timeout"),
    ],
)
def test_default_code_is_the_phrase_in_kebab_case(status, code):
    assert HTTPError(status).code == code


def test_body_holds_the_rfc_9457_members():
    error = HTTPError(409, "The upload is already complete.", code="upload-complete")

    assert error.body() == {
        "type": PROBLEM_TYPE_BASE + "upload-complete",
        "title": "Conflict",
        "status": 409,
        "detail": "The upload is already complete.",
    }


def test_instance_is_added_when_given():
    body = HTTPError(404).body(instance="/uploads/abc")

    assert body["instance"] == "/uploads/abc"


def test_no_instance_member_without_one():
    assert "instance" not in HTTPError(404).body()
    assert "instance" not in HTTPError(404).body(instance="")


def test_extension_members_are_added_to_the_body():
    error = HTTPError(413, "Too big.", code="too-large", max_bytes=1024)

    body = error.body()

    assert body["max_bytes"] == 1024
    assert body["type"].endswith("/too-large")
    assert error.extra == {"max_bytes": 1024}


def test_body_is_json_serialisable():
    error = HTTPError(415, "Nope.", detected_type="unknown", accepted=["pdf"])

    assert json.loads(json.dumps(error.body()))["accepted"] == ["pdf"]


def test_headers_are_a_copy():
    given = {"Allow": "GET"}

    error = HTTPError(405, headers=given)
    given["Allow"] = "POST"

    assert error.headers == {"Allow": "GET"}


def test_type_is_a_uri_under_the_project_base():
    assert PROBLEM_TYPE_BASE.startswith("https://")
    assert PROBLEM_TYPE_BASE.endswith("/")


def test_config_error_is_a_500_naming_the_setting():
    error = ConfigError("JWT_SECRET")

    assert isinstance(error, HTTPError)
    assert error.status == 500
    assert error.code == "misconfigured"
    assert error.setting == "JWT_SECRET"
    assert error.detail == "Server misconfigured: setting JWT_SECRET is not set."
    assert error.body()["setting"] == "JWT_SECRET"


def test_config_error_carries_the_reason():
    error = ConfigError("CORS_MAX_AGE", "is not an integer")

    assert (
        error.detail == "Server misconfigured: setting CORS_MAX_AGE is not an integer."
    )


def test_http_error_can_be_raised_and_caught_as_an_exception():
    with pytest.raises(HTTPError) as info:
        raise HTTPError(401, "Token expired.", headers={"WWW-Authenticate": "Bearer"})

    assert info.value.headers["WWW-Authenticate"] == "Bearer"
