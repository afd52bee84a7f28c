# The tools image: the base image plus the lab's Debian packages (docker/system-packages.sh).
# Built once per base image and package list by the harness (harness/images/lab_image.py); the
# lab Dockerfile starts from it.
ARG BASE_IMAGE=dl-lab-base:bookworm-py3.11
FROM ${BASE_IMAGE}
COPY system-packages.sh /tmp/system-packages.sh
RUN sh /tmp/system-packages.sh && rm /tmp/system-packages.sh
