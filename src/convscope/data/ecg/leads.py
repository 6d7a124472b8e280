"""Which lead of a record each model channel takes: a lead by name, or the first present of several.

``leads: [mlii, {any_of: [v1, v2, v4, v5]}]`` makes two channels: MLII, and whichever of V1, V2, V4, V5
the record has first in that order. MIT-BIH is the case in point: its second signal is V1 in most
records but V2, V4 or V5 in 100, 103, 117, 123 and 124 (and 114 holds V5 first, MLII second), so a
fixed second lead would stop at those records. A choice is named by its *label*, its alternatives
joined by ``|`` (``v1|v2|v4|v5``): the run's stored leads, the export sidecar and ``predict`` use it,
and ``predict`` resolves it on each new record the way training did.

Example:
    >>> wanted = [lead_spec("MLII"), lead_spec({"any_of": ["V1", "V5"]})]
    >>> [lead_label(w) for w in wanted]
    ['mlii', 'v1|v5']
    >>> lead_rows(["V5", "MLII"], wanted, record="114")  # record 114: V5 first, MLII second
    [1, 0]
    >>> lead_rows(["MLII", "V2"], wanted, record="103")
    Traceback (most recent call last):
    ...
    convscope.errors.ConfigError: data.leads[1]: record 103 has none of v1, v5 (it has: mlii, v2)
      hint: add its lead to the list (any_of: [v1, v5, v2]) or leave the record out (exclude_records: [103])
"""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import BaseModel, ConfigDict

from convscope.errors import ConfigError


class AnyOf(BaseModel):
    """``{any_of: [v1, v2, v4, v5]}``: the first of these leads the record has, in this order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    any_of: tuple[str, ...]


def lead_spec(value: Any) -> str | AnyOf:
    """One entry of ``leads:`` as given in YAML (a name, or ``{any_of: [...]}``), lower-cased and checked;
    a ``ValueError`` (which the options turn into one ``data.leads`` line) says what is wrong."""
    if isinstance(value, AnyOf):
        return value
    if isinstance(value, dict):
        if set(value) != {"any_of"}:
            raise ValueError(f"a lead is a name or {{any_of: [names]}}, not {value}")
        names = value["any_of"]
        if not isinstance(names, list | tuple) or len(names) < 2:
            raise ValueError(f"any_of: give two or more lead names, e.g. {{any_of: [v1, v2]}}, not {names!r} "
                             "(one lead: just its name)")
        names = [str(v).lower() for v in names]
        if len(set(names)) < len(names):
            raise ValueError(f"any_of: a lead is named twice in {names}; name each once")
        return AnyOf(any_of=tuple(names))
    if isinstance(value, str | int):
        return str(value).lower()
    raise ValueError(f"a lead is a name or {{any_of: [names]}}, not {value!r}")


def alternatives(spec: str | AnyOf) -> list[str]:
    """The lead names a spec accepts, in order of preference (a label's ``|`` parts for a stored label)."""
    return list(spec.any_of) if isinstance(spec, AnyOf) else spec.split("|")


def pick(spec: str | AnyOf, have: list[str]) -> str | None:
    """The lead of ``have`` (lower-case names) that ``spec`` (a name, a choice or its stored label) takes: the first
    of its alternatives present, or None."""
    return next((lead for lead in alternatives(spec) if lead in have), None)


def lead_label(spec: str | AnyOf) -> str:
    """The name a channel is stored under: the lead's name, or a choice's alternatives joined by ``|``."""
    return "|".join(alternatives(spec))


def lead_rows(names: list[str], wanted: list[str | AnyOf] | list[str], *, record: str) -> list[int]:
    """The rows of a record whose leads are ``names`` (any case) that give the ``wanted`` channels, in order.

    A stored label (``v1|v5``) is resolved like the ``{any_of}`` it came from. A record lacking a wanted
    lead is a :class:`~convscope.errors.ConfigError` naming the entry of ``data.leads`` and the record.
    """
    have = [n.lower() for n in names]
    rows = []
    for k, spec in enumerate(wanted):
        lead = pick(spec, have)
        if lead is not None:
            rows.append(have.index(lead))
            continue
        options = alternatives(spec)
        if len(options) == 1:
            close = difflib.get_close_matches(options[0], have, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"data.leads: '{options[0]}' is not a lead of record {record} (it has: {', '.join(have)})",
                              hint=f"{hint}pick leads from that list, e.g. leads: [{have[min(1, len(have) - 1)]}], "
                                   f"or a choice, e.g. {{any_of: [{options[0]}, {have[-1]}]}}")
        extra = next((lead for lead in have if lead not in options and lead not in
                      {a for s in wanted for a in alternatives(s)}), have[-1])
        raise ConfigError(f"data.leads[{k}]: record {record} has none of {', '.join(options)} (it has: {', '.join(have)})",
                          hint=f"add its lead to the list (any_of: [{', '.join([*options, extra])}]) or leave the "
                               f"record out (exclude_records: [{record}])")
    return rows
