"""Run reach.py in a real IPython kernel (nbclient), as the user this script runs as; print the kernel's output.

Usage: python in_kernel.py REVERSED_CANARY [...]: each canary written backwards, so that no file the kernel writes
(its history, say) holds it. The lab image's kernel, as `make lab` and the hub start it.
"""

import json
import sys

import nbformat
from nbclient import NotebookClient


def reach_cell(reversed_canaries: list[str], check: str) -> str:
    return f"CANARIES = tuple(c[::-1] for c in {json.dumps(reversed_canaries)})\n" + check


with open("/checks/reach.py", encoding="utf-8") as handle:
    check = handle.read()
cell = reach_cell(sys.argv[1:], check)
notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
print("".join(output.get("text", "") for output in notebook.cells[0].outputs))
