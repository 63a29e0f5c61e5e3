#!/usr/bin/env bash
# A real streaming read replica of the local PostgreSQL, on another port of this machine.
#
#   bash scripts/replica.sh        (or `make replica`; .ci/run calls it once PostgreSQL is up)
#
# Makes a second cluster of the primary's PostgreSQL version ("replica", port 5433) with
# `pg_basebackup -R` from the primary (127.0.0.1:5432, user postgres, trust on loopback) and starts it as
# a hot standby streaming from it. Idempotent and quick: a replica that already streams is left alone, a
# stopped one is started, one that cannot stream any more (it was stopped while the primary recycled the
# WAL it needed) is made again. No replication slot: a dead replica must never fill the primary's disk.
# Debian/Ubuntu layout (pg_createcluster, pg_ctlcluster); run as root or with sudo.
set -euo pipefail

PRIMARY_HOST=${PRIMARY_HOST:-127.0.0.1}
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
CLUSTER=${REPLICA_CLUSTER:-replica}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"
  elif [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"
  else sudo -u postgres "$@"; fi
}
primary_sql() { psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -d postgres -tAXc "$1"; }
replica_sql() { psql -h 127.0.0.1 -p "$REPLICA_PORT" -U postgres -d postgres -tAXc "$1" 2>/dev/null; }
# A standby whose WAL receiver streams from the primary.
streaming() {
  [ "$(replica_sql "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming')")" = t ]
}
wait_streaming() {
  for _ in $(seq 1 "${1:-30}"); do streaming && return 0; sleep 1; done
  return 1
}

if streaming; then
  # A test pauses replay to show replica lag; one killed mid-test must not leave it paused.
  [ "$(replica_sql "SELECT pg_is_wal_replay_paused()")" != t ] || replica_sql "SELECT pg_wal_replay_resume()" >/dev/null
  echo "replica: streaming on port $REPLICA_PORT"
  exit 0
fi

version=$(primary_sql "SELECT current_setting('server_version_num')::int / 10000")
bindir="/usr/lib/postgresql/$version/bin"
datadir="/var/lib/postgresql/$version/$CLUSTER"
confdir="/etc/postgresql/$version/$CLUSTER"

# The primary must let the replica connect for replication (trust on loopback, as CI's other connections).
[ "$(primary_sql "SHOW wal_level")" != minimal ] || { echo "replica: the primary has wal_level=minimal" >&2; exit 1; }
hba=$(primary_sql "SHOW hba_file")
if ! $SUDO grep -Eq '^host\s+replication\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
  echo "replica: allowing replication connections from 127.0.0.1 in $hba"
  $SUDO sed -i -E '/^host\s+replication\s+all\s+127\.0\.0\.1\/32\s/d' "$hba"
  $SUDO sed -i '1i host replication all 127.0.0.1/32 trust' "$hba"
  primary_sql "SELECT pg_reload_conf()" >/dev/null
fi

if [ -d "$confdir" ]; then
  echo "replica: starting the existing cluster $version/$CLUSTER"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$version" "$CLUSTER" start 2>/dev/null || true
  if wait_streaming 15; then
    echo "replica: streaming on port $REPLICA_PORT"
    exit 0
  fi
  echo "replica: the existing cluster does not stream; making it again"
  $SUDO pg_dropcluster --stop "$version" "$CLUSTER"
fi

echo "replica: pg_basebackup from $PRIMARY_HOST:$PRIMARY_PORT into cluster $version/$CLUSTER (port $REPLICA_PORT)"
$SUDO pg_createcluster "$version" "$CLUSTER" -p "$REPLICA_PORT" --start-conf=manual >/dev/null
$SUDO mkdir -p "$datadir"
$SUDO find "$datadir" -mindepth 1 -delete  # pg_basebackup fills an empty directory
$SUDO chown postgres:postgres "$datadir"
as_postgres "$bindir/pg_basebackup" -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -D "$datadir" -R -X stream -c fast
$SUDO chmod 700 "$datadir"
# Loopback connections as on the primary; a small footprint beside it.
$SUDO sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$confdir/pg_hba.conf"
printf "listen_addresses = '127.0.0.1'\nhot_standby = on\nshared_buffers = 64MB\nhot_standby_feedback = on\n" |
  $SUDO tee "$confdir/conf.d/replica.conf" >/dev/null
$SUDO pg_ctlcluster --skip-systemctl-redirect "$version" "$CLUSTER" start
if ! wait_streaming 60; then
  echo "replica: the cluster on port $REPLICA_PORT does not stream from the primary" >&2
  exit 1
fi
echo "replica: streaming on port $REPLICA_PORT"
