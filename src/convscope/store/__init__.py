"""The run store (SQLite or PostgreSQL, one folder per run under the artifact root) and safetensors checkpoints."""

from convscope.store.checkpoint import load_state, load_weights, save_state, save_weights
from convscope.store.db import FINISHED, Store, default_home
from convscope.store.run_info import RunInfo
from convscope.store.status import RunStatus

__all__ = ["FINISHED", "RunInfo", "RunStatus", "Store", "default_home", "load_state", "load_weights", "save_state", "save_weights"]
