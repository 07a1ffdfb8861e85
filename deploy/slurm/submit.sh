#!/bin/bash
# submit.sh: queue a sharded riskshare run on Slurm. An array job runs one task
# per shard (riskshare-array.sbatch beside this file); a merge job, queued with
# --dependency=afterok on the array, runs only if every task succeeded and
# writes $WORKDIR/merged: trials.csv, years.csv and summary.json byte-identical
# to a single `riskshare run` with the same scenario, trials and seed.
#
#   SHARDS=16 THREADS=4 TRIALS=2000000 WORKDIR=/shared/runs/r1 deploy/slurm/submit.sh
#
# Settings (environment):
#   SHARDS      number of shards N, one array task each (default 4)
#   THREADS     cores per shard: sbatch --cpus-per-task and riskshare --threads (default 1)
#   TRIALS      trials of the whole run (default 100000)
#   SEED        master seed (default: the scenario's simulation.seed)
#   SCENARIO    scenario file (default: the built-in Wangcang scenario)
#   SET         KEY=VALUE overrides separated by spaces, passed as --set (default: none)
#   WORKDIR     run folder on storage shared by all nodes (default ./riskshare-work);
#               shards go to WORKDIR/shard-I, the result to WORKDIR/merged,
#               Slurm logs to WORKDIR/logs
#   RISKSHARE   riskshare binary, same path on every node (default: riskshare on PATH)
#   MEM         sbatch --mem for each shard task (default: the cluster's default)
#   MERGE_MEM   sbatch --mem for the merge job (default: the cluster's default)
#   MERGE_ARGS  more `riskshare merge` options separated by spaces, e.g. "--lang zh"
#               or "--no-charts" (default: none)
#   ONLY        which shards to (re)run: "all" (default), "missing" (those without a
#               finished WORKDIR/shard-I; merge only if none), or a Slurm index list
#               such as "3,5" or "0-3"
#   SBATCH_ARGS extra sbatch options for both jobs, e.g. "--partition=long --time=2:00:00"
#               (sbatch's own SBATCH_PARTITION, SBATCH_ACCOUNT, SBATCH_TIMELIMIT work too)
#   WAIT        1: wait for the merge job and exit non-zero unless WORKDIR/merged was
#               written (default 0: print the job ids and return)
#   VALIDATE    0: skip `riskshare validate` of the scenario on this host before
#               queueing (default 1; skip it when this host cannot run the binary)
#
# A failed shard cancels the merge (--kill-on-invalid-dep=yes). Rerun the failed
# shards and the merge with the same settings and ONLY=missing (or ONLY=<indices>):
# a shard is written whole or not at all, so a rerun simply creates or replaces
# its folder. See docs/scale-out.md.

set -euo pipefail

fail() { echo "submit.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

SHARDS=${SHARDS:-4}
THREADS=${THREADS:-1}
TRIALS=${TRIALS:-100000}
SEED=${SEED:-}
SCENARIO=${SCENARIO:-}
SET=${SET:-}
WORKDIR=${WORKDIR:-riskshare-work}
RISKSHARE=${RISKSHARE:-riskshare}
MEM=${MEM:-}
MERGE_MEM=${MERGE_MEM:-}
MERGE_ARGS=${MERGE_ARGS:-}
ONLY=${ONLY:-all}
SBATCH_ARGS=${SBATCH_ARGS:-}
WAIT=${WAIT:-0}
VALIDATE=${VALIDATE:-1}

[[ "$SHARDS" =~ ^[1-9][0-9]*$ ]] || fail "SHARDS must be a positive integer (found '$SHARDS')"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || fail "THREADS must be a positive integer (found '$THREADS')"
[[ "$TRIALS" =~ ^[1-9][0-9]*$ ]] || fail "TRIALS must be a positive integer (found '$TRIALS')"
[ -z "$SEED" ] || [[ "$SEED" =~ ^[0-9]+$ ]] || fail "SEED must be a non-negative integer (found '$SEED')"
[ "$TRIALS" -ge "$SHARDS" ] || fail "TRIALS ($TRIALS) is smaller than SHARDS ($SHARDS): some shards would be empty"

# Absolute paths, so that the jobs find everything whatever directory they start in.
RISKSHARE=$(command -v "$RISKSHARE") || fail "cannot find riskshare: put it on PATH or set RISKSHARE=/path/to/riskshare"
case "$RISKSHARE" in /*) ;; *) RISKSHARE=$PWD/$RISKSHARE ;; esac
if [ -n "$SCENARIO" ]; then
  [ -f "$SCENARIO" ] || fail "SCENARIO '$SCENARIO' is not a file"
  SCENARIO=$(cd "$(dirname "$SCENARIO")" && pwd)/$(basename "$SCENARIO")
fi

# Shard folders left by a run with more shards would overlap this run's ranges.
for d in "$WORKDIR"/shard-*; do
  [ -e "$d" ] || continue
  i=${d##*/shard-}
  if ! [[ "$i" =~ ^[0-9]+$ ]] || [ "$i" -ge "$SHARDS" ]; then
    fail "$d is not a shard of a $SHARDS-shard run (left by an earlier run?): use a fresh WORKDIR or remove it"
  fi
