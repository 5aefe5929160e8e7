#!/usr/bin/env bash
# A PGO v5 manual backup as datafix's backup command ([environment.backup] method = "command"):
# asks the operator for a pgBackRest backup of one PostgresCluster by annotating it, waits for the
# backup Job the operator starts for that annotation, and succeeds only when that Job completed.
# Prints the Job's name last: datafix records it as the backup's location.
#
#   pgo-manual-backup.sh NAMESPACE CLUSTER [TIMEOUT_SECONDS]
#
# Needs the cluster's spec.backups.pgbackrest.manual (repoName, options) and, for datafix's
# ServiceAccount in NAMESPACE: patch on postgresclusters, get/list/watch on jobs. The client is
# `oc`, or $DATAFIX_KUBE_CLIENT (e.g. kubectl).
set -euo pipefail

namespace=${1:?usage: pgo-manual-backup.sh NAMESPACE CLUSTER [TIMEOUT_SECONDS]}
cluster=${2:?usage: pgo-manual-backup.sh NAMESPACE CLUSTER [TIMEOUT_SECONDS]}
timeout=${3:-7200}
client=${DATAFIX_KUBE_CLIENT:-oc}
annotation=postgres-operator.crunchydata.com/pgbackrest-backup
# A new value each time: the operator starts a backup when the value changes.
requested=$(date -u +%Y%m%dT%H%M%SZ)-$$

"$client" -n "$namespace" annotate postgrescluster "$cluster" --overwrite "$annotation=$requested" >&2

# The operator copies the annotation's value onto the Job it starts: an older manual backup's
# Job (complete long ago) is never mistaken for this one.
selector="postgres-operator.crunchydata.com/cluster=$cluster,postgres-operator.crunchydata.com/pgbackrest-backup=manual"
deadline=$((SECONDS + timeout))
job=
while [[ -z $job ]]; do
  job=$("$client" -n "$namespace" get jobs -l "$selector" \
    -o jsonpath="{range .items[?(@.metadata.annotations.postgres-operator\.crunchydata\.com/pgbackrest-backup==\"$requested\")]}{.metadata.name}{end}")
  if [[ -z $job ]]; then
    ((SECONDS < deadline)) || { echo "no backup Job for $requested appeared" >&2; exit 1; }
    sleep 5
  fi
done

while :; do
  status=$("$client" -n "$namespace" get job "$job" \
    -o jsonpath='{.status.succeeded}/{.status.failed}')
  case $status in
    1/*) break ;;
    */[1-9]*) echo "backup Job $job failed" >&2; exit 1 ;;
  esac
  ((SECONDS < deadline)) || { echo "backup Job $job did not finish in ${timeout}s" >&2; exit 1; }
  sleep 10
done
echo "$job"
