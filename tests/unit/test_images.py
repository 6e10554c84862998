"""Upload decoding, preprocessing against a hand-written oracle, and the offline samples."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from resnext_viz.inside.images import (IMAGENET_MEAN, IMAGENET_STD, SAMPLE_LESSONS, DecodedImage, ImageRejected,
                                decode_image, preprocess, sample_images)
from tests.imagecases import ACCEPTED, big_jpeg, image_cases

CASES = image_cases()


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_is_accepted_or_rejected_with_its_sentence(name):
    case = CASES[name]
    if case.expect == ACCEPTED:
        decoded = decode_image(case.data, case.filename)
        assert isinstance(decoded, DecodedImage)
        assert decoded.image.mode == "RGB"
        assert min(decoded.image.size) >= 1
        assert case.note in " ".join(decoded.notes), decoded.notes
    else:
        with pytest.raises(ImageRejected) as info:
            decode_image(case.data, case.filename)
        assert case.expect in str(info.value)
        assert case.filename in str(info.value)  # the learner sees which file was wrong


def test_plain_files_get_no_notes():
    for name in ("jpeg", "png", "webp", "bmp", "tiff", "png_rgba_opaque"):
        assert decode_image(CASES[name].data, CASES[name].filename).notes == ()


def _pixels(name: str) -> np.ndarray:
    return np.asarray(decode_image(CASES[name].data, CASES[name].filename).image)  # (H, W, 3) uint8


def test_16_bit_gray_is_scaled_not_clipped():
    values = np.linspace(0, 65535, 64).round()  # what the file stores along x
    expected = np.round(values * 255 / 65535).astype(np.uint8)
    got = _pixels("png_16bit_gray")
    assert np.array_equal(got[0, :, 0], expected)
    assert np.array_equal(got[..., 0], got[..., 2])  # gray: three equal channels
    assert np.array_equal(_pixels("tiff_16bit_gray")[..., 0].ravel()[[0, -1]], [0, 255])


def test_16_bit_rgb_keeps_its_full_range():
    red = _pixels("png_16bit_rgb")[0, :, 0]
    assert red[0] == 0 and red[-1] == 255 and np.all(np.diff(red.astype(int)) >= 0)
    assert len(np.unique(red)) == 32  # a ramp, not a clipped step
    assert np.all(_pixels("png_16bit_rgb")[..., 1] == 255)


def test_transparency_is_shown_on_white():
    icon = _pixels("png_palette_transparency")
    assert tuple(icon[0, 0]) == (255, 255, 255)  # transparent 'red' background
    assert tuple(icon[10, 10]) == (0, 0, 255)  # the opaque blue square
    logo = _pixels("png_rgba")  # alpha ramps from 0 at the top to 255 at the bottom
    assert logo[0].min() >= 250 and logo[-1].astype(int).std() > 20  # white on top, the photo below


def test_cmyk_and_first_gif_frame_keep_their_colours():
    photo = np.asarray(Image.open(io.BytesIO(CASES["png"].data)).convert("RGB")).astype(int)
    assert np.abs(_pixels("jpeg_cmyk").astype(int) - photo).mean() < 12  # JPEG loss only, not inverted
    assert tuple(_pixels("gif_animated")[5, 5]) == (255, 0, 0)  # the first (red) frame


def test_exif_orientation_turns_the_picture_upright():
    decoded = decode_image(CASES["jpeg_exif_rotated"].data)
    assert decoded.image.size == (40, 60) and decoded.original_size == (40, 60)  # stored as 60×40


def test_big_jpeg_is_decoded_at_reduced_size_quickly():
    data = big_jpeg()
    times = []
    for _ in range(3):
        start = time.perf_counter()
        decoded = decode_image(data, "photo.jpg")
        times.append(time.perf_counter() - start)
    assert decoded.original_size == (4000, 3000)
    assert decoded.image.size == (1000, 750)  # libjpeg's 1/4 scale: short side >= 256, long side >= 512
    assert min(times) < 0.1, times


def test_big_png_is_reduced_by_an_integer_factor():  # 5 = min(3000 // 512, 2000 // 342)
    big = Image.new("RGB", (3000, 2000), (10, 200, 30))
    buffer = io.BytesIO()
    big.save(buffer, "PNG", compress_level=1)
    decoded = decode_image(buffer.getvalue())
    assert decoded.image.size == (600, 400) and decoded.original_size == (3000, 2000)
    assert "decoded at 600×400" in " ".join(decoded.notes)


def test_bomb_is_refused_from_its_header_without_decoding():
    start = time.perf_counter()
    with pytest.raises(ImageRejected, match="900 megapixels"):
        decode_image(CASES["png_bomb_30000"].data)
    assert time.perf_counter() - start < 0.5
    assert len(CASES["png_bomb_30000"].data) < 200_000


def test_limits_are_parameters_and_pillow_global_is_left_alone():
    before = Image.MAX_IMAGE_PIXELS
    with pytest.raises(ImageRejected, match="limit is 0 megapixels"):
        decode_image(CASES["png"].data, max_pixels=100)
    with pytest.raises(ImageRejected, match="limit is 0 MB"):
        decode_image(CASES["png"].data, max_bytes=100)
    assert Image.MAX_IMAGE_PIXELS == before


def test_rejection_is_a_value_error_without_a_file_name():
    with pytest.raises(ValueError, match="^This file is empty"):
        decode_image(b"")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(["jpeg", "png", "gif_animated", "webp", "bmp", "tiff", "png_16bit_gray"]),
       cut=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(1, 255)), max_size=4))
def test_damaged_files_never_raise_anything_but_image_rejected(base, cut, flips):
    data = bytearray(CASES[base].data[: max(1, int(len(CASES[base].data) * cut))])
    for where, mask in flips:
        data[min(int(where * len(data)), len(data) - 1)] ^= mask
    try:
        decoded = decode_image(bytes(data), "x.png")
    except ImageRejected:
        return
    assert decoded.image.mode == "RGB"


# ---- preprocessing -------------------------------------------------------------------------

def _triangle_resize(pixels: np.ndarray, out_w: int, out_h: int) -> np.ndarray:
    """Oracle: antialiased bilinear resize written from its definition, in float64, no rounding."""
    def weights(in_size: int, out_size: int) -> np.ndarray:  # (out_size, in_size) rows sum to 1
        scale = in_size / out_size
        stretch = max(scale, 1.0)  # when shrinking, the triangle widens to cover `scale` input pixels
        centres = (np.arange(out_size) + 0.5) * scale  # output pixel centres in input coordinates
        taps = np.arange(in_size) + 0.5  # input pixel centres
        w = np.clip(1.0 - np.abs(taps[None, :] - centres[:, None]) / stretch, 0.0, None)
        return w / w.sum(axis=1, keepdims=True)
    rows = weights(pixels.shape[0], out_h)
    cols = weights(pixels.shape[1], out_w)
    return np.einsum("yi,xj,ijc->yxc", rows, cols, pixels.astype(np.float64))  # (out_h, out_w, 3)


def _normalise(pixels: np.ndarray) -> np.ndarray:
    return ((pixels / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)).transpose(2, 0, 1)


def test_preprocess_without_resampling_is_exact_arithmetic():
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3  # (H=4, W=6, 3)
    tensor, crop = preprocess(Image.fromarray(pixels), resize=4, crop=2)  # short side already 4
    expected = _normalise(pixels[1:3, 2:4].astype(np.float64))  # centre crop: top 1, left 2
    assert tensor.shape == (1, 3, 2, 2) and tensor.dtype == torch.float32
    assert np.allclose(tensor[0].numpy(), expected, atol=1e-6)
    assert np.array_equal(np.asarray(crop), pixels[1:3, 2:4])


@pytest.mark.parametrize("size, resize, crop", [((7, 5), 4, 3), ((13, 9), 6, 4), ((9, 20), 7, 5), ((40, 31), 12, 12)])
def test_preprocess_matches_hand_written_resize_then_crop(size, resize, crop):
    rng = np.random.default_rng(sum(size))
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)  # (H, W, 3)
    width, height = size
    new_w, new_h = (resize, int(resize * height / width)) if width <= height else (int(resize * width / height), resize)
    top, left = int(round((new_h - crop) / 2)), int(round((new_w - crop) / 2))
    reference = _triangle_resize(pixels, new_w, new_h)[top:top + crop, left:left + crop]
    tensor, crop_img = preprocess(Image.fromarray(pixels), resize=resize, crop=crop)
    one_level = 1.0 / 255.0 / min(IMAGENET_STD)  # Pillow rounds to 8 bits twice (after each pass)
    assert np.abs(tensor[0].numpy() - _normalise(reference)).max() <= one_level + 1e-5
    assert np.abs(np.asarray(crop_img).astype(float) - reference).max() <= 1.0 + 1e-3


@pytest.mark.parametrize("size", [(640, 480), (333, 1000), (257, 256), (1000, 37)])
def test_preprocess_equals_resizing_everything_then_cropping(size):
    pixels = np.random.default_rng(1).integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    img = Image.fromarray(pixels)
    width, height = size
    new_w, new_h = (256, int(256 * height / width)) if width <= height else (int(256 * width / height), 256)
    top, left = int(round((new_h - 224) / 2)), int(round((new_w - 224) / 2))
    full = img.resize((new_w, new_h), Image.Resampling.BILINEAR).crop((left, top, left + 224, top + 224))
    _, crop = preprocess(img)
    assert np.abs(np.asarray(crop).astype(int) - np.asarray(full).astype(int)).max() <= 1


def test_extreme_aspect_ratio_is_fast_and_square():
    strip = decode_image(CASES["png_10000x10"].data).image
    times = []
    for _ in range(3):  # the best of three, so a busy machine does not fail it
        start = time.perf_counter()
        tensor, crop = preprocess(strip)
        times.append(time.perf_counter() - start)
    assert min(times) < 0.05, times
    assert tensor.shape == (1, 3, 224, 224) and crop.size == (224, 224)
    assert torch.isfinite(tensor).all()


def test_one_pixel_image_becomes_a_flat_input():
    tensor, _ = preprocess(decode_image(CASES["png_1x1"].data).image, resize=232)
    flat = tensor[0].flatten(1)  # (3, 224*224)
    assert torch.equal(flat.min(dim=1).values, flat.max(dim=1).values)


def test_preprocess_rejects_a_crop_larger_than_the_resize():
    with pytest.raises(ValueError, match="at least crop"):
        preprocess(Image.new("RGB", (300, 300)), resize=200, crop=224)


# ---- samples -------------------------------------------------------------------------------

def test_samples_are_deterministic_rgb_copies():
    first, second = sample_images(), sample_images()
    assert list(first) == list(SAMPLE_LESSONS)
    for name, img in first.items():
        assert img.mode == "RGB" and img.size == (320, 320)
        assert img.tobytes() == second[name].tobytes()
        assert np.asarray(img).std() > 20, name  # each one has something to see
    first["shapes"].paste((0, 0, 0), (0, 0, 320, 320))  # a caller scribbling on its copy...
    assert sample_images()["shapes"].getpixel((0, 0)) == (128, 128, 128)  # ...leaves the cache alone


def test_samples_preprocess_to_network_inputs():
    for img in sample_images().values():
        tensor, _ = preprocess(img, resize=232)
        assert tensor.shape == (1, 3, 224, 224)
