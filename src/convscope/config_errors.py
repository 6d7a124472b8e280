"""One translator from a pydantic ``ValidationError`` to one :class:`~convscope.errors.ConfigError` line.

Every schema in convscope (the experiment config, a data source's options) is a pydantic model;
whatever part of the YAML it validates, a failure reads the same: the file, the dotted field, what is
wrong, and a did-you-mean for a misspelt field name.

Example:
    >>> from pydantic import BaseModel, ConfigDict, ValidationError
    >>> class Options(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     window_s: float = 10.0
    >>> try:
    ...     Options.model_validate({"window": 5})
    ... except ValidationError as exc:
    ...     error = explain(exc, file="ecg.yaml", section="data", schema=Options)
    >>> print(error)
    ecg.yaml: data.window: unknown field
      hint: did you mean 'window_s'?
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ValidationError

from convscope.errors import ConfigError


def explain(exc: ValidationError, *, file: str | None, section: str, schema: type[BaseModel] | None = None,
            unknown: str = "unknown field", list_known: bool = False) -> ConfigError:
    """The first error of ``exc`` as one line: ``file: section.field: what is wrong (got X)``.

    Args:
        exc: what ``Model.model_validate`` raised.
        file: the config's file name (or ``"run 3"``, ``"<config>"``); ``None`` leaves it out.
        section: the dotted path of the validated mapping inside the config (``"data"``), or ``""`` when
            the whole config was validated.
        schema: the model that was validated; with it an unknown field gets a did-you-mean hint.
        unknown: the words for an unknown field (a data source says ``unknown option for source 'x'``).
        list_known: end an unknown field's hint with the fields the schema knows (``options: a, b``).
    """
    err = exc.errors()[0]
    # pydantic puts validator names and union/literal tags into loc; keep real field names and indexes
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(_TAGS)))
    field_path = ".".join(str(p) for p in (section, *loc) if p != "") or "(top level)"
    prefix = f"{file}: " if file else ""
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _field_names(_owner_of(schema, loc))
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        if list_known:
            hint = (f"did you mean '{close[0]}'? " if close else "") + f"options: {', '.join(sorted(known))}"
        else:
            hint = f"did you mean '{close[0]}'?" if close else "remove it, or check the spelling against the README"
        return ConfigError(f"{prefix}{field_path}: {unknown}", hint=hint)
    if kind == "missing":
        return ConfigError(f"{prefix}{field_path}: required field is missing", hint=f"add '{loc[-1]}:'")
    message = err["msg"].removeprefix("Value error, ")
    got = err.get("input")
    got_text = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return ConfigError(f"{prefix}{field_path}: {message}{got_text}")


_TAGS = ("function-", "tuple[", "list[", "dict[")


def _field_names(model: type[BaseModel] | None) -> list[str]:
    return list(model.model_fields) if model is not None else []


def _owner_of(schema: type[BaseModel] | None, loc: tuple) -> type[BaseModel] | None:
    """The model class that declares the field at ``loc`` (walking nested models from ``schema``)."""
    model: Any = schema
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            return None
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        candidates = getattr(annotation, "__args__", (annotation,))
        model = next((c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None)
    return model
