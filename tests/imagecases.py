"""Odd and hostile upload files, built in memory, for the image tests and the page tests.

`image_cases()` returns name -> ImageCase(filename, data, mime, expect, note): `expect` is
ACCEPTED or a substring of the rejection message; `note` is a substring that one of the
decoder's notes must contain ("" when no particular note is expected). Everything is
deterministic and the whole set builds in well under a second or two.
"""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image

ACCEPTED = "accepted"


class ImageCase(NamedTuple):
    filename: str
    data: bytes
    mime: str
    expect: str  # ACCEPTED, or a substring of ImageRejected's message
    note: str = ""  # for accepted files: a substring one of the notes must contain


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **kw)
    return buffer.getvalue()


def _photo_like(width: int, height: int, seed: int = 0) -> np.ndarray:
    """Return (height, width, 3) uint8: smooth colour gradients plus noise, roughly photo statistics."""
    rng = np.random.default_rng(seed)
    x = np.arange(width, dtype=np.float32)[None, :]  # (1, W)
    y = np.arange(height, dtype=np.float32)[:, None]  # (H, 1)
    base = np.empty((height, width, 3), dtype=np.float32)  # (H, W, 3) smooth colour, 20..220
    base[..., 0] = 20 + 200 * x / width
    base[..., 1] = 20 + 200 * y / height
    base[..., 2] = 120 + 100 * np.sin(x / 37.0 + y / 53.0)
    base += rng.integers(-24, 25, size=(height, width, 3), dtype=np.int8)  # sensor-like noise
    return np.clip(base, 0, 255).astype(np.uint8)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_from_rows(width: int, height: int, bit_depth: int, color_type: int, raw: bytes) -> bytes:
    """Return a PNG written chunk by chunk; `raw` is the filtered scanlines (filter byte per row)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def bomb_png(side: int = 30_000) -> bytes:
    """Return a valid 1-bit `side`×`side` PNG of zeros: ~100 KB on disk, `side`² pixels decoded."""
    row = b"\x00" * (1 + (side + 7) // 8)  # filter byte 0, then side bits
    packer = zlib.compressobj(9)
    block = row * 1000
    body = b"".join(packer.compress(block) for _ in range(side // 1000))
    body += packer.compress(row * (side % 1000)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")


def sixteen_bit_gray_png() -> bytes:
    """Return a 64×16 16-bit grayscale PNG whose values run 0..65535 along x."""
    values = np.linspace(0, 65535, 64).round().astype(">u2")  # big-endian, as PNG stores it
    rows = b"".join(b"\x00" + values.tobytes() for _ in range(16))
    return png_from_rows(64, 16, 16, 0, rows)


def sixteen_bit_rgb_png() -> bytes:
    """Return a 32×8 16-bit RGB PNG: red ramps 0..65535, green 65535, blue 0."""
    red = np.linspace(0, 65535, 32).round()
    pixels = np.stack([red, np.full(32, 65535), np.zeros(32)], axis=-1).astype(">u2")  # (32, 3)
    rows = b"".join(b"\x00" + pixels.tobytes() for _ in range(8))
    return png_from_rows(32, 8, 16, 2, rows)


def bad_crc_png() -> bytes:
    """Return a PNG whose IDAT data has one byte flipped, so its CRC no longer matches."""
    data = bytearray(_save(Image.fromarray(_photo_like(64, 48)), "PNG"))
    idat = data.find(b"IDAT")
    data[idat + 20] ^= 0xFF
    return bytes(data)


def exif_rotated_jpeg() -> bytes:
    """Return a 60×40 JPEG (landscape as stored) whose EXIF says 'rotate 90° clockwise' (tag 6)."""
    img = Image.fromarray(_photo_like(60, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(img, "JPEG", exif=exif.tobytes(), quality=90)


def big_jpeg(width: int = 4000, height: int = 3000, quality: int = 90) -> bytes:
    """Return a `width`×`height` photo-like JPEG (12 MP by default)."""
    return _save(Image.fromarray(_photo_like(width, height)), "JPEG", quality=quality)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def palette_with_transparency_png() -> bytes:
    img = Image.new("P", (20, 20), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (5, 5, 15, 15))  # a blue square on transparent 'red'
    return _save(img, "PNG", transparency=0)


@lru_cache(maxsize=1)
def _cases() -> dict[str, ImageCase]:
    photo = Image.fromarray(_photo_like(96, 64))
    jpeg = _save(photo, "JPEG", quality=90)
    rgba = photo.convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(photo.size))
    cases = {
        # accepted, with the note that explains the conversion
        "jpeg": ImageCase("photo.jpg", jpeg, "image/jpeg", ACCEPTED),
        "png": ImageCase("photo.png", _save(photo, "PNG"), "image/png", ACCEPTED),
        "png_16bit_gray": ImageCase("scan16.png", sixteen_bit_gray_png(), "image/png", ACCEPTED, "16-bit"),
        "png_16bit_rgb": ImageCase("hdr16.png", sixteen_bit_rgb_png(), "image/png", ACCEPTED, "16-bit"),
        "tiff_16bit_gray": ImageCase("micro.tif", _save(Image.fromarray(
            np.linspace(0, 65535, 48 * 32).reshape(32, 48).astype(np.uint16)), "TIFF"),
            "image/tiff", ACCEPTED, "16-bit"),
        "png_1bit": ImageCase("bw.png", _save(photo.convert("1"), "PNG"), "image/png", ACCEPTED, "1-bit"),
        "png_palette_transparency": ImageCase("icon.png", palette_with_transparency_png(), "image/png",
                                              ACCEPTED, "Transparent"),
        "png_rgba": ImageCase("logo.png", _save(rgba, "PNG"), "image/png", ACCEPTED, "Transparent"),
        "png_la": ImageCase("gray_alpha.png", _save(rgba.convert("LA"), "PNG"), "image/png", ACCEPTED,
                            "Transparent"),
        "png_rgba_opaque": ImageCase("opaque.png", _save(photo.convert("RGBA"), "PNG"), "image/png", ACCEPTED),
        "jpeg_cmyk": ImageCase("print.jpg", _save(photo.convert("CMYK"), "JPEG"), "image/jpeg", ACCEPTED, "CMYK"),
        "jpeg_grayscale": ImageCase("gray.jpg", _save(photo.convert("L"), "JPEG"), "image/jpeg", ACCEPTED,
                                    "Grayscale"),
        "png_grayscale": ImageCase("gray.png", _save(photo.convert("L"), "PNG"), "image/png", ACCEPTED, "Grayscale"),
        "gif_animated": ImageCase("anim.gif", animated_gif(), "image/gif", ACCEPTED, "first frame"),
        "webp": ImageCase("photo.webp", _save(photo, "WEBP", quality=90), "image/webp", ACCEPTED),
        "bmp": ImageCase("photo.bmp", _save(photo, "BMP"), "image/bmp", ACCEPTED),
        "tiff": ImageCase("photo.tiff", _save(photo, "TIFF"), "image/tiff", ACCEPTED),
        "png_1x1": ImageCase("dot.png", _save(Image.new("RGB", (1, 1), (200, 30, 90)), "PNG"), "image/png",
                             ACCEPTED, "flat colour"),
        "png_10000x10": ImageCase("strip.png", _save(Image.fromarray(_photo_like(10_000, 10)), "PNG"),
                                  "image/png", ACCEPTED, "wide"),
        "jpeg_exif_rotated": ImageCase("phone.jpg", exif_rotated_jpeg(), "image/jpeg", ACCEPTED, "orientation"),
        "png_named_jpg": ImageCase("really_a_png.jpg", _save(photo, "PNG"), "image/jpeg", ACCEPTED, "named .jpg"),
        # rejected, with a substring of the sentence the learner reads
        "empty": ImageCase("empty.png", b"", "image/png", "empty (0 bytes)"),
        "text_named_png": ImageCase("notes.png", b"These are my lecture notes.\nGrouped convolutions...\n" * 20,
                                    "image/png", "plain text"),
        "pdf_named_jpg": ImageCase("paper.jpg", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n",
                                   "image/jpeg", "starts like a PDF"),
        "html_named_png": ImageCase("cat.png", b"<!DOCTYPE html>\n<html><head><title>cat</title></head></html>",
                                    "image/png", "web page"),
        "svg": ImageCase("logo.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>',
                         "image/svg+xml", "SVG"),
        "heic": ImageCase("IMG_0001.HEIC", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
                          "image/heic", "HEIC"),
        "jpeg_truncated": ImageCase("cut.jpg", jpeg[: len(jpeg) // 2], "image/jpeg", "truncated"),
        "png_truncated": ImageCase("cut.png", _save(photo, "PNG")[:600], "image/png", "truncated"),
        "png_bad_crc": ImageCase("damaged.png", bad_crc_png(), "image/png", "checksum (CRC)"),
        "png_bomb_30000": ImageCase("bomb.png", bomb_png(30_000), "image/png", "decompression bomb"),
        "png_7000x7000_over_cap": ImageCase("huge.png", bomb_png(7_000), "image/png", "49 megapixels"),
        "file_over_20mb": ImageCase("huge.jpg", jpeg[:2] + b"\x00" * (21 * 2**20), "image/jpeg", "the limit is 20 MB"),
    }
    return cases


def image_cases() -> dict[str, ImageCase]:
    """Return every upload case, name -> ImageCase (built once, then cached; bytes are immutable)."""
    return dict(_cases())
