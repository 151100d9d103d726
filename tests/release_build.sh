#!/bin/sh
# tests/release_build.sh SRC WORK — the release build needs no test package.
#
# Why: a fresh machine gets only what `scripts/deps` installs without
# --test, then `scripts/run` builds with `scripts/build`. This runs that
# build with cmocka hidden from pkg-config (PKG_CONFIG_LIBDIR holding every
# .pc file pkg-config sees except cmocka.pc) and checks, so that the test
# can fail:
#   - the hiding works: cmocka is invisible, the release libraries are not,
#     and a test build (-DBUILD_TESTING=ON) refuses to configure;
#   - `scripts/build` (MCERT_BUILD_DIR=WORK/release) configures and builds
#     mcertd, mcertctl and mcert-phone, and defines no test target.
# The cmocka header stays in /usr/include: nothing of the release includes
# it (a test source would, and none is built). Checked by hand too: with
# libcmocka-dev removed (dpkg -r), `scripts/build` in a fresh clone builds.
set -eu
src=$1
work=$2
rm -rf "$work"
mkdir -p "$work/pc"
# pc_path order = pkg-config's search order: the first .pc of a name wins.
for d in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
  [ -d "$d" ] || continue
  for f in "$d"/*.pc; do
    [ -e "$f" ] || continue
    b=$(basename "$f")
    [ "$b" = cmocka.pc ] || [ -e "$work/pc/$b" ] || ln -s "$f" "$work/pc/$b"
  done
done
PKG_CONFIG_LIBDIR=$work/pc
export PKG_CONFIG_LIBDIR
unset PKG_CONFIG_PATH || true

fail() { echo "release_build: $*" >&2; exit 1; }
! pkg-config --exists cmocka || fail "cmocka is still visible to pkg-config"
for m in libevent hiredis msgpack libqrencode jansson libpng; do
  pkg-config --exists "$m" || fail "hiding cmocka also hid $m"
done
if cmake -S "$src" -B "$work/tests-on" -DBUILD_TESTING=ON >"$work/tests-on.log" 2>&1; then
  fail "a test build configured without cmocka"
fi
grep -q "the tests need cmocka" "$work/tests-on.log" || fail "no clear message: $(tail -5 "$work/tests-on.log")"

MCERT_BUILD_DIR=$work/release "$src/scripts/build" >"$work/release.log" 2>&1 ||
  { tail -30 "$work/release.log" >&2; fail "scripts/build failed without cmocka"; }
for b in mcertd mcertctl mcert-phone; do
  [ -x "$work/release/$b" ] || fail "$b was not built"
done
grep -q '^BUILD_TESTING:BOOL=OFF$' "$work/release/CMakeCache.txt" || fail "release build has tests on"
! ls "$work/release"/test_* >/dev/null 2>&1 || fail "release build made test executables"
"$work/release/mcertctl" --help >/dev/null || fail "release mcertctl does not run"
echo "release build without cmocka: ok ($(du -sh "$work/release" | cut -f1))"
rm -rf "$work"
