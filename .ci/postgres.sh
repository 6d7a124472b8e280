#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1 for the store/search/resume tests, and print the URL
# they read (CONVSCOPE_TEST_POSTGRES). Idempotent: installs Debian's `postgresql` package when missing,
# creates the cluster `convscope-ci` once, starts it when it is down. Runs as root (CI does).
set -euo pipefail
PORT="${CONVSCOPE_CI_PG_PORT:-54329}"
CLUSTER=convscope-ci
if ! command -v pg_createcluster >/dev/null 2>&1; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
VERSION="$(ls /usr/lib/postgresql | sort -V | tail -1)"
if ! pg_lsclusters -h | awk '{print $2}' | grep -qx "$CLUSTER"; then
  # --start-conf manual: nothing starts it but this script; listen on loopback only
  pg_createcluster "$VERSION" "$CLUSTER" --port "$PORT" --start-conf manual \
    -- --auth-local=peer --auth-host=scram-sha-256 >&2
  echo "listen_addresses = '127.0.0.1'" >> "/etc/postgresql/$VERSION/$CLUSTER/postgresql.conf"
fi
if ! pg_lsclusters -h | awk -v c="$CLUSTER" '$2 == c {print $4}' | grep -qx online; then
  pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi
psql_su() { su postgres -c "psql -q -p $PORT -v ON_ERROR_STOP=1 $*" >&2; }
if ! su postgres -c "psql -p $PORT -tAc \"SELECT 1 FROM pg_roles WHERE rolname='convscope'\"" | grep -qx 1; then
  psql_su "-c \"CREATE ROLE convscope LOGIN PASSWORD 'convscope'\""
fi
# CREATEROLE: the read-only store tests make a SELECT-only role of their own (tests/store/test_faults.py)
psql_su "-c \"ALTER ROLE convscope CREATEROLE\""
if ! su postgres -c "psql -p $PORT -tAc \"SELECT 1 FROM pg_database WHERE datname='convscope_test'\"" | grep -qx 1; then
  psql_su "-c \"CREATE DATABASE convscope_test OWNER convscope\""
fi
echo "postgresql://convscope:convscope@127.0.0.1:$PORT/convscope_test"
