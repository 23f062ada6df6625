"""OpenCV's bilateral filter on tensors: the window and tables, the tensor-op loop, and the
Triton kernel run under Triton's interpreter against OpenCV and against the loop."""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from facedata.align.detect import LandmarkDetector
from facedata.features import bilateral
from facedata.features.bilateral import (
    bilateral_filter,
    radius,
    range_weights,
    reflect_101,
    uses_kernel,
    window,
)
from facedata.features.color import SCFEGAN, color_map
from tests.color_reference import LARGE, photo_case, segment_errors

ROOT = Path(__file__).resolve().parents[1]
needs_triton = pytest.mark.skipif(
    importlib.util.find_spec("triton") is None, reason="triton is not installed"
)

#: (name, batch, options): the cases run under the interpreter. The crops are of skimage's
#: astronaut; odd sizes, a batch of two, borders within the radius on every side.
ONE_PASS = {"diameter": 20, "sigma_color": 30.0, "sigma_space": 30.0, "passes": 1}
SEVERAL = {**ONE_PASS, "passes": 3}
#: The GPU's 16 x 64 tile on a 21 x 70 image: four tiles, partial on both axes.
TILED = {"diameter": 5, "sigma_color": 30.0, "sigma_space": 7.5, "passes": 3, "tile": (16, 64)}
NARROW = {"diameter": 3, "sigma_color": 12.0, "sigma_space": 2.0, "passes": 2}


def opencv(image: np.ndarray, diameter, sigma_color, sigma_space, passes, **_) -> np.ndarray:
    for _ in range(passes):
        image = cv2.bilateralFilter(image, diameter, sigma_color, sigma_space)
    return image


def loop(batch: np.ndarray, diameter, sigma_color, sigma_space, passes, **_) -> np.ndarray:
    """The tensor-op loop (this process has no interpreter, so CPU tensors take it)."""
    return bilateral_filter(
        torch.from_numpy(batch),
        diameter=diameter,
        sigma_color=sigma_color,
        sigma_space=sigma_space,
        passes=passes,
    ).numpy()


@pytest.fixture(scope="module")
def cases(photo):
    """name: (batch, options) of the filter cases; "color": (image, labels) at 128 x 128."""

    def crop(y, x, h, w):
        return photo[y : y + h, x : x + w]

    return {
        "one_pass": (np.stack([crop(90, 160, 37, 45), crop(20, 300, 37, 45)]), ONE_PASS),
        "several": (crop(110, 170, 40, 40)[None], SEVERAL),
        "tiled": (np.stack([crop(60, 150, 21, 70), crop(300, 200, 21, 70)]), TILED),
        "narrow": (crop(150, 180, 24, 20)[None], NARROW),
        "color": photo_case(photo, LandmarkDetector(), size=128),
    }


@pytest.fixture(scope="module")
def interpreted(cases, tmp_path_factory):
    """The kernel route's results for ``cases``, computed by Triton's interpreter in a fresh
    process (triton reads ``TRITON_INTERPRET`` when first imported)."""
    folder = tmp_path_factory.mktemp("interpreted")
    arrays = {}
    for name, (batch, options) in cases.items():
        if name == "color":
            arrays[name], arrays[f"{name}.labels"] = batch[None], options[None]
            continue
        arrays[name] = batch
        arrays.update({f"{name}.{k}": np.array(v) for k, v in options.items()})
    np.savez(folder / "cases.npz", **arrays)
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-m", "tests.bilateral_interpreted", str(folder / "cases.npz"),
         str(folder / "out.npz")],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return dict(np.load(folder / "out.npz"))


class TestWindow:
    def test_opencv_disk_and_weights(self):
        offsets, weights = window(20, 30.0)
        assert radius(20) == 10 and len(offsets) == 317  # the disk of radius 10
        assert offsets.tolist()[:3] == [[-10, 0], [-9, -4], [-9, -3]]  # row by row
        squared = (offsets**2).sum(1)
        assert squared.max() == 100 and weights.dtype == np.float32
        np.testing.assert_array_equal(weights, np.exp(squared * (-0.5 / 900)).astype(np.float32))
        assert radius(1) == 1 and len(window(1, 1.0)[0]) == 5  # OpenCV's radius is >= 1

    def test_range_table(self):
        table = range_weights(30.0)
        assert table.shape == (768,) and table.dtype == np.float32
        assert table[0] == 1 and table[30] == np.float32(np.exp(-0.5))

    def test_reflect_101_is_numpys_reflect(self):
        for n, pad in ((5, 4), (12, 3), (2, 1)):
            np.testing.assert_array_equal(
                reflect_101(n, pad), np.pad(np.arange(n), pad, mode="reflect")
            )


