"""The build-step registry: what a step of `liner build` is, and the ordered list of steps.

It lives apart from :mod:`recsys.build` (which runs the steps) so that modules defining
steps import it at the top, and the build imports them, without an import circle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from recsys.build import BuildContext


@dataclass(frozen=True, kw_only=True)
class BuildStep:
    """One named step of `liner build`.

    Attributes:
        name: unique step name (shown in progress bars and the manifest).
        run: writes the step's files under ``ctx.work_dir``; returns info for the manifest.
        inputs: a JSON-able description of everything the output depends on.
    """

    name: str
    run: Callable[[BuildContext], dict[str, Any] | None]
    inputs: Callable[[BuildContext], Any]


BUILD_STEPS: list[BuildStep] = []


def register_build_step(step: BuildStep, *, after: str | None = None) -> None:
    """Add ``step`` (replacing a step of the same name) after ``after``, or at the end."""
    BUILD_STEPS[:] = [s for s in BUILD_STEPS if s.name != step.name]
    names = [s.name for s in BUILD_STEPS]
    at = names.index(after) + 1 if after in names else len(BUILD_STEPS)
    BUILD_STEPS.insert(at, step)


__all__ = ["BUILD_STEPS", "BuildStep", "register_build_step"]
