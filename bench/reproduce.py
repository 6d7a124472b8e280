"""Re-measure the published figures of docs/figures.yaml and say which ones moved.

Every number README.md and docs/ publish from a training run is listed in ``docs/figures.yaml`` with the
command that made it, the metric it reads from the stored run, its spread, and the CPU, precision, threads
and seeds it was measured with. This script runs the cheap ones (a few minutes each) into a temporary run
store, prints published / measured / moved, and exits 1 when a figure moved by more than its spread.
Run it before each release and after any change of a default that touches training (precision, layout,
optimizer kernels, data pipeline).

    python bench/reproduce.py                      # every figure with cheap: true
    python bench/reproduce.py --only keras-lab-mlp # some figures, cheap or not
    python bench/reproduce.py --all                # every `convscope run` figure (hours on 2 cores)
    python bench/reproduce.py --check              # no training: commands parse, numbers are in their docs

Exit codes: 0 every figure within its spread; 1 a figure moved; 2 a bad figures file or command.
Figures from a `convscope search` or `ensemble` command, and a bench's figures (`python bench/NAME.py ...`,
timings and search-efficiency ratios), are checked (``--check``) but not re-run here: re-run them by their
command. `convscope run` with no config is the built-in default experiment (the README's). The store, configs and metrics are convscope's own (``convscope.run``);
the only hand-written part is reading the figure list, which no library does for us.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import convscope
from convscope.api import default_config_path
from convscope.config import apply_overrides, load_config, read_yaml
from convscope.errors import ConfigError, ConvscopeError
from convscope.tuning.study import SearchSetup

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ROOT / "docs" / "figures.yaml"
REQUIRED = ("id", "doc", "command", "metric", "published", "spread", "cheap", "seeds", "cpu", "precision",
            "threads")
NUMBER = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*(?:±\s*\d+(?:\.\d+)?\s*)?(%?)\s*$")  # "98.93 ± 0.14%", "0.980"


@dataclass(frozen=True)
class Command:
    """A figure's command, parsed: ``convscope VERB [CONFIG] [--set KEY=VALUE ...]`` or ``python bench/X.py``."""

    verb: str  # run | search | ensemble | bench
    config: str | None  # relative to the repository root; a run's None is the built-in default; a bench's script
    overrides: tuple[str, ...]


@dataclass(frozen=True)
class Figure:
    """One published number: where it is printed, how it was made, and how far it may move."""

    id: str
    doc: str  # the file that prints it, relative to the repository root
    command: Command
    raw_command: str  # as the doc prints it
    text: str  # exactly as the doc prints it: "95.75%", "0.980", "98.93 ± 0.14%"
    value: float  # the number in text, in the metric's units (a percentage divided by 100)
    percent: bool
    spread: float  # in the units the doc prints: percentage points for a percentage
    metric: str  # a key of the stored run's test metrics, e.g. test_accuracy
    cheap: bool
    seeds: tuple[int, ...]  # one run per seed when the command says --set seed=S; the mean is compared
    cpu: str
    precision: str
    threads: int
    line: str  # "docs/figures.yaml: figures[3] (id)", for error messages


@dataclass
class Outcome:
    figure: Figure
    measured: float  # in the units the doc prints
    per_seed: list[float] = field(default_factory=list)
    precision_here: str = ""

    @property
    def moved(self) -> bool:
        published = self.figure.value * (100 if self.figure.percent else 1)
        return abs(self.measured - published) > self.figure.spread + 1e-9


def parse_command(text: str, *, where: str) -> Command:
    """``convscope run CONFIG --set a=b`` -> Command('run', 'CONFIG', ('a=b',)).

    >>> parse_command("convscope run examples/x.yaml --set train.epochs=3 --set seed=S", where="f")
    Command(verb='run', config='examples/x.yaml', overrides=('train.epochs=3', 'seed=S'))
    >>> parse_command("python bench/search_efficiency.py --epochs 9", where="f")
    Command(verb='bench', config='bench/search_efficiency.py', overrides=())
    """
    words = shlex.split(text)
    if len(words) >= 2 and words[0] == "python" and words[1].startswith("bench/") and words[1].endswith(".py"):
        return Command("bench", words[1], ())
    if len(words) < 2 or words[0] != "convscope" or words[1] not in ("run", "search", "ensemble"):
        raise ConfigError(f"{where}: command: {text!r} is not `convscope run|search|ensemble ...`",
                          hint="or `python bench/NAME.py ...` for a bench's figure")
    verb, rest = words[1], words[2:]
    config, overrides, i = None, [], 0
    while i < len(rest):
        word = rest[i]
        if word == "--set" and i + 1 < len(rest):
            overrides.append(rest[i + 1])
            i += 2
        elif word.startswith("--"):  # --name N, --workers N: the search's own options, not the config's
            i += 2 if i + 1 < len(rest) and not rest[i + 1].startswith("--") else 1
        elif config is None and verb != "ensemble":
            config = word
            i += 1
        else:
            i += 1
    return Command(verb, config, tuple(overrides))


