"""``convscope compare``: what differs between runs' configs, how their metrics compare, their curves overlaid.

Example:
    >>> import convscope
    >>> config = {"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
    ...           "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}}
    >>> ids = [convscope.run(config, overrides=[f"train.optimizer.lr={lr}"]).id for lr in (0.001, 0.01, 0.1)]
    >>> c = compare(ids)
    >>> c.differences[0]
    ('train.optimizer.lr', ['0.001', '0.01', '0.1'])
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convscope.insight.diagnose import verdict_label
from convscope.stored_run import Run, load_run


@dataclass
class Comparison:
    """Runs side by side.

    Args:
        runs: the runs, in the order asked.
        differences: (dotted config key, one value per run) where the values are not all equal.
        metrics: (name, one value per run): status, epochs, best epoch, best-epoch val metrics, test metrics,
            verdicts.
        curves: the overlaid learning curves PNG.
    """

    runs: list[Run]
    differences: list[tuple[str, list[str]]]
    metrics: list[tuple[str, list[Any]]]
    curves: Path


def _flatten(node: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1, "c": {"d": 2}}}`` → ``{"a.b": 1, "a.c.d": 2}``; lists stay whole values."""
    out: dict[str, Any] = {}
    if isinstance(node, dict) and node:
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = node
    return out


def _text(value: Any) -> str:
    if value is None:
        return "-"
    return value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))


def _layer_differences(runs: list[Run]) -> list[tuple[str, list[str]]]:
    """Layers matched by structure, not position: each run's layer list is aligned with the first run's
    (difflib's longest matching blocks), so one inserted dropout is one row, not every layer after it."""
    stacks = [[_text(layer) for layer in r.config.to_dict()["model"].get("layers") or []] for r in runs]
    first = stacks[0]
    rows: dict[str, list[str]] = {}
    for index, other in enumerate(stacks[1:], start=1):
        matcher = difflib.SequenceMatcher(a=first, b=other, autojunk=False)
        for tag, a0, a1, b0, b1 in matcher.get_opcodes():
            if tag == "equal":
                continue
            for k in range(max(a1 - a0, b1 - b0)):
                where = f"model.layers[{a0 + k}]" if a0 + k < a1 else f"model.layers (after [{a0 - 1}])"
                row = rows.setdefault(where, [first[a0 + k] if a0 + k < a1 else "-"] + ["" for _ in runs[1:]])
                row[index] = other[b0 + k] if b0 + k < b1 else "-"
    for row in rows.values():  # a run that matched the first run's layer shows that layer
        for i in range(1, len(row)):
            row[i] = row[i] or row[0]
    return list(rows.items())


def config_differences(runs: list[Run]) -> list[tuple[str, list[str]]]:
    """What differs between the runs' configs, as ``(dotted key, one value per run)``.

    Only fields some run set away from its default are compared (a cosine schedule's unused ``gamma``
    is nobody's choice); a run that left a compared field at its default shows that default. Layers are
    compared by structure (:func:`_layer_differences`).
    """
    chosen = [_flatten(r.config.model_dump(mode="json", exclude_defaults=True, exclude_none=True)) for r in runs]
    full = [_flatten(r.config.to_dict()) for r in runs]
    keys = sorted({k for c in chosen for k in c if not k.startswith("model.layers")})
    rows = []
    for key in keys:
        values = [_text(c[key] if key in c else f.get(key)) for c, f in zip(chosen, full, strict=True)]
        if len(set(values)) > 1:
            rows.append((key, values))
    return rows + _layer_differences(runs)


def _metrics(runs: list[Run]) -> list[tuple[str, list[Any]]]:
    best = [next((h for h in r.history if h["epoch"] == r.best_epoch), {}) for r in runs]
    rows: list[tuple[str, list[Any]]] = [("status", [r.status for r in runs]),
                                         ("epochs", [len(r.history) for r in runs]),
                                         ("best epoch", [r.best_epoch for r in runs])]
    val_keys = sorted({k for b in best for k in b if k.startswith("val_")}, key=lambda k: (k != "val_loss", k))
    rows += [(f"{k} (best epoch)", [b.get(k) for b in best]) for k in val_keys]
    test_keys = sorted({k for r in runs for k in r.test_metrics}, key=lambda k: (k != "test_loss", k))
    rows += [(k, [r.test_metrics.get(k) for r in runs]) for k in test_keys]
    rows.append(("verdicts", [verdict_label(r.info.diagnosis) for r in runs]))
    return rows


def compare(run_ids: list[int | str], *, home: str | Path | None = None, out: str | Path | None = None) -> Comparison:
    """Compare stored runs; writes the overlaid curves to ``out`` (default ``<home>/compare-<ids>.png``)."""
    from convscope.insight.plots import Curve, plot_overlay  # the pictures need torch; the diff does not

    runs = [load_run(i, home=home) for i in run_ids]
    path = Path(out) if out is not None else runs[0].home / f"compare-{'-'.join(str(r.id) for r in runs)}.png"
    curves = plot_overlay([Curve(f"run {r.id} {r.name}", r.history) for r in runs], path,
                          title="runs " + ", ".join(str(r.id) for r in runs), train=True)
    return Comparison(runs, config_differences(runs), _metrics(runs), curves)


__all__ = ["Comparison", "compare", "config_differences"]
