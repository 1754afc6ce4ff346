# Sourced by the scripts: a local PostgreSQL for the store and multi-instance tests
# (crates/server/tests/store.rs, crates/cli/tests/multi_instance.rs), which create and drop
# their own `mynaid_test_*` databases through `postgres://postgres@127.0.0.1:5432/test`.
#
# ensure_postgres: nothing to do when that database answers (or MYNAID_TEST_POSTGRES names
# another server). Otherwise, as root on Debian: installs PostgreSQL, lets the `postgres`
# role in without a password from 127.0.0.1 only (test machines, never production), listens
# on 127.0.0.1:5432, starts the cluster and creates the database `test`. Idempotent.

postgres_answers() {
    command -v psql >/dev/null 2>&1 &&
        psql -h 127.0.0.1 -p 5432 -U postgres -d test -Atqc 'select 1' >/dev/null 2>&1
}

ensure_postgres() {
    if [ -n "${MYNAID_TEST_POSTGRES:-}" ]; then
        return 0
    fi
    if postgres_answers; then
        return 0
    fi
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends postgresql postgresql-client >/dev/null
    fi
    local version cluster=main conf
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$version" ]; then
        version=$(ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    if [ ! -d "/etc/postgresql/$version/$cluster" ]; then
        pg_createcluster "$version" "$cluster" >/dev/null
    fi
    conf=/etc/postgresql/$version/$cluster
    # Listen on loopback, on the port the tests use.
    mkdir -p "$conf/conf.d"
    printf "listen_addresses = '127.0.0.1'\nport = 5432\n" >"$conf/conf.d/90-mynaid-test.conf"
    # First matching line wins: put the trust rule on top, once.
    if ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$conf/pg_hba.conf"; then
        { echo "host all all 127.0.0.1/32 trust"; cat "$conf/pg_hba.conf"; } >"$conf/pg_hba.conf.new"
        chown --reference="$conf/pg_hba.conf" "$conf/pg_hba.conf.new"
        chmod --reference="$conf/pg_hba.conf" "$conf/pg_hba.conf.new"
        mv "$conf/pg_hba.conf.new" "$conf/pg_hba.conf"
    fi
    # (Re)start so the settings apply; in containers without systemd pg_ctlcluster works alone.
    if pg_lsclusters -h 2>/dev/null | awk -v v="$version" -v c="$cluster" '$1 == v && $2 == c { print $4 }' | grep -q online; then
        pg_ctlcluster "$version" "$cluster" restart
    else
        pg_ctlcluster "$version" "$cluster" start || service postgresql start
    fi
    local i
    for i in $(seq 1 60); do
        if pg_isready -q -h 127.0.0.1 -p 5432; then
            break
        fi
        sleep 0.5
    done
    if ! psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -Atqc "select 1 from pg_database where datname = 'test'" | grep -q 1; then
        psql -h 127.0.0.1 -p 5432 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null
    fi
    if ! postgres_answers; then
        echo "ensure_postgres: PostgreSQL does not answer on 127.0.0.1:5432 (database test)" >&2
        return 1
    fi
}
