"""The labs outside the image: the student wheel (make practica-wheel) and the standalone notebooks (harness labs --standalone).

The wheel must hold the kernel side only: no judge, no reference computations, no hidden tests or answer keys,
and every first-party module it imports must be inside it. The standalone notebooks run with `comprobar` in a
plain virtual environment made from the wheel (python -m venv; torch, nbclient and ipykernel from this machine's
pip configuration), without the image and without Docker: lab 00 with its solutions passes every exercise, and
the student version is pending everywhere. The course used here holds lab 00 only (DL_LAB_LABS_DIR), so the
check does not depend on where the other labs' criteria live.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

from harness.config import REPO_ROOT, facts
from harness.course import catalog, student_wheel, versions
from harness.errors import HarnessError

LAB00 = "00-introduccion.ipynb"
# Judge-side code in this repository: none of it may reach the wheel, by path or by content.
JUDGE_SIDE_GLOBS = ("in_image/judge/**/*.py", "in_image/exercises/reference.py", "labs/hidden/**/*.py",
                    "labs/answer_key/**/*.py", "harness/**/*.py")
JUDGE_SIDE_PREFIXES = ("in_image/judge/", "in_image/exercises/reference", "hidden/", "answer_key/", "harness/", "labs/")


@pytest.fixture
def lab00_course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A course with lab 00 only: its source, its hidden tests and the student package without the other labs."""
    labs = tmp_path / "course"
    (labs / "source").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "labs" / "source" / LAB00, labs / "source" / LAB00)
    shutil.copytree(REPO_ROOT / "labs" / "hidden", labs / "hidden", ignore=shutil.ignore_patterns("lab0[1-9]*", "__pycache__"))
    shutil.copytree(REPO_ROOT / "labs" / "practica", labs / "practica",
                    ignore=shutil.ignore_patterns("lab0[1-9]*", "__pycache__"))
    monkeypatch.setenv("DL_LAB_LABS_DIR", str(labs))
    return labs


def judge_side_files() -> list[Path]:
    return sorted({path for pattern in JUDGE_SIDE_GLOBS for path in REPO_ROOT.glob(pattern) if path.is_file()})


def test_the_wheel_holds_the_kernel_side_and_nothing_that_computes_an_answer(lab00_course: Path, tmp_path: Path) -> None:
    wheel = student_wheel.build(out=tmp_path / "dist")
    assert wheel.name == f"dl_lab_practica-{facts().course_version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        contents = {name: archive.read(name) for name in names}
    for wanted in ("practica/__init__.py", "practica/comprobacion.py", "practica/gpu.py", "practica/lab00.py",
                   "in_image/exercises/answering.py", "in_image/exercises/wire.py"):
        assert wanted in names, f"{wanted} missing from the student wheel"
    leaked = [name for name in names if name.startswith(JUDGE_SIDE_PREFIXES)]
    assert leaked == [], f"judge-side paths in the student wheel: {leaked}"
    judge_bytes = {hashlib.sha256(path.read_bytes()).hexdigest(): path for path in judge_side_files()
                   if len(path.read_bytes()) > 200}  # not the near-empty __init__.py files
    same = [f"{name} = {judge_bytes[digest]}" for name, data in contents.items()
            if (digest := hashlib.sha256(data).hexdigest()) in judge_bytes]
    assert same == [], f"judge-side files copied into the student wheel: {same}"
    for name, data in contents.items():
        if name.endswith(".py"):
            imported = [module for module, _ in student_wheel._imported_modules(data.decode(), where=name)]
            judge = [m for m in imported if m.startswith(("in_image.judge", "in_image.exercises.reference", "answer_key",
                                                          "hidden", "harness"))]
            assert judge == [], f"{name} imports judge-side modules: {judge}"
    record = contents[next(name for name in names if name.endswith(".dist-info/RECORD"))].decode()
    assert f"Version: {facts().course_version}" in contents[next(n for n in names if n.endswith("METADATA"))].decode()
    assert len(record.splitlines()) == len(names)
    assert student_wheel.build(out=tmp_path / "again").read_bytes() == wheel.read_bytes(), "the wheel is not reproducible"


def test_a_judge_side_import_in_the_student_package_stops_the_build(lab00_course: Path, tmp_path: Path) -> None:
    probes = lab00_course / "practica" / "lab00.py"
    probes.write_text(probes.read_text() + "\nfrom in_image.judge.engine import grade_notebook  # a leak\n")
    with pytest.raises(HarnessError, match=r"lab00\.py imports in_image\.judge\.engine, which the student wheel does not hold"):
        student_wheel.build(out=tmp_path / "dist")
    done = subprocess.run([sys.executable, "-m", "harness", "practica-wheel", "--out", str(tmp_path / "cli")],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "judge-side code never goes into it" in done.stderr
    assert not (tmp_path / "cli").exists() or not any((tmp_path / "cli").iterdir()), "a leaking wheel was written"


@pytest.mark.parametrize("url", ["ftp://curso.example.es/p.whl", "https://curso.example.es/practica.zip", "curso.whl",
                                 "https://curso.example.es/a b.whl", ""])
def test_a_wrong_wheel_url_is_one_clear_line(lab00_course: Path, tmp_path: Path, url: str) -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "labs", "--out", str(tmp_path / "labs"), "--standalone", url],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "publish" in done.stderr and not (tmp_path / "labs").exists()


