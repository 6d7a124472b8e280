"""The search space: ``params`` ranges → Optuna distributions, one trial's values, and the grid.

A range is written in the config's own words (DESIGN.md)::

    params:
      blocks: {grid: [1, 2, 4]}            # a list of values: every one is tried by a grid search
      dropout: {choice: [0.01, 0.33]}      # the same list, read as "pick one" by random / TPE
      lr: {loguniform: [1.0e-4, 1.0e-1]}   # continuous, sampled on a log scale
      momentum: {uniform: [0.0, 0.99]}
      batch_size: {int: [32, 256], log: true}

Example:
    >>> space = {"blocks": {"grid": [1, 2, 4]}, "filters": {"grid": [15, 30]}}
    >>> grid_values(space)
    {'blocks': [1, 2, 4], 'filters': [15, 30]}
    >>> grid_size(space)
    6
    >>> distributions({"lr": {"loguniform": [1e-4, 1e-1]}})["lr"]
    FloatDistribution(high=0.1, log=True, low=0.0001, step=None)
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

from convscope.errors import ConfigError

# The range kinds that are finite lists of values (a grid can enumerate them).
LIST_KINDS = ("grid", "choice")


def _kind(name: str, spec: dict[str, Any]) -> str:
    kinds = [k for k in ("grid", "choice", "uniform", "loguniform", "int") if k in spec]
    extra = set(spec) - {*kinds, "log", "step"}
    if len(kinds) != 1 or extra:
        raise ConfigError(f"params.{name}: a range has exactly one of grid, choice, uniform, loguniform, int "
                          f"(got {sorted(spec)})", hint=f"e.g. params.{name}: {{grid: [1, 2, 4]}}")
    return kinds[0]


def _pair(name: str, kind: str, value: Any) -> tuple[float, float]:
    if (not isinstance(value, list | tuple) or len(value) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        raise ConfigError(f"params.{name}: {kind} takes [low, high] (got {value!r})",
                          hint=f"e.g. params.{name}: {{{kind}: [0.0001, 0.1]}}")
    low, high = value
    if not low < high:
        raise ConfigError(f"params.{name}: {kind} needs low < high (got [{low}, {high}])")
    return low, high


def to_distribution(name: str, spec: dict[str, Any]) -> BaseDistribution:
    """The Optuna distribution for one ``params`` range (a :class:`ConfigError` says what is wrong)."""
    kind = _kind(name, spec)
    value = spec[kind]
    if kind in LIST_KINDS:
        if not isinstance(value, list) or not value:
            raise ConfigError(f"params.{name}: {kind} takes a non-empty list of values (got {value!r})",
                              hint=f"e.g. params.{name}: {{{kind}: [15, 30]}}")
        for v in value:
            # Optuna stores choices in its journal as JSON scalars; a list or mapping has no stable form there
            if v is not None and not isinstance(v, str | int | float | bool):
                raise ConfigError(f"params.{name}: {kind} values must be numbers, strings or booleans "
                                  f"(got {v!r})", hint="give a named preset instead, e.g. a string you "
                                                       "reference with ${...} in a layer field")
        if len(set(map(repr, value))) != len(value):
            raise ConfigError(f"params.{name}: {kind} lists a value twice ({value!r})", hint="remove the duplicate")
        return CategoricalDistribution(list(value))
    if kind == "int":
        low, high = _pair(name, kind, value)
        if not (float(low).is_integer() and float(high).is_integer()):
            raise ConfigError(f"params.{name}: int takes whole numbers (got {value!r})")
        log = bool(spec.get("log", False))
        step = int(spec.get("step", 1))
        if log and low < 1:
            raise ConfigError(f"params.{name}: int with log: true needs low >= 1 (got {low})")
        return IntDistribution(int(low), int(high), log=log, step=step)
    low, high = _pair(name, kind, value)
    if kind == "loguniform":
        if low <= 0:
            raise ConfigError(f"params.{name}: loguniform needs low > 0 (got {low})",
                              hint=f"e.g. params.{name}: {{loguniform: [1.0e-4, 1.0e-1]}}")
        return FloatDistribution(float(low), float(high), log=True)
    return FloatDistribution(float(low), float(high), step=spec.get("step"))


def distributions(space: dict[str, dict[str, Any]]) -> dict[str, BaseDistribution]:
    """Every range of ``space`` (name → range dict, see :attr:`convscope.tuning.study.SearchSetup.space`) as a distribution.

    Args:
        space: the ranges, e.g. ``{"lr": {"loguniform": [1e-4, 1e-1]}}``.
    """
    return {name: to_distribution(name, spec) for name, spec in space.items()}


def suggest(trial: optuna.trial.BaseTrial, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One trial's concrete values: asks ``trial`` for every range in ``space``, in the config's order.

    A trial that already holds a value for a name (a resumed one) returns it unchanged.

    Example:
        >>> study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        >>> values = suggest(study.ask(), {"filters": {"choice": [15, 30]}, "lr": {"loguniform": [1e-4, 1e-1]}})
        >>> sorted(values)
        ['filters', 'lr']
    """
    values: dict[str, Any] = {}
    for name, dist in distributions(space).items():
        if isinstance(dist, CategoricalDistribution):
            values[name] = trial.suggest_categorical(name, dist.choices)
        elif isinstance(dist, IntDistribution):
            values[name] = trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            values[name] = trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    return values


def grid_values(space: dict[str, dict[str, Any]]) -> dict[str, list[Any]]:
    """The value lists a grid search enumerates; a continuous or integer range is a :class:`ConfigError`."""
    out: dict[str, list[Any]] = {}
    for name, spec in space.items():
        dist = to_distribution(name, spec)
        if not isinstance(dist, CategoricalDistribution):
            kind = _kind(name, spec)
            raise ConfigError(
                f"params.{name}: a grid search tries every combination of listed values, but "
                f"{{{kind}: {spec[kind]}}} is a range with no list of values to enumerate",
                hint=f"list the values to try, e.g. params.{name}: {{grid: {_example_grid(dist)}}}, "
                     "or use search.strategy: random / tpe with search.trials: N")
        out[name] = list(dist.choices)
    return out


def is_grid(space: dict[str, dict[str, Any]]) -> bool:
    """True when every range of ``space`` lists its values (so a grid can enumerate it)."""
    try:
        grid_values(space)
    except ConfigError:
        return False
    return True


def grid_size(space: dict[str, dict[str, Any]]) -> int:
    """How many combinations a full grid over ``space`` has."""
    return math.prod(len(values) for values in grid_values(space).values())


def _example_grid(dist: BaseDistribution) -> list[Any]:
    """Three values spanning a range, to show in an error's hint."""
    assert isinstance(dist, FloatDistribution | IntDistribution)
    low, high = dist.low, dist.high
    if dist.log:
        points = [low, math.sqrt(low * high), high]
    else:
        points = [low, (low + high) / 2, high]
    if isinstance(dist, IntDistribution):
        return sorted({int(round(p)) for p in points})
    return [float(f"{p:.2g}") for p in points]


__all__ = ["distributions", "grid_size", "grid_values", "suggest", "to_distribution"]
