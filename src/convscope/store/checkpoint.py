"""Weights and resumable training state as safetensors: loading never unpickles code.

``best.safetensors`` holds only the model's weights. ``last.safetensors`` also holds the optimizer
and scheduler state and the random generators, flattened into named tensors, with everything that
is not a tensor (hyper-parameters, epoch counters) as JSON in the file's metadata.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from convscope.store.faults import corrupt_checkpoint


def _atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    # write then rename: a kill mid-write never leaves a truncated checkpoint behind
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)
    except SafetensorError as exc:  # safetensors wraps the OS error as text: "... (os error 28)"
        tmp.unlink(missing_ok=True)  # a half-written file only holds the space a full disk needs
        code = re.search(r"os error (\d+)", str(exc))
        if code:
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1))), str(path)) from None
        raise
    os.replace(tmp, path)


def save_weights(model: torch.nn.Module, path: str | Path) -> None:
    _atomic_save(dict(model.state_dict()), Path(path), {"format": "convscope-weights"})


def _read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """(metadata, tensors) of a safetensors file; a StorageError naming it when it is truncated or corrupt."""
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
        return metadata, load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:  # OSError: a short read of a truncated file
        raise corrupt_checkpoint(path, exc) from None


def verify(path: str | Path) -> None:
    """Raise the StorageError :func:`load_state` would, without touching a model (checked before a resume)."""
    _read(Path(path))


def load_weights(model: torch.nn.Module, path: str | Path) -> torch.nn.Module:
    _, state = _read(Path(path))
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:  # the file holds another model's weights
        raise corrupt_checkpoint(Path(path), exc) from None
    return model


def _split_state(prefix: str, obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Move tensors out of a nested state dict into ``tensors``; return the JSON-able rest."""
    if isinstance(obj, torch.Tensor):
        key = f"{prefix}"
        tensors[key] = obj
        return {"__tensor__": key}
    if isinstance(obj, dict):
        return {"__dict__": [[_state_key(k), _split_state(f"{prefix}.{k}", v, tensors)] for k, v in obj.items()]}
    if isinstance(obj, list | tuple):
        return [_split_state(f"{prefix}.{i}", v, tensors) for i, v in enumerate(obj)]
    return obj


def _state_key(k: Any) -> Any:
    return {"__int__": k} if isinstance(k, int) else k


def _join_state(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict) and "__tensor__" in obj:
        return tensors[obj["__tensor__"]]
    if isinstance(obj, dict) and "__dict__" in obj:
        return {(k["__int__"] if isinstance(k, dict) else k): _join_state(v, tensors) for k, v in obj["__dict__"]}
    if isinstance(obj, list):
        return [_join_state(v, tensors) for v in obj]
    return obj


def save_state(path: str | Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               scheduler: Any | None, epoch: int, extra: dict[str, Any]) -> None:
    """Everything needed to continue training after ``epoch`` as if it had never stopped."""
    tensors: dict[str, torch.Tensor] = {f"model.{k}": v for k, v in model.state_dict().items()}
    layout = {
        "optimizer": _split_state("optimizer", optimizer.state_dict(), tensors),
        "scheduler": _split_state("scheduler", scheduler.state_dict(), tensors) if scheduler else None,
        "extra": _split_state("extra", extra, tensors),
        "epoch": epoch,
    }
    _atomic_save(tensors, Path(path), {"format": "convscope-state", "layout": json.dumps(layout)})


def load_state(path: str | Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
               scheduler: Any | None) -> tuple[int, dict[str, Any]]:
    """Restore a :func:`save_state` file; returns (epoch, extra)."""
    metadata, tensors = _read(Path(path))
    try:
        layout = json.loads(metadata["layout"])
        model.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        optimizer.load_state_dict(_join_state(layout["optimizer"], tensors))
        if scheduler is not None and layout["scheduler"] is not None:
            scheduler.load_state_dict(_join_state(layout["scheduler"], tensors))
        return int(layout["epoch"]), _join_state(layout["extra"], tensors)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:  # a valid file that is not this run's state
        raise corrupt_checkpoint(Path(path), exc) from None
