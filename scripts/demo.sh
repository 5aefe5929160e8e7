#!/usr/bin/env bash
# The README demo: three local PostgreSQL 15 clusters (dev, test, prod) with the sample schema and
# fabricated rows, a datafix server with its SQLite ledger, a product owner and two developers, and
# one change walked through every step of the runbook — printing what each person sees.
#
#   bash scripts/demo.sh         # (re)start everything and walk the change; leaves the server up
#   bash scripts/demo.sh stop    # stop the server and the clusters, remove the demo directory
#   DATAFIX_DEMO_SIGN_IN=oidc bash scripts/demo.sh
#                                # the same, and people can also sign in (pages and `datafix
#                                # login`) through a local OpenID Connect provider
#                                # (tests/oidc/provider.mjs, npm's oidc-provider) on port 8471
#
# Run as root on Debian 12 (it installs what is missing and builds datafix when needed). The
# clusters run as the `postgres` OS user under $DATAFIX_DEMO_DIR (default /tmp/datafix-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=${DATAFIX_DEMO_DIR:-/tmp/datafix-demo}
BUILD=${DATAFIX_BUILD_DIR:-$ROOT/build}
SERVER_PORT=${DATAFIX_DEMO_PORT:-8470}
URL="http://127.0.0.1:$SERVER_PORT"
PGBIN=/usr/lib/postgresql/15/bin
declare -A PGPORT=([dev]=55432 [test]=55433 [prod]=55434)
ENVS=(dev test prod)

as_postgres() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop_demo() {
  if [[ -f $DEMO/server.pid ]]; then
    local pid; pid=$(cat "$DEMO/server.pid")
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  fi
  if [[ -f $DEMO/watch.pid ]]; then kill "$(cat "$DEMO/watch.pid")" 2>/dev/null || true; fi
  if [[ -f $DEMO/provider.pid ]]; then kill "$(cat "$DEMO/provider.pid")" 2>/dev/null || true; fi
  for env in "${ENVS[@]}"; do
    if [[ -f $DEMO/$env/PG_VERSION ]]; then
      as_postgres "$PGBIN/pg_ctl" -D "$DEMO/$env" -m fast -w stop >/dev/null 2>&1 || true
    fi
  done
  rm -rf "$DEMO"
}

if [[ ${1:-} == stop ]]; then
  stop_demo
  echo "demo stopped; $DEMO removed"
  exit 0
fi

# --- tools ------------------------------------------------------------------------------------
banner() { printf '\n\033[1;36m== %s\033[0m\n' "$*"; }
# person NAME ROLE: prints who is at the keyboard now.
person() { printf '\n\033[1m[%s]\033[0m \033[2m%s\033[0m\n' "$1" "$2"; }
shown() { printf '\033[2m$ datafix %s\033[0m\n' "$*"; }

bash scripts/install-deps.sh
if [[ ! -x $BUILD/datafix ]] || [[ -n $(find src -newer "$BUILD/datafix" -name '*.[ch]pp' -print -quit) ]]; then
  banner "building datafix in $BUILD"
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$BUILD" --target datafix -j"$(nproc)"
fi
DATAFIX=$BUILD/datafix

banner "cleaning up a previous run"
stop_demo
mkdir -p "$DEMO/run"
chmod 755 "$DEMO"
[[ $(id -u) -eq 0 ]] && chown postgres:postgres "$DEMO/run"

