"""Bounds on what a config may ask for, checked before anything costly is built.

A hostile (or mistyped) config must be refused in well under a second with bounded memory: a 50 MB
file, a YAML alias bomb (a few lines whose anchors expand to billions of nodes), ``repeat: 1000000``
or a model of a billion parameters. Each limit has a default generous for real work and an
environment variable to raise it; ``0`` turns a check off.

| limit | default | variable |
|---|---|---|
| config file size | 1 MB | ``CONVSCOPE_MAX_CONFIG_BYTES`` |
| YAML nodes after expanding aliases | 200,000 | ``CONVSCOPE_MAX_YAML_NODES`` |
| model layers after expanding repeats | 10,000 | ``CONVSCOPE_MAX_LAYERS`` |
| model parameters | 500,000,000 | ``CONVSCOPE_MAX_PARAMS`` |
| activation memory of one training batch | 16 GB | ``CONVSCOPE_MAX_ACTIVATION_BYTES`` |

Example:
    >>> load_yaml_text("a: &x [1, 2]\\nb: *x\\n", source="demo.yaml")
    {'a': [1, 2], 'b': [1, 2]}
    >>> bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
    ...     f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\\n"
    ...     for p, c in zip("abcdefgh", "bcdefghi"))
    >>> load_yaml_text(bomb, source="bomb.yaml")
    Traceback (most recent call last):
    ...
    convscope.errors.ConfigError: bomb.yaml: the YAML expands to more than 200,000 values (anchors and aliases included)
      hint: a config is a few hundred values; raise CONVSCOPE_MAX_YAML_NODES if this one is meant to be this big
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from convscope.errors import ConfigError


@dataclass(frozen=True)
class Limits:
    """The bounds in force; :meth:`from_env` reads the ``CONVSCOPE_MAX_*`` variables (0: unbounded)."""

    config_bytes: int = 1_000_000  # a config is a few kB; a 50 MB one took 43 s and 1 GB to refuse
    yaml_nodes: int = 200_000  # scalars + lists + mappings after alias expansion
    layers: int = 10_000  # after repeats; the deepest preset has under 200
    params: int = 500_000_000  # 2 GB of float32 weights, before optimizer state
    activation_bytes: int = 16_000_000_000  # float32 outputs of every layer for one training batch

    @classmethod
    def from_env(cls) -> Limits:
        values = {}
        for f in fields(cls):
            variable = f"CONVSCOPE_MAX_{f.name.upper()}"
            text = os.environ.get(variable)
            if text is None:
                continue
            try:
                values[f.name] = int(float(text))
            except ValueError:
                raise ConfigError(f"{variable}={text!r}: not a number",
                                  hint=f"set it to a whole number, or unset it (default {f.default:,})") from None
        return cls(**values)


def env_name(limit: str) -> str:
    """The environment variable that raises ``limit`` (a :class:`Limits` field)."""
    return f"CONVSCOPE_MAX_{limit.upper()}"


def _over(value: int, bound: int) -> bool:
    return bound > 0 and value > bound


def read_config_text(path: Path) -> str:
    """The text of a config file: size-bounded, UTF-8, else one ConfigError naming the file."""
    limits = Limits.from_env()
    size = path.stat().st_size
    if _over(size, limits.config_bytes):
        raise ConfigError(f"{path}: the config is {size:,} bytes, over the {limits.config_bytes:,}-byte limit",
                          hint=f"a config is a few kB: is this the right file? "
                               f"(raise {env_name('config_bytes')} if it is)")
    data = path.read_bytes()[: limits.config_bytes + 1 if limits.config_bytes else None]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file (byte {exc.start} is not UTF-8)",
                          hint="a config is YAML text; check the path (a .npz or a checkpoint is not a config)") from None


def _expanded_size(node: yaml.Node, bound: int, sizes: dict[int, int], open_: set[int]) -> int:
    """How many nodes ``node`` becomes once every alias is copied out; stops counting past ``bound``.

    PyYAML composes an alias as a reference to its anchor's node, so the composed graph stays small
    while the constructed (and later deep-copied, validated) object is exponential; counting with a
    memo per node measures the expansion without performing it. Written here because neither PyYAML
    nor ruamel offers an expansion bound.
    """
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_:
        raise ConfigError("the YAML refers to itself (a recursive anchor)", hint="remove the alias inside its anchor")
    open_.add(key)
    total = 1
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    else:
        children = []
    for child in children:
        total += _expanded_size(child, bound, sizes, open_)
        if total > bound:
            break
    open_.discard(key)
    sizes[key] = total
    return total


def load_yaml_text(text: str, *, source: str) -> Any:
    """``yaml.safe_load`` with the alias expansion bounded by :attr:`Limits.yaml_nodes`."""
    bound = Limits.from_env().yaml_nodes
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if bound > 0:
            try:
                size = _expanded_size(node, bound, {}, set())
            except ConfigError as exc:
                raise ConfigError(f"{source}: {exc.message}", hint=exc.hint) from None
            if size > bound:
                raise ConfigError(f"{source}: the YAML expands to more than {bound:,} values (anchors and aliases "
                                  f"included)", hint=f"a config is a few hundred values; raise "
                                                     f"{env_name('yaml_nodes')} if this one is meant to be this big")
        return loader.construct_document(node)
    except RecursionError:  # PyYAML composes recursively: thousands of nested brackets
        raise ConfigError(f"{source}: the YAML is nested too deeply", hint="a config nests a few levels") from None
    finally:
        loader.dispose()


__all__ = ["Limits", "env_name", "load_yaml_text", "read_config_text"]
