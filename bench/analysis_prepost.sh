#!/usr/bin/env bash
# analysis_prepost.sh — times `attune analyze prepost` (2,000-resample
# bootstrap included) for 280, 10,000 and 1,000,000 participants, and the
# same analysis in R (effectsize + boot, bench/prepost.R) on the same files
# when Rscript is there. Prints medians of several runs and the ratio.
#
#   bench/analysis_prepost.sh [BUILD_DIR]
#
# Environment: SIZES (default "280 10000 1000000"), RUNS (runs per size,
# default 5), RUNS_LARGE (for a million, default 3), R_RUNS_LARGE (R for a
# million, default 1: it takes minutes and boot() holds an R x n index
# matrix, about 11 GB), RESAMPLES (default 2000), NO_R=1 to
# skip R. The data are generated deterministically by bench/gen_prepost.py
# (same N, same file). Times are wall-clock seconds of the whole process,
# reading the CSV file included; for R, start-up too, and "R compute" is the
# part after start-up. The machine's load is printed, because it matters.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
attune=$build/attune
sizes=${SIZES:-"280 10000 1000000"}
runs=${RUNS:-5}
runs_large=${RUNS_LARGE:-3}
r_runs_large=${R_RUNS_LARGE:-1}
resamples=${RESAMPLES:-2000}
python=$(command -v python3)

if [ ! -x "$attune" ]; then
  echo "error: $attune not found; build first (meson setup build && ninja -C build)" >&2
  exit 1
fi
have_r=0
if [ -z "${NO_R:-}" ] && command -v Rscript >/dev/null &&
   Rscript -e 'suppressPackageStartupMessages({library(effectsize); library(boot)})' \
     >/dev/null 2>&1; then
  have_r=1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
                                              else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

time_attune() { # file
  local s e
  s=$(now)
  "$attune" analyze prepost --csv "$1" --id participant --time week --score gad7 \
    --instrument gad7 --resamples "$resamples" --seed 1 --format json > "$work/out.json"
  e=$(now)
  echo "$e - $s" | bc -l
}

time_r() { # file -> "total compute"
  local s e c
  s=$(now)
  c=$(Rscript "$root/bench/prepost.R" "$1" "$resamples" | sed -n 's/^compute_seconds=//p')
  e=$(now)
  echo "$(echo "$e - $s" | bc -l) $c"
}

echo "attune analyze prepost benchmark: $resamples bootstrap resamples, $(nproc) cores," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "attune: $("$attune" version | head -1)"
[ "$have_r" = 1 ] && echo "R: $(Rscript -e 'cat(R.version.string)' 2>/dev/null)," \
  "effectsize $(Rscript -e 'cat(format(packageVersion("effectsize")))' 2>/dev/null)," \
  "boot $(Rscript -e 'cat(format(packageVersion("boot")))' 2>/dev/null)"
echo

declare -A att rtot rcomp
for n in $sizes; do
  f="$work/prepost_$n.csv"
  "$python" "$root/bench/gen_prepost.py" "$n" "$f"
  k=$runs
  [ "$n" -ge 1000000 ] && k=$runs_large
  : > "$work/t_attune"
  for _ in $(seq "$k"); do time_attune "$f" >> "$work/t_attune"; done
  att[$n]=$(median < "$work/t_attune")
  if [ "$have_r" = 1 ]; then
    kr=$k
    [ "$n" -ge 1000000 ] && kr=$r_runs_large
    : > "$work/t_r"
    : > "$work/t_rc"
    for _ in $(seq "$kr"); do
      read -r tot comp < <(time_r "$f")
      echo "$tot" >> "$work/t_r"
      echo "$comp" >> "$work/t_rc"
    done
    rtot[$n]=$(median < "$work/t_r")
    rcomp[$n]=$(median < "$work/t_rc")
  fi
  echo "  measured n=$n ($k runs)" >&2
done

printf '%12s %12s %12s %14s %10s %18s %16s\n' participants "attune (s)" "R total (s)" \
  "R compute (s)" "R/attune" "R compute/attune" "attune us/part."
for n in $sizes; do
  a=${att[$n]}
  if [ "$have_r" = 1 ]; then
    printf '%12s %12.4f %12.3f %14.3f %10.1f %18.1f %16.2f\n' "$n" "$a" "${rtot[$n]}" \
      "${rcomp[$n]}" "$(echo "${rtot[$n]} / $a" | bc -l)" "$(echo "${rcomp[$n]} / $a" | bc -l)" \
      "$(echo "$a * 1000000 / $n" | bc -l)"
  else
    printf '%12s %12.4f %12s %14s %10s %18s %16.2f\n' "$n" "$a" - - - - \
      "$(echo "$a * 1000000 / $n" | bc -l)"
  fi
done

echo
if [ -n "${att[280]:-}" ]; then
  ms=$(echo "${att[280]} * 1000" | bc -l)
  printf 'target: 280 participants in under 50 ms including the bootstrap: %.1f ms (%s)\n' \
    "$ms" "$(echo "$ms < 50" | bc -l | sed 's/1/met/; s/0/NOT met/')"
fi
if [ -n "${att[10000]:-}" ] && [ -n "${att[1000000]:-}" ]; then
  grow=$(echo "${att[1000000]} / ${att[10000]}" | bc -l)
  bound=$(echo "100 * l(1000000) / l(10000)" | bc -l)
  printf 'growth 10,000 -> 1,000,000: x%.1f (n log n allows x%.0f; linear is x100)\n' \
    "$grow" "$bound"
fi