# --- three clusters ---------------------------------------------------------------------------
banner "starting PostgreSQL 15 clusters dev, test, prod (as the postgres OS user)"
PGPASSWORD_LOGIN=datafix-test-password
for env in "${ENVS[@]}"; do
  mkdir -p "$DEMO/$env"
  [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$DEMO/$env"
  as_postgres "$PGBIN/initdb" -D "$DEMO/$env" -U dfsuper --auth-local=trust \
    --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >>"$DEMO/$env/postgresql.conf" <<CONF
port = ${PGPORT[$env]}
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DEMO/run'
fsync = off
CONF
  as_postgres "$PGBIN/pg_ctl" -D "$DEMO/$env" -l "$DEMO/run/$env.log" -w start >/dev/null
  psql_env() { psql -X -q -v ON_ERROR_STOP=1 -h "$DEMO/run" -p "${PGPORT[$env]}" -U dfsuper "$@"; }
  psql_env -d postgres -c "CREATE DATABASE app" >/dev/null
  psql_env -d app -f testdata/sample_app/schema.sql >/dev/null
  psql_env -d app -v applications=2000 -f testdata/sample_app/generate.sql >/dev/null
  # The rows examples/change.sql corrects, and the service user datafix's changes are attributed
  # to through jwt.claims.sub (fabricated, example.com).
  psql_env -d app >/dev/null <<'SQL'
SET session_replication_role = replica;
INSERT INTO app_public.app_user (sub, given_name, family_name, email_address) VALUES
  ('5f0c7a42-9d1e-4c3b-8a6f-2b7e1d9c4a10', 'Maria', 'Okafor', 'maria.okafor@exmaple.com'),
  ('0d5e1a1f-0000-4000-8000-00000000da7a', 'datafix', 'change', 'datafix@example.com');
INSERT INTO app_public.application (application_number, owner, intake_id)
  SELECT 'CCBC-010042', id, 1 FROM app_public.app_user
  WHERE sub = '5f0c7a42-9d1e-4c3b-8a6f-2b7e1d9c4a10';
INSERT INTO app_public.application_status (application_id, status)
  SELECT id, 'submitted' FROM app_public.application WHERE application_number = 'CCBC-010042';
SQL
  # The backup login: reads everything and bypasses the application's forced row-level security,
  # so pg_dump sees whole tables (a read-only role; it cannot change a row).
  psql_env -d postgres -c "CREATE ROLE datafix_backup LOGIN BYPASSRLS IN ROLE pg_read_all_data" >/dev/null
  echo "  $env: port ${PGPORT[$env]}, system identifier $(psql_env -d postgres -Atc 'SELECT system_identifier FROM pg_control_system()')"
done

# datafix logs in as datafix_login over TCP with a password from a libpq password file.
umask 077
: >"$DEMO/pgpass"
for env in "${ENVS[@]}"; do
  echo "127.0.0.1:${PGPORT[$env]}:app:datafix_login:$PGPASSWORD_LOGIN" >>"$DEMO/pgpass"
done
umask 022

# --- the sign-in provider (DATAFIX_DEMO_SIGN_IN=oidc) -------------------------------------------
SIGN_IN=${DATAFIX_DEMO_SIGN_IN:-tokens}
PROVIDER_PORT=${DATAFIX_DEMO_PROVIDER_PORT:-8471}
if [[ $SIGN_IN == oidc ]]; then
  banner "starting the local OpenID Connect provider on http://127.0.0.1:$PROVIDER_PORT"
  if ! cmp -s tests/oidc/package-lock.json tests/oidc/node_modules/.datafix-lock; then
    (cd tests/oidc && npm ci --no-audit --no-fund >/dev/null && cp package-lock.json node_modules/.datafix-lock)
  fi
  umask 077
  head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$DEMO/oidc-client-secret"
  umask 022
  OIDC_PORT=$PROVIDER_PORT OIDC_REDIRECT_URI="$URL/auth/callback" \
    OIDC_CLIENT_SECRET=$(cat "$DEMO/oidc-client-secret") \
    OIDC_PEOPLE='[{"id":"priya","email":"priya@example.com","name":"Priya Owner"},
                  {"id":"dana","email":"dana@example.com","name":"Dana Driver"},
                  {"id":"sam","email":"sam@example.com","name":"Sam Pair"}]' \
    nohup node tests/oidc/provider.mjs >"$DEMO/provider.log" 2>&1 &
  echo $! >"$DEMO/provider.pid"
  for _ in $(seq 100); do grep -q '^issuer ' "$DEMO/provider.log" && break; sleep 0.1; done
  echo "  $(grep '^issuer ' "$DEMO/provider.log")"
fi

