"""riskshare from Python: the Monte Carlo engine for county loan
risk-sharing schemes (insurance, village fund, county compensation fund,
60:40 government:bank split), without shelling out to the CLI.

Every function calls the very library code the ``riskshare`` command runs,
so the same scenario, seed and trials give the same numbers to the fen::

    import riskshare
    r = riskshare.run("scenarios/wangcang.yaml", trials=2000, seed=7)
    r.summary["layers"]["comp_fund"]["mean"]    # summary.json, as a dict
    r.trials.to_pandas()                        # trials.csv, as a pyarrow Table
    r.write("output/wc")                        # the CLI's output folder

A scenario is a path (``str`` or ``os.PathLike``), YAML text, a ``dict`` (the
parsed form of a scenario file) or ``None`` for the built-in Wangcang
scenario. Bad input raises :class:`ScenarioError`, whose ``problems`` list
each problem with its file, key path and line.

Every command that simulates takes ``tail=`` (``riskshare ... --importance
auto --tail``): the trials are then drawn under a change of measure aimed
at a rare tail and weighed back, so that a 1-in-10,000 figure has a number
and an interval (docs/tail.md)::

    r = riskshare.run(trials=4000, tail="auto")
    r.summary["importance"]["effective_sample_size"]

Money in the tables is yuan with two decimals held exactly
(``decimal128(18, 2)``); in ``summary`` and the other JSON results it is
yuan as a float, as in the CLI's JSON files.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from . import _native
from ._native import Problem, ScenarioError

__all__ = [
    "run",
    "validate",
    "size",
    "compare",
    "sweep",
    "stress",
    "RunResult",
    "SizeResult",
    "CompareResult",
    "SweepResult",
    "StressResult",
    "ScenarioError",
    "Problem",
    "ENGINE_VERSION",
]

#: The engine's version (the ``riskshare`` crate's), as every output records it.
ENGINE_VERSION: str = _native.ENGINE_VERSION

Scenario = Union[str, "os.PathLike[str]", Mapping[str, Any], None]
Progress = Union[bool, Callable[[int, int], Any]]


def _source(scenario: Scenario) -> tuple:
    """A scenario as the native module takes it: ("builtin" | "file" | "text", name, text).

    A dict goes through JSON text (which is YAML) into the same parser as a
    file, so its problems read as a file's would, named ``<dict>``. A string
    is YAML text when it has a line break, or when it is no existing file and
    does not end in ``.yaml``/``.yml``; otherwise it is a path.
    """
    if scenario is None:
        return ("builtin", "", "")
    if isinstance(scenario, Mapping):
        try:
            text = json.dumps(scenario, indent=2, ensure_ascii=False, default=_plain)
        except (TypeError, ValueError) as e:
            raise TypeError(f"the scenario dict cannot be written as YAML: {e}") from None
        return ("text", "<dict>", text + "\n")
    if isinstance(scenario, os.PathLike):
        return ("file", os.fspath(scenario), "")
    if isinstance(scenario, str):
        looks_like_path = "\n" not in scenario and (
            scenario.lower().endswith((".yaml", ".yml")) or os.path.exists(scenario)
        )
        if looks_like_path:
            return ("file", scenario, "")
        return ("text", "<string>", scenario)
    raise TypeError(
        f"scenario: expected a path, YAML text, a dict or None, found {type(scenario).__name__}"
    )


def _plain(v: Any) -> Any:
    """JSON for the values a scenario dict may hold beyond JSON's own (Decimal, Path, numpy scalars)."""
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    if isinstance(v, os.PathLike):
        return os.fspath(v)
    try:
        from decimal import Decimal

        if isinstance(v, Decimal):
            return str(v)
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"{type(v).__name__} is not a scenario value")


