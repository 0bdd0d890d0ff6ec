#!/usr/bin/env bash
# Builds the job with Maven and the container images, with the versions of docker/versions.env.
#   docker/build.sh          CPU image ($GLIMPSE_IMAGE)
#   docker/build.sh cuda     GPU image ($GLIMPSE_CUDA_IMAGE), libtorch for CUDA from $LIBTORCH_SOURCE
#   docker/build.sh all      both
# SKIP_MAVEN=1 reuses an existing dist/target. Extra docker build arguments: DOCKER_BUILD_ARGS.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
set -a
# shellcheck source=versions.env
source "$ROOT/docker/versions.env"
set +a
what=${1:-cpu}

if [[ -z "${SKIP_MAVEN:-}" ]]; then
  (cd "$ROOT" && mvn -B -q clean package -DskipTests)
fi
for f in "$ROOT"/dist/target/glimpse-job-*-cluster.jar "$ROOT"/dist/target/flink-lib/api-*.jar; do
  [[ -f "$f" ]] || { echo "missing $f: build with 'mvn -B package' first" >&2; exit 1; }
done

if [[ "$what" == cpu || "$what" == all ]]; then
  DOCKER_BUILDKIT=1 docker build ${DOCKER_BUILD_ARGS:-} -f "$ROOT/docker/Dockerfile" \
    --build-arg FLINK_IMAGE="$FLINK_IMAGE" \
    -t "$GLIMPSE_IMAGE" "$ROOT"
fi
if [[ "$what" == cuda || "$what" == all ]]; then
  DOCKER_BUILDKIT=1 docker build ${DOCKER_BUILD_ARGS:-} -f "$ROOT/docker/Dockerfile.cuda" \
    --build-arg FLINK_IMAGE="$FLINK_IMAGE" \
    --build-arg PYTORCH_VERSION="$PYTORCH_VERSION" \
    --build-arg PYTORCH_CUDA_FLAVOR="$PYTORCH_CUDA_FLAVOR" \
    --build-arg LIBTORCH_SOURCE="$LIBTORCH_SOURCE" \
    --build-arg LIBTORCH_CUDA_URL="$LIBTORCH_CUDA_URL" \
    -t "$GLIMPSE_CUDA_IMAGE" "$ROOT"
fi
