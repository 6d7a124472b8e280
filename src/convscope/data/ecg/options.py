"""The options of every ECG source, as pydantic models (``data:`` fields beside ``source`` and ``path``).

:class:`SignalOptions` are the signal pipeline's (``pipeline.py``), shared by every signal source and
``builtin:ecg-synth``; each reader adds its own fields. :func:`parse_options` validates ``cfg.options``
and turns the first pydantic error into one :class:`~convscope.errors.ConfigError` line.

Example:
    >>> from convscope.config import DataConfig
    >>> parse_options(SignalOptions, DataConfig(source="ecg-npz", leads=["II"], window_s=5)).leads
    ['ii']
    >>> parse_options(SignalOptions, DataConfig(source="ecg-npz", window=5))
    Traceback (most recent call last):
    ...
    convscope.errors.ConfigError: data.window: unknown option for source 'ecg-npz'
      hint: did you mean 'window_s'? options: aggregate, baseline, beat_s, beats, filter, leads, normalize, resample_hz, stride_s, window_s
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from convscope.config import DataConfig
from convscope.config_errors import explain
from convscope.data.ecg.beat_shape import BEAT_FEATURES
from convscope.data.ecg.leads import AnyOf, lead_label, lead_spec
from convscope.data.ecg.rr_intervals import RR_TABLE


class SignalOptions(BaseModel):
    """The pipeline's options, shared by every ECG signal source (and ``builtin:ecg-synth``)."""

    model_config = ConfigDict(extra="forbid")

    leads: list[str | AnyOf] | None = None  # leads to keep, in this order, each a name or {any_of: [names]}
    # (the first of those the record has: leads.py); None: every lead of the record
    resample_hz: int | None = Field(None, gt=0)  # e.g. 1000 -> 250 Hz; None: keep the record's rate
    filter: tuple[float | None, float | None] | None = None  # band-pass [low, high] Hz; None edge: one-sided
    baseline: bool = False  # remove baseline wander (median filters, de Chazal et al. 2004)
    window_s: float | None = Field(None, gt=0)  # slice records into windows of this many seconds
    stride_s: float | None = Field(None, gt=0)  # start-to-start distance of windows; None: window_s
    normalize: Literal["window", "record", "none"] = "window"  # z-score each window / each record / not
    beats: bool = False  # cut beats centred on detected R peaks out of each window
    beat_s: float = Field(0.8, gt=0)  # beat length: 0.4 s either side of R covers P to T at rest
    aggregate: Literal["mean", "none"] | None = None  # evaluation: average a record's window predictions;
    # None: "mean" when a record yields several samples (windows or beats), else "none"

    @field_validator("leads", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            raise ValueError("give at least one lead, e.g. leads: [ii] or [mlii, {any_of: [v1, v2]}]")
        return [lead_spec(v) for v in value]

    @model_validator(mode="after")
    def _check(self) -> SignalOptions:
        if self.filter is not None:
            low, high = self.filter
            if low is None and high is None:
                raise ValueError("filter: give [low, high] Hz, e.g. [0.5, 40] (null for a one-sided filter)")
            if (low is not None and low <= 0) or (high is not None and high <= 0):
                raise ValueError("filter: cut-off frequencies must be > 0 Hz")
            if low is not None and high is not None and low >= high:
                raise ValueError(f"filter: low cut {low} Hz must be below high cut {high} Hz")
        if self.stride_s is not None and self.window_s is None:
            raise ValueError("stride_s needs window_s (the window length), e.g. window_s: 5, stride_s: 2.5")
        if self.beats and self.window_s is not None and self.beat_s > self.window_s:
            raise ValueError(f"beat_s {self.beat_s} s is longer than window_s {self.window_s} s: no beat fits a window")
        return self

    @property
    def lead_labels(self) -> list[str] | None:
        """The model channels' names: each lead's name, a choice's alternatives joined by ``|`` (``v1|v5``)."""
        return None if self.leads is None else [lead_label(spec) for spec in self.leads]

    @property
    def resolved_aggregate(self) -> str:
        if self.aggregate is not None:
            return self.aggregate
        return "mean" if self.window_s is not None or self.beats else "none"


class FoldsOptions(BaseModel):
    """PTB-XL's ``strat_fold`` assignment (the dataset's recommended split: 1-8 / 9 / 10)."""

    model_config = ConfigDict(extra="forbid")

    train: list[int] = Field(default_factory=lambda: list(range(1, 9)))
    val: list[int] = Field(default_factory=lambda: [9])
    test: list[int] = Field(default_factory=lambda: [10])


class WfdbOptions(SignalOptions):
    layout: Literal["auto", "ptb", "ptbxl", "flat"] = "auto"  # auto: ptbxl_database.csv -> ptbxl, patient* -> ptb
    labels: dict[str, list[str]] | list[str] | str | None = None  # see the layout readers below
    diagnoses: Literal["drop", "other"] | None = None  # ptb: records with other diagnoses (default drop)
    task: Literal["superclass", "mi-vs-norm"] | None = None  # ptbxl (default superclass)
    sampling: Literal[100, 500] | None = None  # ptbxl: records100/ or records500/ (default 100)
    min_likelihood: float | None = Field(None, ge=0, le=100)  # ptbxl: ignore SCP codes below (default 0)
    folds: FoldsOptions | None = Field(default_factory=FoldsOptions)  # ptbxl: null puts every fold in train
    # labels: annotations (beat-annotated records such as MIT-BIH; see annotated.py)
    annotator: str | None = None  # annotation file extension (default atr: the reference beat labels)
    classes: dict[str, list[str]] | None = None  # class -> beat symbols (default: the AAMI EC57 classes)
    exclude_records: list[str | int] = Field(default_factory=list)  # records left out (e.g. the paced ones)
    patients: dict[str, list[str | int]] | None = None  # patient -> records, when one person has several
    rr_features: bool | list[str] = False  # append each beat's RR features to its samples: true, the 7 of
    # rr_intervals.RR_FEATURES; or names of rr_intervals.RR_TABLE, e.g. [pre_ratio, post_ratio, rr_spread]
    template: Literal["add", "subtract"] | None = None  # the record's median beat: add a channel per lead
    # holding the beat minus it, or subtract it from the beat
    beat_features: list[str] | None = None  # QRS-shape features against the record's median beat, on every
    # lead (beat_shape.BEAT_FEATURES, e.g. [qrs_width_ratio, template_corr]), joined after the RR features

    @field_validator("rr_features")
    @classmethod
    def _known_rr(cls, value: bool | list[str]) -> bool | list[str]:
        if isinstance(value, list):
            _known_names(value, list(RR_TABLE), what="RR feature",
                         empty="give at least one RR feature, or rr_features: true for the default 7")
        return value

    @field_validator("beat_features")
    @classmethod
    def _known_shape(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            known = BEAT_FEATURES.names()
            _known_names(value, known, what="beat feature",
                         empty=f"give at least one beat feature ({', '.join(known)}), or leave it out")
        return value


def _known_names(value: list[str], known: list[str], *, what: str, empty: str) -> None:
    """A ``ValueError`` for an empty list (``empty``), a name not in ``known`` (with a did-you-mean) or a repeat."""
    if not value:
        raise ValueError(empty)
    for name in value:
        if name not in known:
            close = get_close_matches(str(name), known, n=1)
            raise ValueError(f"unknown {what} '{name}'" + (f"; did you mean '{close[0]}'?" if close else "")
                             + f" ({what}s: {', '.join(known)})")
    if len(set(value)) < len(value):
        raise ValueError(f"a feature is named twice in {value}; name each once")


class ArrayOptions(SignalOptions):
    sample_rate: float | None = Field(None, gt=0)  # Hz; needed by time-based options unless the file has fs
    class_names: list[str] | None = None  # names of labels 0..K-1 (sorted labels otherwise)


class BeatOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample_rate: float = Field(125.0, gt=0)  # Kachuee et al. 2018's beat CSVs are 125 Hz
    resample_hz: int | None = Field(None, gt=0)
    normalize: Literal["window", "record", "none"] = "none"  # the CSVs are already scaled to [0, 1]
    class_names: list[str] | None = None


M = TypeVar("M", bound=BaseModel)


def parse_options(model: type[M], cfg: DataConfig) -> M:
    """Validate ``cfg.options`` against ``model``; a ConfigError naming ``data.<field>`` and a fix."""
    try:
        return model.model_validate(cfg.options)
    except ValidationError as exc:
        raise explain(exc, file=None, section="data", schema=model, unknown=f"unknown option for source '{cfg.source}'",
                      list_known=True) from None