done

if [ "$VALIDATE" = 1 ]; then
  vargs=(validate)
  [ -z "$SCENARIO" ] || vargs+=("$SCENARIO")
  for kv in $SET; do vargs+=(--set "$kv"); done
  "$RISKSHARE" "${vargs[@]}" >/dev/null || fail "the scenario does not validate (see above); nothing was queued"
fi

mkdir -p "$WORKDIR/logs"
WORKDIR=$(cd "$WORKDIR" && pwd)

case "$ONLY" in
  all) ARRAY="0-$((SHARDS - 1))" ;;
  missing)
    ARRAY=
    for ((i = 0; i < SHARDS; i++)); do
      [ -f "$WORKDIR/shard-$i/manifest.json" ] || ARRAY+="${ARRAY:+,}$i"
    done
    ;;
  *)
    [[ "$ONLY" =~ ^[0-9,-]+$ ]] || fail "ONLY must be all, missing or an index list such as 3,5 or 0-3 (found '$ONLY')"
    ARRAY=$ONLY
    ;;
esac

export SHARDS TRIALS SEED SCENARIO SET WORKDIR RISKSHARE MERGE_ARGS
read -r -a extra <<<"$SBATCH_ARGS"

deps=()
A=
if [ -n "$ARRAY" ]; then
  A=$(sbatch --parsable --export=ALL --array="$ARRAY" --cpus-per-task="$THREADS" ${MEM:+--mem="$MEM"} \
    --job-name=riskshare-shard --output="$WORKDIR/logs/shard-%a-job%A.out" "${extra[@]}" \
    "$here/riskshare-array.sbatch")
  A=${A%%;*}
  deps=(--dependency="afterok:$A" --kill-on-invalid-dep=yes)
  echo "submit.sh: array job $A: shards $ARRAY of $SHARDS, $TRIALS trials, $THREADS cpu(s) each"
else
  echo "submit.sh: every shard of $SHARDS is already in $WORKDIR; queueing the merge only"
fi

# The glob is expanded when the merge job runs, in the job's own shell;
# MERGE_ARGS is split into words there.
# shellcheck disable=SC2016
M=$(sbatch --parsable --export=ALL "${deps[@]}" --cpus-per-task=1 ${MERGE_MEM:+--mem="$MERGE_MEM"} \
  --job-name=riskshare-merge --output="$WORKDIR/logs/merge-job%j.out" "${extra[@]}" \
  --wrap 'exec "$RISKSHARE" merge $MERGE_ARGS "$WORKDIR"/shard-* --out "$WORKDIR/merged"')
M=${M%%;*}
echo "submit.sh: merge job $M${A:+ (after every task of $A succeeds)} -> $WORKDIR/merged"
echo "submit.sh: logs in $WORKDIR/logs"

[ "$WAIT" = 1 ] || exit 0

while squeue -h -j "${A:+$A,}$M" 2>/dev/null | grep -q .; do sleep 2; done
# A merge cancelled for its dependency also "ends", so check its state and its output.
state=$(scontrol -o show job "$M" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | head -n1 || true)
if [ "$state" = JobState=COMPLETED ] && [ -f "$WORKDIR/merged/summary.json" ]; then
  echo "submit.sh: done: $WORKDIR/merged"
  exit 0
fi
echo "submit.sh: the merge job $M did not complete (${state:-state unknown}); an earlier $WORKDIR/merged, if any, is unchanged" >&2
if [ "$state" = JobState=FAILED ] && [ -f "$WORKDIR/logs/merge-job$M.out" ]; then
  echo "submit.sh: the merge refused the shards ($WORKDIR/logs/merge-job$M.out):" >&2
  tail -n 20 "$WORKDIR/logs/merge-job$M.out" >&2
fi
if [ -n "$A" ]; then
  failed=$(scontrol -o show job "$A" 2>/dev/null | grep -v 'JobState=COMPLETED' | grep -o 'ArrayTaskId=[0-9]*' |
    cut -d= -f2 | paste -sd, - || true)
  [ -z "$failed" ] || echo "submit.sh: shards that did not succeed: $failed (logs: $WORKDIR/logs/shard-<I>-job$A.out)" >&2
fi
echo "submit.sh: after fixing the cause, rerun with the same settings: ONLY=missing reruns the shards" >&2
echo "submit.sh: that have no folder, ONLY=<indices> the ones named, each followed by the merge" >&2
exit 1
