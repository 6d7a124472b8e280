"""The experiment config: schema, safe YAML loading, ``${param}`` resolution and ``--set`` overrides.

A config is the user's language (see DESIGN.md). It is validated by pydantic; every failure becomes
one :class:`~convscope.errors.ConfigError` line naming the file, the field and the fix.

Example:
    >>> cfg = load_config({"name": "demo", "data": {"source": "builtin:digits"},
    ...                    "params": {"lr": 0.01}, "model": {"layers": ["flatten", {"dense": 10}]},
    ...                    "train": {"optimizer": {"name": "sgd", "lr": "${lr}"}}})
    >>> cfg.train.optimizer.lr
    0.01
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from convscope.config_errors import explain
from convscope.config_limits import load_yaml_text, read_config_text
from convscope.config_overrides import apply_overrides  # noqa: F401 (re-exported: convscope.config.apply_overrides)
from convscope.errors import ConfigError

# The keys that make a ``params`` entry a search range rather than a fixed value.
RANGE_KEYS = ("grid", "choice", "uniform", "loguniform", "int")


class _ClosedSection(BaseModel):
    """A config section whose fields are all declared: an unknown key is an error (a typo, not a setting)."""

    model_config = ConfigDict(extra="forbid")


def registered(name: str, registry: Any) -> str:
    """``name`` when ``registry`` (a :class:`convscope.registry.Registry`) holds it, else a did-you-mean ValueError.

    The validators import their registry inside the function, at validation time: the registries'
    entries import this module for their config types.
    """
    if name not in registry:
        try:
            registry.entry(name)
        except ConfigError as exc:
            raise ValueError(f"unknown {registry.kind} '{name}'; {exc.hint}") from None
    return name


class SplitConfig(_ClosedSection):
    """How a source's training set is divided (when the source has no split of its own)."""

    val: float = Field(0.1, ge=0.0, lt=1.0)  # fraction of train held out for validation (the notebook's 10%)
    test: float | None = Field(None, ge=0.0, lt=1.0)  # None: use the source's own test set, else carve this
    group_by: str | None = None  # e.g. "patient": no group appears in two splits (no leakage)
    stratify: bool = True  # keep class proportions in every split
    kfold: int | None = Field(None, ge=2)  # k-fold cross-validation instead of one split
    fold: int = Field(0, ge=0)  # which fold is validation when kfold is set
    seed: int | None = None  # seed of the split alone (default: the experiment's); fix it to compare
    # model seeds on one split, e.g. for an ensemble of runs that must share a test set
    source_val: Literal["keep", "merge"] = "keep"  # merge: fold the source's own validation set into train
    # and carve `val` from all of it (Keras' validation_split on MNIST's 60k, as the seed notebook does)
    # Record-level splits (convscope.data.record_splits): these records' samples train / test, validation is
    # carved from the training records patient-wise; a preset names both lists (e.g. mitbih-ds1-ds2).
    train_records: list[str | int] | None = None
    test_records: list[str | int] | None = None
    preset: str | None = None
    by: Literal["record", "beat"] = "record"  # beat: pool those records' beats, split at random (leaks)


