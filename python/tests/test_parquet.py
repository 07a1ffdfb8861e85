"""The CLI's Parquet tables read back by pyarrow and by DuckDB equal its CSV
tables, and the package's Arrow tables."""

import duckdb
import pyarrow.parquet as pq
import pytest

import riskshare
from conftest import assert_table_equals_csv

TRIALS, SEED = 1000, 7


@pytest.fixture(scope="module")
def both(cli, repo, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "both"
    p = cli("run", repo / "scenarios/wangcang.yaml", "--trials", TRIALS, "--seed", SEED, "--no-charts",
            "--format", "both", "--out", out)
    assert p.returncode == 0, p.stderr
    return out


@pytest.mark.parametrize("name", ["trials", "years"])
def test_pyarrow_reads_the_csvs_values(both, name):
    assert_table_equals_csv(pq.read_table(both / f"{name}.parquet"), both / f"{name}.csv")


@pytest.mark.parametrize("name", ["trials", "years"])
def test_duckdb_reads_the_csvs_values(both, name):
    path = str(both / f"{name}.parquet").replace("'", "''")
    t = duckdb.sql(f"select * from read_parquet('{path}')").to_arrow_table()
    assert_table_equals_csv(t, both / f"{name}.csv")


def test_parquet_holds_the_packages_tables(both, repo):
    r = riskshare.run(repo / "scenarios/wangcang.yaml", trials=TRIALS, seed=SEED)
    for name in ("trials", "years", "accounts"):
        file = pq.read_table(both / f"{name}.parquet")
        mine = getattr(r, name)
        assert file.column_names == mine.column_names, name
        assert file.to_pylist() == mine.to_pylist(), name
    meta = pq.ParquetFile(both / "trials.parquet").metadata.metadata
    assert meta[b"riskshare.seed"] == str(SEED).encode()
