import pytest

from sniff import BY_NAME, SNIFF_BYTES, TYPES, detect, unknown_names


def name_of(head: bytes) -> str | None:
    found = detect(head)
    return found.name if found else None


# One real-looking header per type, padded with binary bytes as files are.
PAD = bytes(range(256)) * 4
HEADERS = {
    "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + PAD,
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + PAD,
    "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + PAD,
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 " + PAD,
    "bmp": b"BM6\x00\x0c\x00\x00\x00\x00\x006\x00\x00\x00(\x00\x00\x00" + PAD,
    "tiff": b"II*\x00\x08\x00\x00\x00" + PAD,
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + PAD,
    "avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00" + PAD,
    "pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + PAD,
    "zip": b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + PAD,
    "gzip": b"\x1f\x8b\x08\x00\x00\x00\x00\x00" + PAD,
    "7z": b"7z\xbc\xaf\x27\x1c\x00\x04" + PAD,
    "mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + PAD,
    "mov": b"\x00\x00\x00\x14ftypqt  \x20\x05\x03\x00" + PAD,
    "webm": b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + PAD,
    "mp3": b"ID3\x04\x00\x00\x00\x00\x00\x23" + PAD,
    "wav": b"RIFF\x24\x08\x00\x00WAVEfmt " + PAD,
    "ogg": b"OggS\x00\x02\x00\x00\x00\x00" + PAD,
    "flac": b"fLaC\x00\x00\x00\x22" + PAD,
    "text": b"Hello, world.\nA second line.\n",
}


def test_every_detectable_type_has_a_sample_here():
    assert set(HEADERS) == set(BY_NAME)


@pytest.mark.parametrize("expected", sorted(HEADERS))
def test_each_magic_number_is_detected(expected):
    assert name_of(HEADERS[expected]) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"GIF87a\x01\x00" + PAD, "gif"),
        (b"MM\x00*\x00\x00\x00\x08" + PAD, "tiff"),
        (b"\x00\x00\x00\x18ftypheix" + PAD, "heic"),
        (b"\x00\x00\x00\x18ftypmif1" + PAD, "heic"),
        (b"\x00\x00\x00\x18ftypavis" + PAD, "avif"),
        (b"PK\x05\x06" + bytes(18), "zip"),  # an empty archive
        (b"\xff\xfb\x90\x64" + PAD, "mp3"),
        (b"\xff\xf3\x90\x64" + PAD, "mp3"),
        (b"\xff\xf2\x90\x64" + PAD, "mp3"),
    ],
)
def test_alternative_signatures_of_a_type_are_detected(head, expected):
    assert name_of(head) == expected


@pytest.mark.parametrize(
    "brand", [b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"dash", b"iso5"]
)
def test_each_mp4_brand_is_mp4(brand):
    assert name_of(b"\x00\x00\x00\x20ftyp" + brand + PAD) == "mp4"


def test_ftyp_with_an_unlisted_brand_is_unknown():
    assert detect(b"\x00\x00\x00\x20ftyp3gp4\x00\x00\x00\x00" + PAD) is None


def test_webp_is_not_mistaken_for_wav():
    assert name_of(HEADERS["webp"]) == "webp"
    assert name_of(HEADERS["wav"]) == "wav"


def test_riff_with_another_form_type_is_unknown():
    avi = b"RIFF\x24\x00\x00\x00AVI LIST" + PAD

    assert detect(avi) is None


def test_detected_mime_types():
    assert detect(HEADERS["png"]).mime == "image/png"
    assert detect(HEADERS["pdf"]).mime == "application/pdf"
    assert detect(HEADERS["webp"]).mime == "image/webp"
    assert detect(HEADERS["wav"]).mime == "audio/wav"
    assert detect(HEADERS["text"]).mime == "text/plain; charset=utf-8"


