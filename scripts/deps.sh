#!/usr/bin/env bash
# Installs the Debian packages flurry needs, only those that are missing.
# Usage: scripts/deps.sh [GROUP...]   (build is the default)
#   build     compile, run and test (make, make test's first part, make demo)
#   fuzz      clang and its runtimes with libFuzzer (make fuzz, make test)
#   valgrind  make test-valgrind
#   lint      clang-tidy and cppcheck (make lint)
#   bench     make bench
set -euo pipefail
build_pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libuv1-dev
            libjq-dev libonig-dev libmicrohttpd-dev libwslay-dev libssl-dev
            libcmocka-dev zlib1g-dev jq curl nginx openssl time
            libsqlite3-dev libhiredis-dev redis-server python3-dev python3-fastapi
            python3-uvicorn)
# clang and libclang-rt-dev follow Debian's default LLVM (bookworm: 14, whose
# libclang-rt-14-dev holds libFuzzer and the sanitizer runtimes).
fuzz_pkgs=(clang libclang-rt-dev)
valgrind_pkgs=(valgrind)
lint_pkgs=(clang-tidy clang-format cppcheck)
bench_pkgs=(libnginx-mod-http-echo wrk python3 python3-aiohttp python3-httpx python3-pycurl
            python3-uvloop time)
want=()
for group in "${@:-build}"; do
  case "$group" in
    build) want+=("${build_pkgs[@]}") ;;
    fuzz) want+=("${fuzz_pkgs[@]}") ;;
    valgrind) want+=("${valgrind_pkgs[@]}") ;;
    lint) want+=("${lint_pkgs[@]}") ;;
    bench) want+=("${build_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "deps: unknown group $group (build, fuzz, valgrind, lint, bench)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing ${missing[*]}" >&2
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
