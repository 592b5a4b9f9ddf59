#!/usr/bin/env bash
# Installs the Debian packages flurry needs, only those that are missing.
# Usage: scripts/deps.sh [build|bench]   (build is the default)
set -euo pipefail
build_pkgs=(build-essential cmake pkg-config libcurl4-openssl-dev libuv1-dev
            libjq-dev libonig-dev libmicrohttpd-dev libwslay-dev libssl-dev
            libcmocka-dev jq curl nginx openssl)
bench_pkgs=(libnginx-mod-http-echo wrk python3 python3-aiohttp python3-httpx time)
want=("${build_pkgs[@]}")
[ "${1:-build}" = bench ] && want+=("${bench_pkgs[@]}")
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
