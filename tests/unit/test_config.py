from types import SimpleNamespace

import pytest

from config import DEFAULT_FASTIO_BASE_URL, SETTINGS, Config, MiB
from problems import ConfigError, HTTPError

WORKSPACE = "1234567890123456789"


def config(**env: object) -> Config:
    return Config(SimpleNamespace(**env))


def misconfigured(read, *args, **kwargs) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        read(*args, **kwargs)
    return info.value


def assert_names_setting_not_value(error: ConfigError, setting: str, value: str):
    assert error.status == 500
    assert error.code == "misconfigured"
    assert error.setting == setting
    assert error.body()["setting"] == setting
    assert setting in error.detail
    assert value not in error.detail
    assert value not in str(error)
    assert value not in repr(error.body())


# The settings list


def test_setting_names_are_unique_and_upper_case():
    names = [s.name for s in SETTINGS]

    assert len(names) == len(set(names))
    assert all(name == name.upper() and " " not in name for name in names)


def test_every_setting_is_documented():
    assert all(s.doc.strip() for s in SETTINGS)


def test_no_secret_has_a_default():
    assert [s.name for s in SETTINGS if s.secret and s.default is not None] == []


def test_secrets_are_marked_secret():
    secret = {s.name for s in SETTINGS if s.secret}

    assert {"FASTIO_API_KEY", "JWT_SECRET", "WEBHOOK_SECRETS"} <= secret


def test_every_default_passes_its_own_checks():
    unset = config()

    assert unset.fastio_base_url() == DEFAULT_FASTIO_BASE_URL
    assert unset.profile_type() == "workspace"
    assert unset.integer("MAX_UPLOAD_BYTES", minimum=1) == 100 * MiB
    for name in (
        "CORS_MAX_AGE",
        "JWT_LEEWAY_SECONDS",
        "JWKS_CACHE_SECONDS",
        "UPSTREAM_RETRIES",
        "WEBHOOK_TOLERANCE_SECONDS",
    ):
        assert unset.integer(name) >= 0
    assert unset.number("UPSTREAM_TIMEOUT_SECONDS") == 30.0


# Reading values


def test_unset_setting_reads_as_its_default():
    unset = config()

    assert unset.raw("FASTIO_FOLDER_ID") == "root"
    assert unset.raw("CORS_MAX_AGE") == "600"
    assert unset.items("ALLOWED_TYPES") == [
        "png", "jpeg", "gif", "webp", "pdf", "zip", "mp4", "text",
    ]  # fmt: skip


@pytest.mark.parametrize("empty", ["", "   ", "\t"])
def test_empty_string_counts_as_unset(empty):
    settings = config(FASTIO_FOLDER_ID=empty, JWT_ISSUER=empty)

    assert settings.raw("FASTIO_FOLDER_ID") == "root"
    assert settings.optional("JWT_ISSUER") is None


def test_set_value_wins_over_the_default_and_is_stripped():
    assert config(FASTIO_FOLDER_ID="  abc123 ").raw("FASTIO_FOLDER_ID") == "abc123"


def test_non_string_binding_is_read_as_text():
    assert config(CORS_MAX_AGE=900).integer("CORS_MAX_AGE") == 900


def test_unknown_setting_reads_as_none():
    assert config().raw("NOT_A_SETTING") is None


def test_required_setting_without_default_names_itself():
    error = misconfigured(config().require, "FASTIO_API_KEY")

    assert error.setting == "FASTIO_API_KEY"
    assert "FASTIO_API_KEY is not set" in error.detail


def test_empty_required_setting_is_not_set():
    error = misconfigured(config(FASTIO_API_KEY="").require, "FASTIO_API_KEY")

    assert "is not set" in error.detail


def test_config_error_is_an_http_error():
    assert issubclass(ConfigError, HTTPError)


# Integers, numbers, flags, lists


def test_integer_is_parsed():
    assert config(MAX_UPLOAD_BYTES=" 6442450944 ").integer("MAX_UPLOAD_BYTES") == (
        6 * 1024 * MiB
    )


@pytest.mark.parametrize("value", ["ten-bytes-9", "1.5", "1e6", "0x10", "12 MB"])
def test_bad_integer_names_the_setting_not_the_value(value):
    settings = config(MAX_UPLOAD_BYTES=value)

    error = misconfigured(settings.integer, "MAX_UPLOAD_BYTES", minimum=1)

    assert_names_setting_not_value(error, "MAX_UPLOAD_BYTES", value)
    assert "not an integer" in error.detail


def test_integer_below_minimum_names_the_setting_not_the_value():
    settings = config(MAX_UPLOAD_BYTES="-77")

    error = misconfigured(settings.integer, "MAX_UPLOAD_BYTES", minimum=1)

    assert_names_setting_not_value(error, "MAX_UPLOAD_BYTES", "-77")
    assert "at least 1" in error.detail


def test_integer_at_the_minimum_is_accepted():
    assert config(UPSTREAM_RETRIES="0").integer("UPSTREAM_RETRIES") == 0


