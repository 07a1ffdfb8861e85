"""Importance sampling (``tail=``) in size, compare, sweep and stress, and
stress itself, against the CLI's files for the same arguments."""

import json

import pytest

import riskshare

TRIALS, SEED = 2000, 5
TAIL = ("--importance", "auto", "--tail", "auto")


def weighted(prob):
    """Whether a probability of the JSON results can only come from weighted
    trials: a plain run's is k/n, 0 or at least 1/n; the rare event the
    default scenario's tail aims at (below 1 in 20,000) weighed back is
    positive and far below 1/n."""
    return 0 < prob["p"] < 1 / prob["n"]


def test_size_with_a_tail_is_the_clis(cli, repo, tmp_path):
    scenario = repo / "scenarios/wangcang.yaml"
    p = cli("size", scenario, "--trials", TRIALS, "--seed", SEED, "--no-charts", "--confidence", 0.999, *TAIL,
            "--out", tmp_path / "cli")
    assert p.returncode == 0, p.stderr
    s = riskshare.size(scenario, confidence=[0.999], trials=TRIALS, seed=SEED, tail="auto", out=tmp_path / "py")
    assert s.sizing == json.loads((tmp_path / "cli/size.json").read_text())
    assert s.summary == json.loads((tmp_path / "cli/summary.json").read_text())
    imp = s.summary["importance"]
    assert imp["measure"]["target"] == "comp_accounts_exhausted"
    assert 0 < imp["effective_sample_size"] < TRIALS
    assert weighted(s.summary["adequacy"]["comp_fund_exhausted"])
    header = (s.out / "trials.csv").read_text().split("\n", 1)[0].split(",")
    assert header[-1] == "weight"


def test_compare_with_a_tail_is_the_clis(cli, repo, tmp_path):
    files = [repo / "scenarios/wangcang.yaml", repo / "scenarios/wangcang-ratio-8.yaml"]
    p = cli("compare", *files, "--trials", TRIALS, "--seed", SEED, *TAIL, "--out", tmp_path / "cli")
    assert p.returncode == 0, p.stderr
    c = riskshare.compare(files, trials=TRIALS, seed=SEED, tail="auto")
    assert c.comparison == json.loads((tmp_path / "cli/comparison.json").read_text())
    plain = riskshare.compare(files, trials=TRIALS, seed=SEED)
    assert c.comparison["rows"] != plain.comparison["rows"]
    # At 8:1 the deposits are a quarter larger than at 10:1: each bank runs dry less often.
    for base, ratio8 in zip(*(pol["banks"] for pol in c.comparison["policy"])):
        assert weighted(base["dry"]) and weighted(ratio8["dry"])
        assert ratio8["dry"]["p"] < base["dry"]["p"]


def test_sweep_with_a_tail_is_the_clis(cli, repo, tmp_path):
    scenario = repo / "scenarios/wangcang.yaml"
    p = cli("sweep", scenario, "--vary", "funds.compensation.deposit_ratio=8,10", "--trials", TRIALS, "--seed", SEED,
            *TAIL, "--out", tmp_path / "cli")
    assert p.returncode == 0, p.stderr
    s = riskshare.sweep(scenario, vary={"funds.compensation.deposit_ratio": [8, 10]}, trials=TRIALS, seed=SEED,
                        tail="auto")
    assert s.sweep == json.loads((tmp_path / "cli/sweep.json").read_text())
    assert s.sweep["fast_path"]
    depletion = [c["depletion"] for c in s.sweep["cells"]]
    assert all(weighted(d) for d in depletion)
    assert depletion[0]["p"] < depletion[1]["p"]  # 8:1 holds larger deposits than 10:1


@pytest.mark.parametrize("command", ["size", "compare", "sweep", "stress"])
def test_a_bad_tail_is_an_input_error(repo, command):
    scenario = repo / "tests/scenarios/mini.yaml"
    calls = {
        "size": lambda tail: riskshare.size(scenario, trials=10, tail=tail),
        "compare": lambda tail: riskshare.compare([scenario, scenario], trials=10, tail=tail),
        "sweep": lambda tail: riskshare.sweep(scenario, vary={"funds.compensation.deposit_ratio": [8]}, trials=10,
                                              tail=tail),
        "stress": lambda tail: riskshare.stress(scenario, preset="recession", trials=10, tail=tail),
    }
    with pytest.raises(riskshare.ScenarioError, match="did you mean `bank_loss`") as e:
        calls[command]("bank_los:1e-3")
    assert e.value.problems[0].file == "tail"
    with pytest.raises(riskshare.ScenarioError, match="not an exceedance probability") as e:
        calls[command]("exposure:2")
    assert e.value.problems[0].file == "tail"