# --- configuration, first run, server ---------------------------------------------------------
banner "writing $DEMO/datafix.toml"
{
  cat <<TOML
# Written by scripts/demo.sh. See examples/datafix.toml for every key.
[server]
listen = "127.0.0.1"
port = $SERVER_PORT
ledger = "datafix.db"
key_file = "datafix.key"
data_dir = "data"
log_file = "server.log"
claim_lease = "30m"
TOML
  for env in "${ENVS[@]}"; do
    pin=$(psql -X -h "$DEMO/run" -p "${PGPORT[$env]}" -U dfsuper -d postgres -Atc \
      'SELECT system_identifier FROM pg_control_system()')
    cat <<TOML

[[environment]]
name = "$env"
conninfo = "host=127.0.0.1 port=${PGPORT[$env]} dbname=app user=datafix_login passfile=$DEMO/pgpass"
role = "app_owner"
system_identifier = "$pin"
lock_timeout = "2s"
statement_timeout = "60s"
idle_in_transaction_session_timeout = "60s"
append_only = ["app_public.record_version"]
revert_without_triggers = true
vouch_security_definer = ["app_private.queue_for_review"]
TOML
    if [[ $env == prod ]]; then
      printf 'production = true\napprovals = ["pair", "product_owner"]\n'
      printf 'backup_required = true\nbackup_max_age = "60m"\n'
    else
      printf 'approvals = ["pair"]\n'
    fi
    printf '[environment.session_settings]\n"jwt.claims.sub" = "0d5e1a1f-0000-4000-8000-00000000da7a"\n'
    if [[ $env == prod ]]; then
      cat <<TOML
[environment.backup]
method = "pg_dump"
directory = "$DEMO/backups"
conninfo = "host=$DEMO/run port=${PGPORT[$env]} dbname=app user=datafix_backup"
role = "datafix_backup"
TOML
    fi
  done
  # Nothing listens on these: the messages stay queued and "datafix show" lists them.
  cat <<TOML

[notify]
base_url = "$URL"
retry_first = "30s"
[notify.channels.team]
kind = "rocketchat"
url = "http://127.0.0.1:9/hooks/demo-team"
timeout = "2s"
[notify.channels.mail]
kind = "email"
url = "smtp://127.0.0.1:2525"
starttls = "none"
from = "datafix@example.com"
timeout = "2s"
TOML
  if [[ $SIGN_IN == oidc ]]; then
    cat <<TOML

# People sign in through the local provider too; their datafix roles come from datafix's people
# (matched by verified e-mail). Tokens keep working for scripts.
[auth.oidc]
issuer = "http://127.0.0.1:$PROVIDER_PORT"
client_id = "datafix"
client_secret_file = "oidc-client-secret"
public_url = "$URL"
TOML
  fi
} >"$DEMO/datafix.toml"
mkdir -p "$DEMO/backups"
chmod 700 "$DEMO/backups"
sed -n '1,30p' "$DEMO/datafix.toml" | sed 's/^/  /'

json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

banner "datafix init: the ledger, the key file (0600) and the first administrator"
ADMIN_TOKEN=$("$DATAFIX" init --config "$DEMO/datafix.toml" --admin-email admin@example.com \
  --admin-name "Alex Admin" --output json | json_field '["token"]')
ls -l "$DEMO/datafix.key" | sed 's/^/  /'

banner "starting datafix server on $URL (log: $DEMO/server.log)"
nohup "$DATAFIX" server --config "$DEMO/datafix.toml" >"$DEMO/server.out" 2>&1 &
echo $! >"$DEMO/server.pid"
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('$URL/healthz', timeout=1)" 2>/dev/null && break
  sleep 0.1
done
python3 -c "import urllib.request; print('  healthz:', urllib.request.urlopen('$URL/healthz').read().decode())"

declare -A TOKEN=([alex]=$ADMIN_TOKEN)
# as WHO ARGS...: runs datafix with that person's token, echoing the command.
as() {
  local who=$1; shift
  shown "$*"
  DATAFIX_TOKEN=${TOKEN[$who]} DATAFIX_SERVER=$URL "$DATAFIX" "$@"
}
# refused WHO ARGS...: a step the rules must refuse; shows the refusal and its exit status.
refused() {
  local who=$1; shift
  shown "$*"
  local status=0
  DATAFIX_TOKEN=${TOKEN[$who]} DATAFIX_SERVER=$URL "$DATAFIX" "$@" || status=$?
  if [[ $status -eq 0 ]]; then echo "demo: expected a refusal" >&2; exit 1; fi
  printf '  \033[2m(refused, exit status %s)\033[0m\n' "$status"
}
app_row() {
  psql -X -h "$DEMO/run" -p "${PGPORT[$1]}" -U dfsuper -d app -Atc \
    "SELECT email_address FROM app_public.app_user WHERE sub = '5f0c7a42-9d1e-4c3b-8a6f-2b7e1d9c4a10'"
}

banner "people"
person "Alex Admin" "administrator"
for p in "priya|Priya Owner|priya@example.com|product_owner" \
         "dana|Dana Driver|dana@example.com|developer" \
         "sam|Sam Pair|sam@example.com|developer"; do
  IFS='|' read -r key name email role <<<"$p"
  shown "users add --name '$name' --email $email --role $role"
  TOKEN[$key]=$(DATAFIX_TOKEN=$ADMIN_TOKEN "$DATAFIX" users add --server "$URL" --name "$name" \
    --email "$email" --role "$role" --output json | json_field '["token"]')
  echo "  $name ($role): token issued, shown once"
