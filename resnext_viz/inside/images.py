"""Uploaded pictures in, network-ready tensors out: decoding, validation, samples, preprocessing.

Every way an upload can be wrong becomes `ImageRejected` with a sentence the learner can act
on; every conversion made on the way (16-bit, CMYK, transparency, EXIF rotation, ...) becomes
a note the page can show. Only pixel formats are opened (never pickles, never PostScript),
and the pixel count is checked from the header before a single pixel is decoded.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from PIL import ExifTags, Image, ImageDraw, ImageOps, UnidentifiedImageError

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MAX_BYTES",
    "MAX_PIXELS",
    "SAMPLE_LESSONS",
    "DecodedImage",
    "ImageRejected",
    "decode_image",
    "preprocess",
    "sample_images",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)  # per-channel RGB mean of ImageNet, in [0, 1] (torchvision weights)
IMAGENET_STD = (0.229, 0.224, 0.225)  # per-channel RGB standard deviation, same source
MAX_BYTES = 20 * 2**20  # 20 MiB: phone photos are 2-8 MB; anything bigger is rarely a photo
MAX_PIXELS = 40_000_000  # 40 MP: above a 12-24 MP camera, far below Pillow's 179 MP hard stop
NETWORK_SHORT_SIDE = 256  # the largest `resize` of the published weights; decode keeps at least this
PREVIEW_LONG_SIDE = 512  # enough for a sharp on-page preview; decode keeps at least this

# Containers we open (MPO, a JPEG variant, comes through "JPEG"; AVIF only where Pillow was built
# with it). Pillow reads many more (EPS runs Ghostscript, PSD, ICO, ...): not from uploads.
_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "AVIF")
_ACCEPTED_TEXT = "a JPEG, PNG, WebP, GIF, BMP or TIFF picture"
_EXTENSION_FORMAT = {
    "jpg": "JPEG", "jpeg": "JPEG", "jfif": "JPEG", "jpe": "JPEG", "png": "PNG", "apng": "PNG",
    "gif": "GIF", "webp": "WEBP", "bmp": "BMP", "dib": "BMP", "tif": "TIFF", "tiff": "TIFF",
    "avif": "AVIF",
}
_SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N")


class ImageRejected(ValueError):
    """An upload that cannot be used; the message says why and what would work."""


@dataclass(frozen=True)
class DecodedImage:
    """A decoded upload, ready for `preprocess`."""

    image: Image.Image  # RGB, 8 bits per channel; large pictures are reduced, see `notes`
    format: str  # the container Pillow recognised, e.g. "JPEG", whatever the file name says
    original_size: tuple[int, int]  # (width, height) in pixels, as stored, after EXIF rotation
    notes: tuple[str, ...]  # plain sentences about each conversion made, for the page


def decode_image(data: bytes, filename: str = "", *, max_bytes: int = MAX_BYTES,
                 max_pixels: int = MAX_PIXELS) -> DecodedImage:
    """Return the upload as an RGB picture plus notes; raise `ImageRejected` for anything unusable."""
    label = f"“{filename}”" if filename else "This file"
    if not data:
        raise ImageRejected(f"{label} is empty (0 bytes): the upload or the save went wrong. "
                            f"Pick the file again, or use one of the sample images.")
    if len(data) > max_bytes:
        raise ImageRejected(f"{label} is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB. "
                            f"Save a smaller copy (a 1000-pixel-wide JPEG is plenty: the network sees 224×224).")
    try:
        img = Image.open(io.BytesIO(data), formats=_openable_formats())
    except UnidentifiedImageError as exc:
        raise ImageRejected(_not_an_image_message(label, data)) from exc
    except Exception as exc:  # a recognised header that Pillow then chokes on, or a bomb
        raise ImageRejected(_failure_message(label, "image", exc, max_pixels)) from exc
    fmt = img.format or "image"
    width, height = img.size
    if width * height > max_pixels:
        raise ImageRejected(_too_many_pixels_message(label, width * height, max_pixels, (width, height)))
    notes: list[str] = []
    try:
        if fmt == "PNG":  # verify() checks every chunk's CRC but leaves the image unusable: reopen
            img.verify()
            img = Image.open(io.BytesIO(data), formats=("PNG",))
        sixteen_bit = ";16" in str(img.tile[:1])  # Pillow reads 16-bit RGB(A) as 8-bit: say so
        frames = _frame_note(img, fmt)
        if fmt in ("JPEG", "MPO"):
            img.draft(None, _working_size(img.size))  # libjpeg decodes at 1/2, 1/4 or 1/8 scale
        img.load()
        img, quarter_turn = _apply_orientation(img, notes)
        rgb = _to_rgb(img, notes, sixteen_bit)
    except Exception as exc:  # every decoder failure becomes a sentence, never a traceback
        raise ImageRejected(_failure_message(label, fmt, exc, max_pixels)) from exc
    original = (height, width) if quarter_turn else (width, height)
    rgb = _reduce_to_working_size(rgb, original, notes)
    notes += [n for n in (frames, _extension_note(filename, fmt), _shape_note(*original)) if n]
    return DecodedImage(image=rgb, format=fmt, original_size=original, notes=tuple(notes))


@lru_cache(maxsize=1)
def _openable_formats() -> tuple[str, ...]:
    Image.init()  # registers every plugin, so the AVIF check below sees it
    return tuple(f for f in _FORMATS if f in Image.OPEN)


def _working_size(size: tuple[int, int]) -> tuple[int, int]:
    """Return the smallest size, same aspect, with short side >= 256 and long side >= 512 (pixels)."""
    short, long = sorted(size)
    scale = min(1.0, max(NETWORK_SHORT_SIDE / short, PREVIEW_LONG_SIDE / long))
    return (math.ceil(size[0] * scale), math.ceil(size[1] * scale))


def _reduce_to_working_size(img: Image.Image, original: tuple[int, int], notes: list[str]) -> Image.Image:
    """Return `img` shrunk by an integer factor (box average) while it stays above the working size."""
    target_w, target_h = _working_size(img.size)
    factor = int(min(img.width // target_w, img.height // target_h))
    if factor >= 2:
        img = img.reduce(factor)
    if img.size != original:
        notes.append(f"Large picture ({original[0]}×{original[1]}) decoded at {img.width}×{img.height}: "
                     f"plenty for the network's 224×224 input and the preview.")
    return img


def _apply_orientation(img: Image.Image, notes: list[str]) -> tuple[Image.Image, bool]:
    """Return `img` turned upright as its EXIF Orientation tag asks, and whether width and height swapped."""
    try:
        orientation = img.getexif().get(ExifTags.Base.Orientation, 1)
        if orientation not in _ORIENTATION_WORDS:
            return img, False
        upright = ImageOps.exif_transpose(img)
    except Exception:  # a damaged EXIF block should not cost the learner the picture
        notes.append("The picture's EXIF data is damaged, so any rotation it asks for was not applied.")
        return img, False
    notes.append(f"EXIF orientation applied ({_ORIENTATION_WORDS[orientation]}), as a photo viewer would.")
    return upright, orientation >= 5  # tags 5-8 include a quarter turn


_ORIENTATION_WORDS = {2: "mirrored", 3: "rotated 180°", 4: "flipped upside down", 5: "mirrored and rotated 90°",
                      6: "rotated 90°", 7: "mirrored and rotated 270°", 8: "rotated 270°"}


def _to_rgb(img: Image.Image, notes: list[str], sixteen_bit: bool) -> Image.Image:
    """Return an 8-bit RGB copy of `img`; append to `notes` what the conversion did."""
    mode = img.mode
    if mode in _SIXTEEN_BIT_MODES or mode in ("I", "F"):
        img = _scale_to_8_bit(img, notes)
        mode = "L"
    elif sixteen_bit:
        notes.append("16-bit image scaled to 8 bits per channel (the network works on 8-bit colour).")
    if mode == "1":
        notes.append("1-bit (black-and-white) image: every pixel is pure black or pure white.")
    elif mode in ("L", "LA", "La"):
        notes.append("Grayscale image: the same value goes into all three colour channels.")
    elif mode == "CMYK":
        notes.append("CMYK (print) colours converted to RGB; colours are approximate (no colour profile).")
    has_alpha = mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info
    if not has_alpha:
        return img.convert("RGB")
    rgba = img.convert("RGBA")
    alpha = rgba.getchannel("A")
    if alpha.getextrema()[0] == 255:  # an alpha channel that is opaque everywhere changes nothing
        return rgba.convert("RGB")
    white = Image.new("RGB", rgba.size, (255, 255, 255))
    white.paste(rgba, mask=alpha)
    notes.append("Transparent areas shown on white (the network has no notion of transparency).")
    return white


def _scale_to_8_bit(img: Image.Image, notes: list[str]) -> Image.Image:
    """Return a mode-"L" image: 16-bit values scaled by 255/65535 (rounded), others stretched min..max."""
    values = np.asarray(img)  # (H, W), uint16 for I;16*, int32 for I, float32 for F
    if img.mode in _SIXTEEN_BIT_MODES or (img.mode == "I" and values.min() >= 0 and values.max() > 255
                                           and values.max() <= 65535):
        notes.append("16-bit image scaled to 8 bits (0-65535 mapped onto 0-255, not clipped).")
        eight = (values.astype(np.uint32) + 128) // 257  # round(v * 255 / 65535), exact in integers
    elif img.mode == "I" and values.min() >= 0 and values.max() <= 255:
        eight = values
    else:
        finite = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(finite.min()), float(finite.max())
        notes.append(f"{'32-bit float' if img.mode == 'F' else '32-bit integer'} image stretched from its "
                     f"range [{low:g}, {high:g}] onto 0-255.")
        eight = np.round((finite - low) * (255.0 / (high - low))) if high > low else np.zeros_like(finite)
    return Image.fromarray(np.ascontiguousarray(eight, dtype=np.uint8), mode="L")


_FRAME_NOTES = {"GIF": "Animated GIF: the first frame is used.", "PNG": "Animated PNG: the first frame is used.",
                "WEBP": "Animated WebP: the first frame is used.", "TIFF": "Multi-page TIFF: the first page is used."}


def _frame_note(img: Image.Image, fmt: str) -> str:
    if fmt == "MPO" or not getattr(img, "is_animated", False):
        return ""  # MPO's extra pictures are camera thumbnails or depth maps, not frames
    return _FRAME_NOTES.get(fmt, f"Multi-frame {fmt}: the first frame is used.")


def _extension_note(filename: str, fmt: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    claimed = _EXTENSION_FORMAT.get(extension)
    if claimed is None or claimed == fmt or {claimed, fmt} == {"JPEG", "MPO"}:
        return ""
    return f"The file is named .{extension} but its content is {fmt}; it was decoded as {fmt}."


def _shape_note(width: int, height: int) -> str:
    short, long = sorted((width, height))
    if width == height == 1:
        return "1×1 image: the network sees a flat colour."
    if long >= 4 * short:
        share = 100.0 * short * short / (width * height)
        return (f"Very {'wide' if width > height else 'tall'} image ({width}×{height}): the network's square "
                f"centre crop sees only the middle, about {share:.2g}% of the picture.")
    if short < 32:
        return (f"Tiny image ({width}×{height}): it is enlarged to the network's input size, so the network "
                f"sees mostly blur.")
    return ""


def _too_many_pixels_message(label: str, pixels: int, max_pixels: int, size=None) -> str:
    dims = f"{size[0]}×{size[1]} = " if size else ""
    return (f"{label} is {dims}{pixels / 1e6:,.0f} megapixels; the limit is {max_pixels / 1e6:.0f} megapixels. "
            f"Files like this can be small on disk yet need gigabytes to decode (a 'decompression bomb'). "
            f"Resize it below {max_pixels / 1e6:.0f} megapixels and upload it again.")


def _failure_message(label: str, fmt: str, exc: BaseException, max_pixels: int) -> str:
    """Return the learner-facing sentence for a decoder exception."""
    text = str(exc)
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        found = re.search(r"\((\d+) pixels\)", text)
        return _too_many_pixels_message(label, int(found.group(1)) if found else 10**9, max_pixels)
    if isinstance(exc, MemoryError):
        return f"{label} needs more memory to decode than this server has. Upload a smaller picture."
    if "truncated" in text.lower() or isinstance(exc, EOFError) or "end of file" in text.lower():
        return (f"{label} is {_a(fmt)} that ends too early (truncated): it was probably cut off while "
                f"downloading or copying. Download or export it again.")
    if "checksum" in text or "crc" in text.lower():
        return (f"{label} is a damaged {fmt} file: a block's checksum (CRC) does not match its data, so the file "
                f"was altered or corrupted after it was saved. Export it again.")
    return (f"{label} looks like {_a(fmt)} but cannot be decoded (Pillow said: {text or type(exc).__name__}). "
            f"Open it in an image editor and save it again as JPEG or PNG.")


def _a(word: str) -> str:
    return f"{'an' if word[0].upper() in 'AEIOU' else 'a'} {word}"


def _not_an_image_message(label: str, data: bytes) -> str:
    kind = _looks_like(data)
    what = f"it looks like {kind}" if kind else "its first bytes match no picture format"
    hint = " Export the picture as JPEG (iPhone: Settings → Camera → Formats → Most Compatible)." \
        if kind and "HEIC" in kind else ""
    return f"{label} is not a picture this app can read: {what}. Upload {_ACCEPTED_TEXT}.{hint}"


def _looks_like(data: bytes) -> str:
    """Return a short description of what a non-image file looks like, or "" when unsure."""
    head = data[:2048]
    signatures = [
        (b"%PDF", "a PDF document (this file starts like a PDF)"),
        (b"PK\x03\x04", "a ZIP archive (or a Word, Excel or PowerPoint file)"),
        (b"%!PS", "a PostScript/EPS file"),
        (b"8BPS", "a Photoshop document (PSD)"),
        (b"\x89PNG", "a PNG whose header is damaged"),
        (b"\xff\xd8\xff", "a JPEG whose header is damaged"),
        (b"GIF8", "a GIF whose header is damaged"),
        (b"\x00\x00\x01\x00", "an icon file (ICO)"),
    ]
    for magic, kind in signatures:
        if head.startswith(magic):
            return kind
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "a HEIC/HEIF photo (the iPhone format)" if brand in (b"heic", b"heix", b"hevc", b"mif1", b"msf1") \
            else "a video or HEIF file (MP4/MOV family)"
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<svg", b"<?xml")) and b"<svg" in lowered:
        return "an SVG drawing (vector shapes, not pixels)"
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        return "a web page (HTML), perhaps saved instead of the picture it showed"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return "plain text" if text and printable >= 0.95 * len(text) else ""


def preprocess(img: Image.Image, resize: int = 256, crop: int = 224, mean: tuple[float, float, float] = IMAGENET_MEAN,
               std: tuple[float, float, float] = IMAGENET_STD) -> tuple[torch.Tensor, Image.Image]:
    """Return the normalised network input (1, 3, crop, crop) float32 and the crop as a PIL RGB image.

    Same result as torchvision's Resize(resize) (short side, bilinear, antialiased) then
    CenterCrop(crop), ToTensor, Normalize; but only the region that survives the crop is
    resampled (Pillow's `box`), so a 10000×10 strip never becomes a 256000×256 intermediate.
    """
    if crop < 1 or resize < crop:
        raise ValueError(f"resize ({resize}) must be at least crop ({crop}), and crop at least 1 pixel.")
    width, height = img.size
    if width <= height:  # torchvision: the short side becomes `resize`, the long side is truncated
        new_w, new_h = resize, int(resize * height / width)
    else:
        new_w, new_h = int(resize * width / height), resize
    top, left = int(round((new_h - crop) / 2.0)), int(round((new_w - crop) / 2.0))  # CenterCrop's offsets
    sx, sy = width / new_w, height / new_h  # original pixels per resized pixel
    box = (left * sx, top * sy, (left + crop) * sx, (top + crop) * sy)  # the crop, in original coordinates
    crop_img = img.convert("RGB").resize((crop, crop), Image.Resampling.BILINEAR, box=box)
    return normalise(np.asarray(crop_img), mean, std), crop_img


def normalise(crop: np.ndarray, mean: tuple[float, float, float] = IMAGENET_MEAN,
              std: tuple[float, float, float] = IMAGENET_STD) -> torch.Tensor:
    """Return the network input (1, 3, H, W) float32 of an (H, W, 3) uint8 image: ToTensor, then Normalize."""
    pixels = torch.from_numpy(np.asarray(crop, dtype=np.float32) / 255.0).permute(2, 0, 1)  # (3, H, W) in [0, 1]
    mean_t = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    return ((pixels - mean_t) / std_t).unsqueeze(0).contiguous()  # (1, 3, H, W)


SAMPLE_LESSONS: dict[str, str] = {
    "shapes": "Red, green, blue and yellow shapes on grey: do some groups respond to colour and others to edges?",
    "gratings": "Stripes at 0°, 45°, 90° and 135°: do some channels light up in one quadrant only, for one orientation?",
    "colour gradient": "Hue changes left to right, brightness top to bottom, no edges: colour alone.",
    "checkerboard": "Black and white squares: strong edges in both directions and corners everywhere.",
    "rings": "Concentric rings: every orientation at once, at one spatial frequency.",
}
_SAMPLE_SIZE = 320  # square; larger than the 256-pixel resize, so the crop still sees most of it


def sample_images() -> dict[str, Image.Image]:
    """Return the offline sample pictures (RGB, 320×320), name -> fresh copy; see SAMPLE_LESSONS."""
    return {name: img.copy() for name, img in _samples().items()}


@lru_cache(maxsize=1)
def _samples() -> dict[str, Image.Image]:
    size = _SAMPLE_SIZE
    y, x = np.mgrid[0:size, 0:size].astype(np.float64)  # (size, size) pixel coordinates
    return {
        "shapes": _shapes(size),
        "gratings": _gratings(x, y, size),
        "colour gradient": _colour_gradient(x, y, size),
        "checkerboard": _gray_to_rgb(((x // 32 + y // 32) % 2) * 255.0),
        "rings": _gray_to_rgb(127.5 + 127.5 * np.cos(2 * np.pi * np.hypot(x - size / 2, y - size / 2) / 20.0)),
    }


def _gray_to_rgb(values: np.ndarray) -> Image.Image:
    return Image.fromarray(np.round(values).astype(np.uint8), mode="L").convert("RGB")


def _shapes(size: int) -> Image.Image:
    img = Image.new("RGB", (size, size), (128, 128, 128))
    draw = ImageDraw.Draw(img)
    q = size // 4
    draw.ellipse((q // 4, q // 4, q * 7 // 4, q * 7 // 4), fill=(220, 30, 30))  # red disc, top left
    draw.rectangle((q * 9 // 4, q // 4, q * 15 // 4, q * 7 // 4), fill=(30, 170, 60))  # green square
    draw.polygon([(q, q * 9 // 4), (q // 4, q * 15 // 4), (q * 7 // 4, q * 15 // 4)], fill=(40, 70, 220))
    draw.ellipse((q * 9 // 4, q * 9 // 4, q * 15 // 4, q * 15 // 4), outline=(240, 210, 40), width=q // 6)
    return img


def _gratings(x: np.ndarray, y: np.ndarray, size: int) -> Image.Image:
    half = size // 2
    out = np.empty((size, size))
    for (row, col), degrees in zip([(0, 0), (0, 1), (1, 0), (1, 1)], [0, 45, 90, 135]):
        theta = np.deg2rad(degrees)
        region = (slice(row * half, (row + 1) * half), slice(col * half, (col + 1) * half))
        phase = x[region] * np.cos(theta) + y[region] * np.sin(theta)  # distance along the stripe normal
        out[region] = 127.5 + 127.5 * np.sin(2 * np.pi * phase / 16.0)  # period 16 pixels
    return _gray_to_rgb(out)


def _colour_gradient(x: np.ndarray, y: np.ndarray, size: int) -> Image.Image:
    hue = np.round(x / size * 255).astype(np.uint8)
    value = np.round(255 - y / size * 200).astype(np.uint8)  # bright at the top, dim (55) at the bottom
    saturation = np.full_like(hue, 255)
    hsv = np.stack([hue, saturation, value], axis=-1)  # (size, size, 3)
    return Image.fromarray(hsv, mode="HSV").convert("RGB")
