"""Bad input raises riskshare.ScenarioError with the CLI's problems."""

import pytest

import riskshare

BAD = "name: x\nbanks: [{id: a}]\nportfolo: {}\n"


def test_unknown_key_in_yaml_text():
    with pytest.raises(riskshare.ScenarioError) as e:
        riskshare.run(BAD, trials=10)
    assert "portfolo" in str(e.value)
    [p] = e.value.problems
    assert (p.file, p.key, p.line) == ("<string>", "portfolo", 3)
    assert "did you mean `portfolio`?" in p.message
    assert str(e.value) == str(p)


def test_message_is_the_clis(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    p = cli("run", bad, "--trials", 10, "--out", tmp_path / "o")
    assert p.returncode == 2
    with pytest.raises(riskshare.ScenarioError) as e:
        riskshare.run(bad, trials=10)
    assert p.stderr.strip() == f"error: {e.value}"
    assert e.value.problems[0].file == str(bad)


def test_dict_problems_name_the_dict():
    with pytest.raises(riskshare.ScenarioError) as e:
        riskshare.run({"name": "x", "banks": [{"id": "a"}], "portfolo": {}}, trials=10)
    [p] = e.value.problems
    assert (p.file, p.key) == ("<dict>", "portfolo")
    assert p.line is not None


def test_every_semantic_problem_is_listed(repo):
    text = (repo / "tests/scenarios/mini.yaml").read_text()
    text = text.replace("deposit_ratio: 10", "deposit_ratio: -1").replace("rho: 0.15", "rho: 1.5")
    with pytest.raises(riskshare.ScenarioError) as e:
        riskshare.validate(text)
    keys = [p.key for p in e.value.problems]
    assert "economy.rho" in keys and "funds.compensation.deposit_ratio" in keys
    assert all(f"  - {p}" in str(e.value) for p in e.value.problems)


def test_override_problems_name_the_override(repo):
    with pytest.raises(riskshare.ScenarioError) as e:
        riskshare.run(repo / "tests/scenarios/mini.yaml", trials=10, set={"economy.rhoo": 0.2})
    assert e.value.problems[0].file.startswith("--set")
    assert "rhoo" in str(e.value)


def test_arguments_are_checked_as_the_cli_does(repo):
    with pytest.raises(riskshare.ScenarioError) as e:
        riskshare.run(repo / "tests/scenarios/mini.yaml", trials=0)
    assert e.value.problems[0].file == "--trials"
    with pytest.raises(riskshare.ScenarioError) as e:
        riskshare.run(repo / "tests/scenarios/mini.yaml", trials=10, threads=0)
    assert e.value.problems[0].file == "--threads"
    with pytest.raises(riskshare.ScenarioError):
        riskshare.run(repo / "no/such/file.yaml")


def test_scenario_error_is_a_value_error():
    assert issubclass(riskshare.ScenarioError, ValueError)
