"""A stored run as Python sees it: :class:`Run` and :func:`load_run`, without importing torch.

Listing and showing runs (``convscope runs``, ``convscope show``, a notebook cell) reads the store only;
torch is imported when ``run.model`` is first asked for.

Example:
    >>> import tempfile
    >>> from convscope.store import Store
    >>> store = Store(tempfile.mkdtemp())
    >>> run_id = store.create_run(name="demo", config_yaml="name: demo\\nmodel: {layers: [flatten, {dense: 2}]}\\n",
    ...                           seed=0, env={})
    >>> store.log_epoch(run_id, 1, {"train_loss": 0.7, "val_loss": 0.6, "val_accuracy": 0.75}, 0.1,
    ...                 best_epoch=1, best_value=0.6)
    >>> _ = store.finish_run(run_id, status="completed", reason="ran all 1 epochs", test={"test_accuracy": 0.7})
    >>> run = load_run(run_id, home=store.home)
    >>> run.name, run.best_epoch, "test_accuracy" in run._repr_html_()
    ('demo', 1, True)
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from convscope import formatting as fmt
from convscope.config import Config, load_config
from convscope.errors import ConvscopeError
from convscope.store.db import Store
from convscope.store.run_info import RunInfo

if TYPE_CHECKING:
    import torch


@dataclass
class Run:
    """A stored run: its config, per-epoch history and test metrics; ``model`` loads the best weights.

    In Jupyter a ``Run`` shows itself as HTML: status, the best epoch, test metrics, verdicts and its
    learning curves.
    """

    id: int
    name: str
    status: str
    reason: str | None
    config: Config
    history: list[dict[str, Any]]
    test_metrics: dict[str, float]
    best_epoch: int | None
    dir: Path
    home: Path
    notes: list[str] = field(default_factory=list)
    info: RunInfo = field(default_factory=RunInfo)

    @cached_property
    def model(self) -> torch.nn.Module:
        """The model with the best-validation epoch's weights (what the test metrics were measured on)."""
        from convscope.models import build_model
        from convscope.store.checkpoint import load_weights

        shape = self.info.input_shape or self.config.model.input
        model = build_model(self.config.model, tuple(shape), num_classes=self.info.num_classes)
        weights = self.dir / "best.safetensors"
        if not weights.exists():
            raise ConvscopeError(f"run {self.id} has no stored weights ({weights})",
                                 hint="it stopped before its first epoch finished")
        return load_weights(model, weights).eval()

    def predict(self, inputs: str | Path | Sequence[str | Path], *, per: str = "record",
                sample_rate: float | None = None, annotations: str | None = None) -> list[dict[str, Any]]:
        """Predict on new files with the run's own preprocessing, model and decision threshold.

        Args:
            inputs: WFDB records (``.hea`` or a folder), CSV/npz rows of signals, UCR ``.tsv`` files, images or
                folders of images: the kind the run was trained on.
            per: ``record`` (one row per record, its windows/beats averaged as in evaluation) or ``sample``.
            sample_rate: Hz of inputs whose files do not say it (CSV rows).
            annotations: runs trained with ``labels: annotations``: cut beats at this annotator's beats
                (e.g. ``atr``) instead of R peaks NeuroKit2 detects.

        Returns:
            One dict per record: ``input``, ``predicted``, ``p_<class>``..., ``n_<windows|beats|...>``;
            ``pandas.DataFrame(rows)`` makes it a table. Same code path as ``convscope predict``.
        """
        from convscope.inference.predict import predict_inputs

        paths = [inputs] if isinstance(inputs, str | Path) else list(inputs)
        return predict_inputs(self, paths, per=per, sample_rate=sample_rate,  # type: ignore[arg-type]
                              annotations=annotations)

    def _repr_html_(self) -> str:
        """Jupyter's rich display: the numbers and verdicts a user checks first, and the curves."""
        esc = html.escape
        best = next((h for h in self.history if h["epoch"] == self.best_epoch), None)
        rows = [("status", f"{self.status} ({self.reason or '-'})"),
                ("epochs", str(len(self.history)))]
        if best is not None:
            monitor = self.config.train.monitor
            rows.append((f"best epoch (by {monitor})", f"{self.best_epoch}: " + ", ".join(
                f"{k} {fmt.metric(k, v)}" for k, v in best.items() if k.startswith("val_"))))
        rows += [(k, fmt.metric(k, v)) for k, v in (self.test_metrics or {}).items()]
        table = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
        verdicts = "".join(f"<li><b>{esc(v.get('severity', ''))}</b>: {esc(v.get('text', ''))}</li>"
                           for v in self.info.diagnosis or [])
        curves = self.dir / "curves.png"
        image = (f"<img style='max-width:100%' src='data:image/png;base64,"
                 f"{base64.b64encode(curves.read_bytes()).decode()}'/>" if curves.is_file() else "")
        return (f"<div><h4>run {self.id}: {esc(self.name)}</h4><table>{table}</table>"
                + (f"<ul>{verdicts}</ul>" if verdicts else "") + image + "</div>")


def load_run(run_id: int | str, *, home: str | Path | None = None, _store: Store | None = None) -> Run:
    """A stored run by id."""
    store = _store or Store(home)
    row = store.run(run_id)
    cfg = load_config(yaml.safe_load(row["config"]), source=f"run {row['id']}")
    history = store.epochs(row["id"])
    return Run(id=row["id"], name=row["name"], status=row["status"], reason=row["reason"], config=cfg,
               history=history, test_metrics=row["test"], best_epoch=row["best_epoch"],
               dir=store.fetch_run_dir(row["id"]), home=store.home, notes=row["notes"], info=RunInfo.from_dict(row["info"]))


__all__ = ["Run", "load_run"]
