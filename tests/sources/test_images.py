"""Decoding odd files: every mode becomes RGB; bad files are skipped by name, never silently."""

import numpy as np
import pytest
from invariance.sources.images import ImageDecodeError, NoImagesError, load_images, load_rgb
from PIL import Image


def test_modes_become_rgb(tmp_path):
    Image.new("L", (5, 4), 77).save(tmp_path / "grey.png")
    Image.new("CMYK", (5, 4), (0, 0, 0, 0)).save(tmp_path / "cmyk.jpg")
    Image.new("RGBA", (5, 4), (10, 20, 30, 0)).save(tmp_path / "rgba.png")
    Image.new("RGB", (5, 4), (200, 10, 10)).convert("P").save(tmp_path / "pal.png")
    for name in ["grey.png", "cmyk.jpg", "rgba.png", "pal.png"]:
        arr = load_rgb(tmp_path / name)
        assert arr.shape == (4, 5, 3) and arr.dtype == np.uint8, name
    assert (load_rgb(tmp_path / "grey.png") == 77).all()
    assert (load_rgb(tmp_path / "rgba.png") == 255).all()  # transparent -> white
    assert np.abs(load_rgb(tmp_path / "cmyk.jpg").astype(int) - 255).max() <= 2  # no ink -> white


def test_16bit_png_is_scaled_not_clipped(tmp_path):
    arr = np.array([[0, 32768, 65535]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "deep.png")
    out = load_rgb(tmp_path / "deep.png")
    assert out[0, :, 0].tolist() == [0, 128, 255]


def test_exif_rotation_applied(tmp_path):
    im = Image.new("RGB", (6, 3), (0, 0, 0))
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    im.save(tmp_path / "rot.jpg", exif=exif)
    assert load_rgb(tmp_path / "rot.jpg").shape == (6, 3, 3)


def test_bad_files_are_skipped_with_named_warning(tmp_path):
    good = tmp_path / "good.jpg"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(good)
    trunc = tmp_path / "trunc.jpg"
    trunc.write_bytes(good.read_bytes()[:60])
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    entries = [
        ("good", good, 1),
        ("trunc", trunc, 2),
        ("notes", text, 3),
        ("gone", tmp_path / "gone.jpg", 4),
    ]
    with pytest.warns(UserWarning, match="trunc.jpg"):
        images, skipped = load_images(entries)
    assert [i.id for i in images] == ["good"] and images[0].pixels.shape == (3, 8, 8)
    assert {p.name for p, _ in skipped} == {"trunc.jpg", "notes.jpg", "gone.jpg"}
    with pytest.raises(ImageDecodeError):
        load_rgb(text)
    with pytest.raises(NoImagesError), pytest.warns(UserWarning):
        load_images(entries[1:])


def test_decompression_bombs_are_skipped_like_other_bad_files(tmp_path, monkeypatch):
    """Issue 10, item 9: DecompressionBombError aborted a whole image list."""
    big = tmp_path / "bomb.png"
    Image.new("RGB", (64, 64)).save(big)
    ok = tmp_path / "ok.png"
    Image.new("RGB", (4, 4)).save(ok)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 64 x 64 > 2 x 100: Image.open raises the error
    with pytest.warns(UserWarning, match="bomb.png"):
        images, skipped = load_images([("bomb", big, 0), ("ok", ok, 0)])
    assert [i.id for i in images] == ["ok"] and len(skipped) == 1


def _blank_png(path, width: int, height: int) -> None:
    """A black greyscale PNG written by hand, row data streamed through zlib: a huge image in a small file
    (13000 x 13000 is 160 KB) without ever holding its pixels."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    z = zlib.compressobj(9)
    rows = bytes((width + 1) * 100)  # 100 rows: filter byte 0, then the row's zeros
    body = b"".join(z.compress(rows) for _ in range(height // 100)) + z.compress(
        rows[: (width + 1) * (height % 100)]
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body + z.flush()) + chunk(b"IEND", b"")
    )


def test_images_over_pillows_limit_are_skipped_without_being_decoded(tmp_path, monkeypatch):
    """Issue 29, item 2: between 1x and 2x Image.MAX_IMAGE_PIXELS Pillow only warns, and the warning filter
    came too late: a 160 KB 13000 x 13000 PNG was decoded to 161 MiB (3 GB peak)."""
    from PIL import ImageFile

    bomb = tmp_path / "huge.png"
    _blank_png(bomb, 13000, 13000)  # 1.9x the default limit of 89,478,485 pixels
    assert Image.MAX_IMAGE_PIXELS < 13000 * 13000 < 2 * Image.MAX_IMAGE_PIXELS
    ok = tmp_path / "ok.png"
    Image.new("RGB", (4, 4)).save(ok)
    decoded = []
    real_load = ImageFile.ImageFile.load

    def spy(im):
        decoded.append(im.size)
        if im.size == (13000, 13000):  # never let the test itself decode 161 MiB
            raise OSError("the test stopped this decode")
        return real_load(im)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    with pytest.warns(UserWarning, match=r"huge\.png.*exceeds limit.*MAX_IMAGE_PIXELS"):
        images, skipped = load_images([("huge", bomb, 0), ("ok", ok, 0)])
    assert [i.id for i in images] == ["ok"] and [p.name for p, _ in skipped] == ["huge.png"]
    assert decoded and (13000, 13000) not in decoded  # the huge one was judged by its header alone


def test_pixels_are_checked_with_the_convention_named():
    """Issue 29, item 6: torchvision's float [0, 1] pixels were divided by 255 again (black frames, no
    error); wrong shapes failed deep inside torch."""
    import torch
    from invariance.sources.images import SourceImage

    ok = torch.zeros(3, 5, 4, dtype=torch.uint8)
    assert SourceImage("ok", -1, ok).size == (5, 4)
    cases = [
        (ok.float() / 255, r"uint8 tensor \(3, H, W\), RGB in 0-255.*float32 \(3, 5, 4\).*\* 255"),
        (ok.permute(1, 2, 0), r"\(5, 4, 3\) \(channels last\): pass pixels.permute\(2, 0, 1\)"),
        (ok[0], r"\(5, 4\) \(grey\)"),
        (torch.zeros(4, 5, 4, dtype=torch.uint8), "alpha channel"),
        (torch.zeros(3, 0, 4, dtype=torch.uint8), "H, W >= 1"),
        (ok.numpy(), "not ndarray"),
    ]
    for pixels, message in cases:
        with pytest.raises(ValueError, match=rf"image 'x': pixels must be .*{message}"):
            SourceImage("x", -1, pixels)
