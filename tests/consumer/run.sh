#!/usr/bin/env bash
# The installed flurry, seen from a project outside the tree
# (tests/consumer/main.c). Three ctest tests, in this order (a fixture):
#   run.sh install BUILD_DIR WORK   cmake --install BUILD_DIR --prefix WORK/stage
#   run.sh cmake WORK               find_package(flurry) + flurry::flurry, build, run
#   run.sh pkg-config WORK          cc $(pkg-config --cflags --libs flurry), build, run
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
*) fail "unknown step" ;;
esac
