# Base on the official Debian-based Python image when a registry answers; adds tini,
# which the lab image runs as PID 1. Used by build-base.sh only.
ARG FROM_IMAGE=python:3.11-slim-bookworm
FROM ${FROM_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini ca-certificates \
    && rm -rf /var/lib/apt/lists/*
