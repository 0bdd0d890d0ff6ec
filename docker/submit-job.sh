#!/usr/bin/env bash
# Submits the Glimpse job to the session cluster (the `submit-job` service of docker-compose.yml):
# waits until the JobManager's REST API answers with enough free task slots, skips the submission
# when a job named "glimpse" is already running, then runs
#   flink run -d -m $JM_HOST:$JM_PORT /opt/flink/usrlib/glimpse-job-cluster.jar "$@"
# Every argument is passed to the job (the options of `bin/glimpse run`: --set key=value ...).
# Environment: JM_HOST (jobmanager), JM_PORT (8081), SLOTS_NEEDED (2: the larger of
# parallelism.decode and parallelism.inference), WAIT_SECONDS (600), FROM_SAVEPOINT (a savepoint or
# retained checkpoint to start from, passed as `flink run -s`).
set -euo pipefail
JM_HOST=${JM_HOST:-jobmanager}
JM_PORT=${JM_PORT:-8081}
SLOTS_NEEDED=${SLOTS_NEEDED:-2}
WAIT_SECONDS=${WAIT_SECONDS:-600}
JOB_JAR=${JOB_JAR:-/opt/flink/usrlib/glimpse-job-cluster.jar}

# GET on the REST API with bash alone (no curl or wget needed in the image).
rest_get() {
  local body
  exec 3<>"/dev/tcp/$JM_HOST/$JM_PORT" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$1" "$JM_HOST" >&3
  body=$(timeout 10 cat <&3)
  exec 3<&-
  printf '%s' "${body#*$'\r\n\r\n'}"
}

echo "waiting for $SLOTS_NEEDED free task slots at http://$JM_HOST:$JM_PORT ..."
free=0
for ((waited = 0; waited < WAIT_SECONDS; waited += 2)); do
  overview=$(rest_get /overview 2>/dev/null || true)
  free=$(sed -n 's/.*"slots-available":\([0-9]*\).*/\1/p' <<<"$overview")
  free=${free:-0}
  if ((free >= SLOTS_NEEDED)); then
    break
  fi
  sleep 2
done
if ((free < SLOTS_NEEDED)); then
  echo "only $free free task slots after ${WAIT_SECONDS}s (need $SLOTS_NEEDED): are the TaskManagers up?" >&2
  exit 1
fi

if flink list -r -m "$JM_HOST:$JM_PORT" 2>/dev/null | grep -q ': glimpse (RUNNING)'; then
  echo "a job named glimpse is already running; not submitting another one"
  exit 0
fi

restore=()
if [[ -n "${FROM_SAVEPOINT:-}" ]]; then
  restore=(-s "$FROM_SAVEPOINT")
fi
echo "submitting $JOB_JAR $*"
exec flink run -d -m "$JM_HOST:$JM_PORT" "${restore[@]}" "$JOB_JAR" "$@"
