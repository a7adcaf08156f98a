#!/bin/sh
# One-shot `temporal-setup` service of docker-compose.yml (temporalio/admin-tools image):
# creates Temporal's own databases on the stack's PostgreSQL and brings their schemas up to the
# version the admin-tools image ships (run it with the same version as the server).
# Every step is safe to repeat: an existing database is kept, an up-to-date schema is left alone.
set -eu
: "${SQL_HOST:?}" "${SQL_PORT:=5432}" "${SQL_USER:?}" "${SQL_PASSWORD:?}"
export SQL_PASSWORD
SCHEMA=/etc/temporal/schema/postgresql/v12

until nc -z "$SQL_HOST" "$SQL_PORT"; do
    echo "waiting for PostgreSQL on $SQL_HOST:$SQL_PORT"
    sleep 1
done

tool() {
    temporal-sql-tool --plugin postgres12 --ep "$SQL_HOST" -p "$SQL_PORT" -u "$SQL_USER" "$@"
}
for db in temporal temporal_visibility; do
    case "$db" in
        temporal) dir="$SCHEMA/temporal/versioned" ;;
        *) dir="$SCHEMA/visibility/versioned" ;;
    esac
    tool --db "$db" create
    tool --db "$db" setup-schema -v 0.0
    tool --db "$db" update-schema -d "$dir"
done
echo "Temporal databases ready"
