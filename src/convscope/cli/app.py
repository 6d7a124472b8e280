"""What every ``convscope`` command shares: the typer app, the consoles, ``friendly`` and two printers.

Every user mistake or disk/store fault prints one red line and a hint and exits with its code
(``cli/errors.py``, README "Security and limits"); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from convscope import formatting as fmt
from convscope.cli.errors import err_console, friendly  # noqa: F401  (every command module imports them from here)

# Plain click help (rich_markup_mode=None): typer's rich help prints a `<bool>` metavar after every flag
app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Build, train, search and look inside convolutional networks.")
data_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Datasets in the local cache.")
app.add_typer(data_app, name="data")
console = Console()

HomeOption = Annotated[Path | None, typer.Option("--home", help="Run store folder (default $CONVSCOPE_HOME "
                                                                 "or ./convscope-runs).")]
LogOption = Annotated[list[str] | None, typer.Option("--log", help="Watch it live: tensorboard | mlflow "
                                                                   "(repeatable; sets train.log).")]


def with_log(set_: list[str] | None, log: list[str] | None) -> list[str] | None:
    """``--log tensorboard --log mlflow`` as the override ``train.log=[tensorboard, mlflow]``."""
    return [*(set_ or []), f"train.log=[{', '.join(log)}]"] if log else set_


@app.callback()
def _where(
    store: Annotated[str | None, typer.Option("--store", help="The run store's database, e.g. postgresql://USER:PASSWORD"
                                               "@HOST:PORT/DB (default $CONVSCOPE_STORE, else <home>/runs.db).")] = None,
    artifacts: Annotated[str | None, typer.Option("--artifacts", help="Where run folders go: a shared folder or an "
                                                   "fsspec URL (default $CONVSCOPE_ARTIFACTS, else the home).")] = None,
) -> None:
    """Build, train, search and look inside convolutional networks."""
    # environment variables, not arguments: search workers (spawned processes, Ray tasks) inherit them
    if store:
        os.environ["CONVSCOPE_STORE"] = store
    if artifacts:
        os.environ["CONVSCOPE_ARTIFACTS"] = artifacts


def status_markup(status: str) -> str:
    """A status in its colour, as rich markup."""
    from convscope.store.status import status_color  # imports in commands: `convscope --help` stays instant

    return f"[{status_color(status)}]{status}[/]"


def status_text(status: str) -> Text:
    """A status in its colour, as a rich ``Text`` (a table cell that needs no markup parsing)."""
    from convscope.store.status import status_color

    text = Text(status)
    text.stylize(status_color(status))  # a span on the word, as markup makes it: the padding stays unstyled
    return text


def metrics_text(values: dict[str, float]) -> str:
    """``test_loss 0.1234, test_accuracy 97.50%``: metrics as one line, each in its own format."""
    return ", ".join(f"{k} {fmt.metric(k, v)}" for k, v in values.items())

