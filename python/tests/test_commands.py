"""sweep, compare, size and validate against the CLI's files."""

import json

import pytest

import riskshare
from conftest import assert_table_equals_csv

TRIALS, SEED = 400, 3
RATIOS = [6, 8, 10, 12]


@pytest.fixture(scope="module")
def cli_sweep(cli, repo, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "sweep"
    p = cli("sweep", repo / "scenarios/wangcang.yaml", "--vary",
            "funds.compensation.deposit_ratio=" + ",".join(map(str, RATIOS)),
            "--trials", TRIALS, "--seed", SEED, "--out", out)
    assert p.returncode == 0, p.stderr
    return out


def test_sweep_equals_the_clis(repo, cli_sweep, tmp_path):
    s = riskshare.sweep(repo / "scenarios/wangcang.yaml", vary={"funds.compensation.deposit_ratio": RATIOS},
                        trials=TRIALS, seed=SEED, out=tmp_path / "py")
    assert s.sweep == json.loads((cli_sweep / "sweep.json").read_text())
    assert s.sweep["fast_path"] and len(s.sweep["cells"]) == len(RATIOS)
    assert_table_equals_csv(s.table, cli_sweep / "sweep.csv")
    for name in ("sweep.csv", "sweep.json"):
        assert (s.out / name).read_bytes() == (cli_sweep / name).read_bytes(), name


def test_sweep_cells_are_runs(repo):
    # A cell of the fast path gives the figures of a full run with that key set.
    s = riskshare.sweep(repo / "tests/scenarios/mini.yaml", vary=["funds.compensation.deposit_ratio=7,9"],
                        trials=200)
    r = riskshare.run(repo / "tests/scenarios/mini.yaml", trials=200, set={"funds.compensation.deposit_ratio": 9})
    ratio = s.table.column(0).to_pylist()
    comp = s.table.column("comp_fund_mean").to_pylist()
    assert ratio == [7, 9]
    assert comp[1] == pytest.approx(r.summary["layers"]["comp_fund"]["mean"], abs=0.005)


def test_compare_equals_the_clis(cli, repo, tmp_path):
    files = [repo / "scenarios/wangcang.yaml", repo / "scenarios/wangcang-ratio-8.yaml"]
    p = cli("compare", *files, "--trials", 300, "--seed", SEED, "--out", tmp_path / "cli")
    assert p.returncode == 0, p.stderr
    c = riskshare.compare(files, trials=300, seed=SEED)
    assert c.comparison == json.loads((tmp_path / "cli/comparison.json").read_text())
    assert_table_equals_csv(c.table, tmp_path / "cli/comparison.csv")
    assert c.out is None


def test_size_equals_the_clis(cli, repo, tmp_path):
    p = cli("size", repo / "tests/scenarios/mini.yaml", "--trials", 300, "--no-charts", "--confidence", 0.9,
            "--confidence", 0.99, "--out", tmp_path / "cli")
    assert p.returncode == 0, p.stderr
    s = riskshare.size(repo / "tests/scenarios/mini.yaml", confidence=[0.9, 0.99], trials=300)
    assert s.sizing == json.loads((tmp_path / "cli/size.json").read_text())
    assert s.summary == json.loads((tmp_path / "cli/summary.json").read_text())
    assert_table_equals_csv(s.curve, tmp_path / "cli/size_curve.csv")


def test_validate_prints_what_the_cli_prints(cli, repo):
    path = repo / "scenarios/wangcang.yaml"
    p = cli("validate", path)
    assert p.returncode == 0, p.stderr
    assert riskshare.validate(path) == p.stdout
    assert riskshare.validate(None).startswith("wangcang: valid (<built-in wangcang.yaml>)")
