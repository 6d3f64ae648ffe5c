#!/usr/bin/env bash
# Builds the chain image: chaind, chainctl and benchit as static binaries
# (CGO_ENABLED=0) on this machine, copied into an image FROM scratch, so
# that no registry is needed.
#
#	deploy/docker/build.sh            # image chain:latest
#	IMAGE=chain:dev deploy/docker/build.sh
#	EXTRA=./faultsuite/load deploy/docker/build.sh   # more programs in the image
#
# The binaries are also left in deploy/docker/rootfs/usr/local/bin for the
# host (chainctl certs, say).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=${IMAGE:-chain:latest}
root="$here/rootfs"

rm -rf "$root"
mkdir -p "$root/usr/local/bin" "$root/data" "$root/tmp"
chmod 1777 "$root/tmp"
(cd "$repo" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$root/usr/local/bin/" \
	./cmd/chaind ./cmd/chainctl ./cmd/benchit ${EXTRA:-})
# The legacy builder needs nothing pulled; its deprecation notice is
# printed only with the build's errors.
if ! out=$(DOCKER_BUILDKIT=0 docker build --quiet -t "$image" -f "$here/Dockerfile" "$here" 2>&1); then
	echo "$out" >&2
	exit 1
fi
echo "built image $image with: $(ls "$root/usr/local/bin" | tr '\n' ' ')"
