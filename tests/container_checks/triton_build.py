"""What Triton does on a GPU at run time, without a GPU: build a C launcher with $CC, clang or gcc against Python.h."""

import os
import shutil
import subprocess
import sysconfig

import triton  # noqa: F401 (the CUDA image ships it: the import must work)

cc = os.environ.get("CC") or shutil.which("clang") or shutil.which("gcc")
assert cc, "no C compiler: neither $CC, clang nor gcc"
with open("/tmp/launcher.c", "w") as source:
    source.write("#include <Python.h>\nint main(void) { return PY_MAJOR_VERSION == 3 ? 0 : 1; }\n")
subprocess.run([cc, "-I" + sysconfig.get_paths()["include"], "/tmp/launcher.c", "-o", "/tmp/launcher"], check=True)
subprocess.run(["/tmp/launcher"], check=True)
print("compiled with", os.path.basename(cc))
