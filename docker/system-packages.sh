#!/bin/sh
# The Debian packages of the lab images, installed with apt on top of the base image by
# docker/tools.Dockerfile: the only step of a lab image build that uses the network (Debian's
# archive). Its result, the tools image dl-lab-base:<release>-py<version>-tools-<digest>, is the
# lab Dockerfile's base, so that `docker build` of a lab image stays offline.
set -eu
export DEBIAN_FRONTEND=noninteractive

# torch.compile: inductor compiles C++ kernels on the CPU, Triton a C launcher on the GPU.
packages="gcc g++"
# ... both against Python.h: Debian's python3-dev where the base's Python is Debian's; the
# official Python image (registry base) ships its headers already.
python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || packages="$packages python3-dev"
# The JupyterLab terminal: version control, a pager, an editor, archives, ps/top.
packages="$packages git less nano unzip procps"
# Docker Stacks conventions: GRANT_SUDO=yes (sudo) and GEN_CERT=yes (openssl).
packages="$packages sudo openssl"

# Lean: no documentation, manuals or translations (as Debian's slim images), and none of the
# toolchain parts that torch.compile never uses: the LTO back end and dumper, the sanitizer
# run-time libraries, the static libpython.
cat > /etc/dpkg/dpkg.cfg.d/dl-lab-lean <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
path-exclude /usr/lib/gcc/x86_64-linux-gnu/*/lto1
path-exclude /usr/bin/*lto-dump*
path-exclude /usr/lib/x86_64-linux-gnu/lib*san.so*
path-exclude /usr/lib/python3*/config-*/libpython*.a
CFG

apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages >/dev/null
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log

# sudo finds the lab's Python and Jupyter (GRANT_SUDO=yes: `sudo pip ...`).
echo 'Defaults secure_path="/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"' > /etc/sudoers.d/path
chmod 0440 /etc/sudoers.d/path

for tool in gcc g++ git less nano unzip ps top sudo openssl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing after apt-get install" >&2; exit 1; }
done
echo "installed: $packages"
