"""Parameters parsed without pydantic (client_sdk/cli/coercion.py): the values typer's own
coercion gives, and its refusals, through typer's real command-line machinery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from typer.testing import CliRunner

runner = CliRunner(env={"COLUMNS": "250"})  # the error box holds the whole message
probe = typer.Typer()


@probe.command()
def show(
    name: str,
    files: list[Path],
    out: Annotated[Path | None, typer.Option()] = None,
    existing: Annotated[Path | None, typer.Option(exists=True)] = None,
    not_a_folder: Annotated[Path | None, typer.Option(dir_okay=False)] = None,
    count: Annotated[int, typer.Option()] = 1,
    flag: bool = False,
) -> None:
    values = {"name": name, "files": files, "out": out, "count": count, "flag": flag}
    typer.echo(json.dumps({k: [type(v).__name__, str(v)] for k, v in values.items()}))
    typer.echo(json.dumps([type(f).__name__ for f in files]))


def test_the_kluis_app_is_the_one_with_the_plain_coercion() -> None:
    assert "coercion" in typer.core.build_runtime_param.__module__


def test_text_paths_numbers_and_flags_come_out_as_typer_gives_them(tmp_path: Path) -> None:
    ran = runner.invoke(
        probe, ["anna", "a.txt", str(tmp_path), "--out", "x/y", "--count", "3", "--flag"]
    )
    assert ran.exit_code == 0, ran.output
    values, kinds = (json.loads(line) for line in ran.output.splitlines())
    assert values["name"] == ["str", "anna"]
    assert values["files"][0] == "list" and kinds == ["PosixPath", "PosixPath"]
    assert values["out"] == ["PosixPath", "x/y"]
    assert values["count"] == ["int", "3"]
    assert values["flag"] == ["bool", "True"]


def test_a_path_that_must_exist_and_does_not_is_refused(tmp_path: Path) -> None:
    ran = runner.invoke(probe, ["anna", "a.txt", "--existing", str(tmp_path / "missing")])
    assert ran.exit_code == 2
    assert "does not exist" in ran.output


def test_a_folder_where_a_file_is_wanted_is_refused(tmp_path: Path) -> None:
    ran = runner.invoke(probe, ["anna", "a.txt", "--not-a-folder", str(tmp_path)])
    assert ran.exit_code == 2
    assert "is a directory" in ran.output


def test_a_number_that_is_not_one_is_refused_by_typer_s_own_coercion() -> None:
    ran = runner.invoke(probe, ["anna", "a.txt", "--count", "drie"])
    assert ran.exit_code == 2
    assert "drie" in ran.output or "integer" in ran.output


def test_a_missing_argument_is_still_refused() -> None:
    ran = runner.invoke(probe, ["anna"])
    assert ran.exit_code == 2
    assert "Missing argument" in ran.output
