"""The ResNeXt block lessons: block controls, cached tables, forms, timing under the run lock."""

from __future__ import annotations

from typing import Any

import streamlit as st

from resnext_viz.blocks.config import BOUNDS, DOWNSAMPLE_CHOICES, BlockConfig

from .state import Field, url_state

# ---------------------------------------------------------------- ResNeXt block lessons (cardinality, forms, builder)

# The block builder's controls; other pages (e.g. group features) read the same block
# through current_block_config() without drawing the widgets.
BLOCK_FIELDS = [
    Field("blk_inplanes", "inplanes", BlockConfig.inplanes, *BOUNDS["inplanes"], label="input channels"),
    Field("blk_planes", "planes", BlockConfig.planes, *BOUNDS["planes"], label="planes"),
    Field("blk_cardinality", "cardinality", BlockConfig.cardinality, *BOUNDS["cardinality"], label="cardinality C"),
    Field("blk_base_width", "base_width", BlockConfig.base_width, *BOUNDS["base_width"], label="base width"),
    Field("blk_stride", "stride", BlockConfig.stride, *BOUNDS["stride"], label="stride"),
    Field("blk_downsample", "downsample", BlockConfig.downsample, label="downsample", options=DOWNSAMPLE_CHOICES),
    Field("blk_batch", "batch", 8, *BOUNDS["batch"], label="batch"),
    Field("blk_height", "height", BlockConfig.height, *BOUNDS["height"], label="input height"),
    Field("blk_width", "width", BlockConfig.width, *BOUNDS["width"], label="input width"),
]


def block_values() -> dict:
    """Return the block builder's last chosen values (defaults where none), without drawing widgets."""
    state = url_state()
    return {f.key: state.last(f) for f in BLOCK_FIELDS}


def block_config_from(values: dict):
    """Return the BlockConfig of blk_* values (raises ValueError with a learner-facing sentence)."""
    return BlockConfig(**{f.key.removeprefix("blk_"): values[f.key] for f in BLOCK_FIELDS})


def current_block_config():
    """Return the block builder's current BlockConfig, or raise ValueError if it is invalid."""
    return block_config_from(block_values())


@st.cache_data(show_spinner=False, max_entries=256)
def preserved_complexity(budget: int, cardinalities: tuple[int, ...], channels: int, hw: int):
    """Return cardinality.solve_preserved_complexity rows (cached; raises ValueError on bad input)."""
    from resnext_viz.blocks.cardinality import solve_preserved_complexity

    return solve_preserved_complexity(budget, cardinalities, channels, channels, hw)


@st.cache_data(show_spinner=False, max_entries=256)
def fixed_width(width: int, channels: int, hw: int):
    """Return cardinality.fixed_width_rows (cached)."""
    from resnext_viz.blocks.cardinality import fixed_width_rows

    return fixed_width_rows(width, channels, channels, hw)


def form_spec(values: dict):
    """Return forms.FormSpec from page values (raises ValueError with a learner-facing sentence)."""
    from resnext_viz.blocks.forms import FormSpec

    return FormSpec(c_in=values["c_in"], C=values["C"], d=values["d"], c_out=values["c_out"],
                    stride=values["stride"], height=values["h"], width=values["w"])


def compare_forms(spec, device: str, dtype: str, nonce: int = 0):
    """Return (forms.compare_forms result, None) or (None, a message); `nonce` forces a fresh measurement.

    Cached per configuration and per the server's resource bounds, so a refusal is not
    served after the owner raised them.
    """
    from resnext_viz import budget

    return _compare_forms_cached(spec, device, dtype, nonce, budget.limits())


@st.cache_data(show_spinner=False, max_entries=64)
def _compare_forms_cached(spec, device: str, dtype: str, nonce: int, limits):
    from resnext_viz.blocks.forms import compare_forms as compare
    from resnext_viz.timing import first_line, is_oom, steady_timing

    try:
        with steady_timing(device):
            return compare(spec, device, dtype, budget_s=0.6), None
    except ValueError as e:
        return None, str(e)
    except Exception as e:  # out of memory becomes a message; anything else is a real error
        if not is_oom(e):
            raise
        return None, f"The {device.upper()} ran out of memory for this size ({first_line(e)}). Lower the channels " \
                     "or the input size, or pick the CPU in the sidebar."


@st.cache_data(show_spinner=False, max_entries=256)
def block_tables(cfg):
    """Return (layer_table, PyTorch's own counts {'params', 'macs'}) of a block, both on the meta device."""
    import torch

    from resnext_viz.blocks.builder import build_block, flop_counter_macs, layer_table

    meta = build_block(cfg, device="meta")
    x = torch.empty(cfg.batch, cfg.inplanes, cfg.height, cfg.width, device="meta")  # (B, C_in, H, W)
    counts = {"params": sum(p.numel() for p in meta.parameters()), "macs": flop_counter_macs(meta, x)}
    return layer_table(cfg), counts


CPU_TIMING_NOTE = ("CPU timings run on one thread, one measurement at a time on this server: the steadiest "
                   "numbers on a shared machine. The Performance lab lets you choose the thread count.")


def time_block(cfg, device: str, dtype: str, budget_s: float, progress) -> tuple[Any, str | None]:
    """Return (BlockTiming, None) or (None, a message for the page), one measurement per process at a time."""
    from resnext_viz.blocks.timing import time_block as timed
    from resnext_viz.timing import DeviceOutOfMemory, steady_timing

    with steady_timing(device):
        try:
            return timed(cfg, device, dtype, budget_s, progress), None
        except DeviceOutOfMemory as e:
            return None, str(e)
        except ValueError as e:
            return None, str(e)


@st.cache_resource(show_spinner=False)
def depth2_check() -> float:
    """Return the float64 max difference between depth-2 paths and the wide dense module (computed once)."""
    from resnext_viz.blocks.depth import depth2_max_abs_diff

    return depth2_max_abs_diff()


@st.cache_resource(show_spinner="Counting the network on the meta device…")
def stage_table(model_name: str, image_size: int = 224):
    """Return stages.stage_table, built once per process and shared (read-only)."""
    from resnext_viz.blocks.stages import stage_table as table

    return table(model_name, image_size)
