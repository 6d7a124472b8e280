"""How the CLI ends on a mistake or a fault: one line, a hint, and the error's exit code.

``@friendly`` wraps every command. A :class:`~convscope.errors.ConvscopeError` prints its message and hint
and exits with its ``exit_code`` (2 bad input, 3 store or disk unusable, 4 run or search busy); an
``OSError`` or ``sqlite3`` error that :func:`~convscope.store.faults.explain_fault` recognises (a full
disk, a read-only store) is printed the same way; Ctrl-C exits 130. Anything else is a bug in convscope
and keeps its traceback (exit code 1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

from convscope.errors import ConvscopeError

err_console = Console(stderr=True)


def _print_error(exc: ConvscopeError) -> None:
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(exc.message)}", highlight=False, soft_wrap=True)
    if exc.hint:
        err_console.print(f"  [yellow]hint:[/] {escape(exc.hint)}", highlight=False, soft_wrap=True)


def friendly(fn: Callable) -> Callable:
    """Turn user mistakes and disk/store faults into one clear line and their exit code (README: exit codes)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ConvscopeError as exc:
            _print_error(exc)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:  # a full disk or a read-only store deep inside a write; anything else is a bug
            # imported here: it imports SQLAlchemy, which `convscope runs` does without
            from convscope.store.faults import explain_fault

            fault = explain_fault(exc)
            if fault is None:
                raise
            _print_error(fault)
            raise typer.Exit(fault.exit_code) from None
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


__all__ = ["friendly"]
