#!/usr/bin/env bash
# Windows checks for redkeep, from Linux:
#   1. `cargo check --target x86_64-pc-windows-gnu --all-features` (always),
#      and `cargo build --target x86_64-pc-windows-gnu --workspace`: the C
#      ABI (redkeep.dll) and the Python extension included (pyo3 makes the
#      python3.dll import library itself: PYO3_CROSS_PYTHON_VERSION);
#   2. the Job Object test (tests/server_job_object.rs) under Wine, where Wine
#      can be installed: a child started through the guard must die when its
#      owner exits;
#   3. a C-ABI smoke test under Wine (bindings/c/tests/windows/smoke.c,
#      built with mingw against redkeep.dll): open a pool where nothing
#      listens and exec (a clear error, no hang), ensure with a missing
#      binary and with bad guards (clear errors), NULL arguments, a
#      completion queue, shutdown. There is no Windows redis-server here, so
#      no server is started.
# Installs what it needs (rustup target, mingw-w64, wine64) so a fresh
# Debian/Ubuntu machine works. Skips only the Wine part, with a notice, if
# Wine cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-pc-windows-gnu
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

apt_updated=""
apt_install() {
    command -v apt-get >/dev/null || return 1
    if [ -z "$apt_updated" ]; then
        $SUDO apt-get update -qq || true
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

echo "== rustup target $TARGET"
if ! rustup target list --installed | grep -qx "$TARGET"; then
    if ! rustup target add "$TARGET"; then
        echo "NOTICE: cannot install the $TARGET target; skipping the Windows checks" >&2
        exit 0
    fi
fi

# A C cross compiler, for dependencies with build scripts and for linking.
if ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    echo "== installing gcc-mingw-w64-x86-64"
    apt_install gcc-mingw-w64-x86-64 || echo "NOTICE: cannot install mingw-w64" >&2
fi

echo "== cargo check --target $TARGET --all-features"
cargo check --target "$TARGET" --all-features --lib --bins --tests

echo "== cargo build --target $TARGET --workspace"
PYO3_CROSS_PYTHON_VERSION=3.9 cargo build --target "$TARGET" --workspace

if ! command -v wine64 >/dev/null && ! command -v wine >/dev/null; then
    echo "== installing wine64"
    apt_install wine64 || true
fi
WINE="$(command -v wine64 || command -v wine || true)"
if [ -z "$WINE" ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then
    echo "NOTICE: Wine or mingw-w64 is not available; skipping the Job Object test under Wine" >&2
    exit 0
fi

echo "== building the Job Object test for $TARGET"
cargo test --target "$TARGET" --test server_job_object --no-run
EXE="$(ls -t "$CARGO_TARGET_DIR/$TARGET"/debug/deps/server_job_object-*.exe | head -n1)"
DIR="$(dirname "$EXE")"

# Rust's std calls bcryptprimitives.dll!ProcessPrng, which Wine 8 lacks:
# a native stand-in that forwards to RtlGenRandom (SystemFunction036).
cat >"$CARGO_TARGET_DIR/processprng.c" <<'C'
#include <windows.h>
BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) { return SystemFunction036(data, (ULONG)len); }
C
x86_64-w64-mingw32-gcc -shared -O2 -o "$DIR/bcryptprimitives.dll" \
    "$CARGO_TARGET_DIR/processprng.c" -ladvapi32

export WINEPREFIX="${WINEPREFIX:-$CARGO_TARGET_DIR/wineprefix}"
export WINEDEBUG=-all
export WINEDLLOVERRIDES="bcryptprimitives=n,b;mscoree,mshtml="
echo "== building the C-ABI smoke test against redkeep.dll"
DLLDIR="$CARGO_TARGET_DIR/$TARGET/debug"
cp "$DIR/bcryptprimitives.dll" "$DLLDIR/"
x86_64-w64-mingw32-gcc -O1 -Wall -Werror -I bindings/c/include \
    bindings/c/tests/windows/smoke.c "$DLLDIR/libredkeep.dll.a" -o "$DLLDIR/redkeep_smoke.exe"

echo "== running the Job Object test under $("$WINE" --version 2>/dev/null || echo wine)"
"$WINE" wineboot --init >/dev/null 2>&1 || true
status=0
timeout 300 "$WINE" "$EXE" --test-threads=1 || status=$?
echo "== running the C-ABI smoke test under Wine"
timeout 120 "$WINE" "$DLLDIR/redkeep_smoke.exe" || status=$?
# Stop the prefix's wineserver (it would linger a few seconds otherwise).
wineserver -k 2>/dev/null || /usr/lib/wine/wineserver64 -k 2>/dev/null || true
exit "$status"
