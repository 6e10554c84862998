"""The image lessons: the chosen picture, the shared model, per-image results cached by image hash."""

from __future__ import annotations

import contextvars
import hashlib
import logging
import os
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import streamlit as st

from .state import Field, current_page_id, url_state, seed, show_notices, sync_url

# ---------------------------------------------------------------- image lessons (group features, gradients)

# The picture a learner chose is kept per session as a ChosenImage: a preview (at most 512
# pixels a side) and the 224x224 crop the network sees, never the raw upload, so a 12 MP
# photo costs under a megabyte of session memory. The uploader is redrawn under a fresh
# key after every upload, which lets Streamlit drop the uploaded bytes at once.
# Per-image results: st.cache_data keyed by image hash and layer, shared by every session (a class on
# one sample computes once), bounded by max_entries and ttl=3600 s, however many pictures a class uploads.


_IMAGE_LOG = logging.getLogger("resnext_viz.image_lessons")
IMAGE_VARIANT = "IMAGENET1K_V2"  # the weights asked for; its resize/crop also prepare uploads
PREVIEW_SIDE = 512  # the on-page preview of the original, pixels along the long side
UPLOAD_MB = 20  # as server.maxUploadSize in .streamlit/config.toml
UPLOAD_ANY = "upload"  # the image choice that means 'the picture this session uploaded'
IMAGE_FIELD = Field("img_pick", "image", "shapes", label="image")
LAYER_FIELD = Field("img_layer", "layer", "layer1.0.conv2", label="layer")


@dataclass(frozen=True)
class ChosenImage:
    """The picture the lessons use: what the learner sees and what the network sees."""

    key: str  # content hash of the crop: the cache key of every per-image result
    name: str  # "shapes" for a sample, the file name for an upload
    kind: str  # "sample" or "upload"
    preview: Any  # PIL RGB image, at most PREVIEW_SIDE pixels a side
    crop: np.ndarray  # (crop, crop, 3) uint8, the network's input before normalisation
    original_size: tuple[int, int]  # (width, height) of the file, after EXIF rotation
    format: str  # e.g. "JPEG", or "sample"
    notes: tuple[str, ...]  # what the decoder converted, for the page


def _preprocessing():
    from resnext_viz.inside.weights import WEIGHTS

    return WEIGHTS[IMAGE_VARIANT]


def _choice(img, name: str, kind: str, original_size, fmt: str, notes=()) -> ChosenImage:
    from resnext_viz.inside.images import preprocess

    spec = _preprocessing()
    _, crop_img = preprocess(img, spec.resize, spec.crop)
    crop = np.asarray(crop_img, dtype=np.uint8).copy()  # (crop, crop, 3)
    preview = img.copy()
    preview.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    key = hashlib.sha1(crop.tobytes() + repr(crop.shape).encode()).hexdigest()[:20]
    return ChosenImage(key=key, name=name, kind=kind, preview=preview, crop=crop, original_size=original_size,
                       format=fmt, notes=tuple(notes))


@st.cache_resource(show_spinner=False)
def _sample_choice(name: str) -> ChosenImage:
    """Return a sample as a ChosenImage, made once per process and shared (never modified)."""
    from resnext_viz.inside.images import sample_images

    img = sample_images()[name]
    return _choice(img, name, "sample", img.size, "sample")


def choice_from_upload(data: bytes, filename: str) -> ChosenImage:
    """Return an upload as a ChosenImage; raise images.ImageRejected with the learner-facing sentence."""
    from resnext_viz.inside.images import decode_image

    decoded = decode_image(data, filename, max_bytes=UPLOAD_MB * 2**20)
    return _choice(decoded.image, filename or "your picture", "upload", decoded.original_size, decoded.format,
                   decoded.notes)


def _uploader_key() -> str:
    return f"img_file_{st.session_state.get('_img_generation', 0)}"


def _on_upload(key: str) -> None:
    """Decode a new upload into the session (or remember why not); then retire the uploader's key."""
    from resnext_viz.inside.images import ImageRejected

    ss = st.session_state
    file = ss.get(key)
    ss["_img_generation"] = ss.get("_img_generation", 0) + 1  # a fresh, empty uploader next run
    if file is None:
        return
    try:
        chosen = choice_from_upload(file.getvalue(), file.name)
    except ImageRejected as why:
        ss["img_error"] = (current_page_id(), str(why))
        return
    except Exception:  # never a traceback on the page; the server log keeps it
        _IMAGE_LOG.exception("decoding upload %r failed unexpectedly", file.name)
        ss["img_error"] = (current_page_id(), f"“{file.name}” could not be read because of an unexpected problem "
                                              f"on the server (it has been logged). Try another picture or a sample.")
        return
    ss["img_upload"] = chosen
    url_state().remember("img_pick", UPLOAD_ANY)
    ss.pop("img_error", None)


