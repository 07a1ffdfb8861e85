"""Shared fixtures: the repository, the CLI binary, and CLI runs to compare
the package against. The CLI is the release binary `cargo build --release`
makes (CI has built it by the time pytest runs); RISKSHARE_BIN names another."""

import csv
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cli_bin() -> Path:
    b = Path(os.environ.get("RISKSHARE_BIN", REPO / "target" / "release" / "riskshare"))
    if not b.exists():
        subprocess.run(["cargo", "build", "--release", "--bin", "riskshare"], cwd=REPO, check=True)
    return b


@pytest.fixture(scope="session")
def cli(cli_bin):
    """Runs the CLI; returns the completed process (check=False: tests read the exit code)."""

    def call(*args, cwd=REPO):
        return subprocess.run([str(cli_bin), *map(str, args)], cwd=cwd, capture_output=True, text=True)

    return call


def read_csv(path):
    """A CSV as (header, rows of strings)."""
    with open(path, newline="") as f:
        r = csv.reader(f)
        header = next(r)
        return header, list(r)


def cell(v):
    """A table value as the CSV's text says it: a number as a Decimal (exactly), a name as itself."""
    if v is None or isinstance(v, str):
        return v
    return Decimal(str(v))


def csv_cell(text):
    if text == "":
        return None
    try:
        return Decimal(text)
    except ArithmeticError:
        return text


def assert_table_equals_csv(table, path):
    """Every column of the Arrow table holds the CSV's values, row by row, in order."""
    header, rows = read_csv(path)
    assert table.column_names == header
    assert table.num_rows == len(rows)
    for j, name in enumerate(header):
        got = [cell(v) for v in table.column(name).to_pylist()]
        want = [csv_cell(r[j]) for r in rows]
        bad = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), None)
        assert bad is None, f"{path.name}: column {name} row {bad}: table {got[bad]}, csv {want[bad]}"