class DataConfig(BaseModel):
    """Where the data comes from. Source-specific options (e.g. ECG ``leads``) are validated by the source."""

    model_config = ConfigDict(extra="allow")

    source: str = "mnist"  # mnist | fashion-mnist | cifar10 | npz | folder | ecg-wfdb | ecg-beats | builtin:*
    path: str | None = None  # the user's files; None: the source's cached/built-in copy
    split: SplitConfig = Field(default_factory=SplitConfig)
    limit: int | None = Field(None, ge=1)  # at most N samples of train and of the source's own val/test
    # (a stratified subset: quick tries and smoke tests)
    train_size: int | float | None = None  # shrink only the training split, after val/test are set aside:
    # N samples or a fraction in (0, 1]; stratified and nested (the 500 are inside the 1,000), so a search
    # over it draws a learning curve against data size on one fixed validation set (data/train_size.py)
    augment: dict[str, Any] | None = None  # train-time augmentation, see convscope.data.augment

    @field_validator("train_size", mode="before")
    @classmethod
    def _count_or_fraction(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("give a number of samples (e.g. 500) or a fraction (e.g. 0.1), not true/false")
        if isinstance(value, int) and value < 1:
            raise ValueError(f"a sample count must be at least 1 (got {value})")
        if isinstance(value, float) and not 0 < value <= 1:
            raise ValueError(f"a fraction must be in (0, 1] (got {value}); write a whole number for a sample count")
        return value

    @property
    def options(self) -> dict[str, Any]:
        """The source-specific fields the user gave (everything not declared above)."""
        return dict(self.model_extra or {})


class OptimizerConfig(_ClosedSection):
    name: str = "adam"  # a name in convscope.train.optimizers.OPTIMIZERS: sgd | adam | adamw
    lr: float = Field(1e-3, gt=0)
    momentum: float = Field(0.0, ge=0.0, lt=1.0)  # SGD only
    nesterov: bool = False  # SGD only; needs momentum > 0
    weight_decay: float = Field(0.0, ge=0.0)  # L2 penalty (decoupled for adamw)
    betas: tuple[float, float] = (0.9, 0.999)  # Adam/AdamW

    @field_validator("name")
    @classmethod
    def _known_name(cls, value: str) -> str:
        from convscope.train.optimizers import OPTIMIZERS

        return registered(value, OPTIMIZERS)

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> OptimizerConfig:
        if self.nesterov and self.momentum <= 0:
            raise ValueError("nesterov: true needs momentum > 0 (e.g. momentum: 0.9)")
        return self


class ScheduleConfig(_ClosedSection):
    name: str  # a name in convscope.train.schedules.SCHEDULES: step | cosine | onecycle | plateau
    step_size: int = Field(10, ge=1)  # step: epochs between decays
    gamma: float = Field(0.1, gt=0)  # step: decay factor
    max_lr: float | None = None  # onecycle: peak lr (default 10x the optimizer's)
    factor: float = Field(0.1, gt=0, lt=1)  # plateau: decay factor
    patience: int = Field(2, ge=0)  # plateau: epochs without val_loss improvement
    min_lr: float = Field(0.0, ge=0)

    @field_validator("name")
    @classmethod
    def _known_name(cls, value: str) -> str:
        from convscope.train.schedules import SCHEDULES

        return registered(value, SCHEDULES)


class EarlyStoppingConfig(_ClosedSection):
    monitor: str = "val_loss"
    patience: int = Field(5, ge=0)
    min_delta: float = Field(0.0, ge=0)
    mode: Literal["auto", "min", "max"] = "auto"  # auto: min for *loss, max otherwise


class TrainConfig(_ClosedSection):
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(128, ge=1)
    eval_batch_size: int = Field(1024, ge=1)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig | None = None
    loss: Literal["cross_entropy", "bce"] = "cross_entropy"  # bce: one sigmoid output unit, binary labels
    class_weight: Literal["balanced"] | dict[str, float] | list[float] | None = None  # or {balanced: POWER}
    sampler: Literal["balanced"] | None = None  # draw training batches with equal class probability
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    metrics: list[str] = Field(default_factory=lambda: ["accuracy"])
    monitor: str = "val_loss"  # which validation metric picks the best epoch (checkpoint, test weights)
    early_stopping: EarlyStoppingConfig | None = None
    threshold: float | Literal["youden"] = 0.5  # binary tasks: decision threshold (youden: chosen on val)
    health: bool = True  # record per-layer gradient/activation statistics each epoch
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    # torch threads. auto: the count whose steps run fastest now, probed while training (train/adaptive_threads.py);
    # None: the process's own (torch's default: one per physical core)
    threads: Annotated[int, Field(ge=1)] | Literal["auto"] | None = "auto"
    # bf16/fp16: autocast convs/matmuls in training and evaluation (weights, optimizer, loss: float32; fp16 on GPUs,
    # with a loss scaler); auto: bf16 for conv nets on a CPU with native bf16 (AMX, AVX-512 BF16), else fp32
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    channels_last: bool | Literal["auto"] = "auto"  # NHWC for conv nets (1D ones as 1-pixel-high images)
    compile: bool = False  # torch.compile the training forward (10-25 s start; for long runs)
    deterministic: bool = True  # GPU: cuDNN's deterministic algorithms (false: its fastest); docs/performance.md
    checkpoint_every: int = Field(1, ge=1)  # epochs between resumable checkpoints
    log: list[Any] = Field(default_factory=list)  # live loggers, e.g. [tensorboard, {mlflow: {uri: ...}}]

    @field_validator("class_weight", mode="before")
    @classmethod
    def _weight_form(cls, value: Any) -> Any:
        from convscope.train.class_weights import check_form

        return check_form(value)

    @field_validator("log")
    @classmethod
    def _known_loggers(cls, value: list[Any]) -> list[Any]:
        from convscope.train.loggers import parse_log

        parse_log(value)
        return value

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, value: list[str]) -> list[str]:
        from convscope.train.metrics import check_names

        try:
            check_names(value)
        except ConfigError as exc:  # pydantic wants a ValueError; the field is named by load_config
            message = exc.message.removeprefix("train.metrics: ")
            raise ValueError(f"{message}; {exc.hint}" if exc.hint else message) from None
        return value