def _image_options() -> list[str]:
    from resnext_viz.inside.images import SAMPLE_LESSONS

    return [*SAMPLE_LESSONS, *([UPLOAD_ANY] if st.session_state.get("img_upload") else [])]


def fit_choice(field: Field, options: list, notices: list[str]) -> None:
    """Put field's session value back among `options`; add a notice when the bad value came from the link."""
    ss = st.session_state
    if ss.get(field.key) in options:
        return
    raw = url_state().foreign(field)
    if raw is not None and raw == field.dump(ss.get(field.key)):
        shown = ", ".join(field.dump(o) for o in options[:6]) + (", …" if len(options) > 6 else "")
        notices.append(f"The link's **{field.label}** value '{raw}' was ignored (it is not one of {shown}); "
                       f"using {field.dump(field.default if field.default in options else options[0])}.")
    ss[field.key] = field.default if field.default in options else options[0]


def _image_label(upload_name: str, option: str) -> str:
    return f"Your upload: {upload_name}" if option == UPLOAD_ANY else f"Sample: {option}"


def _image_widgets(chosen_now: ChosenImage | None) -> None:
    from resnext_viz.inside.images import SAMPLE_LESSONS

    key = _uploader_key()
    st.file_uploader("Upload a picture", key=key, on_change=_on_upload, args=(key,), max_upload_size=UPLOAD_MB,
                     help="JPEG, PNG, WebP, BMP, GIF (first frame) or TIFF, up to 20 MB. Only the decoded, reduced "
                          "picture is kept, for this browser session only.")
    upload = st.session_state.get("img_upload")
    st.selectbox("Picture", _image_options(), persist_state="session", key="img_pick",
                 format_func=partial(_image_label, upload.name if upload else ""),
                 on_change=lambda: st.session_state.pop("img_error", None))
    page, error = st.session_state.get("img_error") or ("", "")
    if error and page == current_page_id():  # shown where the upload was tried, until the next choice
        st.error(error, icon=":material/broken_image:")
        st.caption("Nothing was lost: the lessons keep using the picture chosen before.")
    lesson = SAMPLE_LESSONS.get(st.session_state["img_pick"])
    if lesson:
        st.caption(f"What this sample teaches: {lesson}")


def image_chooser(loaded, compact: bool = False) -> ChosenImage:
    """Draw the picture choice (samples, upload) and return the ChosenImage used by the image lessons.

    loaded: the LoadedModel, whose preprocessing the preview describes. compact: a thumbnail
    and an expander to change it (the gradients page reuses the picture chosen on the
    features page).
    """
    notices = seed([IMAGE_FIELD])
    options = _image_options()
    if st.session_state.get("img_pick") == UPLOAD_ANY and UPLOAD_ANY not in options:
        notices.append("The link points to an uploaded picture, which stays in the browser session that uploaded "
                       "it; showing a sample instead. Upload the picture here to see it.")
        st.session_state["img_pick"] = IMAGE_FIELD.default
    fit_choice(IMAGE_FIELD, options, notices)
    show_notices(notices)
    chosen = _current_image()
    spec = _preprocessing()
    if (loaded.resize, loaded.crop) != (spec.resize, spec.crop):  # the crop is made before the model is at hand
        raise ValueError(f"The model wants resize {loaded.resize}, crop {loaded.crop}; uploads are prepared with "
                         f"{spec.resize}, {spec.crop}.")
    if compact:
        c1, c2 = st.columns([1, 7], vertical_alignment="top")
        c1.image(chosen.crop, width=96)
        with c2:
            what = "your upload" if chosen.kind == "upload" else "the sample"
            st.markdown(f"**Picture:** {what} “{chosen.name}”, as the network sees it ({spec.crop}×{spec.crop}).")
            with st.expander("Change the picture", icon=":material/image:"):
                _image_widgets(chosen)
        chosen = _current_image()
    else:
        left, mid, right = st.columns([5, 4, 4], gap="medium")
        with left:
            _image_widgets(chosen)
        chosen = _current_image()
        w, h = chosen.original_size
        mid.image(chosen.preview, caption=f"Original, {w}×{h}" + (f" ({chosen.format})" if chosen.kind == "upload"
                                                                    else ""), width="stretch")
        mean, std = (", ".join(f"{v:.3f}" for v in t) for t in (loaded.mean, loaded.std))
        right.image(chosen.crop, caption=f"What the network sees: short side resized to {loaded.resize}, centre "
                                         f"{loaded.crop}×{loaded.crop} crop; then each colour is normalised with "
                                         f"ImageNet's mean ({mean}) and std ({std})", width="stretch")
        for note in chosen.notes:
            st.info(note, icon=":material/info:")
    sync_url([IMAGE_FIELD])
    return chosen


