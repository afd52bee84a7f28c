"""Where the GPU tables that the labs measure are recorded and published (no torch: the host reads it too).

On a GPU machine, `harness gpu-check` runs every lab with RECORD_FOLDER_ENV set: each table the lab prints
(`practica.gpu.tabla`) is also written there as `labNN.json`. The check merges them into its reports as
PUBLISHED_FILE_NAME; the course publishes them by copying that file into the student package
(labs/practica/PUBLISHED_FILE_NAME), from where machines without a GPU show them, named with their GPU and date.
"""

from __future__ import annotations

RECORD_FOLDER_ENV = "DL_LAB_RECORD_GPU_TABLES"
PUBLISHED_FILE_NAME = "medidas_gpu.json"