class ModelConfig(BaseModel):
    """The network: a list of layers, or a zoo ``preset`` plus overrides (extra fields go to the preset)."""

    model_config = ConfigDict(extra="allow")

    input: list[int] | None = None  # (C, L) or (C, H, W); taken from the data when absent
    layers: list[Any] | None = None
    preset: str | None = None

    @model_validator(mode="after")
    def _layers_or_preset(self) -> ModelConfig:
        if self.layers is None and self.preset is None:
            raise ValueError("give model.layers (a list of layers) or model.preset (a zoo name)")
        if self.model_extra and self.preset is None:
            unknown = next(iter(self.model_extra))
            raise ValueError(f"unknown field '{unknown}' (only a model.preset takes overrides)")
        return self


class ObjectiveConfig(_ClosedSection):
    metric: str = "val_loss"
    direction: Literal["minimize", "maximize"] | None = None  # None: minimize *loss, maximize otherwise

    @property
    def resolved_direction(self) -> str:
        from convscope.train.metrics import lower_is_better

        if self.direction:
            return self.direction
        return "minimize" if lower_is_better(self.metric) else "maximize"


class SearchConfig(_ClosedSection):
    strategy: str = "random"  # in convscope.tuning.samplers.SAMPLERS: grid | random | tpe
    trials: int | None = Field(None, ge=1)  # random/tpe; grid runs the full product
    pruner: str = "none"  # in convscope.tuning.pruners.PRUNERS: none | median | asha | hyperband
    objective: ObjectiveConfig = Field(default_factory=ObjectiveConfig)
    workers: int = Field(1, ge=1)
    backend: str = "local"  # in convscope.tuning.backends.BACKENDS: local | ray
    min_epochs: int = Field(1, ge=1)  # pruners never stop a trial before this many epochs
    name: str | None = None  # the search's name in the store (--name); None: "<config name>-<date-time>"
    threads_per_worker: int | None = Field(None, ge=1)  # torch threads per worker; None: train.threads,
    # else cores // workers (the search decides each trial's train.threads)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        from convscope.tuning.samplers import SAMPLERS

        return registered(value, SAMPLERS)

    @field_validator("pruner")
    @classmethod
    def _known_pruner(cls, value: str) -> str:
        from convscope.tuning.pruners import PRUNERS

        return registered(value, PRUNERS)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from convscope.tuning.backends import BACKENDS

        return registered(value, BACKENDS)


class Config(_ClosedSection):
    name: str = "experiment"
    seed: int = 0
    data: DataConfig = Field(default_factory=DataConfig)
    params: dict[str, Any] = Field(default_factory=dict)
    model: ModelConfig
    train: TrainConfig = Field(default_factory=TrainConfig)
    search: SearchConfig | None = None

    _raw: dict[str, Any] | None = PrivateAttr(None)  # as written (params unresolved), for search trials
    _source: str = PrivateAttr("<config>")  # the file (or "run 5") errors found later name, e.g. a layer's shapes

    @property
    def source(self) -> str:
        """Where the config came from, as errors name it: its path, ``<config>`` for a dict, ``run ID``."""
        return self._source

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


# ---------------------------------------------------------------------------------------------
# Loading


