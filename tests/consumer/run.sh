#!/usr/bin/env bash
# The installed flurry, seen from a project outside the tree
# (tests/consumer/main.c). Three ctest tests, in this order (a fixture):
#   run.sh install BUILD_DIR WORK   cmake --install BUILD_DIR --prefix WORK/stage
#   run.sh cmake WORK               find_package(flurry) + flurry::flurry, build, run
#   run.sh pkg-config WORK          cc $(pkg-config --cflags --libs flurry), build, run
#   run.sh cli WORK SRC             the flurry command from SRC's cli/, server/ and
#                                   src/util/ against the install only, then used
# Environment: CC, CFLAGS (the flags libflurry was built with that a program
# linking it needs too: the sanitizers), FLURRY_VERSION_EXPECTED,
# FLURRY_LIBDIR (CMAKE_INSTALL_LIBDIR).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
step=${1:?usage: run.sh install BUILD_DIR WORK | cmake WORK | pkg-config WORK}
: "${FLURRY_VERSION_EXPECTED:?}" "${FLURRY_LIBDIR:?}" "${CC:?}"
CFLAGS=${CFLAGS:-}

fail() { echo "FAIL consumer $step: $*" >&2; exit 1; }

case "$step" in
install)
  build=$2 work=$3
  rm -rf "$work"
  mkdir -p "$work"
  cmake --install "$build" --prefix "$work/stage" >"$work/install.log" 2>&1 ||
    { cat "$work/install.log"; fail "cmake --install"; }
  # Nothing from the source tree's private layers is installed.
  if find "$work/stage" -name '*_int.h' -o -name 'internal.h' -o -name 'fl.h' | grep .; then
    fail "internal headers installed"
  fi
  [ -f "$work/stage/include/flurry/version.h" ] || fail "flurry/version.h not installed"
  echo "ok   installed to $work/stage"
  ;;
cmake)
  work=$2
  rm -rf "$work/cmake"
  # CC and CFLAGS reach CMake through the environment.
  cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/stage" \
    -DFLURRY_STAGE="$work/stage" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="$CFLAGS -Werror" \
    -DCMAKE_EXE_LINKER_FLAGS="$CFLAGS" || fail "configure (find_package)"
  cmake --build "$work/cmake" || fail "build"
  "$work/cmake/consumer" || fail "run"
  echo "ok   find_package(flurry) + flurry::flurry: built and ran"
  ;;
pkg-config)
  work=$2
  export PKG_CONFIG_PATH="$work/stage/$FLURRY_LIBDIR/pkgconfig"
  v=$(pkg-config --modversion flurry) || fail "pkg-config flurry"
  [ "$v" = "$FLURRY_VERSION_EXPECTED" ] || fail "pkg-config version $v, want $FLURRY_VERSION_EXPECTED"
  cflags=$(pkg-config --cflags flurry) libs=$(pkg-config --libs flurry)
  echo "pkg-config flurry: $cflags $libs"
  [[ "$libs" == *"-L$work/stage/"* ]] || fail "--libs do not point into the install: $libs"
  mkdir -p "$work/pc"
  # shellcheck disable=SC2086 # the flags are lists of words
  "$CC" $CFLAGS -Wall -Wextra -Werror $cflags -DFLURRY_EXPECTED_VERSION="\"$v\"" \
    "$here/main.c" -o "$work/pc/consumer" $libs || fail "compile and link"
  LD_LIBRARY_PATH="$work/stage/$FLURRY_LIBDIR" "$work/pc/consumer" || fail "run"
  echo "ok   pkg-config flurry: built and ran"
  ;;
cli)
  # The command is a client of the public API (issue 16): its sources and
  # the servers' see the installed headers and src/util (the helper layer,
  # not installed: its functions are hidden in libflurry), never src/.
  work=$2 src=$3
  export PKG_CONFIG_PATH="$work/stage/$FLURRY_LIBDIR/pkgconfig"
  mkdir -p "$work/cli"
  deps=$(pkg-config --cflags --libs flurry libcurl libmicrohttpd libcrypto zlib hiredis) ||
    fail "pkg-config"
  # shellcheck disable=SC2086 # the flags are lists of words
  "$CC" $CFLAGS -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Wall -Wextra -Werror \
    -I"$src/src/util" -I"$src/cli" -I"$src/server" \
    "$src"/cli/*.c "$src"/server/*.c "$src"/src/util/*.c \
    -o "$work/cli/flurry" $deps -ljq -lonig -lwslay -lm || fail "compile and link the CLI"
  f="$work/cli/flurry"
  export LD_LIBRARY_PATH="$work/stage/$FLURRY_LIBDIR"
  # Not `ldd | grep -q` under pipefail: grep leaving at the first match
  # can kill ldd with SIGPIPE, and the pipeline then fails.
  grep -q "$work/stage/$FLURRY_LIBDIR/libflurry.so" <<<"$(ldd "$f")" || fail "not linked to the stage"
  grep -q "^flurry $FLURRY_VERSION_EXPECTED " <<<"$("$f" --version)" || fail "--version"
  "$f" mock --port 0 --port-file "$work/cli/port" --quiet >/dev/null &
  mock=$!
  trap 'kill $mock 2>/dev/null; wait $mock 2>/dev/null' EXIT
  for _ in $(seq 1 100); do [ -s "$work/cli/port" ] && break; sleep 0.05; done
  base="http://127.0.0.1:$(cat "$work/cli/port")"
  out=$("$f" -q --paginate link --items '.[]' "$base/items?per_page=10&total=25" </dev/null |
        jq -s 'map(.item.id) | length') || fail "run"
  [ "$out" = 25 ] || fail "25 items through 3 pages, got $out"
  echo "ok   the flurry command built against the installed library: 25 items paged"
  ;;
*) fail "unknown step" ;;
esac