def parse_published(text: Any, *, where: str) -> tuple[float, bool]:
    """The number a doc prints, in the metric's units: ``"95.75%"`` -> (0.9575, True).

    >>> parse_published("98.93 ± 0.14%", where="f")
    (0.9893, True)
    >>> parse_published(0.98, where="f")
    (0.98, False)
    """
    match = NUMBER.match(str(text))
    if not match:
        raise ConfigError(f"{where}: published: {text!r} is not a number like 95.75% or 0.980")
    number, percent = float(match.group(1)), match.group(2) == "%"
    return (round(number / 100, 10) if percent else number), percent


def load_figures(path: Path = FIGURES) -> list[Figure]:
    """Every figure of a figures file, validated: a mistake names the file, the figure and the field."""
    raw = read_yaml(path)
    entries = raw.get("figures")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path}: figures: expected a list of figures")
    figures, seen = [], set()
    for n, entry in enumerate(entries):
        where = f"{path}: figures[{n}]" + (f" ({entry.get('id')})" if isinstance(entry, dict) else "")
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected a mapping with {', '.join(REQUIRED)}")
        missing = [k for k in REQUIRED if k not in entry]
        if missing:
            raise ConfigError(f"{where}: missing {', '.join(missing)}", hint=f"every figure needs {', '.join(REQUIRED)}")
        if entry["id"] in seen:
            raise ConfigError(f"{where}: id: {entry['id']!r} is used twice")
        seen.add(entry["id"])
        value, percent = parse_published(entry["published"], where=where)
        seeds = entry["seeds"] if isinstance(entry["seeds"], list) else list(range(int(entry["seeds"])))
        command = parse_command(str(entry["command"]), where=where)
        if command.verb == "run" and len(seeds) != 1 and "seed=S" not in command.overrides:
            raise ConfigError(f"{where}: seeds: {len(seeds)} seeds, but the command has no `--set seed=S`",
                              hint="add --set seed=S to the command (one run per seed), or say seeds: 1")
        figures.append(Figure(
            id=str(entry["id"]), doc=str(entry["doc"]), command=command,
            raw_command=str(entry["command"]),
            text=str(entry["published"]), value=value, percent=percent, spread=float(entry["spread"]),
            metric=str(entry["metric"]), cheap=bool(entry["cheap"]), seeds=tuple(int(s) for s in seeds),
            cpu=str(entry["cpu"]), precision=str(entry["precision"]), threads=int(entry["threads"]), line=where))
    return figures


def check(figure: Figure, root: Path) -> list[str]:
    """Problems that need no training: the doc lacks the number, or the command's config does not load."""
    problems = []
    doc = root / figure.doc
    if not doc.is_file():
        problems.append(f"{figure.line}: doc: {figure.doc} does not exist")
    else:
        text = doc.read_text()
        if figure.text not in text:
            problems.append(f"{figure.line}: published: {figure.text!r} does not appear in {figure.doc} "
                            "(update the doc and this list together)")
        # a run's or bench's command is printed whole; a search's rows print their options apart, so only
        # its config
        shown = str(figure.command.config) if figure.command.verb == "search" else figure.raw_command
        if shown not in text:
            problems.append(f"{figure.line}: command: {shown!r} does not appear in {figure.doc}")
    command = figure.command
    if command.verb == "bench":
        if not (root / str(command.config)).is_file():
            problems.append(f"{figure.line}: command: {command.config} does not exist")
        return problems
    if command.config is None and command.verb != "run":
        return problems
    overrides = [f"seed={figure.seeds[0]}" if o == "seed=S" else o for o in command.overrides]
    try:
        if command.verb == "search":
            raw = read_yaml(root / command.config)
            apply_overrides(raw, overrides, source=command.config)
            SearchSetup.from_raw(raw, source=command.config)
        else:
            load_config(config_path(command, root), overrides)
    except ConvscopeError as exc:
        problems.append(f"{figure.line}: command: {exc.message}")
    return problems


def config_path(command: Command, root: Path) -> Path:
    """The YAML a run command trains: its config, or the built-in default when it names none."""
    return root / command.config if command.config else default_config_path()


