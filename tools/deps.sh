#!/bin/sh
# tools/deps.sh [clang|peers|watch|browser] — makes sure the tools the course needs are installed.
#
# Everything comes from Debian packages, by name. As root with apt-get, missing packages are
# installed; otherwise this stops with one line saying what to install.
set -eu
missing=""
need() {   # need PACKAGE TEST...
    pkg=$1; shift
    "$@" >/dev/null 2>&1 || missing="$missing $pkg"
}
need make        command -v make
need g++         command -v g++
need python3     command -v python3
need unifdef     command -v unifdef
need doctest-dev test -f /usr/include/doctest/doctest.h
need pkg-config  command -v pkg-config
# Lesson 09 (HTTP): its examples' originals use aiohttp, its tests talk to nginx and curl.
need python3-aiohttp /usr/bin/python3 -c "import aiohttp"
need nginx-light     test -x /usr/sbin/nginx
need curl            command -v curl
if [ "${1:-}" = watch ]; then   # make watch: inotifywait (without it, make watch polls)
    need inotify-tools command -v inotifywait
fi
if [ "${1:-}" = clang ]; then
    need clang   command -v clang++
fi
if [ "${1:-}" = browser ]; then   # the trace page's browser test and make trace-picture
    need chromium          command -v chromium
    need fonts-dejavu-core test -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf   # else no text
fi
if [ "${1:-}" = peers ]; then   # the benchmark harness's peers (../shared/peers), nothing else
    need libboost1.81-dev test -f /usr/include/boost/asio.hpp
    need python3-uvloop   /usr/bin/python3 -c "import uvloop"
    need wrk              command -v wrk
    need nginx-light      test -x /usr/sbin/nginx
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    exit 0
fi
echo "missing tools; install the Debian packages:$missing   (sudo apt-get install$missing)" >&2
exit 1
