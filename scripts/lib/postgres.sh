# Helpers to run a private PostgreSQL 15 from a folder of our own. Sourced by
# scripts/run.sh and scripts/test.sh. PostgreSQL refuses to run as root, so
# as root the server runs as the "postgres" user the Debian package creates.

PG_BIN=/usr/lib/postgresql/15/bin

# Runs a command as the user that owns the PostgreSQL data.
pg_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# A TCP port nobody listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# pg_start DIR PORT [EXTRA_SETTINGS...]: initdb DIR/data if it is new, then
# start the server on 127.0.0.1:PORT with its socket in DIR. Superuser
# "postgres", trust authentication on loopback only.
pg_start() {
  local dir=$1 port=$2
  shift 2
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
  if ! pg_as_owner test -w "$dir"; then
    echo "PostgreSQL's user cannot write $dir (is a parent folder private?)" >&2
    return 1
  fi
  if [ ! -s "$dir/data/PG_VERSION" ]; then
    pg_as_owner "$PG_BIN/initdb" -D "$dir/data" -U postgres -A trust \
      --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; return 1; }
  fi
  local options="-c listen_addresses=127.0.0.1 -p $port -k $dir"
  for setting in "$@"; do options="$options -c $setting"; done
  # setsid: a Ctrl-C in the terminal reaches the service, not the database;
  # the caller stops the database itself, cleanly, afterwards.
  pg_as_owner setsid "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
    -o "$options" -w -t 60 start >/dev/null ||
    { tail -n 30 "$dir/postgres.log" >&2; return 1; }
}

# pg_stop DIR: fast shutdown (rolls back open transactions), if running.
pg_stop() {
  local dir=$1
  if [ -s "$dir/data/postmaster.pid" ]; then
    pg_as_owner "$PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null || true
  fi
}

# pg_start_throwaway NAME [SETTINGS...]: a PostgreSQL in a new temp folder on
# a free port, stopped and deleted when the calling script exits. Sets
# PG_THROWAWAY_URL (postgresql://postgres@127.0.0.1:PORT, no database name).
pg_start_throwaway() {
  local name=$1
  shift
  PG_THROWAWAY_DIR=$(mktemp -d "/tmp/$name.XXXXXX")
  chmod 755 "$PG_THROWAWAY_DIR"
  trap 'pg_stop "$PG_THROWAWAY_DIR"; rm -rf "$PG_THROWAWAY_DIR"' EXIT
  local port
  port=$(free_port)
  pg_start "$PG_THROWAWAY_DIR" "$port" "$@"
  PG_THROWAWAY_URL="postgresql://postgres@127.0.0.1:$port"
}
