"""Type stubs of riskshare's native module (python/src/lib.rs). Use the
functions of the ``riskshare`` package, which wrap these."""

from typing import Callable, List, Optional, Tuple

import pyarrow

ENGINE_VERSION: str

# ("builtin", "", "") | ("file", path, "") | ("text", name, yaml)
_Source = Tuple[str, str, str]
_Callback = Optional[Callable[[int, int], object]]

class ScenarioError(ValueError):
    """Bad input: the scenario, an override or an argument."""

    problems: List["Problem"]

class Problem:
    """One problem with the input, as the CLI reports it."""

    file: str
    key: str
    line: Optional[int]
    message: str

class Run:
    seed: int
    trials: int
    threads: int
    summary_json: str
    resolved_yaml: str
    def trials_table(self) -> pyarrow.Table: ...
    def years_table(self) -> pyarrow.Table: ...
    def accounts_table(self) -> pyarrow.Table: ...
    def write(
        self, out: str, force: bool, charts: bool, lang: str, format: str = "csv", progress: _Callback = None
    ) -> str: ...

def run(
    scenario: _Source,
    set: List[str],
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    progress: _Callback = None,
    tail: Optional[str] = None,
) -> Run: ...
def validate(scenario: _Source, set: List[str]) -> str: ...
def size(
    scenario: _Source,
    set: List[str],
    out: str,
    confidence: Optional[List[float]],
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    force: bool = False,
    charts: bool = False,
    lang: str = "en",
    format: str = "csv",
    progress: _Callback = None,
    tail: Optional[str] = None,
) -> Tuple[str, str, pyarrow.Table, str]: ...
def compare(
    scenarios: List[_Source],
    out: str,
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    force: bool = False,
    lang: str = "en",
    format: str = "csv",
    progress: _Callback = None,
    tail: Optional[str] = None,
) -> Tuple[str, pyarrow.Table, str]: ...
def sweep(
    scenario: _Source,
    set: List[str],
    vary: List[str],
    out: str,
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    force: bool = False,
    full: bool = False,
    lang: str = "en",
    format: str = "csv",
    progress: _Callback = None,
    tail: Optional[str] = None,
) -> Tuple[str, pyarrow.Table, str]: ...
def stress(
    scenario: _Source,
    set: List[str],
    out: str,
    preset: Optional[str] = None,
    overlay: Optional[str] = None,
    trials: Optional[int] = None,
    seed: Optional[int] = None,
    threads: Optional[int] = None,
    force: bool = False,
    lang: str = "en",
    progress: _Callback = None,
    tail: Optional[str] = None,
) -> Tuple[str, pyarrow.Table, str]: ...
