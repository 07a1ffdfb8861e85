"""riskshare.run against the CLI: the same scenario and seed give the same
summary, tables and files."""

import json
import math
import threading

import pytest

import riskshare
from conftest import assert_table_equals_csv

TRIALS, SEED = 500, 11


@pytest.fixture(scope="module")
def cli_run(cli, repo, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    p = cli("run", repo / "scenarios/wangcang.yaml", "--trials", TRIALS, "--seed", SEED, "--no-charts", "--out", out)
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture(scope="module")
def py_run(repo):
    return riskshare.run(repo / "scenarios/wangcang.yaml", trials=TRIALS, seed=SEED)


def test_summary_is_the_clis(py_run, cli_run):
    want = json.loads((cli_run / "summary.json").read_text())
    assert py_run.summary == want
    assert py_run.summary["layers"]["exposure"]["mean"] == want["layers"]["exposure"]["mean"]
    assert (py_run.n_trials, py_run.seed) == (TRIALS, SEED)


def test_tables_equal_the_csvs(py_run, cli_run):
    assert_table_equals_csv(py_run.trials, cli_run / "trials.csv")
    assert_table_equals_csv(py_run.years, cli_run / "years.csv")


def test_accounts_add_up_to_the_trials(py_run):
    # Each trial's compensation fund payment is its accounts' draws.
    acc = py_run.accounts
    n_accounts = acc.num_rows // TRIALS
    assert acc.num_rows == n_accounts * TRIALS and n_accounts > 0
    draws = acc.column("draws").to_pylist()
    trial = acc.column("trial").to_pylist()
    assert trial == [k for k in range(TRIALS) for _ in range(n_accounts)]
    per_trial = [sum(draws[k * n_accounts : (k + 1) * n_accounts]) for k in range(TRIALS)]
    assert per_trial == py_run.trials.column("comp_fund").to_pylist()


def test_write_gives_the_clis_bytes(py_run, cli_run, tmp_path):
    out = py_run.write(tmp_path / "py")
    names = sorted(p.name for p in cli_run.iterdir())
    assert sorted(p.name for p in out.iterdir()) == names
    for name in names:
        assert (out / name).read_bytes() == (cli_run / name).read_bytes(), name
    # An earlier output is replaced only when asked.
    with pytest.raises(riskshare.ScenarioError):
        py_run.write(out)
    py_run.write(out, force=True)


def test_threads_do_not_change_results(repo, py_run):
    one = riskshare.run(repo / "scenarios/wangcang.yaml", trials=TRIALS, seed=SEED, threads=1)
    assert one.summary == py_run.summary
    assert one.years.equals(py_run.years)


def test_yaml_text_and_dict_run_as_the_file(repo):
    path = repo / "tests/scenarios/mini.yaml"
    from_file = riskshare.run(path, trials=100)
    from_text = riskshare.run(path.read_text(), trials=100)
    from_dict = riskshare.run(MINI, trials=100)
    assert from_text.summary == from_file.summary
    assert from_dict.summary == from_file.summary
    assert from_dict.trials.equals(from_file.trials)


def test_set_overrides_as_the_cli(cli, repo, tmp_path):
    p = cli("run", repo / "tests/scenarios/mini.yaml", "--trials", 100, "--no-charts", "--out", tmp_path / "c",
            "--set", "funds.compensation.deposit_ratio=6", "--set", "economy.rho=0.3")
    assert p.returncode == 0, p.stderr
    r = riskshare.run(repo / "tests/scenarios/mini.yaml", trials=100,
                      set={"funds.compensation.deposit_ratio": 6, "economy.rho": 0.3})
    assert r.summary == json.loads((tmp_path / "c/summary.json").read_text())
    base = riskshare.run(repo / "tests/scenarios/mini.yaml", trials=100)
    assert r.summary != base.summary


def test_progress_callback_sees_every_trial(repo):
    seen = []
    riskshare.run(repo / "tests/scenarios/mini.yaml", trials=300, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (0, 300) and seen[-1] == (300, 300)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_progress_callback_errors_are_raised(repo):
    def boom(done, total):
        raise KeyError("stop")

    with pytest.raises(KeyError):
        riskshare.run(repo / "tests/scenarios/mini.yaml", trials=50, progress=boom)


def test_runs_in_threads_agree(repo):
    # The GIL is released while simulating: two Python threads run at once
    # and each gets the results of a run alone.
    path = repo / "tests/scenarios/mini.yaml"
    alone = riskshare.run(path, trials=200, seed=5)
    results = [None, None]

    def go(i):
        results[i] = riskshare.run(path, trials=200, seed=5, threads=1)

    ts = [threading.Thread(target=go, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert all(r.summary == alone.summary for r in results)


def test_tables_to_pandas(py_run):
    df = py_run.trials.to_pandas()
    assert len(df) == TRIALS
    assert math.isclose(float(df["exposure"].astype(float).mean()), py_run.summary["layers"]["exposure"]["mean"],
                        abs_tol=0.01)


MINI = {
    "name": "mini",
    "description": "Small test portfolio with every layer on.",
    "simulation": {"trials": 200, "seed": 7, "horizon_years": 3},
    "economy": {"rho": 0.15, "county_weight": 0.5, "persistence": 0.3, "kappa": 2.0},
    "grades": [{"id": "A", "pd": 0.01}, {"id": "B", "pd": 0.04}],
    "industries": [{"id": "tea", "kind": "crop"}, {"id": "cattle", "kind": "livestock", "species": "cattle"}],
    "products": [
        {"id": "micro", "pd_multiplier": 1.0, "max_principal": 50000, "max_term_years": 3},
        {"id": "pledge", "pd_multiplier": 1.2},
    ],
    "banks": [{"id": "rcc"}, {"id": "abc"}],
    "zones": [{"id": "valley"}, {"id": "mountain"}],
    "counties": [{"id": "c1", "village_counts": {"valley": 20, "mountain": 20}}],
    "portfolio": {
        "seed": 3,
        "cohorts": [
            {
                "name": "households", "count": 2000, "product": "micro", "borrower": "household",
                "banks": {"rcc": 0.7, "abc": 0.3}, "industries": {"tea": 0.6, "cattle": 0.4},
                "grades": {"A": 0.7, "B": 0.3}, "principal": {"uniform": {"min": 10000, "max": 50000}},
                "rate": 0.0435, "subsidy_rate": 0.0435, "term_years": 3,
                "insurance": {"agricultural": 0.5, "credit": 0.3, "accident": 0.9},
            },
            {
                "name": "pledges", "count": 200, "product": "pledge", "borrower": "household",
                "banks": {"rcc": 1.0}, "industries": {"cattle": 1.0}, "grades": {"B": 1.0},
                "principal": {"fixed": 30000}, "rate": 0.05, "term_years": 2,
                "amortisation": "equal_principal",
                "collateral": {"livestock_pledge": {"ltv": 0.5, "value_per_head": 8000}},
            },
        ],
    },
    "funds": {"village": {"share": 0.04}, "compensation": {"deposit_ratio": 10, "covers": ["micro"]}},
    "hazards": {
        "perils": [
            {"id": "flood", "rate": 0.4, "hit": {"valley": 0.5, "mountain": 0.1},
             "damage": {"alpha": 2, "beta": 5}, "vulnerability": {"tea": 0.6, "cattle": 0.3}}
        ]
    },
    "epidemics": {
        "diseases": [
            {"id": "fmd", "rate": 0.2, "hit": {"valley": 0.3, "mountain": 0.3}, "mortality": {"alpha": 2, "beta": 6},
             "species": ["cattle"]}
        ]
    },
    "shocks": [
        {"id": "accident", "kind": "accident", "prob": 0.003, "default_prob": 0.5},
        {"id": "illness", "kind": "illness", "prob": 0.01, "default_prob": 0.2},
    ],
}


def test_duckdb_reads_the_tables(py_run, cli_run):
    import duckdb
    from decimal import Decimal

    from conftest import read_csv

    trials = py_run.trials  # noqa: F841 (DuckDB finds the table by its name)
    got = duckdb.sql("select sum(comp_fund), sum(exposure), count(*) from trials").fetchall()[0]
    header, rows = read_csv(cli_run / "trials.csv")
    comp, exp = header.index("comp_fund"), header.index("exposure")
    want = (sum(Decimal(r[comp]) for r in rows), sum(Decimal(r[exp]) for r in rows), len(rows))
    assert got == want


def test_an_importance_sampled_run_is_the_clis(cli, repo, tmp_path):
    args = ("--trials", 300, "--seed", SEED, "--no-charts", "--importance", "auto", "--tail", "exposure:1e-2")
    p = cli("run", repo / "scenarios/wangcang.yaml", *args, "--out", tmp_path / "cli")
    assert p.returncode == 0, p.stderr
    r = riskshare.run(repo / "scenarios/wangcang.yaml", trials=300, seed=SEED, tail="exposure:1e-2")
    assert r.summary == json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert r.summary["importance"]["measure"]["target"] == "exposure:1e-2"
    assert r.trials.column_names[-1] == "weight" and r.years.column_names[-1] == "weight"
    assert_table_equals_csv(r.trials, tmp_path / "cli" / "trials.csv")
    assert_table_equals_csv(r.years, tmp_path / "cli" / "years.csv")
    with pytest.raises(riskshare.ScenarioError, match="did you mean `exposure`"):
        riskshare.run(repo / "scenarios/wangcang.yaml", trials=10, tail="exposur:1e-2")