def test_standalone_notebooks_are_the_student_notebooks_with_an_install_cell(lab00_course: Path, tmp_path: Path) -> None:
    url = "https://curso.example.es/dl_lab_practica-2026.11-py3-none-any.whl"
    done = subprocess.run([sys.executable, "-m", "harness", "labs", "--out", str(tmp_path / "labs"), "--standalone", url],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    standalone = nbformat.read(tmp_path / "labs" / "standalone" / LAB00, as_version=4)
    student = nbformat.read(tmp_path / "labs" / "student" / LAB00, as_version=4)
    first = standalone.cells[0]
    assert first.cell_type == "code" and first.id == versions.INSTALL_CELL_ID
    assert f"%pip install --quiet {url}" in first.source and 'find_spec("practica")' in first.source
    assert [c.source for c in standalone.cells[1:]] == [c.source for c in student.cells]
    assert standalone.metadata["dl_lab"]["practica_wheel"] == url
    assert all(not c.get("outputs") for c in standalone.cells if c.cell_type == "code"), "stored with outputs"


# Runs inside the plain venv: executes the notebooks with nbclient in that venv's own kernel and prints, as JSON,
# the kernel's sys.prefix and where it found practica, and every comprobar cell's output.
DRIVER = """
import json, sys
import nbclient, nbformat
results = {}
for path in sys.argv[1:]:
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        "import sys, practica, in_image\\nprint(sys.prefix)\\nprint(practica.__file__)\\nprint(in_image.__file__)"))
    nbclient.NotebookClient(notebook, kernel_name="python3", timeout=600, allow_errors=True,
                            resources={"metadata": {"path": sys.argv[1].rsplit("/", 1)[0]}}).execute()
    texts = ["".join(o.get("text", "") for o in c.get("outputs", []) if o.get("output_type") == "stream")
             for c in notebook.cells]
    errors = [(o.get("ename", ""), "raises-exception" in c.metadata.get("tags", []), c.metadata.get("tags", []))
              for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    checks = [t for c, t in zip(notebook.cells, texts) if c.cell_type == "code" and c.source.startswith("comprobar(")]
    results[path] = {"checks": checks, "errors": errors, "where": texts[-1], "install": texts[0]}
print(json.dumps(results))
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_standalone_lab00_runs_with_comprobar_in_a_plain_venv(lab00_course: Path, tmp_path: Path) -> None:
    wheel = student_wheel.build(out=tmp_path / "dist")
    url = wheel.as_uri()
    labs = tmp_path / "labs"
    versions.generate_standalone(out=labs, url=url)
    source = catalog.read_notebook(lab00_course / "source" / LAB00)
    solved = versions.make_standalone(versions.make_version(source, student=False, origin=LAB00), url=url)
    nbformat.write(solved, labs / "standalone" / "solved.ipynb")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    # What Colab or Kaggle already have (torch, numpy, scipy, matplotlib, scikit-learn) and Jupyter; not the wheel:
    # the notebook's first cell installs it.
    environment = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter-data")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"torch=={facts().torch_version}", "numpy", "scipy", "matplotlib",
         "scikit-learn", "nbclient==0.11.0", "ipykernel==7.4.0"],
        capture_output=True, text=True, timeout=1200, check=False, env=environment)
    assert install.returncode == 0, install.stderr[-2000:]
    assert subprocess.run([str(python), "-c", "import practica"], capture_output=True, env=environment,
                          check=False).returncode != 0, "the venv must not have practica before the notebook installs it"

    notebooks = [str(labs / "standalone" / "solved.ipynb"), str(labs / "standalone" / LAB00)]
    run = subprocess.run([str(python), "-c", DRIVER, *notebooks], capture_output=True, text=True, timeout=1500,
                         check=False, env=environment, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    solved_run, student_run = results[notebooks[0]], results[notebooks[1]]

    prefix, practica_file, in_image_file = solved_run["where"].split()
    assert Path(prefix) == venv and practica_file.startswith(str(venv)) and in_image_file.startswith(str(venv)), (
        f"the kernel did not use the wheel in the venv: {solved_run['where']}")
    exercises = versions.exercise_ids(source)
    assert len(solved_run["checks"]) >= len(exercises) == 15
    failing = [text for text in solved_run["checks"] if not text.startswith("✅")]
    assert failing == [], f"solutions that comprobar does not pass outside the image: {failing}"
    unexpected = [error for error in solved_run["errors"] if not error[1]]
    assert unexpected == [], f"cells that fail with the solutions outside the image: {unexpected}"
    assert all(name == "NotImplementedError" for name, tagged, _ in student_run["errors"] if not tagged), student_run["errors"]
    pending = [text for text in student_run["checks"] if not text.startswith("⏳")]
    assert pending == [], f"the student version should be pending everywhere: {pending}"