def test_number_is_parsed():
    settings = config(UPSTREAM_TIMEOUT_SECONDS="2.5")

    assert settings.number("UPSTREAM_TIMEOUT_SECONDS") == 2.5


@pytest.mark.parametrize("value", ["fast-4", "x7x", "1,5"])
def test_bad_number_names_the_setting_not_the_value(value):
    settings = config(UPSTREAM_TIMEOUT_SECONDS=value)

    error = misconfigured(settings.number, "UPSTREAM_TIMEOUT_SECONDS")

    assert_names_setting_not_value(error, "UPSTREAM_TIMEOUT_SECONDS", value)
    assert "not a number" in error.detail


@pytest.mark.parametrize("value", ["0.000", "-3.25"])
def test_number_must_be_positive(value):
    settings = config(UPSTREAM_TIMEOUT_SECONDS=value)

    error = misconfigured(settings.number, "UPSTREAM_TIMEOUT_SECONDS")

    assert_names_setting_not_value(error, "UPSTREAM_TIMEOUT_SECONDS", value)
    assert "positive" in error.detail


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "Infinity"])
def test_number_refuses_nan_and_infinity(value):
    # float() reads these, but a timeout of NaN or forever is a mistake.
    settings = config(UPSTREAM_TIMEOUT_SECONDS=value)

    misconfigured(settings.number, "UPSTREAM_TIMEOUT_SECONDS")


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "yes", "On"])
def test_flag_true_spellings(value):
    assert config(SOME_FLAG=value).flag("SOME_FLAG") is True


@pytest.mark.parametrize("value", ["0", "false", "No", "OFF", ""])
def test_flag_false_spellings(value):
    assert config(SOME_FLAG=value).flag("SOME_FLAG") is False


def test_unset_flag_is_false():
    assert config().flag("SOME_FLAG") is False


def test_bad_flag_names_the_setting_not_the_value():
    error = misconfigured(config(SOME_FLAG="perhaps-9").flag, "SOME_FLAG")

    assert_names_setting_not_value(error, "SOME_FLAG", "perhaps-9")


def test_items_are_trimmed_and_empty_ones_dropped():
    settings = config(ALLOWED_ORIGINS=" https://a.example , ,https://b.example,")

    assert settings.items("ALLOWED_ORIGINS") == [
        "https://a.example",
        "https://b.example",
    ]


def test_items_of_an_empty_setting_are_empty():
    assert config(ALLOWED_ORIGINS="").items("ALLOWED_ORIGINS") == []


# Fast.io settings


def test_base_url_default_is_fastio():
    assert config().fastio_base_url() == "https://api.fast.io/current/"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://127.0.0.1:8788/current/", "http://127.0.0.1:8788/current/"),
        ("http://127.0.0.1:8788/current", "http://127.0.0.1:8788/current/"),
        ("https://api.fast.io/current", "https://api.fast.io/current/"),
    ],
)
def test_base_url_gets_one_trailing_slash(value, expected):
    assert config(FASTIO_BASE_URL=value).fastio_base_url() == expected


@pytest.mark.parametrize(
    "value", ["api.fast.io/current/", "ftp://files.example/", "javascript:alert(1)"]
)
def test_base_url_must_be_http_and_error_hides_it(value):
    error = misconfigured(config(FASTIO_BASE_URL=value).fastio_base_url)

    assert_names_setting_not_value(error, "FASTIO_BASE_URL", value)


def test_workspace_id_of_19_digits_is_accepted():
    assert config(FASTIO_WORKSPACE_ID=WORKSPACE).workspace_id() == WORKSPACE


def test_workspace_id_is_required():
    error = misconfigured(config().workspace_id)

    assert error.setting == "FASTIO_WORKSPACE_ID"
    assert "is not set" in error.detail


@pytest.mark.parametrize(
    "value",
    [WORKSPACE[:-1], WORKSPACE + "0", "12345678901234567x9", "-234567890123456789"],
)
def test_workspace_id_must_be_19_digits_and_error_hides_it(value):
    error = misconfigured(config(FASTIO_WORKSPACE_ID=value).workspace_id)

    assert_names_setting_not_value(error, "FASTIO_WORKSPACE_ID", value)
    assert "19-digit" in error.detail


@pytest.mark.parametrize(
    "value",
    ["١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧٨٩", "１２３４５６７８９０１２３４５６７８９", "¹" * 19],
    ids=["arabic-indic", "full-width", "superscript"],
)
def test_workspace_id_must_be_ascii_digits(value):
    # str.isdigit() is true for Arabic-Indic, full-width and superscript digits.
    misconfigured(config(FASTIO_WORKSPACE_ID=value).workspace_id)


@pytest.mark.parametrize("value", ["workspace", "share"])
def test_profile_type_accepts_workspace_and_share(value):
    assert config(FASTIO_PROFILE_TYPE=value).profile_type() == value


def test_profile_type_rejects_anything_else_and_error_hides_it():
    error = misconfigured(config(FASTIO_PROFILE_TYPE="org-42").profile_type)

    assert_names_setting_not_value(error, "FASTIO_PROFILE_TYPE", "org-42")
