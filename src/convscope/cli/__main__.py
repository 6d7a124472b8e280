"""``python -m convscope.cli``: the ``convscope`` command."""

from convscope.cli import app

app()