@pytest.fixture(scope="module")
def cli_stress(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "stress"
    p = cli("stress", "--preset", "flood-year", "--trials", TRIALS, "--seed", SEED, "--out", out)
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture(scope="module")
def py_stress(tmp_path_factory):
    out = tmp_path_factory.mktemp("py") / "stress"
    return riskshare.stress(preset="flood-year", trials=TRIALS, seed=SEED, out=out)


def test_stress_is_the_clis(py_stress, cli_stress):
    assert py_stress.stress == json.loads((cli_stress / "stress.json").read_text())
    assert (py_stress.out / "stress.json").read_bytes() == (cli_stress / "stress.json").read_bytes()
    for name in ("report.html", "results.xlsx"):
        assert (py_stress.out / name).stat().st_size > 0, name


def test_stress_table_holds_the_totals(py_stress):
    s = py_stress.stress
    assert s["applied"]["overlay"] == "--preset flood-year" and s["trials"] == TRIALS and s["seed"] == SEED
    t = py_stress.table
    assert t.column_names == ["metric", "baseline_mean", "baseline_p99", "baseline_tvar99", "stressed_mean",
                              "stressed_p99", "stressed_tvar99"]
    assert t.column("metric").to_pylist() == [row[0] for row in s["totals"]]
    for i, (_, base, stressed) in enumerate(s["totals"]):
        for k in ("mean", "p99", "tvar99"):
            assert t.column("baseline_" + k)[i].as_py() == base[k]
            assert t.column("stressed_" + k)[i].as_py() == stressed[k]
    # A forced flood year on the same futures: more defaults, so more exposure and more for the banks.
    rows = {m: i for i, m in enumerate(t.column("metric").to_pylist())}
    for m in ("exposure", "bank_total"):
        assert t.column("stressed_mean")[rows[m]].as_py() > t.column("baseline_mean")[rows[m]].as_py()
    for a in s["accounts"]:
        assert a["stressed"]["fund_draws"]["mean"] > a["baseline"]["fund_draws"]["mean"], a["bank"]


def test_stress_with_an_overlay_file_and_a_tail_is_the_clis(cli, repo, tmp_path):
    overlay = repo / "scenarios/stress/flood-and-swine-fever.yaml"
    p = cli("stress", "--overlay", overlay, "--trials", TRIALS, "--seed", SEED, *TAIL, "--out", tmp_path / "cli")
    assert p.returncode == 0, p.stderr
    s = riskshare.stress(overlay=overlay, trials=TRIALS, seed=SEED, tail="auto")
    assert s.stress == json.loads((tmp_path / "cli/stress.json").read_text())
    assert s.out is None
    for a in s.stress["accounts"]:
        assert weighted(a["baseline"]["exhausted"]), a["bank"]
        assert a["stressed"]["exhausted"]["p"] > a["baseline"]["exhausted"]["p"], a["bank"]


def test_stress_needs_one_overlay(repo, tmp_path):
    with pytest.raises(riskshare.ScenarioError, match="one of the two is needed"):
        riskshare.stress(trials=10)
    with pytest.raises(riskshare.ScenarioError, match="not both"):
        riskshare.stress(preset="recession", overlay=repo / "scenarios/stress/lost-decade.yaml", trials=10)
    with pytest.raises(riskshare.ScenarioError, match="did you mean `recession`") as e:
        riskshare.stress(preset="recesion", trials=10)
    assert e.value.problems[0].file == "--preset"
    bad = tmp_path / "bad.yaml"
    bad.write_text("stress:\n  pd_multiplyer: 2\n")
    with pytest.raises(riskshare.ScenarioError, match="pd_multiplyer") as e:
        riskshare.stress(overlay=bad, trials=10)
    assert e.value.problems[0].file == str(bad)
