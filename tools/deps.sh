#!/usr/bin/env bash
# Installs the Debian packages Attune needs, when they are missing.
#
#   tools/deps.sh [build|test|fuzz|bench|all]
#
# As root it runs apt-get; otherwise it prints the exact apt-get line and
# fails, so that `make demo` and `make test` never half-work.
set -euo pipefail

build_pkgs=(meson ninja-build pkg-config gcc libc6-dev
            libmicrohttpd-dev libjansson-dev libpq-dev libgsl-dev libsodium-dev libcsv-dev
            postgresql python3 passwd util-linux)
test_pkgs=(python3-psycopg2 chromium valgrind)
fuzz_pkgs=(clang libclang-rt-14-dev)
# R and the packages the benchmarks compare against (optional for the suite).
bench_pkgs=(r-base-core r-cran-lme4 r-cran-effectsize r-cran-boot r-cran-psych r-cran-jsonlite)

case "${1:-build}" in
  build) want=("${build_pkgs[@]}") ;;
  test)  want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  fuzz)  want=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
  all)   want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|fuzz|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js and npm come with the machine; Debian's are the fallback.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing Debian packages: ${missing[*]}" >&2
  echo "HINT: Install them as root with:" >&2
  echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
