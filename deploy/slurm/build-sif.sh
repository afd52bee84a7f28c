#!/usr/bin/env bash
# `make sif [VARIANT=cpu|cuda]`: the lab image as an Apptainer image, sif/<image>_<variant>-<version>.sif,
# for clusters where users may not run Docker. Converted from the local Docker engine's image, or
# from a `docker save` archive sif/<image>_<variant>-<version>.tar (built elsewhere, copied here).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck disable=SC1091
source "$repo/docker/versions.env"

die() { echo "error: $*" >&2; exit 1; }

variant="${1:-cpu}"
case "$variant" in cpu|cuda) ;; *) die "VARIANT must be cpu or cuda, not '$variant'" ;; esac
image="$IMAGE_NAME:$variant-$COURSE_VERSION"
out_dir="${SIF_DIR:-$repo/sif}"
base="$out_dir/${IMAGE_NAME}_$variant-$COURSE_VERSION"

builder=""
for candidate in apptainer singularity; do
  if command -v "$candidate" >/dev/null 2>&1; then builder=$candidate; break; fi
done
if [ -z "$builder" ]; then
  cat >&2 <<MSG
error: apptainer is not installed on this machine, so no .sif can be built here.
  - Install Apptainer (https://apptainer.org/docs/admin/main/installation.html; Debian 12 has no
    package: use the .deb of its GitHub releases), then run 'make sif VARIANT=$variant' again; or
  - convert on the cluster: docker save $image -o ${base##*/}.tar here, copy the file there and run
      apptainer build ${base##*/}.sif docker-archive://${base##*/}.tar
  The batch script (deploy/slurm/dl-lab.sbatch) also runs the image with podman or docker where a node has one.
MSG
  exit 3
fi

mkdir -p "$out_dir" || die "cannot create $out_dir (SIF_DIR)"
if command -v docker >/dev/null 2>&1 && docker image inspect "$image" >/dev/null 2>&1; then
  source_ref="docker-daemon://$image"
elif [ -f "$base.tar" ]; then
  source_ref="docker-archive://$base.tar"
else
  die "the image $image is not built here and $base.tar does not exist: run 'make image-$variant' (or copy a 'docker save' archive there)"
fi
# Apptainer's temporary files can be several GB: keep them beside the output, not in a small /tmp.
export APPTAINER_TMPDIR="${APPTAINER_TMPDIR:-$out_dir/.tmp}"
mkdir -p "$APPTAINER_TMPDIR"
echo "building $base.sif from $source_ref with $builder (a few minutes)..." >&2
"$builder" build --force "$base.sif" "$source_ref"
rm -rf "$out_dir/.tmp"
echo "$base.sif"