@pytest.mark.parametrize(
    ("head", "not_this"),
    [
        (b"\x89PNG\r\n", "png"),
        (b"\xff\xd8", "jpeg"),
        (b"GIF89", "gif"),
        (b"RIFF\x24\x00\x00\x00WEB", "webp"),
        (b"RIFF\x24\x00\x00\x00WAV", "wav"),
        (b"\x00\x00\x00\x18ftyp", "mp4"),
        (b"%PDF", "pdf"),
        (b"PK\x03", "zip"),
        (b"\x1f", "gzip"),
        (b"7z\xbc\xaf\x27", "7z"),
        (b"\x1a\x45\xdf", "webm"),
        (b"ID", "mp3"),
        (b"Ogg", "ogg"),
        (b"fLa", "flac"),
    ],
)
def test_truncated_header_is_not_taken_for_its_type(head, not_this):
    assert name_of(head) != not_this


@pytest.mark.parametrize(
    "head",
    [
        b"\x89PNG\r\n",
        b"\xff\xd8",
        b"RIFF\x24\x00\x00\x00WEB",
        b"\x00\x00\x00\x18ftyp",
        b"7z\xbc\xaf\x27",
    ],
)
def test_truncated_binary_header_is_unknown(head):
    assert detect(head) is None


@pytest.mark.parametrize(
    "head",
    [
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00" + PAD,
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + PAD,
        b"\xca\xfe\xba\xbe\x00\x00\x00\x34" + PAD,  # Java class / Mach-O fat
        b"#!/bin/sh\x00\x01\x02",
    ],
)
def test_executables_are_unknown(head):
    assert detect(head) is None


def test_empty_head_is_unknown():
    assert detect(b"") is None


def test_utf8_text_with_multibyte_characters_is_text():
    assert name_of("Grüße, 東京, 😀\n".encode()) == "text"


@pytest.mark.parametrize(
    ("char", "kept"), [("é", 1), ("€", 1), ("€", 2), ("😀", 1), ("😀", 2), ("😀", 3)]
)
def test_multibyte_character_cut_at_the_sample_end_is_still_text(char, kept):
    encoded = char.encode()
    # The sample ends after ``kept`` bytes of the last character.
    head = b"a" * (SNIFF_BYTES - kept) + encoded + b" more text after the sample"

    assert len(head[:SNIFF_BYTES]) == SNIFF_BYTES
    assert name_of(head) == "text"


def test_file_ending_part_way_through_a_character_is_text():
    assert name_of("price: 5 €".encode()[:-1]) == "text"


@pytest.mark.parametrize(
    "head",
    [
        b"abc\xffdef",  # never valid in UTF-8
        b"abc\xe2\x28\xa1 and more text",  # bad continuation byte
        b"caf\xe9 au lait",  # Latin-1, not UTF-8
        b"abc\xe2\x82xyz",  # a cut character is fine only at the sample end
    ],
)
def test_invalid_utf8_inside_the_sample_is_not_text(head):
    assert detect(head) is None


def test_binary_with_nul_bytes_is_not_text():
    assert detect(b"hello\x00world\x00" * 20) is None


@pytest.mark.parametrize("control", [b"\x00", b"\x01", b"\x1b", b"\x7f", b"\x08"])
def test_text_with_a_control_character_is_not_text(control):
    assert detect(b"plain words " + control + b" more words") is None


def test_tab_newline_carriage_return_and_form_feed_are_text():
    assert name_of(b"a\tb\r\nc\fd\n") == "text"


def test_utf8_bom_is_text():
    assert name_of(b"\xef\xbb\xbfname,size\nreport.pdf,10\n") == "text"


def test_utf16_with_bom_is_not_utf8_text():
    assert detect("hello".encode("utf-16")) is None


def test_only_the_first_sniff_bytes_are_looked_at():
    head = b"a" * SNIFF_BYTES + b"\x00\x01\x02"

    assert name_of(head) == "text"


def test_text_starting_with_bm_is_not_bmp():
    # "BM" alone is too weak: a BMP header also has a DIB header size at 14.
    assert name_of(b"BMW service history\n2019: brakes\n") == "text"


def test_text_is_the_last_resort():
    assert TYPES[-1].name == "text"


def test_unknown_names_lists_only_undetectable_names():
    assert unknown_names(["png", "pdf", "exe", "text", "docx"]) == ["exe", "docx"]
    assert unknown_names([]) == []
