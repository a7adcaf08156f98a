#!/bin/sh
# One-shot `temporal-namespace` service of docker-compose.yml (temporalio/admin-tools image):
# waits until the Temporal cluster serves, then registers the namespace Coopflow uses if it is
# not there yet. The worker dies on "namespace not found", so it starts only after this.
set -eu
: "${TEMPORAL_ADDRESS:?}" "${NAMESPACE:=default}" "${RETENTION:=30d}"

tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" | grep -q SERVING; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "Temporal at $TEMPORAL_ADDRESS did not serve within 120 s" >&2
        exit 1
    fi
    sleep 2
done

if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1; then
    echo "namespace $NAMESPACE already registered"
else
    temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" \
        --retention "$RETENTION"
    echo "namespace $NAMESPACE registered (retention $RETENTION)"
fi
