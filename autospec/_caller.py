"""Warnings that point at the caller's code, not into autospec."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

_PACKAGE = str(Path(__file__).resolve().parent)


def warn(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """``warnings.warn`` with the stack level of the first frame outside the package."""
    frame, level = sys._getframe(1), 2  # stacklevel 2 is the caller of this function
    while frame is not None and str(Path(frame.f_code.co_filename).resolve()).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
