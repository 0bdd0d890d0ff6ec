#!/usr/bin/env bash
# Checks this image's DJL/PyTorch setup: loads the PyTorch engine and the tokenizers library from the
# cluster's lib/, checks the ImageIO plug-ins and, with --model DIR, loads a model. Run at image
# build time (both Dockerfiles) and on a GPU host to check the CUDA image:
#   docker run --rm --gpus 1 glimpse/flink-cuda:0.1.0 /opt/glimpse/bin/warm-up.sh --model /opt/glimpse/models/glimpse-scenes
# Arguments are those of dev.glimpse.dist.WarmUp (dist/src/main/java/dev/glimpse/dist/WarmUp.java).
set -euo pipefail
FLINK_HOME=${FLINK_HOME:-/opt/flink}
GLIMPSE_HOME=${GLIMPSE_HOME:-/opt/glimpse}
exec java -Dai.djl.offline=true -Dai.djl.pytorch.num_threads=1 \
  -cp "$FLINK_HOME/lib/*:$FLINK_HOME/usrlib/glimpse-job-cluster.jar:$GLIMPSE_HOME/lib/glimpse-dist.jar" \
  dev.glimpse.dist.WarmUp "$@"
