"""What a run's data pipeline was, read back from the run, and how to replay it on one new input.

A run stores its resolved config; the ``data:`` section says how records became model samples (leads,
resampling, filters, baseline, windows, beats, normalisation). :class:`Recipe` reads it back and
:meth:`Recipe.samples` pushes one new input through the *same* functions the source used
(:func:`convscope.data.ecg.process`, the folder source's pixel reader): nothing is re-implemented here,
so a prediction sees exactly what training saw.

Example (an image run; an ECG run's recipe has ``kind='signal'``, its ``sample_rate`` and ``leads``):
    >>> import convscope
    >>> run = convscope.run({"data": {"source": "builtin:digits"}, "train": {"epochs": 1},
    ...                      "model": {"layers": [{"conv": {"filters": 4, "kernel": 3}}, "flatten", {"dense": 10}]}})
    >>> recipe = Recipe.for_run(run)
    >>> recipe.kind, recipe.input_shape, recipe.unit, recipe.sample_rate
    ('image', (1, 8, 8), 'images', None)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from convscope.errors import DataError

if TYPE_CHECKING:
    from convscope.api import Run
    from convscope.data.ecg import SignalOptions

Kind = Literal["signal", "image"]

# Sources whose samples come out of the ECG signal pipeline, and the options model each validates with
# (builtin:ecg-synth's own defaults differ: 5 s windows). A source says so itself by registering with the
# trait ``signal_options=TheOptionsModel`` (``@SOURCES.register("name", signal_options=...)``); this table
# covers the sources registered before that trait existed. Looked up lazily: data/ecg is a heavy import.
_SIGNAL_SOURCES = {"ecg-wfdb": ("convscope.data.ecg", "WfdbOptions"),
                   "ecg-npz": ("convscope.data.ecg", "ArrayOptions"),
                   "ecg-csv": ("convscope.data.ecg", "ArrayOptions"),
                   "builtin:ecg-synth": ("convscope.data.ecg_synth", "SynthOptions")}


@dataclass
class Input:
    """One thing to predict on, as a reader found it (before the pipeline)."""

    name: str  # what the output row calls it: a record path, ``file.csv:3``, an image file
    data: Any  # a signal (leads, samples) in physical units, a ready sample (C, ...), or a Pillow image
    fs: float | None = None  # Hz, when the file says
    leads: list[str] | None = None  # lead names of the signal's rows, lower case, when the file says
    ready: bool = False  # already one model sample (images, UCR rows): only the shape is checked


@dataclass
class Recipe:
    """A run's data pipeline and output conventions, enough to turn new files into its model's samples."""

    run_id: int
    source: str  # data.source the run was trained on
    kind: Kind  # signal (C, L) or image (C, H, W)
    input_shape: tuple[int, ...]  # one model sample
    class_names: list[str]
    threshold: float  # binary tasks: P(class 1) >= threshold is class 1
    unit: str  # what one sample is: windows | beats | records | rows | images
    aggregate: str  # how a record's samples were combined in evaluation: mean | none
    signal: SignalOptions | None = None  # the ECG pipeline to replay; None: inputs are samples already
    sample_rate: float | None = None  # Hz of the samples the model saw
    leads: list[str] | None = None  # lead names of the model's channels, in order
    source_rate: float | None = None  # rate of the source's files when they do not say (sample_rate option)
    # a source that transforms its ready samples (e.g. z-scores each series) registers the same step as the
    # trait ``predict_transform=fn(x (n, ...), options, *, shape=input_shape, name=input name) -> x (n, *shape)``;
    # it is replayed on ready inputs, which may reach it with another length than the model's (UCR series)
    transform: Callable[..., np.ndarray] | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the source's options, for ``transform``
    # ecg-wfdb with labels: annotations: its full options (beat_s, rr_features, template, classes), replayed
    # by convscope.inference.annotated_beats on beats at detected or annotated R peaks
    beat_options: Any = None

    @classmethod
    def for_run(cls, run: Run) -> Recipe:
        cfg = run.config.data
        shape = tuple(run.info.input_shape or run.config.model.input or ())
        meta = run.info.meta or {}
        names = list(run.info.class_names)
        kind: Kind = "signal" if len(shape) == 2 else "image"
        common = dict(run_id=run.id, source=cfg.source, kind=kind, input_shape=shape, class_names=names,
                      threshold=float(run.info.threshold))
        options_model = _options_model(cfg.source)
        if options_model is not None:
            opts = _signal_options(options_model, cfg.options)
            if meta.get("layout") == "annotations":  # one sample per beat, cut at R peaks
                common.update(beat_options=options_model.model_validate(cfg.options))  # type: ignore[attr-defined]
            unit = "beats" if opts.beats or meta.get("layout") == "annotations" else "windows" if opts.window_s is not None else "records"
            leads = meta.get("leads") or opts.lead_labels
            rate = meta.get("sample_rate") or opts.resample_hz
            source_rate = cfg.options.get("sample_rate") or cfg.options.get("sampling_rate")
            return cls(**common, unit=unit, aggregate=str(meta.get("aggregate") or opts.resolved_aggregate),
                       signal=opts, sample_rate=float(rate) if rate else None,
                       leads=[str(x).lower() for x in leads] if leads else None,
                       source_rate=float(source_rate) if source_rate else None)
        return cls(**common, unit="rows" if kind == "signal" else "images", aggregate="none",
                   sample_rate=meta.get("sample_rate"), transform=_source_trait(cfg.source, "predict_transform"),
                   options=cfg.options)

    # -- replay -----------------------------------------------------------------------------------------

    def samples(self, item: Input) -> np.ndarray:
        """``item`` as model samples ``(n, *input_shape)`` float32: the run's pipeline replayed on it."""
        if not isinstance(item.data, np.ndarray):  # a Pillow image: the folder source's pixels, resized
            return self._checked(self._pixels(item.data)[None], item)
        if self.beat_options is not None and not item.ready:
            from convscope.inference.annotated_beats import annotated_beats

            return self._checked(annotated_beats(self, item).x, item)
        if item.ready or self.signal is None:
            x = np.asarray(item.data, dtype=np.float32)
            x = x[None] if x.ndim == len(self.input_shape) - 1 else x  # one unnamed lead (L,) -> (1, L)
            x = x[None] if x.ndim == len(self.input_shape) else x  # one sample -> a batch of one
            if self.transform is not None and x.ndim == len(self.input_shape) + 1:
                x = np.asarray(self.transform(x, self.options, shape=self.input_shape, name=item.name),
                               dtype=np.float32)
            return self._checked(x, item)
        from convscope.data.ecg import Record, process

        sig = self._leads(item)  # (leads, samples)
        fs = item.fs or self.source_rate or self.sample_rate
        if fs is None:
            raise DataError(f"{item.name}: the file does not say its sampling rate",
                            hint=f"run {self.run_id} needs it: give --fs HZ")
        opts = self.signal
        if self.sample_rate and fs != self.sample_rate:
            if fs < self.sample_rate:
                raise DataError(f"{item.name}: sampled at {fs:g} Hz, below the {self.sample_rate:g} Hz run "
                                f"{self.run_id}'s model was trained on (upsampling cannot restore what the "
                                "recorder never captured)", hint=f"record at {self.sample_rate:g} Hz or more")
            opts = opts.model_copy(update={"resample_hz": self.sample_rate})  # from the record's own rate
        x, _ = process(Record(sig, float(fs), 0, group=item.name, id=item.name, leads=self.leads or []), opts)
        return self._checked(x.astype(np.float32, copy=False), item)

    def _pixels(self, img: Any) -> np.ndarray:
        """An image as the model's sample (C, H, W) in [0, 1], by the folder source's own pixel reader."""
        from PIL import Image

        from convscope.data.images import _pixels

        if self.kind != "image":
            raise DataError(f"an image cannot feed run {self.run_id}'s signal model", hint="give signals")
        channels, height, width = self.input_shape
        if img.size != (width, height):
            img = img.resize((width, height), Image.Resampling.BILINEAR)  # PIL takes (W, H)
        return _pixels(img, "L" if channels == 1 else "RGB")

    def _leads(self, item: Input) -> np.ndarray:
        """The signal's rows for the model's channels, picked by name (or in order when the file has no names)."""
        sig = np.asarray(item.data, dtype=np.float64)
        sig = sig[None] if sig.ndim == 1 else sig  # one unnamed lead: (samples,) -> (1, samples)
        channels = self.input_shape[0]
        if item.leads is None or self.leads is None:
            if sig.shape[0] != channels:
                need = f" ({', '.join(self.leads)})" if self.leads else ""
                raise DataError(f"{item.name}: has {sig.shape[0]} leads without names; run {self.run_id}'s model "
                                f"takes {channels}{need}", hint="give a file with named leads or exactly those leads")
            return sig
        from convscope.data.ecg.leads import pick

        have = [n.lower() for n in item.leads]
        # a label "v1|v5" is a choice ({any_of: [v1, v5]}): the first of them the record has, as in training
        found = [pick(label, have) for label in self.leads]
        missing = [label for label, lead in zip(self.leads, found, strict=True) if lead is None]
        if missing:
            raise DataError(f"{item.name}: lacks lead {', '.join(missing)}, which run {self.run_id}'s model needs "
                            f"(it has: {', '.join(have)})",
                            hint=f"give records with leads {', '.join(self.leads)} ('|' separates a channel's choices)")
        return sig[[have.index(lead) for lead in found if lead is not None]]

    def _checked(self, x: np.ndarray, item: Input) -> np.ndarray:
        if x.ndim != len(self.input_shape) + 1 or (len(x) and tuple(x.shape[1:]) != self.input_shape):
            got = list(x.shape[1:]) if x.ndim == len(self.input_shape) + 1 else list(x.shape)
            raise DataError(f"{item.name}: gives samples of shape {got}, run {self.run_id}'s model takes "
                            f"{list(self.input_shape)}", hint=self._shape_hint())
        if not np.isfinite(x).all():
            raise DataError(f"{item.name}: contains NaN or infinite values", hint="clean the file first")
        return np.ascontiguousarray(x, dtype=np.float32)

    def _shape_hint(self) -> str:
        if self.kind == "image":
            return f"give images (resized to {self.input_shape[1]}x{self.input_shape[2]}) or arrays of that shape"
        if self.signal is not None and self.signal.window_s is None and not self.signal.beats:
            return "the run used whole records: give records of the training length"
        return f"give rows of {self.input_shape[-1]} samples per lead"

    # -- what another program needs ------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """The pipeline as plain JSON-able values (the export sidecar's ``preprocessing``)."""
        out: dict[str, Any] = {"source": self.source, "kind": self.kind, "unit": self.unit,
                               "aggregate": self.aggregate, "sample_rate_hz": self.sample_rate, "leads": self.leads}
        if self.signal is not None:
            s = self.signal
            out.update(filter_hz=list(s.filter) if s.filter else None, baseline_removal=s.baseline,
                       window_s=s.window_s, stride_s=s.stride_s, normalize=s.normalize, beats=s.beats,
                       beat_s=s.beat_s if s.beats else None)
        if self.beat_options is not None:
            b = self.beat_options
            scalars = _scalar_names(b, self.leads or [])
            out.update(beats="one per R peak (annotated in training; NeuroKit2's detector on new records)",
                       beat_s=b.beat_s, template=b.template,
                       rr_features=list(_rr_names(b.rr_features)) if b.rr_features else None,
                       beat_features=scalars[len(_rr_names(b.rr_features)):] if b.beat_features else None,
                       rr_layout=f"the last {len(scalars)} values of channel 0 (zeros on the others): "
                                 f"{', '.join(scalars)}; one input tensor (N, C, L + {len(scalars)})"
                       if scalars else None)
        elif self.kind == "image":
            out.update(pixels="float32 in [0, 1] (8-bit / 255)", size_hw=list(self.input_shape[1:]),
                       mode="L" if self.input_shape[0] == 1 else "RGB")
        return out


