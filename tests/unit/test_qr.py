import xml.etree.ElementTree as ET

import pytest

from referral.qr import qr_png, qr_svg

URL = "https://refer.example.com/r/ABCD2345?utm_source=referral&utm_medium=qr"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_svg_is_a_standalone_svg_document():
    svg = qr_svg(URL)
    assert svg.startswith(b"<?xml")
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_png_starts_with_the_png_signature():
    assert qr_png(URL).startswith(PNG_SIGNATURE)


def test_a_larger_scale_draws_a_larger_image():
    small = ET.fromstring(qr_svg(URL, scale=2))
    large = ET.fromstring(qr_svg(URL, scale=4))
    assert int(large.get("width", "0")) == 2 * int(small.get("width", "0"))
    assert len(qr_png(URL, scale=16)) > len(qr_png(URL, scale=2))


def test_the_same_url_always_renders_the_same_bytes():
    assert qr_svg(URL) == qr_svg(URL)
    assert qr_png(URL) == qr_png(URL)


@pytest.mark.parametrize("render", [qr_svg, qr_png])
def test_scale_below_one_is_refused(render):
    with pytest.raises(ValueError, match="scale"):
        render(URL, scale=0)
