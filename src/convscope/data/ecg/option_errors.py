"""One pydantic ``ValidationError`` of a source's options -> one :class:`ConfigError` line.

Kept apart from the option models so that every source validating options with pydantic reports
errors the same way: ``data.<field>: <what is wrong> (got <value>)`` and, for a misspelt option, a
did-you-mean hint listing the options the source knows.
"""

from __future__ import annotations

import difflib

from pydantic import BaseModel, ValidationError

from convscope.errors import ConfigError


def _owner(model: type[BaseModel], loc: list[str]) -> type[BaseModel]:
    """The (possibly nested) option model that holds the last field of ``loc``."""
    for name in loc[:-1]:
        annotation = model.model_fields[name].annotation if name in model.model_fields else None
        nested = [a for a in getattr(annotation, "__args__", (annotation,))
                  if isinstance(a, type) and issubclass(a, BaseModel)]
        if not nested:
            break
        model = nested[0]
    return model


def explain(exc: ValidationError, model: type[BaseModel], *, source: str) -> ConfigError:
    """The first error of ``exc`` as a ConfigError naming ``data.<field>`` (``model`` was validated)."""
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not str(p).startswith(("function-", "tuple[", "list[", "dict["))]
    where = "data." + ".".join(loc) if loc else "data"
    if err["type"] == "extra_forbidden":
        known = sorted(_owner(model, loc).model_fields)
        close = difflib.get_close_matches(loc[-1], known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return ConfigError(f"{where}: unknown option for source '{source}'", hint=f"{hint}options: {', '.join(known)}")
    message = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    got_text = "" if isinstance(got, dict) or got is None else f" (got {got!r})"
    return ConfigError(f"{where}: {message}{got_text}")
