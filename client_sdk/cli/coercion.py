"""Parsing a command's parameters without pydantic (start-up time, issue 21).

typer 0.29 coerces every parameter value through a pydantic `TypeAdapter`: the first command
line parsed imports pydantic and builds an adapter per parameter, about 0.1 CPU-seconds of
every command but `--help` (a sixth of `kluis whoami`; docs/performance.md, "CLI start-up").
This program's parameters are nearly all text, flags and paths. For those, `use_plain_coercion`
gives typer a coercion that does what its adapters do with them: text stays the same text, a
flag the same bool, a path becomes a `Path` checked by typer's own `coerce_cli_path` (the
checks an adapter runs after pydantic made the `Path`). Anything else (a number, which arrives
as text, a parser, choices, a range, a file) still goes to typer's own coercion. On a typer
without these internals nothing is changed.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, get_args, get_origin


def _is_path_list(annotation: Any) -> bool:
    return get_origin(annotation) is list and get_args(annotation) == (Path,)


def _plain(descriptor: Any) -> bool:
    """Whether typer's adapter for this parameter only passes text and flags through or makes
    a `Path` and checks it."""
    info = descriptor.parameter_info
    if (
        getattr(info, "parser", None) is not None
        or getattr(info, "click_type", None) is not None
        or descriptor.is_file
        or descriptor.is_choice
        or descriptor.is_ranged
    ):
        return False
    annotation = descriptor.annotation
    if annotation is bool:
        return True
    if annotation is str:
        return not descriptor.is_path  # text with path flags is checked as a path: typer's
    if annotation is Path or _is_path_list(annotation):
        return getattr(info, "path_type", None) in (None, Path)
    return False


def use_plain_coercion() -> None:
    """Install the coercion above in typer (once, before the app parses anything)."""
    try:
        core: Any = importlib.import_module("typer.core")
        coercion = importlib.import_module("typer._coercion")
        param_types = importlib.import_module("typer._param_types")
    except ImportError:
        return
    own = getattr(core, "build_runtime_param", None)
    runtime_param = getattr(coercion, "RuntimeParam", None)
    path_check = getattr(param_types, "coerce_cli_path", None)
    if own is None or runtime_param is None or path_check is None:
        return
    typers_own: Callable[[Any], Any] = own
    coerce_path: Callable[..., Any] = path_check

    @dataclass(frozen=True)
    class PlainRuntimeParam(runtime_param):  # type: ignore[misc,valid-type]
        descriptor: Any

        @cached_property
        def typers_own(self) -> Any:
            return typers_own(self.descriptor)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            annotation = self.annotation
            if annotation is str and isinstance(value, str):
                return value
            if annotation is bool and isinstance(value, bool):
                return value
            if annotation is Path and isinstance(value, str | Path):
                return self._path(value, param, ctx)
            if (
                _is_path_list(annotation)
                and isinstance(value, list | tuple)
                and all(isinstance(item, str | Path) for item in value)
            ):
                return [self._path(item, param, ctx) for item in value]
            # bytes, an environment variable's text for a flag, ...: as typer does it
            return self.typers_own._coerce_value(value, param=param, ctx=ctx)

        def _path(self, value: str | Path, param: Any, ctx: Any) -> Any:
            info = self.parameter_info
            return coerce_path(Path(value), info, path_type=Path, param=param, ctx=ctx)

    def build_runtime_param(descriptor: Any) -> Any:
        if _plain(descriptor):
            return PlainRuntimeParam(
                parameter_info=descriptor.parameter_info,
                annotation=descriptor.annotation,
                descriptor=descriptor,
            )
        return typers_own(descriptor)

    core.build_runtime_param = build_runtime_param
