import pytest

from problems import HTTPError
from router import Route, match


async def handler(call):  # the router never calls handlers
    return None


ROUTES = (
    Route("GET", "/healthz", handler, public=True),
    Route("PUT", "/files/{name}", handler),
    Route("GET", "/files", handler),
    Route("GET", "/uploads/{id}", handler),
    Route("DELETE", "/uploads/{id}", handler),
    Route("POST", "/webhooks/fastio", handler, name="webhook", public=True),
    Route("GET", "/a.b", handler),
    Route("GET", "/folders/{folder}/files/{name}", handler),
)


def refused(method: str, path: str) -> HTTPError:
    with pytest.raises(HTTPError) as info:
        match(ROUTES, method, path)
    return info.value


def allow_of(error: HTTPError) -> list[str]:
    return [m.strip() for m in error.headers["Allow"].split(",")]


def test_exact_path_matches_its_route():
    route, params = match(ROUTES, "GET", "/healthz")

    assert (route.method, route.template) == ("GET", "/healthz")
    assert params == {}


def test_parameter_is_captured():
    route, params = match(ROUTES, "PUT", "/files/report.pdf")

    assert route.template == "/files/{name}"
    assert params == {"name": "report.pdf"}


def test_several_parameters_are_captured():
    _, params = match(ROUTES, "GET", "/folders/f1/files/x.txt")

    assert params == {"folder": "f1", "name": "x.txt"}


def test_route_name_defaults_to_the_template():
    assert match(ROUTES, "PUT", "/files/x")[0].name == "/files/{name}"
    assert match(ROUTES, "POST", "/webhooks/fastio")[0].name == "webhook"


@pytest.mark.parametrize(
    "path",
    [
        "/nope",
        "/",
        "",
        "/healthz/",
        "/healthz/extra",
        "/HEALTHZ",
        "/files/",  # a parameter is never empty
        "/files/a/b",  # ...and never spans two segments
        "/axb",  # "." in a template is literal
        "/xfiles/a",
    ],
)
def test_unknown_path_is_404(path):
    error = refused("GET", path)

    assert error.status == 404
    assert "Allow" not in error.headers


def test_404_wins_over_method_checks():
    assert refused("DELETE", "/nope").status == 404


def test_wrong_method_is_405_with_allow():
    error = refused("POST", "/files/report.pdf")

    assert error.status == 405
    assert allow_of(error) == ["PUT", "OPTIONS"]


def test_allow_lists_head_beside_get():
    error = refused("POST", "/healthz")

    assert error.status == 405
    assert allow_of(error) == ["GET", "HEAD", "OPTIONS"]


def test_allow_lists_every_method_of_the_path_once():
    error = refused("PATCH", "/uploads/u1")

    assert sorted(allow_of(error)) == ["DELETE", "GET", "HEAD", "OPTIONS"]


def test_405_detail_names_the_method_and_what_is_allowed():
    error = refused("PUT", "/healthz")

    assert "PUT" in error.detail
    assert "GET, HEAD, OPTIONS" in error.detail


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("OPTIONS", "/healthz"),
        ("OPTIONS", "/files/x"),
        ("HEAD", "/webhooks/fastio"),
        ("POST", "/healthz"),
    ],
)
def test_405_never_lists_the_method_it_refused(method, path):
    # RFC 9110, section 15.5.6: Allow lists the methods the target supports;
    # refusing a method while listing it contradicts itself.
    try:
        match(ROUTES, method, path)
    except HTTPError as error:
        allowed = allow_of(error) if error.status == 405 else []
    else:
        allowed = []

    assert method not in allowed


def test_head_falls_back_to_get():
    route, params = match(ROUTES, "HEAD", "/uploads/u1")

    assert route.method == "GET"
    assert params == {"id": "u1"}


def test_head_prefers_its_own_route():
    head = Route("HEAD", "/healthz", handler, name="head")

    route, _ = match((*ROUTES, head), "HEAD", "/healthz")

    assert route.name == "head"


def test_head_does_not_fall_back_to_other_methods():
    error = refused("HEAD", "/webhooks/fastio")

    assert error.status == 405
    assert allow_of(error) == ["POST", "OPTIONS"]


def test_parameter_is_percent_decoded():
    _, params = match(ROUTES, "PUT", "/files/report%20v2%20%C3%A9t%C3%A9.pdf")

    assert params == {"name": "report v2 été.pdf"}


def test_encoded_slash_stays_in_one_segment():
    route, params = match(ROUTES, "PUT", "/files/a%2Fb")

    assert route.template == "/files/{name}"
    assert params == {"name": "a/b"}


def test_encoded_slash_cannot_reach_another_route():
    # "/folders/f1%2Ffiles/x" must not become /folders/{folder}/files/{name}.
    error = refused("GET", "/folders/f1%2Ffiles%2Fx")

    assert error.status == 404


def test_encoded_dot_dot_is_one_decoded_segment():
    _, params = match(ROUTES, "PUT", "/files/%2E%2E")

    assert params == {"name": ".."}


def test_invalid_percent_escape_is_left_as_is():
    _, params = match(ROUTES, "PUT", "/files/100%25%zz")

    assert params == {"name": "100%%zz"}