def _value(v: Any) -> str:
    """A value as ``--set``/``--vary`` take it on the command line (YAML)."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool) or v is None or isinstance(v, (list, tuple, dict)):
        return json.dumps(v, default=_plain)
    return str(v)


def _sets(set: Union[Mapping[str, Any], Iterable[str], None]) -> list:
    """``set`` as the CLI's ``--set KEY=VALUE`` overrides, in order."""
    if set is None:
        return []
    if isinstance(set, Mapping):
        return [f"{k}={_value(v)}" for k, v in set.items()]
    if isinstance(set, str):
        return [set]
    return [str(s) for s in set]


def _vary(vary: Union[Mapping[str, Sequence[Any]], Iterable[str], str]) -> list:
    """``vary`` as the CLI's ``--vary KEY=V1,V2,...`` axes, in order."""
    if isinstance(vary, Mapping):
        out = []
        for k, vs in vary.items():
            if isinstance(vs, (str, bytes)) or not isinstance(vs, Iterable):
                vs = [vs]
            out.append(f"{k}=" + ",".join(_value(v) for v in vs))
        return out
    if isinstance(vary, str):
        return [vary]
    return [str(v) for v in vary]


class _Bar:
    """Progress as the user asked: a tqdm bar (``True``, when tqdm is
    installed; else a line on stderr), a callable ``(done, total)``, or
    nothing (``False``, the default)."""

    def __init__(self, progress: Progress, what: str):
        self.callback: Optional[Callable[[int, int], Any]] = None
        self.bar = None
        if callable(progress):
            self.callback = progress
        elif progress:
            try:
                from tqdm.auto import tqdm

                self.tqdm, self.what = tqdm, what
                self.callback = self._tqdm
            except ImportError:
                self.callback = self._line

    def _tqdm(self, done: int, total: int) -> None:
        # Opened at the first report, when the total is known.
        if self.bar is None:
            self.bar = self.tqdm(total=total, unit="trial", desc=self.what)
        elif self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    @staticmethod
    def _line(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\rsimulating: {done}/{total} trials", end=end, file=sys.stderr, flush=True)

    def __enter__(self) -> Optional[Callable[[int, int], Any]]:
        return self.callback

    def __exit__(self, *exc: Any) -> None:
        if self.bar is not None:
            self.bar.close()


class _Folder:
    """The output folder a command writes: ``out`` when given, else a
    temporary one that is removed once the results are read."""

    def __init__(self, out: Union[str, "os.PathLike[str]", None]):
        self.out = out
        self.tmp: Optional[str] = None

    def __enter__(self) -> str:
        if self.out is not None:
            return os.fspath(self.out)
        self.tmp = tempfile.mkdtemp(prefix="riskshare-")
        return os.path.join(self.tmp, "out")

    def __exit__(self, *exc: Any) -> None:
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


class RunResult:
    """A finished run (``riskshare.run``): the summary and the loss tables, in memory.

    Attributes:
        summary: ``summary.json`` as the CLI writes it, parsed (a dict).
        trials: one row per trial (the columns of ``trials.csv``), a ``pyarrow.Table``.
        years: one row per trial and year, with fund balances (``years.csv``'s columns).
        accounts: one row per trial and compensation account (bank x county):
            draws, shortfall, the bank's loss, top-ups, the year it ran dry (0: never).
        seed, n_trials, threads: what the run used.
        resolved_yaml: the scenario as run, every default filled in
            (``scenario.resolved.yaml``).
    """

    def __init__(self, native: Any):
        self._native = native
        self.summary: dict = json.loads(native.summary_json)
        self.seed: int = native.seed
        self.n_trials: int = native.trials
        self.threads: int = native.threads
        self.resolved_yaml: str = native.resolved_yaml
        self._tables: dict = {}

    def _table(self, name: str):
        if name not in self._tables:
            self._tables[name] = getattr(self._native, name + "_table")()
        return self._tables[name]

    @property
    def trials(self):
        """``pyarrow.Table``: one row per trial (``trials.csv``'s columns; money as decimal128(18, 2) yuan)."""
        return self._table("trials")

    @property
    def years(self):
        """``pyarrow.Table``: one row per trial and year (``years.csv``'s columns)."""
        return self._table("years")

    @property
    def accounts(self):
        """``pyarrow.Table``: one row per trial and compensation account."""
        return self._table("accounts")

    def write(
        self,
        out: Union[str, "os.PathLike[str]"],
        force: bool = False,
        charts: bool = False,
        lang: str = "en",
        format: str = "csv",
        progress: Progress = False,
    ) -> Path:
        """Writes the CLI's output folder of this run (``riskshare run --out OUT
        --no-charts``; ``charts=True`` adds the charts and report.html) through
        the CLI's own writer, and returns its path.

        The trials are simulated again: results depend on the scenario, the
        seed and the trial only, so the files hold exactly this run's figures.
        ``out`` must be new, empty or an earlier riskshare output (replaced
        only with ``force=True``). ``format`` is ``--format``: the tables as
        ``csv`` (the default), ``parquet`` or ``both``.
        """
        with _Bar(progress, "writing") as cb:
            path = self._native.write(os.fspath(out), force, charts, lang, format, cb)
        return Path(path)

    def __repr__(self) -> str:
        name = self.summary.get("scenario", "?")
        return f"<riskshare.RunResult {name!r}: {self.n_trials} trials, seed {self.seed}>"


def run(
    scenario: Scenario = None,
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    set: Union[Mapping[str, Any], Iterable[str], None] = None,
    threads: Optional[int] = None,
    progress: Progress = False,
    tail: Optional[str] = None,
) -> RunResult:
    """Simulates a scenario: ``riskshare run`` in memory.

    Args:
        scenario: a path, YAML text, a dict, or None for the built-in Wangcang scenario.
        trials: trials to run (default: the scenario's ``simulation.trials``).
        seed: the seed (default: the scenario's ``simulation.seed``).
        set: overrides by dotted key path, as ``--set``:
            ``{"funds.compensation.deposit_ratio": 8}`` or ``["economy.rho=0.2"]``.
        threads: worker threads (default: every core); results do not depend on it.
        progress: ``True`` for a tqdm bar (if tqdm is installed), or a callable
            receiving ``(done, total)``; off by default.
        tail: importance-sample this tail, as ``--importance auto --tail``:
            ``"auto"`` (any compensation account running dry), ``"COLUMN:P"``
            (``"bank_loss:1e-3"``) or ``"COLUMN"``. The tables then end in a
            ``weight`` column and ``summary["importance"]`` describes the
            measure (docs/tail.md). Default: a plain run.

    Returns:
        a :class:`RunResult`. The GIL is released while the trials run.

    Raises:
        ScenarioError: the scenario, an override or an argument is bad.
    """
    with _Bar(progress, "simulating") as cb:
        native = _native.run(_source(scenario), _sets(set), trials, seed, threads, cb, tail)
    return RunResult(native)


def validate(scenario: Scenario = None, set: Union[Mapping[str, Any], Iterable[str], None] = None) -> str:
    """Checks a scenario (``riskshare validate``) and returns what the CLI
    prints: its name and its portfolio's totals and fund sizes.

    Raises:
        ScenarioError: with every problem found.
    """
    return _native.validate(_source(scenario), _sets(set))


class SizeResult:
    """The funds sized (``riskshare size``).

    Attributes:
        sizing: ``size.json`` parsed: per compensation account, the smallest
            deposit that lasts the horizon at each confidence, and the village share.
        curve: ``size_curve.csv``'s table (deposit ratio against the chance of running dry).
        summary: the run's ``summary.json``.
        out: the output folder, when one was asked for (``out=``), else None.
    """

    def __init__(self, summary: str, sizing: str, curve: Any, out: Optional[str]):
        self.summary: dict = json.loads(summary)
        self.sizing: dict = json.loads(sizing)
        self.curve = curve
        self.out: Optional[Path] = Path(out) if out else None

    def __repr__(self) -> str:
        return f"<riskshare.SizeResult {self.summary.get('scenario', '?')!r}>"


def size(
    scenario: Scenario = None,
    confidence: Optional[Sequence[float]] = None,
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    set: Union[Mapping[str, Any], Iterable[str], None] = None,
    threads: Optional[int] = None,
    out: Union[str, "os.PathLike[str]", None] = None,
    force: bool = False,
    charts: bool = False,
    lang: str = "en",
    format: str = "csv",
    progress: Progress = False,
    tail: Optional[str] = None,
) -> SizeResult:
    """Sizes the funds (``riskshare size``): the deposit ratio and village
    share that last the horizon at each confidence level (default 0.90,
    0.95, 0.99, 0.995).

    With ``out``, the CLI's folder is written there (``size.json``,
    ``size_curve.csv`` and the run's files; ``format`` as ``--format``:
    ``csv``, ``parquet`` or ``both``); otherwise into a temporary folder that
    is removed.

    ``tail`` importance-samples the run as :func:`run`'s does (``"auto"``,
    ``"COLUMN:P"`` or ``"COLUMN"``; ``--importance auto --tail``): the sizing
    reads the weighted trials, which is what a confidence of 0.999 or
    0.9999 needs, and ``summary["importance"]`` describes the measure.

    Example::

        s = riskshare.size(confidence=[0.99, 0.999], trials=4000, tail="auto")
        s.sizing["accounts"][0]                 # each account's deposit at each level
        s.summary["importance"]["measure"]["target"]

    Raises:
        ScenarioError: the scenario, an override, a level outside (0, 1) or
            the tail is bad, or ``out`` is a folder riskshare may not use.
    """
    with _Folder(out) as folder, _Bar(progress, "sizing") as cb:
        summary, sizing, curve, _ = _native.size(
            _source(scenario),
            _sets(set),
            folder,
            None if confidence is None else [float(c) for c in confidence],
            trials,
            seed,
            threads,
            force,
            charts,
            lang,
            format,
            cb,
            tail,
        )
    return SizeResult(summary, sizing, curve, None if out is None else os.fspath(out))


class CompareResult:
    """Policy variants on the same random futures (``riskshare compare``).

    Attributes:
        comparison: ``comparison.json`` parsed: each metric per scenario, the
            paired differences to the first with 95 % intervals, and what each
            scenario commits and costs (``policy``).
        table: ``comparison.csv``'s table, a ``pyarrow.Table``.
        out: the output folder, when one was asked for, else None.
    """

    def __init__(self, comparison: str, table: Any, out: Optional[str]):
        self.comparison: dict = json.loads(comparison)
        self.table = table
        self.out: Optional[Path] = Path(out) if out else None

    def __repr__(self) -> str:
        return f"<riskshare.CompareResult {len(self.comparison.get('scenarios', []))} scenarios>"


def compare(
    scenarios: Sequence[Scenario],
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    out: Union[str, "os.PathLike[str]", None] = None,
    force: bool = False,
    lang: str = "en",
    format: str = "csv",
    progress: Progress = False,
    tail: Optional[str] = None,
) -> CompareResult:
    """Compares scenarios (``riskshare compare``): each runs with the same
    seed and trials, and differences to the first are paired trial by trial.

    ``scenarios`` are paths, YAML texts or dicts; the first is the baseline.
    Trials and seed default to the first scenario's. With ``out`` the CLI's
    folder is written there (``format``: ``csv``, ``parquet`` or ``both``);
    otherwise into a temporary folder that is removed.

    ``tail`` importance-samples every scenario as :func:`run`'s does
    (``--importance auto --tail``): a pilot on the first chooses the measure
    and every scenario draws under it, so trial k stays one future across
    them and the differences stay paired; the figures are weighted. Scenarios
    with other counties, industries, hazards or horizon than the first cannot
    share a measure and raise :class:`ScenarioError`.

    Example::

        c = riskshare.compare(["scenarios/wangcang.yaml", "scenarios/wangcang-ratio-8.yaml"],
                              trials=4000, tail="auto")
        c.table.to_pandas()                     # each metric per scenario, with paired differences

    Raises:
        ScenarioError: a scenario or the tail is bad, the scenarios do not
            fit together, or ``out`` is a folder riskshare may not use.
    """
    with _Folder(out) as folder, _Bar(progress, "comparing") as cb:
        comparison, table, _ = _native.compare(
            [_source(s) for s in scenarios], folder, trials, seed, threads, force, lang, format, cb, tail
        )
    return CompareResult(comparison, table, None if out is None else os.fspath(out))


class SweepResult:
    """A grid over scenario keys (``riskshare sweep``).

    Attributes:
        sweep: ``sweep.json`` parsed: the scenario, seed, trials, whether the
            fast path applied, and one entry per cell (``cells``).
        table: ``sweep.csv``'s table, a ``pyarrow.Table``: the varied keys'
            values, then the cell's key metrics and each bank's figures.
        out: the output folder, when one was asked for, else None.
    """

    def __init__(self, sweep: str, table: Any, out: Optional[str]):
        self.sweep: dict = json.loads(sweep)
        self.table = table
        self.out: Optional[Path] = Path(out) if out else None

    def __repr__(self) -> str:
        return f"<riskshare.SweepResult {len(self.sweep.get('cells', []))} cells>"


def sweep(
    scenario: Scenario = None,
    vary: Union[Mapping[str, Sequence[Any]], Iterable[str], str] = (),
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    set: Union[Mapping[str, Any], Iterable[str], None] = None,
    threads: Optional[int] = None,
    out: Union[str, "os.PathLike[str]", None] = None,
    force: bool = False,
    full: bool = False,
    lang: str = "en",
    format: str = "csv",
    progress: Progress = False,
    tail: Optional[str] = None,
) -> SweepResult:
    """Runs a grid over scenario keys (``riskshare sweep``).

    ``vary`` maps each key to its values, ``{"funds.compensation.deposit_ratio":
    [6, 8, 10]}``, or lists the CLI's ``KEY=V1,V2,...`` strings. When only
    ``funds.*`` keys vary, each trial is drawn once and only the funds are
    settled per cell, with the results of full re-runs (``full=True`` forces
    full re-runs). With ``out`` the CLI's folder is written there (``format``:
    ``csv``, ``parquet`` or ``both``); otherwise into a temporary folder that
    is removed.

    ``tail`` importance-samples every cell as :func:`run`'s does
    (``--importance auto --tail``): a pilot on the scenario as given (without
    ``vary``) chooses the measure and every cell draws under it; the cells'
    figures are weighted. A ``vary`` that changes the counties, industries,
    hazards or horizon cannot share the measure and raises
    :class:`ScenarioError`.

    Example::

        s = riskshare.sweep(vary={"funds.compensation.deposit_ratio": [6, 8, 10]},
                            trials=4000, tail="auto")
        [c["depletion"]["p"] for c in s.sweep["cells"]]   # chance an account runs dry, per ratio

    Raises:
        ScenarioError: the scenario, an override, an axis or the tail is bad,
            or ``out`` is a folder riskshare may not use.
    """
    axes = _vary(vary)
    with _Folder(out) as folder, _Bar(progress, "sweeping") as cb:
        result, table, _ = _native.sweep(
            _source(scenario), _sets(set), axes, folder, trials, seed, threads, force, full, lang, format, cb, tail
        )
    return SweepResult(result, table, None if out is None else os.fspath(out))


class StressResult:
    """A stress test (``riskshare stress``): the scenario and a stressed copy
    of it on the same seed and trials.

    Attributes:
        stress: ``stress.json`` parsed: what was applied (``applied``,
            ``stress``), the whole scheme's figures baseline and stressed
            (``totals``: ``[column, baseline, stressed]``, each with ``mean``,
            ``p99`` and ``tvar99`` in yuan), each compensation account's
            (``accounts``: the bank's loss, the fund's draws, the shortfall and
            the chance of running dry, ``exhausted``) and the money each side
            moves (``baseline_policy``, ``stressed_policy``).
        table: the whole scheme's figures, a ``pyarrow.Table``: ``metric``
            (the trials.csv column), then ``baseline_mean``, ``baseline_p99``,
            ``baseline_tvar99``, ``stressed_mean``, ``stressed_p99`` and
            ``stressed_tvar99`` (yuan).
        out: the output folder (``stress.json``, ``report.html``,
            ``results.xlsx``), when one was asked for, else None.
    """

    def __init__(self, stress: str, table: Any, out: Optional[str]):
        self.stress: dict = json.loads(stress)
        self.table = table
        self.out: Optional[Path] = Path(out) if out else None

    def __repr__(self) -> str:
        overlay = self.stress.get("applied", {}).get("overlay", "?")
        return f"<riskshare.StressResult {self.stress.get('scenario', '?')!r}: {overlay}>"


def stress(
    scenario: Scenario = None,
    preset: Optional[str] = None,
    overlay: Union[str, "os.PathLike[str]", None] = None,
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    set: Union[Mapping[str, Any], Iterable[str], None] = None,
    threads: Optional[int] = None,
    out: Union[str, "os.PathLike[str]", None] = None,
    force: bool = False,
    lang: str = "en",
    progress: Progress = False,
    tail: Optional[str] = None,
) -> StressResult:
    """Stress-tests a scenario (``riskshare stress``): runs it as given and
    with a deterministic overlay (a flood year, an epidemic, a recession,
    ...), both on the same seed and trials, so each trial is one future seen
    with and without the stress.

    Args:
        scenario: a path, YAML text, a dict, or None for the built-in Wangcang scenario.
        preset: a named stress, as ``--preset``: ``"flood-year"``,
            ``"epidemic"``, ``"recession"`` or ``"combined"``.
        overlay: a YAML file holding a ``stress:`` section (forced events, a
            fixed county factor, a pd multiplier; docs/scenario.md), as
            ``--overlay``. Give ``preset`` or ``overlay``, not both.
        trials: trials for each side (default: the scenario's ``simulation.trials``).
        seed: the seed of both sides (default: the scenario's ``simulation.seed``).
        set: overrides by dotted key path, as ``--set``, applied to both sides.
        threads: worker threads (default: every core); results do not depend on it.
        out: the output folder (``stress.json``, ``report.html``,
            ``results.xlsx``); default: a temporary folder that is removed.
        force: replace an earlier riskshare output in ``out``.
        lang: language of report.html and results.xlsx, ``"en"`` or ``"zh"``.
        progress: ``True`` for a tqdm bar (if tqdm is installed), or a callable
            receiving ``(done, total)``, total being both sides' trials.
        tail: importance-sample both sides as :func:`run`'s ``tail`` does
            (``--importance auto --tail``): a pilot on the baseline chooses the
            measure and the stressed side draws under the same one, so the
            pairs stay pairs; every figure is weighted.

    Returns:
        a :class:`StressResult`. The GIL is released while the trials run.

    Raises:
        ScenarioError: the scenario, the overlay, an override or an argument
            is bad, or ``out`` is a folder riskshare may not use.

    Example::

        s = riskshare.stress(preset="flood-year", trials=4000)
        s.table.to_pandas()                                   # the whole scheme, baseline and stressed
        [(a["bank"], a["stressed"]["exhausted"]["p"]) for a in s.stress["accounts"]]
    """
    with _Folder(out) as folder, _Bar(progress, "stress") as cb:
        result, table, _ = _native.stress(
            _source(scenario),
            _sets(set),
            folder,
            preset,
            None if overlay is None else os.fspath(overlay),
            trials,
            seed,
            threads,
            force,
            lang,
            cb,
            tail,
        )
    return StressResult(result, table, None if out is None else os.fspath(out))
