import pytest

from filenames import MAX_NAME_BYTES, check_filename
from problems import HTTPError


def refused(name: str) -> HTTPError:
    with pytest.raises(HTTPError) as info:
        check_filename(name)
    return info.value


@pytest.mark.parametrize(
    "name",
    [
        "report.pdf",
        "Report (final) v2.PDF",
        "no-extension",
        ".hidden",
        "...",
        "a..b",
        "Grüße aus Köln.txt",
        "東京の写真.jpg",
        "😀.png",
        "name with  two spaces.txt",
    ],
)
def test_ordinary_names_are_returned_unchanged(name):
    assert check_filename(name) == name


def test_refusal_is_400_invalid_filename():
    error = refused("a/b")

    assert error.status == 400
    assert error.code == "invalid-filename"
    assert error.body()["type"].endswith("/invalid-filename")


@pytest.mark.parametrize("name", ["", " ", "   ", "\t", "\u00a0", "\u3000"])
def test_empty_or_blank_name_is_refused(name):
    assert "empty" in refused(name).detail


@pytest.mark.parametrize("name", [".", ".."])
def test_dot_and_dot_dot_are_refused(name):
    assert "'.' and '..'" in refused(name).detail


@pytest.mark.parametrize(
    "name", ["a/b", "/etc", "dir/", "../up.txt", "a\\b", "..\\windows", "C:\\x"]
)
def test_path_separators_are_refused(name):
    assert "separator" in refused(name).detail


@pytest.mark.parametrize(
    ("name", "code_point"),
    [
        ("a\x00b.txt", "U+0000"),
        ("a\x01b.txt", "U+0001"),
        ("line\nbreak.txt", "U+000A"),
        ("carriage\rreturn.txt", "U+000D"),
        ("tab\tinside.txt", "U+0009"),
        ("escape\x1b[31m.txt", "U+001B"),
        ("del\x7f.txt", "U+007F"),
        ("next\x85line.txt", "U+0085"),
        ("photo\u202egnp.exe", "U+202E"),  # right-to-left override
        ("zero\u200bwidth.txt", "U+200B"),
        ("bom\ufeff.txt", "U+FEFF"),
    ],
)
def test_control_and_invisible_format_characters_are_refused(name, code_point):
    assert code_point in refused(name).detail


def test_the_refusal_names_the_code_point_not_the_raw_character():
    detail = refused("evil\u202etxt.exe").detail

    assert "\u202e" not in detail


@pytest.mark.parametrize(
    "name", [" leading.txt", "trailing.txt ", "trailing.txt\u00a0", "\u2003em.txt"]
)
def test_leading_or_trailing_whitespace_is_refused(name):
    assert "whitespace" in refused(name).detail


def test_name_of_exactly_255_bytes_is_accepted():
    name = "a" * MAX_NAME_BYTES

    assert check_filename(name) == name


def test_name_of_256_ascii_bytes_is_refused():
    assert "255 bytes" in refused("a" * (MAX_NAME_BYTES + 1)).detail


@pytest.mark.parametrize(
    ("char", "fits"),
    [("é", 127), ("€", 85), ("😀", 63)],  # 2, 3 and 4 bytes in UTF-8
)
def test_the_length_limit_counts_utf8_bytes_not_characters(char, fits):
    assert check_filename(char * fits) == char * fits

    too_long = char * (fits + 1)
    assert len(too_long) < MAX_NAME_BYTES
    assert "255 bytes" in refused(too_long).detail


def test_limit_counts_the_extension_too():
    base = "a" * (MAX_NAME_BYTES - 4)

    assert check_filename(base + ".pdf") == base + ".pdf"
    assert refused(base + "x.pdf").status == 400
