#!/usr/bin/env bash
# Puts libtorch (PyTorch's C++ libraries) built for CUDA into DEST, for docker/Dockerfile.cuda.
#   fetch-libtorch.sh SOURCE DEST
# SOURCE:
#   djl      DJL's own build, the one DJL downloads itself when not offline: every file listed under
#            $PYTORCH_CUDA_FLAVOR/linux-x86_64/ in https://publish.djl.ai/pytorch/$PYTORCH_VERSION/files.txt
#            (gzipped, URL-encoded names). DJL_PUBLISH_URL replaces https://publish.djl.ai/pytorch
#            (a mirror).
#   url      the libtorch zip at $LIBTORCH_CUDA_URL (e.g. from download.pytorch.org): its libtorch/lib/.
#   context  the files put into docker/libtorch/ of the build context (copied to $CONTEXT_DIR).
# DJL's JNI library is not fetched here: Dockerfile.cuda extracts it from the pytorch-jni jar.
set -euo pipefail
source=$1
dest=$2
mkdir -p "$dest"
case "$source" in
  djl)
    : "${PYTORCH_VERSION:?}" "${PYTORCH_CUDA_FLAVOR:?}"
    base="${DJL_PUBLISH_URL:-https://publish.djl.ai/pytorch}/$PYTORCH_VERSION"
    wget -nv -O /tmp/files.txt "$base/files.txt"
    grep "^$PYTORCH_CUDA_FLAVOR/linux-x86_64/" /tmp/files.txt > /tmp/wanted.txt || {
      echo "$base/files.txt lists no $PYTORCH_CUDA_FLAVOR/linux-x86_64/ files" >&2
      exit 1
    }
    while read -r file; do
      name=$(basename "$file" .gz)
      name=$(printf '%b' "${name//%/\\x}")
      echo "fetching $name"
      wget -nv -O - "$base/$file" | gunzip > "$dest/$name"
    done < /tmp/wanted.txt
    ;;
  url)
    : "${LIBTORCH_CUDA_URL:?}"
    if ! command -v unzip > /dev/null; then
      apt-get update && apt-get install -y --no-install-recommends unzip && rm -rf /var/lib/apt/lists/*
    fi
    wget -nv -O /tmp/libtorch.zip "$LIBTORCH_CUDA_URL"
    unzip -q /tmp/libtorch.zip 'libtorch/lib/*' -d /tmp/
    mv /tmp/libtorch/lib/* "$dest"/
    rm -rf /tmp/libtorch /tmp/libtorch.zip
    ;;
  context)
    cp -a "${CONTEXT_DIR:-/build/libtorch-context}"/. "$dest"/
    rm -f "$dest/README.md"
    ;;
  *)
    echo "LIBTORCH_SOURCE must be djl, url or context, not '$source'" >&2
    exit 2
    ;;
esac
# Static archives and headers are for compiling against libtorch, not for running it.
find "$dest" \( -name '*.a' -o -name '*.lib' \) -delete
# DJL's JNI library for CUDA links against these (readelf -d 0.36.0-libdjl_torch.so).
for lib in libc10.so libc10_cuda.so libtorch.so libtorch_cpu.so libtorch_cuda.so; do
  [[ -f "$dest/$lib" ]] || { echo "libtorch from '$source' lacks $lib: not a CUDA build of libtorch?" >&2; exit 1; }
done
# DJL detects GPUs by loading the CUDA runtime with JNA under the name "cudart" (CudaUtils), but
# libtorch bundles it under a hashed name (libcudart-<hash>.so.12). Without a libcudart.so on the
# library path, DJL reports 0 GPUs and the captioner falls back to the CPU. LD_LIBRARY_PATH in
# Dockerfile.cuda points at this folder.
cudart=$(cd "$dest" && ls libcudart*.so* 2> /dev/null | head -n 1 || true)
if [[ -n "$cudart" && ! -e "$dest/libcudart.so" ]]; then
  ln -s "$cudart" "$dest/libcudart.so"
elif [[ -z "$cudart" ]]; then
  echo "WARNING: no libcudart in $dest: DJL will not see the GPU unless the host provides libcudart.so" >&2
fi
ls -la "$dest"
