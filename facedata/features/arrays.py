"""The few helpers that let one map implementation run on numpy arrays and torch tensors.

The colour and HOG maps are written once against the operations numpy and torch share
(slicing, arithmetic, ``where``, ``bincount``, ``cumsum``, ``stack``, ``@``); the handful of
calls whose spelling differs go through this module. torch is imported only when a tensor
is passed in.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def namespace(x: Any):
    """``numpy`` or ``torch``: the library that owns ``x``.

    Raises
    ------
    TypeError
        When ``x`` is neither a numpy array nor a torch tensor.
    """
    if isinstance(x, np.ndarray):
        return np
    if type(x).__module__.startswith("torch"):
        import torch

        if isinstance(x, torch.Tensor):
            return torch
    raise TypeError(f"expected a numpy array or a torch tensor, got {type(x).__name__}")


def cast(x: Any, dtype: Any) -> Any:
    """``x`` converted to ``dtype`` (a numpy or torch dtype matching ``x``), no copy if equal."""
    if isinstance(x, np.ndarray):
        return x.astype(dtype, copy=False)
    return x.to(dtype)


def like(values: np.ndarray, x: Any) -> Any:
    """A numpy constant as an array of ``x``'s library, on ``x``'s device."""
    if isinstance(x, np.ndarray):
        return values
    import torch

    return torch.tensor(values, device=x.device)


def zeros(shape: tuple[int, ...], x: Any) -> Any:
    """Zeros of ``shape`` with the dtype, library and device of ``x``."""
    if isinstance(x, np.ndarray):
        return np.zeros(shape, x.dtype)
    return x.new_zeros(shape)