def _current_image() -> ChosenImage:
    ss = st.session_state
    if ss.get("img_pick") == UPLOAD_ANY and ss.get("img_upload") is not None:
        return ss["img_upload"]
    name = ss.get("img_pick")
    return _sample_choice(name if name in _image_options() and name != UPLOAD_ANY else IMAGE_FIELD.default)


# ---- the shared model

@st.cache_resource(show_spinner=False, max_entries=2)
def _image_model(weights_file: str, offline: str, code: int = 0, _progress=None):
    """Return weights.load_model(IMAGE_VARIANT) once per process and environment (shared, never modified).

    code: id of the blocks module the model is built from. Streamlit re-imports edited modules
    of a running app; a model made of the old classes would no longer match probes.py's, so
    an edit gives a fresh model instead of a KeyError (only ever seen while developing).
    """
    from resnext_viz.inside.weights import load_model

    return load_model(IMAGE_VARIANT, progress=_progress)


def _blocks_code() -> int:
    from resnext_viz.blocks import resnet as blocks

    return id(blocks.Bottleneck)


def image_model():
    """Return the shared LoadedModel, showing download progress in the page the first time it is fetched."""
    from resnext_viz.inside.weights import OFFLINE_ENV, WEIGHTS_ENV

    slot = st.empty()
    outside = contextvars.copy_context()  # outside the cached call: a progress bar here is not cache-replayed

    def progress(done: int, total: int | None) -> None:
        try:
            mb = done / 2**20
            text = (f"Downloading the pretrained ResNeXt-50 weights: {mb:.0f} of {total / 2**20:.0f} MB"
                    if total else f"Downloading the pretrained ResNeXt-50 weights: {mb:.0f} MB")
            outside.run(slot.progress, min(1.0, done / total) if total else 0.0, text=text)
        except Exception:  # a progress bar must never cost the learner the model
            _IMAGE_LOG.warning("progress bar failed", exc_info=True)

    with st.spinner("Loading ResNeXt-50 (once per server)…"):
        loaded = _image_model(os.environ.get(WEIGHTS_ENV, ""), os.environ.get(OFFLINE_ENV, ""), _blocks_code(),
                              _progress=progress)
    slot.empty()
    return loaded


def weights_notice(loaded) -> None:
    """Say which weights the features come from; with random weights, plainly, with the way to real ones."""
    if loaded.pretrained:
        st.success(f"{loaded.message} Source: {loaded.source}.", icon=":material/verified:")
    else:
        st.warning(f"**Random weights: these are not a trained network's features.** {loaded.message} "
                   f"Then restart the app.", icon=":material/casino:")


@st.cache_resource(show_spinner=False, max_entries=2)
def _layer_infos(source: str, _model) -> list:
    from resnext_viz.inside.probes import grouped_layers

    return grouped_layers(_model)


def layer_infos(loaded) -> dict:
    """Return {name: LayerInfo} of every block's 3x3 convolution (layerX.Y.conv2), in network order."""
    return {i.name: i for i in _layer_infos(loaded.source, loaded.model)}


