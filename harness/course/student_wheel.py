"""The student package as a wheel (`make practica-wheel`), for the labs outside the image: Colab, Kaggle, any Jupyter.

The wheel holds what a student's kernel runs and nothing that computes an answer: the package practica
(each lab's `comprobar`, its probes and data, `practica.gpu`) and the kernel-side modules of the exercise
framework it imports, named one by one in KERNEL_MODULES. Judge-side code (the judge, the reference
computations, hidden tests, answer keys) is never listed, and the build refuses a wheel in which a module
imports first-party code that the wheel does not hold, so a judge-side import fails here and not in a
student's notebook. The wheel is reproducible: fixed timestamps, sorted entries.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import zipfile
from pathlib import Path, PurePosixPath

from harness.config import REPO_ROOT, facts, labs_dir
from harness.course.kernel_data import ensure_kernel_data
from harness.errors import HarnessError

DISTRIBUTION = "dl-lab-practica"
# The exercise framework's kernel-side modules, relative to the repository root: the probes' runner, the
# criteria framework `comprobar` applies to the public cases, the wire format, the clean torch state per case,
# the notebook tags, the tensors a probe passes, and what the judge asks the kernel for (evidence, packages).
KERNEL_MODULES = (
    "in_image/__init__.py",
    "in_image/packages.py",
    "in_image/published_figures.py",
    "in_image/exercises/__init__.py",
    "in_image/exercises/answering.py",
    "in_image/exercises/evidence.py",
    "in_image/exercises/framework.py",
    "in_image/exercises/isolation.py",
    "in_image/exercises/layers.py",
    "in_image/exercises/tags.py",
    "in_image/exercises/tensors.py",
    "in_image/exercises/tracing.py",
    "in_image/exercises/trained.py",
    "in_image/exercises/wire.py",
)
# The student package's folder (labs/practica) goes in whole: it is the kernel side by definition.
STUDENT_PACKAGE = "practica"
# First-party top-level packages: an import of one of them must be satisfied by a module inside the wheel.
FIRST_PARTY = frozenset({"in_image", "practica", "harness", "answer_key", "hidden"})
# What the notebooks import besides the package itself; torch is whatever the environment has (Colab, Kaggle...).
REQUIRES = ("numpy", "scipy", "matplotlib", "scikit-learn", "torch")
_FIXED_TIME = (2026, 1, 1, 0, 0, 0)


def wheel_name() -> str:
    return f"{DISTRIBUTION.replace('-', '_')}-{facts().course_version}-py3-none-any.whl"


def wheel_files() -> dict[str, Path]:
    """The wheel's entries (archive name -> file): KERNEL_MODULES and labs/practica, without caches."""
    files: dict[str, Path] = {}
    for name in KERNEL_MODULES:
        path = REPO_ROOT / name
        if not path.is_file():
            raise HarnessError(f"{path}: listed in the student wheel's KERNEL_MODULES but missing")
        files[name] = path
    package = labs_dir() / "practica"
    if not (package / "__init__.py").is_file():
        raise HarnessError(f"{package}: no student package here (expected {package / '__init__.py'})")
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if path.is_file() and "__pycache__" not in relative.parts and path.suffix not in (".pyc", ".pyo"):
            files[str(PurePosixPath(STUDENT_PACKAGE, *relative.parts))] = path
    return files


def _imported_modules(source: str, *, where: str) -> list[tuple[str, bool]]:
    """(module, required): `import a.b` and `from a.b import x` require a.b; `a.b.x` counts only if it is a module."""
    try:
        tree = ast.parse(source, filename=where)
    except SyntaxError as error:
        raise HarnessError(f"{where}: not valid Python ({error.msg}, line {error.lineno})") from None
    modules: list[tuple[str, bool]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules += [(alias.name, True) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.append((node.module, True))
            modules += [(f"{node.module}.{alias.name}", False) for alias in node.names]
    return modules


def _module_stems(module: str) -> tuple[str, str]:
    stem = module.replace(".", "/")
    return f"{stem}.py", f"{stem}/__init__.py"


def _in_source_tree(module: str) -> bool:
    """Whether `module` is a module of this repository (in_image/..., labs/practica, labs/answer_key...)."""
    roots = (REPO_ROOT, labs_dir())
    return any((root / stem).is_file() for root in roots for stem in _module_stems(module))


def check_closed(files: dict[str, Path]) -> None:
    """Every first-party module the wheel's modules import is in the wheel; else a one-line error."""
    names = set(files)
    for name, path in sorted(files.items()):
        if not name.endswith(".py"):
            continue
        for module, required in _imported_modules(path.read_text(encoding="utf-8"), where=str(path)):
            if module.split(".")[0] not in FIRST_PARTY or any(stem in names for stem in _module_stems(module)):
                continue
            if required or _in_source_tree(module):
                raise HarnessError(
                    f"{path} imports {module}, which the student wheel does not hold: judge-side code never goes "
                    f"into it; move what the kernel needs into labs/practica (data, not code that computes answers), "
                    f"or list a kernel-side module in KERNEL_MODULES ({Path(__file__).relative_to(REPO_ROOT)})")


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _metadata() -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {DISTRIBUTION}", f"Version: {facts().course_version}",
             "Summary: Prácticas de la asignatura: comprobar y los datos de cada laboratorio",
             "Requires-Python: >=3.10"]
    lines += [f"Requires-Dist: {requirement}" for requirement in REQUIRES]
    return "\n".join(lines) + "\n"


def build(*, out: Path) -> Path:
    """Write out/dl_lab_practica-COURSE_VERSION-py3-none-any.whl and return its path."""
    ensure_kernel_data()  # the public cases' expected outputs (practica/data), which comprobar reads
    files = wheel_files()
    check_closed(files)
    dist_info = f"{DISTRIBUTION.replace('-', '_')}-{facts().course_version}.dist-info"
    entries = {name: path.read_bytes() for name, path in sorted(files.items())}
    entries[f"{dist_info}/METADATA"] = _metadata().encode()
    entries[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: dl-lab harness\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries[f"{dist_info}/top_level.txt"] = b"in_image\npractica\n"
    record = [_record_line(name, data) for name, data in entries.items()] + [f"{dist_info}/RECORD,,"]
    entries[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    out.mkdir(parents=True, exist_ok=True)
    target = out / wheel_name()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(info, data)
    return target
