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

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from convscope.api import Run, load_run
from convscope.insight.plots import Curve, plot_overlay


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
    """``{"a": {"b": [1, {"c": 2}]}}`` → ``{"a.b[0]": 1, "a.b[1].c": 2}``: a layer list differs per field."""
    out: dict[str, Any] = {}
    if isinstance(node, dict):
        for key, value in node.items():
            out.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(node, list) and node:
        for i, value in enumerate(node):
            out.update(_flatten(value, f"{prefix}[{i}]"))
    else:
        out[prefix] = node
    return out


def _text(value: Any) -> str:
    return "-" if value is None else str(value)


def config_differences(runs: list[Run]) -> list[tuple[str, list[str]]]:
    """Dotted keys whose values differ between the runs' resolved configs (``model.layers[0].conv.kernel``)."""
    flat = [_flatten(r.config.to_dict()) for r in runs]
    keys = sorted({k for f in flat for k in f})
    return [(k, [_text(f.get(k)) for f in flat]) for k in keys if len({_text(f.get(k)) for f in flat}) > 1]


def _metrics(runs: list[Run]) -> list[tuple[str, list[Any]]]:
    best = [next((h for h in r.history if h["epoch"] == r.best_epoch), {}) for r in runs]
    rows: list[tuple[str, list[Any]]] = [("status", [r.status for r in runs]),
                                         ("epochs", [len(r.history) for r in runs]),
                                         ("best epoch", [r.best_epoch for r in runs])]
    val_keys = sorted({k for b in best for k in b if k.startswith("val_")}, key=lambda k: (k != "val_loss", k))
    rows += [(f"{k} (best epoch)", [b.get(k) for b in best]) for k in val_keys]
    test_keys = sorted({k for r in runs for k in r.test_metrics}, key=lambda k: (k != "test_loss", k))
    rows += [(k, [r.test_metrics.get(k) for r in runs]) for k in test_keys]
    rows.append(("verdicts", ["; ".join(v["short"] for v in r.info.diagnosis
                                        if v.get("severity") in ("error", "warning")) or "healthy" for r in runs]))
    return rows


def compare(run_ids: list[int | str], *, home: str | Path | None = None, out: str | Path | None = None) -> Comparison:
    """Compare stored runs; writes the overlaid curves to ``out`` (default ``<home>/compare-<ids>.png``)."""
    runs = [load_run(i, home=home) for i in run_ids]
    path = Path(out) if out is not None else runs[0].home / f"compare-{'-'.join(str(r.id) for r in runs)}.png"
    curves = plot_overlay([Curve(f"run {r.id} {r.name}", r.history) for r in runs], path,
                          title="runs " + ", ".join(str(r.id) for r in runs), train=True)
    return Comparison(runs, config_differences(runs), _metrics(runs), curves)


__all__ = ["Comparison", "compare", "config_differences"]
