#!/usr/bin/env bash
# Builds the @u4/opencv4nodejs native addon against the system OpenCV (Debian's libopencv-*-dev),
# linking only the modules camqtt uses, and caches the result outside the clone.
#
#   bash scripts/build-opencv-addon.sh               (run after `npm ci`; `npm run build:opencv`)
#   bash scripts/build-opencv-addon.sh --export DIR  (also copy the cache entry into DIR, e.g. a
#                                                     Docker build context, keyed the same way)
#
# Cache: $CAMQTT_CACHE_DIR (default /var/cache/camqtt, or ~/.cache/camqtt when that is not
# writable)/opencv4nodejs/<key>/opencv4nodejs.node, where the key covers everything the binary
# depends on: addon version, Node ABI, OpenCV package version, module list and architecture.
# A cache hit costs a copy; a miss compiles with ccache when it is installed (about 3 minutes
# on 2 cores for these four modules, against ~8 for all of them).
set -euo pipefail
cd "$(dirname "$0")/.."
export_dir=""
if [ "${1:-}" = --export ]; then export_dir=${2:?--export needs a directory}; fi

MODULES=(core imgproc imgcodecs videoio)
# Bump when the way the addon is built changes, so caches built the old way are not reused.
RECIPE=2
ADDON_DIR=node_modules/@u4/opencv4nodejs
LIB_DIR=${OPENCV_SYSTEM_LIB_DIR:-/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)}
INCLUDE_DIR=${OPENCV_SYSTEM_INCLUDE_DIR:-/usr/include/opencv4}

[ -d "$ADDON_DIR" ] || { echo "build-opencv-addon: $ADDON_DIR is missing; run npm ci first" >&2; exit 1; }
[ -f "$INCLUDE_DIR/opencv2/core.hpp" ] || {
  echo "build-opencv-addon: OpenCV headers not found in $INCLUDE_DIR; install them: apt-get install libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-videoio-dev" >&2
  exit 1
}

addon_version=$(node -p "require('./$ADDON_DIR/package.json').version")
opencv_version=$(dpkg-query -W -f='${Version}' libopencv-core-dev 2>/dev/null || pkg-config --modversion opencv4 2>/dev/null || echo unknown)
key="r${RECIPE}-v${addon_version}-abi$(node -p process.versions.modules)-$(uname -m)-opencv${opencv_version//[^A-Za-z0-9.]/_}-$(IFS=_; echo "${MODULES[*]}")"

cache_root=${CAMQTT_CACHE_DIR:-/var/cache/camqtt}
mkdir -p "$cache_root" 2>/dev/null && [ -w "$cache_root" ] || cache_root=$HOME/.cache/camqtt
cache_dir=$cache_root/opencv4nodejs/$key
target=$ADDON_DIR/build/Release/opencv4nodejs.node

# Loads, and has the bindings camqtt calls (imgproc for resize/drawing, io for codecs and capture).
loads() { node -e "const cv = require('./$ADDON_DIR'); process.exit(cv.modules.imgproc && cv.modules.io && typeof cv.imencodeAsync === 'function' ? 0 : 1)" >/dev/null 2>&1; }

finish() {
  if [ -n "$export_dir" ]; then
    mkdir -p "$export_dir/opencv4nodejs/$key"
    cp "$cache_dir/opencv4nodejs.node" "$export_dir/opencv4nodejs/$key/"
    echo "build-opencv-addon: exported to $export_dir/opencv4nodejs/$key"
  fi
  exit 0
}

if [ -f "$cache_dir/opencv4nodejs.node" ]; then
  mkdir -p "$(dirname "$target")"
  cp "$cache_dir/opencv4nodejs.node" "$target"
  if loads; then echo "build-opencv-addon: cache hit ($key)"; finish; fi
  echo "build-opencv-addon: cached addon does not load; rebuilding" >&2
fi

# A view of the system OpenCV holding only the wanted modules: a lib dir with just their .so
# links (the addon links what it finds there), and an include dir whose opencv_modules.hpp
# declares just them (the addon compiles bindings for the modules that header declares). The view
# sits at a fixed path so ccache sees the same command line every time.
#
# The addon binds imgcodecs and videoio only together with highgui (its `io` group also wraps
# imshow/waitKey), and Debian's highgui pulls in Qt. camqtt opens no windows, so the view carries
# a five-function stand-in for highgui, linked statically into the addon: the io bindings work and
# nothing GUI-related is installed or loaded.
view=$cache_dir/view
rm -rf "$view"
mkdir -p "$view/lib" "$view/include/opencv2" "$view/nogui"
for m in "${MODULES[@]}"; do
  [ -e "$LIB_DIR/libopencv_$m.so" ] || { echo "build-opencv-addon: $LIB_DIR/libopencv_$m.so missing (install libopencv-$m-dev)" >&2; exit 1; }
  ln -s "$LIB_DIR/libopencv_$m.so" "$view/lib/"
