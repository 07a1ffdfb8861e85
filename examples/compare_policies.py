"""Compare Wangcang's shipped policy variants, then plot the chance that each
bank's compensation fund runs dry against the deposit ratio.

    pip install ./python matplotlib
    python examples/compare_policies.py [--trials 20000] [--out compare_policies.png]

The variants (scenarios/wangcang-*.yaml) each change one policy key of the
baseline; `riskshare.compare` runs them all on the same random futures, so
their differences are the policies', not the dice's. The deposit ratio is
then swept over a grid with `riskshare.sweep`: only the funds change between
cells, so each trial is drawn once and settled once per ratio.
"""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed
import matplotlib.pyplot as plt

import riskshare

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
# The variants that change a policy of the baseline's book (the 5221 ones
# re-grade the book itself, so they are left out here).
VARIANTS = [
    "wangcang-ratio-8.yaml",
    "wangcang-ratio-12.yaml",
    "wangcang-village-3pct.yaml",
    "wangcang-village-5pct.yaml",
    "wangcang-split-5-5.yaml",
    "wangcang-split-7-3.yaml",
    "wangcang-shortfall-bank.yaml",
    "wangcang-no-insurance.yaml",
]
# From far richer than the policy's 10:1 to far leaner: Wangcang's funds
# only start running dry past about 40:1.
RATIOS = [5, 10, 20, 40, 60, 100, 150, 200, 300]


def dry(d: dict) -> str:
    """A chance of running dry: the estimate, or its 95 % upper bound when no trial ran dry."""
    return f"{100 * d['p']:.2f} %" if d["k"] else f"< {100 * d['hi']:.2f} %"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--out", type=Path, default=Path("compare_policies.png"))
    args = ap.parse_args()

    # 1. The shipped variants against the baseline, on common random numbers.
    files = [SCENARIOS / "wangcang.yaml"] + [SCENARIOS / v for v in VARIANTS]
    c = riskshare.compare(files, trials=args.trials, seed=args.seed, progress=True)
    banks = [b["bank"] for b in c.comparison["policy"][0]["banks"]]
    head = "  ".join(f"{'P(dry ' + b + ')':>16}" for b in banks)
    print(f"\n{'scenario':56} {'budget M yuan':>14} {'fiscal cost M':>14}  {head}")
    for name, pol in zip(c.comparison["scenarios"], c.comparison["policy"]):
        cells = "  ".join(f"{dry(b['dry']):>16}" for b in pol["banks"])
        print(f"{name:56} {pol['budget_committed'] / 1e6:14.1f} {pol['fiscal_cost']['mean'] / 1e6:14.2f}  {cells}")

    # The paired differences in the comparison table, with pandas.
    df = c.table.to_pandas()
    comp = df[df.metric == "comp_fund"][["scenario", "mean", "diff_to_first", "diff_lo", "diff_hi"]]
    print("\ncompensation fund payout, yuan a horizon (difference to the baseline, 95 % interval):")
    print(comp.to_string(index=False))

    # 2. The deposit ratio swept: each bank's chance of running dry.
    s = riskshare.sweep(
        SCENARIOS / "wangcang.yaml",
        vary={"funds.compensation.deposit_ratio": RATIOS},
        trials=args.trials,
        seed=args.seed,
        progress=True,
    )
    t = s.table
    ratio = t.column("funds.compensation.deposit_ratio").to_pylist()
    names = {b["bank"]: b["bank_name"] for b in s.sweep["cells"][0]["policy"]["banks"]}
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for bank in banks:
        p = t.column(f"p_dry_{bank}").to_pylist()
        lo = t.column(f"p_dry_{bank}_lo").to_pylist()
        hi = t.column(f"p_dry_{bank}_hi").to_pylist()
        (line,) = ax.plot(ratio, [100 * v for v in p], marker="o", label=names.get(bank, bank))
        ax.fill_between(ratio, [100 * v for v in lo], [100 * v for v in hi], color=line.get_color(), alpha=0.15)
    ax.set_xscale("log")
    ax.set_xticks(RATIOS, [f"{r}:1" for r in RATIOS])
    ax.set_xlabel("deposit ratio (yuan of covered loans per yuan deposited, log scale)")
    ax.set_ylabel("chance the bank's compensation fund runs dry (%)")
    ax.set_title(f"Wangcang: running dry within the horizon ({args.trials:,} trials, 95 % intervals)")
    ax.axvline(10, color="grey", linestyle=":", linewidth=1)
    ax.annotate(" 10:1, the policy", (10, ax.get_ylim()[1] * 0.6), color="grey", ha="left", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"\nchart: {args.out}")


if __name__ == "__main__":
    main()
