#!/bin/sh
# Regenerates the C++ leveldb 1.23 log fixtures in testdata/leveldb-1.23/.
# Needs g++ and libleveldb-dev 1.23 (Debian: apt-get install g++ libleveldb-dev).
# The output is deterministic: running this again must leave `git status` clean.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

g++ -std=c++17 -O1 -Wall -Wextra -o "$tmp/gen_log_fixture" "$here/gen_log_fixture.cc" -lleveldb
rm -rf "$here/leveldb-1.23"
"$tmp/gen_log_fixture" "$tmp/db" "$here/leveldb-1.23"