done
for entry in "$INCLUDE_DIR"/opencv2/*; do
  case "$(basename "$entry")" in opencv_modules.hpp|highgui.hpp|highgui) ;; *) ln -s "$entry" "$view/include/opencv2/" ;; esac
done
{
  echo "// Written by scripts/build-opencv-addon.sh: only the modules camqtt uses."
  for m in "${MODULES[@]}"; do echo "#define HAVE_OPENCV_${m^^}"; done
  echo "// opencv4nodejs's imgcodecs + videoio bindings (HAVE_IO), without a real highgui."
  echo "#define HAVE_IO"
} >"$view/include/opencv2/opencv_modules.hpp"
cat >"$view/include/opencv2/highgui.hpp" <<'HPP'
// Written by scripts/build-opencv-addon.sh: the part of highgui that opencv4nodejs's io bindings call.
#pragma once
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/videoio.hpp>
namespace cv {
CV_EXPORTS_W void imshow(const String& winname, InputArray mat);
CV_EXPORTS_W int waitKey(int delay = 0);
CV_EXPORTS_W int waitKeyEx(int delay = 0);
CV_EXPORTS_W void destroyWindow(const String& winname);
CV_EXPORTS_W void destroyAllWindows();
}
HPP
cat >"$view/nogui/nogui.cc" <<'CC'
#include <opencv2/highgui.hpp>
namespace cv {
static void noWindows() { CV_Error(Error::StsNotImplemented, "camqtt's OpenCV build has no GUI (highgui)"); }
void imshow(const String&, InputArray) { noWindows(); }
int waitKey(int) { noWindows(); return -1; }
int waitKeyEx(int) { noWindows(); return -1; }
void destroyWindow(const String&) { noWindows(); }
void destroyAllWindows() { noWindows(); }
}
CC
g++ -std=c++17 -O2 -fPIC -I"$view/include" -c "$view/nogui/nogui.cc" -o "$view/nogui/nogui.o"
ar rcs "$view/nogui/libcamqtt_nogui.a" "$view/nogui/nogui.o"
# A linker script named like the real library: -lopencv_highgui links the archive above.
echo "INPUT($view/nogui/libcamqtt_nogui.a)" >"$view/lib/libopencv_highgui.so"
build_log=$cache_dir/build.log

export OPENCV4NODEJS_DISABLE_AUTOBUILD=1 OPENCV_INCLUDE_DIR="$view/include" OPENCV_LIB_DIR="$view/lib" OPENCV_BIN_DIR=/usr/bin
# node-gyp must not download Node's headers (no network); Debian's nodejs and the node images ship them.
if [ -z "${npm_config_nodedir:-}" ]; then
  for d in /usr /usr/local; do [ -f "$d/include/node/node_version.h" ] && export npm_config_nodedir=$d && break; done
fi
if command -v ccache >/dev/null; then
  export CC="ccache gcc" CXX="ccache g++" CCACHE_DIR=${CCACHE_DIR:-$cache_root/ccache} CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
fi
echo "build-opencv-addon: compiling ($key, modules: ${MODULES[*]})"
start=$(date +%s)
(cd "$ADDON_DIR" && node "$(node -p "require.resolve('node-gyp/bin/node-gyp.js')")" rebuild --jobs "$(nproc)" >"$build_log" 2>&1) || {
  tail -40 "$build_log" >&2
  echo "build-opencv-addon: compile failed" >&2
  exit 1
}
loads || { echo "build-opencv-addon: built addon does not load" >&2; node -e "require('./$ADDON_DIR')" >&2; exit 1; }
mkdir -p "$cache_dir"
cp "$target" "$cache_dir/opencv4nodejs.node.tmp" && mv "$cache_dir/opencv4nodejs.node.tmp" "$cache_dir/opencv4nodejs.node"
echo "build-opencv-addon: built in $(( $(date +%s) - start )) s, cached in $cache_dir"
finish