class TestLoop:
    def test_benchmark_times_and_checks_the_route(self):
        # benchmarks/gpu.py may call it on a GPU; on a CPU it runs the loop.
        from benchmarks.features import time_bilateral_kernel

        result = time_bilateral_kernel("cpu", batch=2, size=24, repeat=1)
        assert result["route"] == "tensor loop" and result["ms_per_image"] > 0
        assert result["max_diff"] <= 1 and result["differing"] < 0.01

    def test_cpu_tensors_take_the_loop(self):
        assert not uses_kernel(torch.zeros(1, 4, 4, 3, dtype=torch.uint8))

    def test_without_triton_the_loop_runs_and_a_debug_line_says_so_once(
        self, monkeypatch, caplog, cases
    ):
        monkeypatch.setitem(sys.modules, "triton", None)  # `import triton` raises ImportError
        monkeypatch.setenv("TRITON_INTERPRET", "1")  # would ask for the kernel
        bilateral._triton.cache_clear()
        try:
            batch, options = cases["narrow"]
            with caplog.at_level(logging.DEBUG, logger=bilateral.__name__):
                assert not uses_kernel(torch.from_numpy(batch))
                got = loop(batch, **options)
            np.testing.assert_array_equal(got[0], opencv(batch[0], **options))
        finally:
            bilateral._triton.cache_clear()
        lines = [r for r in caplog.records if r.name == bilateral.__name__]
        assert [r.levelno for r in lines] == [logging.DEBUG]
        assert "triton does not import" in lines[0].getMessage()

    def test_radius_must_be_below_the_sides(self):
        with pytest.raises(ValueError, match="too small for a bilateral radius of 10"):
            bilateral_filter(
                torch.zeros(1, 10, 30, 3, dtype=torch.uint8),
                diameter=20,
                sigma_color=30,
                sigma_space=30,
            )

    def test_zero_passes_is_the_input(self, cases):
        batch = torch.from_numpy(cases["narrow"][0])
        out = bilateral_filter(batch, diameter=3, sigma_color=10, sigma_space=2, passes=0)
        assert torch.equal(out, batch)

    def test_matches_opencv_on_the_photo(self, cases):
        for name in ("narrow", "tiled"):
            batch, options = cases[name]
            got = loop(batch, **options)
            for i, image in enumerate(batch):
                diff = np.abs(got[i].astype(int) - opencv(image, **options))
                assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3, name


@needs_triton
class TestKernel:
    def test_the_interpreter_ran_the_kernel_once_per_pass(self, interpreted, cases):
        assert interpreted["uses_kernel"]
        for name, (_, options) in cases.items():
            passes = SCFEGAN.passes if name == "color" else options["passes"]
            assert interpreted[f"{name}.launches"] == passes, name

    @pytest.mark.parametrize("name", ["one_pass", "several", "tiled", "narrow"])
    def test_equals_the_tensor_loop(self, interpreted, cases, name):
        # Same taps in the same order, the same float32 operations without fused
        # multiply-adds, the same reciprocal and rounding: bit for bit.
        batch, options = cases[name]
        got = interpreted[name]
        assert got.dtype == np.uint8 and got.shape == batch.shape
        np.testing.assert_array_equal(got, loop(batch, **options))

    @pytest.mark.parametrize("name", ["one_pass", "several", "tiled", "narrow"])
    def test_matches_opencv(self, interpreted, cases, name):
        # OpenCV's vector and scalar paths group the taps' sums differently: a value on a
        # rounding boundary may land 1 away, and a changed value steers later passes.
        batch, options = cases[name]
        for i, image in enumerate(batch):
            diff = np.abs(interpreted[name][i].astype(int) - opencv(image, **options))
            assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3, (name, i)

    def test_colour_map_matches_opencvs_full_schedule(self, interpreted, cases):
        image, labels = cases["color"]
        errors, areas = segment_errors(
            interpreted["color"][0], color_map(image, labels, smoothing=SCFEGAN), labels
        )
        assert errors[areas >= LARGE].max() <= 1 and errors.max() <= 2

    @pytest.mark.parametrize("arch", [80, 90])
    def test_compiles_for_ampere_and_hopper(self, arch):
        # No GPU here: triton compiles ahead of time, with the ptxas it ships.
        import triton
        from triton.backends.compiler import GPUTarget
        from triton.compiler import ASTSource

        from facedata.features import bilateral_kernel as kernel

        words, floats = "*i32", "*fp32"
        signature = {"src": words, "dst": words, "taps": words, "space": floats,
                     "colour": floats, "n_taps": "i32", "height": "i32", "width": "i32",
                     "radius": "i32", "BLOCK_H": "constexpr", "BLOCK_W": "constexpr"}  # fmt: skip
        tile = {"BLOCK_H": kernel.BLOCK_H, "BLOCK_W": kernel.BLOCK_W}
        assert tuple(tile.values()) == TILED["tile"]  # the interpreter tested the GPU's tile
        compiled = triton.compile(
            ASTSource(kernel.bilateral_pass, signature, constexprs=tile),
            target=GPUTarget("cuda", arch, 32),
            options=kernel.OPTIONS,
        )
        ptx = compiled.asm["ptx"]
        assert len(compiled.asm["cubin"]) > 0
        # IEEE reciprocal, no fused multiply-adds, no flushed denormals (the range table has
        # some), and the 2**23 rounding kept: what the interpreter computes.
        assert "div.rn.f32" in ptx and not re.search(r"\bfma\.|\.ftz", ptx)
        assert "add.rn.f32" in ptx and "0f4B000000" in ptx and "0fCB000000" in ptx
