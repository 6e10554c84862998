"""The ResNeXt block lessons: block controls, cached tables, forms, timing under the run lock."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import streamlit as st

from .state import Field, _canon

# ---------------------------------------------------------------- ResNeXt block lessons (cardinality, forms, builder)

# The block builder's controls; other pages (e.g. group features) read the same block
# through current_block_config() without drawing the widgets.
BLOCK_FIELDS = [
    Field("blk_inplanes", "inplanes", 256, 1, 4096, label="input channels"),
    Field("blk_planes", "planes", 64, 1, 1024, label="planes"),
    Field("blk_cardinality", "cardinality", 32, 1, 512, label="cardinality C"),
    Field("blk_base_width", "base_width", 4, 1, 512, label="base width"),
    Field("blk_stride", "stride", 1, 1, 2, label="stride"),
    Field("blk_downsample", "downsample", "auto", label="downsample", options=("auto", "on", "off")),
    Field("blk_batch", "batch", 8, 1, 256, label="batch"),
    Field("blk_height", "height", 56, 1, 512, label="input height"),
    Field("blk_width", "width", 56, 1, 512, label="input width"),
]


def block_values() -> dict:
    """Return the block builder's last chosen values (defaults where none), without drawing widgets."""
    canon = _canon()
    return {f.key: st.session_state.get(f.key, canon.get(f.key, f.default)) for f in BLOCK_FIELDS}


def block_config_from(values: dict):
    """Return the BlockConfig of blk_* values (raises ValueError with a learner-facing sentence)."""
    from resnext_viz.blocks.builder import BlockConfig

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


@st.cache_data(show_spinner=False, max_entries=64)
def compare_forms(spec, device: str, dtype: str, nonce: int = 0):
    """Return (forms.compare_forms result, None) or (None, a message); `nonce` forces a fresh measurement."""
    from resnext_viz.blocks.forms import compare_forms as compare

    try:
        with steady_timing(device):
            return compare(spec, device, dtype, budget_s=0.6), None
    except torch_oom_errors() as e:
        return None, f"The {device.upper()} ran out of memory for this size ({first_line(e)}). Lower the channels " \
                     "or the input size, or pick the CPU in the sidebar."
    except ValueError as e:
        return None, str(e)


def branch_slices(spec):
    """Return forms.branch_slices(spec)."""
    from resnext_viz.blocks.forms import branch_slices as slices

    return slices(spec)


@st.cache_data(show_spinner=False, max_entries=256)
def block_tables(cfg):
    """Return (layer_table, PyTorch's own counts {'params', 'macs'}) of a block, both on the meta device."""
    import torch

    from resnext_viz.blocks.builder import build_block, flop_counter_macs, layer_table

    meta = build_block(cfg, device="meta")
    x = torch.empty(cfg.batch, cfg.inplanes, cfg.height, cfg.width, device="meta")  # (B, C_in, H, W)
    counts = {"params": sum(p.numel() for p in meta.parameters()), "macs": flop_counter_macs(meta, x)}
    return layer_table(cfg), counts


def block_code(cfg) -> str:
    """Return block_builder.block_code(cfg)."""
    from resnext_viz.blocks.builder import block_code as code

    return code(cfg)


CPU_TIMING_NOTE = ("CPU timings run on one thread, one measurement at a time on this server: the steadiest "
                   "numbers on a shared machine. The Performance lab lets you choose the thread count.")


@contextmanager
def steady_timing(device: str):
    """Serialise measurements with the lab's lock and, on the CPU, time on one thread (restored after)."""
    from resnext_viz.lab.sweep import RUN_LOCK, cpu_threads

    with RUN_LOCK, cpu_threads(1 if device == "cpu" else None):
        yield


def time_block(cfg, device: str, dtype: str, budget_s: float, progress) -> tuple[Any, str | None]:
    """Return (BlockTiming, None) or (None, a message for the page), one measurement per process at a time."""
    from resnext_viz.blocks.timing import DeviceOutOfMemory, time_block as timed

    with steady_timing(device):
        try:
            return timed(cfg, device, dtype, budget_s, progress), None
        except DeviceOutOfMemory as e:
            return None, str(e)
        except ValueError as e:
            return None, str(e)


def depth_comparison():
    """Return depth.depth_comparison() for the ResNeXt-50 stage-1 sizes."""
    from resnext_viz.blocks.depth import depth_comparison as compare

    return compare()


@st.cache_resource(show_spinner=False)
def depth2_check() -> float:
    """Return the float64 max difference between depth-2 paths and the wide dense module (computed once)."""
    from resnext_viz.blocks.depth import depth2_max_abs_diff

    return depth2_max_abs_diff()


def side_by_side(a, b, label_a: str, label_b: str) -> list[dict]:
    """Return model_stats.side_by_side rows."""
    from resnext_viz.blocks.stages import side_by_side as rows

    return rows(a, b, label_a, label_b)


def torch_oom_errors() -> tuple[type[BaseException], ...]:
    """Return the exception types that mean 'out of memory' on any device."""
    import torch

    return (torch.OutOfMemoryError, MemoryError)


def first_line(e: BaseException) -> str:
    """Return the first line of an exception's message."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


@st.cache_resource(show_spinner="Counting the network on the meta device…")
def stage_table(model_name: str, image_size: int = 224):
    """Return model_stats.stage_table, built once per process and shared (read-only)."""
    from resnext_viz.blocks.stages import stage_table as table

    return table(model_name, image_size)
