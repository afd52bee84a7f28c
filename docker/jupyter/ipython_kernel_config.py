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
if _fraction > 0:
    c.IPKernelApp.exec_lines = [
        "def _dl_lab_cap_gpu_memory(fraction):\n"
        "    import torch\n"
        "    if torch.cuda.is_available():\n"
        "        for device in range(torch.cuda.device_count()):\n"
        "            torch.cuda.set_per_process_memory_fraction(fraction, device)\n",
        f"_dl_lab_cap_gpu_memory({_fraction!r})\ndel _dl_lab_cap_gpu_memory\n",
    ]