def layer_select(loaded, notices: list[str], crop: int = 224, key: str = "img_layer") -> str:
    """Draw the grouped-layer selectbox (name, channels, groups, size); return the chosen layer name."""
    from resnext_viz.inside.summaries import layer_label

    infos = layer_infos(loaded)
    fit_choice(LAYER_FIELD, list(infos), notices)
    return st.selectbox("Grouped convolution", list(infos), persist_state="session", key=key,
                        format_func=lambda n: layer_label(infos[n], crop // 4 >> (infos[n].stage - 1)),
                        help="The 3×3 grouped convolution (conv2) of each ResNeXt-50 block. Stride-2 layers halve "
                             "the map.")


# ---- per-image computations, cached by image hash

def _x(loaded, chosen: ChosenImage):
    from resnext_viz.inside.images import normalise

    return normalise(chosen.crop, loaded.mean, loaded.std)


@st.cache_data(show_spinner="Running the picture through ResNeXt-50 to this layer (first time)…", max_entries=24, ttl=3600)
def _features_cached(image_key: str, source: str, layer: str, _loaded, _chosen):
    from resnext_viz.inside.summaries import layer_features

    return layer_features(_loaded.model, layer, _x(_loaded, _chosen))


def features(loaded, chosen: ChosenImage, layer: str):
    """Return summaries.layer_features for this picture and layer (cached per image and layer)."""
    return _features_cached(chosen.key, loaded.source, layer, loaded, chosen)


@st.cache_resource(show_spinner=False, max_entries=1)
def _baseline_model(code: int = 0):
    """Return the seeded random-init ResNeXt-50 the correlation baselines use (built once, shared, never modified)."""
    from resnext_viz.inside.weights import random_model

    return random_model()


@st.cache_data(show_spinner="Computing this layer's three correlation baselines (first time)…", max_entries=24, ttl=3600)
def _baselines_cached(image_key: str, source: str, layer: str, _loaded, _chosen):
    from resnext_viz.inside.summaries import correlation_baselines

    return correlation_baselines(_loaded.model, _baseline_model(_blocks_code()), layer, _x(_loaded, _chosen))


def corr_baselines(loaded, chosen: ChosenImage, layer: str):
    """Return summaries.correlation_baselines for this picture and layer (cached per image and layer)."""
    return _baselines_cached(chosen.key, loaded.source, layer, loaded, chosen)


@st.cache_data(show_spinner="Running the picture through the Block builder's block…", max_entries=8, ttl=3600)
def _builder_cached(image_key: str, source: str, cfg_values: tuple, _loaded, _chosen, _cfg):
    from resnext_viz.inside.summaries import builder_features

    return builder_features(_loaded.model, _cfg, _x(_loaded, _chosen))


def builder_features(loaded, chosen: ChosenImage, cfg):
    """Return (Features, BuilderFeed) of the Block builder's block fed with this picture; ValueError if it cannot be."""
    from dataclasses import astuple

    from resnext_viz.inside.summaries import builder_problem

    problem = builder_problem(loaded.model, cfg)  # checked before the cache: errors are not cached
    if problem:
        raise ValueError(problem)
    return _builder_cached(chosen.key, loaded.source, astuple(cfg), loaded, chosen, cfg)


@st.cache_data(show_spinner="Classifying the picture (one forward pass)…", max_entries=32, ttl=3600)
def _predictions_cached(image_key: str, source: str, _loaded, _chosen):
    from resnext_viz.inside.summaries import predictions

    return predictions(_loaded.model, _x(_loaded, _chosen), _loaded.class_names)


def predictions(loaded, chosen: ChosenImage):
    """Return (top-5 [(class, probability)], top-1 class index) for this picture (cached)."""
    return _predictions_cached(chosen.key, loaded.source, loaded, chosen)


def top5(loaded, chosen: ChosenImage) -> None:
    """Show the top-5 ImageNet classes (pretrained weights only)."""
    if not loaded.pretrained:
        return
    top, _ = predictions(loaded, chosen)
    st.markdown("**The network's top-5 guesses:** " + " · ".join(f"{name} {p:.0%}" for name, p in top))


@st.cache_data(show_spinner="Backpropagating the target to this layer (first time)…", max_entries=48, ttl=3600)
def _gradients_cached(image_key: str, source: str, layer: str, kind: str, index: int, _loaded, _chosen):
    from resnext_viz.inside.summaries import gradient_summary
    from resnext_viz.inside.gradients import GradTarget

    return gradient_summary(_loaded.model, layer, _x(_loaded, _chosen), GradTarget(kind, index))


def gradients(loaded, chosen: ChosenImage, layer: str, kind: str, index: int):
    """Return summaries.gradient_summary for this picture, layer and target (cached)."""
    return _gradients_cached(chosen.key, loaded.source, layer, kind, index, loaded, chosen)


@st.cache_data(show_spinner="Backpropagating a group's energy: grouped layer and dense twin…", max_entries=48, ttl=3600)
def _locality_cached(image_key: str, source: str, layer: str, group: int, _loaded, _chosen):
    from resnext_viz.inside.gradients import gradient_locality

    return gradient_locality(_loaded.model, layer, _x(_loaded, _chosen), group)


def locality(loaded, chosen: ChosenImage, layer: str, group: int):
    """Return grads.gradient_locality for this picture, layer and output group (cached)."""
    return _locality_cached(chosen.key, loaded.source, layer, group, loaded, chosen)


def clear_image_caches() -> None:
    """Forget every per-image result (benchmarks use it to time the work a new picture costs)."""
    for cached in (_features_cached, _baselines_cached, _builder_cached, _predictions_cached, _gradients_cached,
                   _locality_cached):
        cached.clear()
