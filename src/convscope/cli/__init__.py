"""The ``convscope`` command. Thin: parse, call the API, print with rich.

One module per group of commands; each registers its commands on the one typer ``app`` (``app.py``)
when imported here. A new command is a function with ``@app.command("name")`` and ``@friendly`` in
the module of its group (or a new module, imported below).
"""

# Imported for their @app.command registrations, in the order `convscope --help` lists the commands.
from convscope.cli import runs  # noqa: F401, I001
from convscope.cli import data  # noqa: F401
from convscope.cli import search  # noqa: F401
from convscope.cli import insight  # noqa: F401
from convscope.cli import predict  # noqa: F401
from convscope.cli.app import app

__all__ = ["app"]
