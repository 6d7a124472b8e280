"""``--set key.sub=value``: a command line's overrides applied to a raw config before it is validated.

Keys are dotted paths through the config's sections; a number picks a list's item, so a layer of
``model.layers`` can be changed in place without copying the file (``--set model.layers.0.conv.filters=16``).
Values are YAML (``--set "train.schedule={name: cosine}"``), read with the same bounded safe loader as
config files.
"""

from __future__ import annotations

from typing import Any

import yaml

from convscope.config_limits import load_yaml_text
from convscope.errors import ConfigError


def _index(items: list, part: str, key: str, source: str) -> int:
    """The list position ``part`` names in ``--set key=...`` (``model.layers.0.conv.filters``), checked."""
    if not (part.isdigit() and int(part) < len(items)):
        raise ConfigError(f"--set {key}: '{part}' is not a position in that list of {len(items)} in {source}",
                          hint=f"positions count from 0: 0..{len(items) - 1}, e.g. --set model.layers.0.conv.filters=16")
    return int(part)


def apply_overrides(raw: dict[str, Any], overrides: list[str] | None, *, source: str = "<config>") -> dict:
    """Apply ``key.sub=value`` overrides (value parsed as YAML) to a raw config dict, in place; a number
    picks a list's item (``model.layers.0.with_scalars.scalars=3``: the first layer's scalar count).

    Example:
        >>> raw = {"model": {"layers": [{"conv": {"filters": 8}}, "flatten"]}}
        >>> apply_overrides(raw, ["model.layers.0.conv.filters=16", "model.layers.1=global_avg_pool"])["model"]
        {'layers': [{'conv': {'filters': 16}}, 'global_avg_pool']}
    """
    for item in overrides or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value", hint="e.g. --set train.epochs=5")
        try:
            value = load_yaml_text(text, source=f"--set {key.strip()}")
        except yaml.YAMLError:
            value = text
        key = key.strip()
        node: dict | list = raw
        parts = key.split(".")
        for part in parts[:-1]:
            if isinstance(node, list):
                child = node[_index(node, part, key, source)]
            else:
                child = node.get(part)
                if child is None:
                    child = node[part] = {}
            if not isinstance(child, dict | list):
                raise ConfigError(f"--set {key}: '{part}' is not a section in {source}",
                                  hint="only sections and lists (by position: model.layers.0.conv.filters) hold sub-keys")
            node = child
        if isinstance(node, list):
            node[_index(node, parts[-1], key, source)] = value
        else:
            node[parts[-1]] = value
    return raw
