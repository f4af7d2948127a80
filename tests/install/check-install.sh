#!/bin/sh
# Install a build into a scratch prefix, then build two small programs against
# it the ways a user would: with pkg-config (weft.pc) and with CMake's
# find_package(weft). Each must compile, link and run.
#   sh tests/install/check-install.sh BUILD_DIR
set -eu
B=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")" && pwd)
P="$B/install-check"
rm -rf "$P"
cmake --install "$B" --prefix "$P/prefix" >/dev/null
test -f "$P/prefix/include/weft.h"
test -f "$P/prefix/include/weft/thread.h"
LIBDIR=$(ls -d "$P"/prefix/lib*/ | head -n 1)
test -f "$LIBDIR/libweft.a"
test -f "$LIBDIR/pkgconfig/weft.pc"
test -f "$LIBDIR/cmake/weft/weftConfig.cmake"

# pkg-config, against the shared library.
mkdir -p "$P/pc"
PKG_CONFIG_PATH="$LIBDIR/pkgconfig" cc -o "$P/pc/consumer" "$SRC/consumer.c" \
    $(PKG_CONFIG_PATH="$LIBDIR/pkgconfig" pkg-config --cflags --libs weft) -Wl,-rpath,"$LIBDIR"
"$P/pc/consumer"

# CMake find_package(weft), against weft::weft.
cmake -S "$SRC" -B "$P/cm" -DCMAKE_PREFIX_PATH="$P/prefix" >/dev/null
cmake --build "$P/cm" >/dev/null
"$P/cm/consumer"
echo "install check: headers, libweft, weft.pc and find_package(weft) all work"