def _scalar_names(options: Any, leads: list[str]) -> list[str]:
    from convscope.data.ecg.annotated import scalar_names

    return scalar_names(options, leads)


def _rr_names(option: bool | list[str]) -> tuple[str, ...]:
    from convscope.data.ecg.rr_intervals import rr_names

    return rr_names(option)


def _source_trait(source: str, trait: str) -> Any:
    """What the data source registered as ``trait`` (None when it did not, or is not registered)."""
    from convscope.data.base import SOURCES

    return SOURCES.traits(source).get(trait) if source in SOURCES else None


def _options_model(source: str) -> type | None:
    """The options model of a signal-pipeline source (its ``signal_options`` trait), or None."""
    model = _source_trait(source, "signal_options")
    if model is not None:
        return model
    if source in _SIGNAL_SOURCES:
        import importlib

        module, name = _SIGNAL_SOURCES[source]
        return getattr(importlib.import_module(module), name)
    return None


def _signal_options(model: type, options: dict[str, Any]) -> SignalOptions:
    """The pipeline part of the source's options, with that source's defaults."""
    from convscope.data.ecg import SignalOptions

    full = model.model_validate(options)  # type: ignore[attr-defined]
    return SignalOptions.model_validate(full.model_dump(include=set(SignalOptions.model_fields)))