def measure(figures: list[Figure], *, root: Path, home: Path) -> list[Outcome]:
    """Run each distinct (command, seeds, threads) once and read every figure's metric from its runs."""
    runs: dict[tuple, list[convscope.Run]] = {}
    outcomes = []
    for figure in figures:
        key = (figure.command, figure.seeds, figure.threads)
        if key not in runs:
            runs[key] = []
            for seed in figure.seeds:
                overrides = [f"seed={seed}" if o == "seed=S" else o for o in figure.command.overrides]
                overrides.append(f"train.threads={figure.threads}")
                print(f"  {figure.id}: convscope run {figure.command.config or '(default)'} --set {' --set '.join(overrides)}",
                      flush=True)
                runs[key].append(convscope.run(config_path(figure.command, root), overrides=overrides, home=home))
        scale = 100 if figure.percent else 1
        values = []
        for run in runs[key]:
            if figure.metric not in run.test_metrics:
                raise ConfigError(f"{figure.line}: metric: {figure.metric!r} is not a test metric of this run",
                                  hint=f"one of {', '.join(sorted(run.test_metrics))}")
            values.append(run.test_metrics[figure.metric] * scale)
        outcomes.append(Outcome(figure, statistics.fmean(values), values,
                                precision_here=str(runs[key][0].info.env.get("precision"))))
    return outcomes


def table(outcomes: list[Outcome]) -> str:
    """The published / measured / moved table, one row per figure."""
    head = f"{'figure':<34} {'published':>14} {'measured':>9} {'spread':>7}  {'moved':<5} precision (doc/here)"
    rows = [head, "-" * len(head)]
    for o in outcomes:
        f = o.figure
        digits = max(len(f.text.split("%")[0].split("±")[0].strip().partition(".")[2]), 1)
        rows.append(f"{f.id:<34} {f.text:>14} {o.measured:>9.{digits}f} {f.spread:>7g}  "
                    f"{'MOVED' if o.moved else 'no':<5} {f.precision}/{o.precision_here}")
    return "\n".join(rows)


def cpu_name() -> str:
    """This machine's CPU as /proc/cpuinfo names it (the figures' ``cpu`` field uses the same words)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", type=Path, default=FIGURES, help="the figure list (default docs/figures.yaml)")
    parser.add_argument("--root", type=Path, default=None,
                        help="where doc and config paths start (default: the figures file's repository)")
    parser.add_argument("--only", action="append", default=[], help="a figure id (repeatable)")
    parser.add_argument("--all", action="store_true", help="every `convscope run` figure, cheap or not")
    parser.add_argument("--check", action="store_true", help="no training: commands parse, numbers are in docs")
    parser.add_argument("--home", type=Path, default=None, help="keep the runs in this store (default: a temp dir)")
    args = parser.parse_args(argv)
    root = args.root or (args.figures.resolve().parents[1] if args.figures == FIGURES else args.figures.parent)
    try:
        figures = load_figures(args.figures)
        unknown = sorted(set(args.only) - {f.id for f in figures})
        if unknown:
            raise ConfigError(f"{args.figures}: no figure {', '.join(unknown)}",
                              hint=f"ids: {', '.join(f.id for f in figures)}")
        problems = [p for f in figures for p in check(f, root)]
        if problems:
            print("\n".join(f"error: {p}" for p in problems), file=sys.stderr)
            return 2
        if args.check:
            print(f"{len(figures)} figures: every command parses and every number is in its doc")
            return 0
        if args.only:
            chosen = [f for f in figures if f.id in args.only]
        else:
            chosen = [f for f in figures if args.all or f.cheap]
        chosen = [f for f in chosen if f.command.verb == "run"]
        print(f"{len(chosen)} figures on {cpu_name()}, load {os.getloadavg()[0]:.1f} "
              "(wall times vary with load; the metrics do not)", flush=True)
        with tempfile.TemporaryDirectory(prefix="convscope-reproduce-") as tmp:
            outcomes = measure(chosen, root=root, home=args.home or Path(tmp))
    except ConvscopeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table(outcomes))
    moved = [o.figure.id for o in outcomes if o.moved]
    cpus = {o.figure.cpu for o in outcomes} - {cpu_name()}
    if cpus:
        print(f"note: figures measured on {', '.join(sorted(cpus))}; this is {cpu_name()} "
              "(precision: auto depends on the CPU, see docs/performance.md 'Precision and CPUs')")
    print(f"moved beyond their spread: {', '.join(moved)}" if moved else "every figure within its spread")
    return 1 if moved else 0


if __name__ == "__main__":
    sys.exit(main())