def missing_config_hint(path: Path) -> str:
    """A hint for a config path that does not exist, naming only files that do: a near name in the
    path's folder (or in ``examples/``), else the packaged default that ``convscope run`` alone runs."""
    for folder in (path.parent, Path("examples")):
        names = sorted(p.name for p in folder.glob("*.y*ml")) if folder.is_dir() else []
        if near := difflib.get_close_matches(path.name, names, n=1, cutoff=0.6):
            return f"did you mean {folder / near[0]}?"
    return "check the path; `convscope run` with no config runs the packaged default (a ConvNet on MNIST)"


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config with the safe loader; a clear error for a missing or malformed file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file", hint=missing_config_hint(path))
    try:
        raw = load_yaml_text(read_config_text(path), source=str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{where}: invalid YAML: {problem}",
                          hint="check indentation and that lists/dicts are closed") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a config must be a mapping (name:, data:, model:, train: ...), "
                          f"got {type(raw).__name__}")
    return raw


def is_range(value: Any) -> bool:
    """True when a ``params`` value is a search range like ``{grid: [...]}`` or ``{loguniform: [a, b]}``."""
    return isinstance(value, dict) and any(key in value for key in RANGE_KEYS)


_REF = re.compile(r"\$\{([^}]*)\}")


def resolve_params(node: Any, params: dict[str, Any], *, path: str = "", source: str = "<config>") -> Any:
    """Replace every ``${name}`` in ``node`` by ``params[name]``.

    A string that is exactly ``${name}`` takes the parameter's value with its type (int stays int);
    a reference inside a longer string is interpolated as text.
    """
    if isinstance(node, dict):
        return {k: resolve_params(v, params, path=f"{path}.{k}" if path else str(k), source=source)
                for k, v in node.items()}
    if isinstance(node, list):
        return [resolve_params(v, params, path=f"{path}[{i}]", source=source) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def lookup(name: str) -> Any:
        name = name.strip()
        if name not in params:
            close = difflib.get_close_matches(name, list(params), n=1)
            hint = (f"did you mean '${{{close[0]}}}'?" if close
                    else f"define it under params: (e.g. params: {{{name}: 0.01}})")
            raise ConfigError(f"{source}: {path}: '${{{name}}}' is not defined in params", hint=hint)
        value = params[name]
        if is_range(value):
            raise ConfigError(
                f"{source}: params.{name} is a search range ({_flow_yaml(value)}), but this run needs one value",
                hint=f"run it with `convscope search`, or fix it: --set params.{name}=VALUE")
        return value

    whole = _REF.fullmatch(node.strip())
    if whole:
        return lookup(whole.group(1))
    return _REF.sub(lambda m: str(lookup(m.group(1))), node)


def _flow_yaml(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True).strip()


def load_config(config: str | Path | dict[str, Any] | Config, overrides: list[str] | None = None, *,
                source: str | None = None) -> Config:
    """Load, override, resolve and validate a config.

    Args:
        config: a YAML path, a dict in the same shape, or an already loaded :class:`Config`.
        overrides: ``["train.epochs=5", "params.lr=0.01"]``, applied before ``${param}`` resolution.
        source: the name used in error messages (defaults to the path).
    """
    if isinstance(config, Config):
        if not overrides:
            return config
        source = source or config.source
        config = config._raw if config._raw else config.to_dict()
    if isinstance(config, str | Path):
        source = source or str(config)
        raw = read_yaml(config)
    elif isinstance(config, dict):
        raw = copy.deepcopy(config)
        source = source or "<config>"
    else:
        raise ConfigError(f"expected a config path or dict, got {type(config).__name__}")
    apply_overrides(raw, overrides, source=source)
    unresolved = copy.deepcopy(raw)
    params = raw.get("params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{source}: params: must be a mapping of name: value")
    resolved = {k: (v if k == "params" else resolve_params(v, params, path=k, source=source))
                for k, v in raw.items()}
    if "model" not in resolved:
        # the default experiment's model keeps `convscope run data.source=...` one line away
        raise ConfigError(f"{source}: model: required section is missing",
                          hint="add model: {layers: [...]} or model: {preset: keras-mnist-cnn}")
    try:
        cfg = Config.model_validate(resolved)
    except ValidationError as exc:
        raise explain(exc, file=source, section="", schema=Config) from None
    cfg._raw = unresolved
    cfg._source = source
    return cfg
