# Kernel settings of the lab image: copied to /etc/ipython/, which every IPython kernel reads.
#
# DL_LAB_GPU_MEMORY_FRACTION (the one-server hub sets it on GPU servers when it caps GPU memory,
# `make hub HUB_ARGS="--gpu-memory-fraction 0.25"`): each kernel may allocate at most that fraction
# of each GPU's memory through PyTorch, so that one student cannot fill a GPU the class shares; a
# bigger allocation fails with torch's "CUDA out of memory" in that student's kernel only. Applied as
# the kernel starts, so torch is imported then (about a second); unset or 0 (make lab): nothing.
import os

c = get_config()  # noqa: F821  (injected by IPython)

_fraction_setting = os.environ.get("DL_LAB_GPU_MEMORY_FRACTION", "").strip() or "0"
try:
    _fraction = float(_fraction_setting)
except ValueError:
    raise SystemExit(f"DL_LAB_GPU_MEMORY_FRACTION must be a fraction between 0 and 1, not {_fraction_setting!r}") from None
if not 0 <= _fraction < 1:
    raise SystemExit(f"DL_LAB_GPU_MEMORY_FRACTION must be a fraction between 0 and 1, not {_fraction_setting!r}")
_exec_lines = []
if _fraction > 0:
    _exec_lines += [
        "def _dl_lab_cap_gpu_memory(fraction):\n"
        "    import torch\n"
        "    if torch.cuda.is_available():\n"
        "        for device in range(torch.cuda.device_count()):\n"
        "            torch.cuda.set_per_process_memory_fraction(fraction, device)\n",
        f"_dl_lab_cap_gpu_memory({_fraction!r})\ndel _dl_lab_cap_gpu_memory\n",
    ]

# DL_LAB_DISK_NOTICE (the one-server hub sets it where no quota limits ~/work): a file the hub writes when
# the work folder nears or reaches its limit; its text is printed under the next cell the student runs.
_notice = os.environ.get("DL_LAB_DISK_NOTICE", "").strip()
if _notice:
    _exec_lines.append(
        "def _dl_lab_disk_notice(result, _seen=[0.0]):\n"
        "    import os, sys\n"
        "    try:\n"
        f"        stamp = os.stat({_notice!r}).st_mtime\n"
        f"        text = open({_notice!r}).read().strip()\n"
        "    except OSError:\n"
        "        return\n"
        "    if stamp > _seen[0]:\n"
        "        _seen[0] = stamp\n"
        "        print(text, file=sys.stderr)\n"
        "get_ipython().events.register('post_run_cell', _dl_lab_disk_notice)\n"
        "del _dl_lab_disk_notice\n"
    )
c.IPKernelApp.exec_lines = _exec_lines