done
as alex users list
umask 077
{ for k in "${!TOKEN[@]}"; do echo "export DATAFIX_TOKEN_${k^^}=${TOKEN[$k]}"; done
  echo "export DATAFIX_SERVER=$URL"; } >"$DEMO/tokens.env"
umask 022

# --- the runbook ----------------------------------------------------------------------------
banner "1. the product owner files the request"
person "Priya Owner" "product owner"
as priya request --title "Correct an applicant's contact e-mail" \
  --reason "the applicant mistyped it at registration and asked by phone" \
  --date "$(date -d '+2 days' +%F)" --ticket https://tickets.example.com/DF-1042
N=1

banner "2. one developer claims it; a second claim is refused"
person "Dana Driver" "developer"
as dana list
as dana claim $N
person "Sam Pair" "developer"
refused sam claim $N

banner "3. the second developer joins as the pair and watches live"
as sam pair $N
DATAFIX_TOKEN=${TOKEN[sam]} DATAFIX_SERVER=$URL "$DATAFIX" watch $N --color >"$DEMO/sam-watch.log" 2>&1 &
echo $! >"$DEMO/watch.pid"
sleep 0.3

banner "4. the driver attaches the change, the verify queries and the expected counts"
person "Dana Driver" "driver"
sed 's/^/  | /' examples/change.sql
as dana change $N --change examples/change.sql --verify examples/verify.sql --expect 1,1

for env in dev test prod; do
  if [[ $env == prod ]]; then
    banner "prod: the product owner approves first"
    person "Dana Driver" "driver"
    refused dana preview $N prod
    person "Priya Owner" "product owner: checked test in the application (test now has $(app_row test))"
    as priya show $N
    as priya approve-prod $N
  fi
  banner "$env: preview -> the pair approves that evidence -> apply"
  person "Dana Driver" "driver"
  as dana preview $N $env
  person "Sam Pair" "pair"
  as sam approve $N $env
  person "Dana Driver" "driver"
  if [[ $env == prod ]]; then
    refused dana apply $N prod
    as dana backup $N prod
    ls -l "$DEMO"/backups/*.dump | sed 's/^/  /'
  fi
  echo "  before: $env has $(app_row $env)"
  as dana apply $N $env
  echo "  after:  $env has $(app_row $env)"
done

banner "after prod: put the test data back from the before-images"
person "Dana Driver" "driver"
as dana revert $N test
echo "  test has $(app_row test) again; prod keeps $(app_row prod)"

banner "what the product owner sees now"
person "Priya Owner" "product owner"
as priya show $N

banner "notifications: queued in the ledger, retried with backoff"
echo "  the demo's chat webhook and mail server do not exist, so every message is still queued;"
echo "  'datafix show $N' above lists them (channel, recipient, attempts, last error, next attempt)"

banner "the audit trail (hashes, counts and names only) and its hash chain"
person "Alex Admin" "administrator"
as alex audit --request $N
as alex audit verify

sleep 0.5
kill "$(cat "$DEMO/watch.pid")" 2>/dev/null || true
rm -f "$DEMO/watch.pid"
banner "what Sam Pair saw live with 'datafix watch $N'"
sed 's/^/  /' "$DEMO/sam-watch.log"

banner "the server is still running"
cat <<MSG
  API:      $URL  (healthz: $URL/healthz)
  log:      $DEMO/server.log   ledger: $DEMO/datafix.db   config: $DEMO/datafix.toml
  tokens:   source $DEMO/tokens.env, then e.g.
            DATAFIX_TOKEN=\$DATAFIX_TOKEN_PRIYA $DATAFIX show $N
  clusters: dev/test/prod on 127.0.0.1 ports ${PGPORT[dev]}/${PGPORT[test]}/${PGPORT[prod]}
  stop:     bash scripts/demo.sh stop
MSG
if [[ $SIGN_IN == oidc ]]; then
  cat <<MSG
  sign-in:  open $URL/requests/$N and choose "Sign in with your organisation's account"; at
            the provider (http://127.0.0.1:$PROVIDER_PORT) log in as priya, dana or sam (any
            password: the local provider does not check it)
            or: HOME=\$(mktemp -d) $DATAFIX login --server $URL   (the device code, in a browser)
MSG
fi
