"""practica.gpu, the timings every lab prints, without a GPU: block sizing, median and IQR, the labels of each figure."""

from __future__ import annotations

import ast
import json
import statistics
import time
from pathlib import Path

import pytest
import torch

from harness.course import catalog
from harness.gpu_check.report import merge_recorded_tables
from harness.gpu_check.steps import RECORDED_TABLES
from in_image.published_figures import PUBLISHED_FILE_NAME
from practica import gpu


@pytest.mark.parametrize(("seconds", "wanted"), [(0.001, 50), (0.0003, 167), (0.05, 1), (0.2, 1), (0.049, 2), (0.0, 1),
                                                 (float("inf"), 1), (float("nan"), 1)])
def test_a_block_repeats_the_step_until_it_lasts_50_ms(seconds: float, wanted: int) -> None:
    assert gpu.repeticiones_por_bloque(seconds) == wanted
    if 0 < seconds < float("inf"):
        assert wanted * seconds >= gpu.BLOQUE_MINIMO_S - 1e-12


def test_quartiles_and_iqr() -> None:
    assert gpu.cuartiles([1.0, 2.0, 3.0, 4.0, 5.0]) == (2.0, 3.0, 4.0)
    q1, median, q3 = gpu.cuartiles([10.0, 1.0, 4.0, 2.0])
    assert q1 == 1.75
    assert median == 3.0
    assert q3 == 5.5
    assert gpu.cuartiles([7.0]) == (7.0, 7.0, 7.0)
    with pytest.raises(ValueError, match="al menos un valor"):
        gpu.cuartiles([])
    tiempo = gpu.Tiempo(0.003, 0.0025, 0.004, 7, 17, "CPU x", "fp32")
    assert tiempo.iqr_s == pytest.approx(0.0015)
    assert "3,000 ms por paso (IQR 1,500 ms" in str(tiempo) and "7 bloques de 17 pasos" in str(tiempo)


def test_calibration_grows_the_block_until_it_lasts_50_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    durations = iter([0.03, 0.012, 0.011, 0.0105])  # seconds per step as the machine's load changes
    blocks: list[int] = []

    def block(paso: object, dispositivo: object, repeticiones: int) -> float:
        blocks.append(repeticiones)
        return next(durations)

    monkeypatch.setattr(gpu, "_bloque", block)
    assert gpu.calibrar(lambda: None, torch.device("cpu")) == 5
    assert blocks == [1, 2, 5], "1 step of 30 ms, 2 of 12 ms (24 ms), then ceil(50 / 12) = 5 steps of 11 ms (55 ms)"


def test_measuring_a_sleep_gives_blocks_of_50_ms_and_its_duration() -> None:
    calls = []

    def step() -> None:
        calls.append(1)
        time.sleep(0.002)

    measured = gpu.medir(step, "cpu", bloques=3, calentamiento=1)
    assert measured.repeticiones * measured.q1_s >= gpu.BLOQUE_MINIMO_S * 0.8, f"blocks of at least 50 ms: {measured}"
    assert len(calls) >= 1 + 3 * measured.repeticiones, "warm-up, calibration, then the blocks"
    assert 0.002 <= measured.mediana_s < 0.02 and measured.q1_s <= measured.mediana_s <= measured.q3_s
    assert measured.precision == "fp32" and gpu.hilos() in measured.dispositivo


def test_cronometrar_keeps_its_meaning_the_median_seconds_per_step() -> None:
    seconds = gpu.cronometrar(lambda: time.sleep(0.001), "cpu", repeticiones=3, calentamiento=0)
    assert 0.001 <= seconds < 0.01


def test_precision_labels() -> None:
    assert gpu.etiqueta_precision("cpu") == "fp32"
    assert gpu.etiqueta_precision("cpu", dtype=torch.bfloat16) == "bf16"
    assert gpu.etiqueta_precision("cuda", dtype=torch.float16) == "fp16"
    previous = torch.backends.cuda.matmul.allow_tf32, torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        torch.backends.cudnn.allow_tf32 = True  # PyTorch's default
        assert gpu.etiqueta_precision("cuda") == "fp32 (convoluciones en TF32)", \
            "by default CUDA matmuls are fp32 and cuDNN convolutions TF32: the label says both"
        torch.backends.cudnn.allow_tf32 = False
        assert gpu.etiqueta_precision("cuda") == "fp32", "TF32 off everywhere"
        torch.set_float32_matmul_precision("high")
        assert gpu.etiqueta_precision("cuda") == "TF32 (convoluciones en fp32)"
        torch.backends.cudnn.allow_tf32 = True
        assert gpu.etiqueta_precision("cuda") == "TF32", "TF32 on: say so, the figures are tensor-core figures"
        assert gpu.etiqueta_precision("cpu") == "fp32", "the CPU has no TF32"
    finally:
        torch.backends.cuda.matmul.allow_tf32 = previous[0]
        torch.set_float32_matmul_precision(previous[1])
        torch.backends.cudnn.allow_tf32 = previous[2]


def test_the_environment_line_names_threads_devices_and_precision() -> None:
    line = gpu.describir_entorno()
    assert f"con {gpu.hilos()}" in line and "precisión fp32" in line
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert gpu.hilos() == "1 hilo de PyTorch"
        torch.set_num_threads(2)
        assert gpu.hilos() == "2 hilos de PyTorch"
    finally:
        torch.set_num_threads(threads)
    assert ("sin GPU" in line) != torch.cuda.is_available()


def test_a_table_says_what_the_speedup_is_measured_against(capsys: pytest.CaptureFixture[str]) -> None:
    cpu = gpu.Tiempo(0.004, 0.0038, 0.0044, 5, 13, "CPU x con 2 hilos de PyTorch", "fp32")
    fast = gpu.Tiempo(0.001, 0.0009, 0.0011, 5, 50, "GPU NVIDIA H100 80GB HBM3", "TF32")
    both = gpu.Medida("paso", cpu.mediana_s, fast.mediana_s, cpu, fast)
    assert gpu.referencia([both]) == ("Tiempos por paso: mediana ±IQR/2. Aceleración = tiempo en la CPU x con 2 hilos de "
                                      "PyTorch (fp32) / tiempo en la GPU NVIDIA H100 80GB HBM3 (TF32).")
    assert str(both).endswith("×4,0") and "4,000 ms ±0,300" in str(both)
    only_cpu = gpu.Medida("paso", cpu.mediana_s, None, cpu)
    assert "GPU: no hay" in str(only_cpu) and "Aceleración" not in gpu.referencia([only_cpu])
    gpu.tabla([only_cpu], laboratorio="03")
    printed = capsys.readouterr().out
    if not torch.cuda.is_available():
        assert gpu.SIN_GPU in printed and "no se inventa ninguna" in printed and "×" not in printed


def test_without_a_gpu_only_published_gpu_figures_appear_with_their_gpu_and_date(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "todavía no ha publicado" in gpu.tabla_publicada("03")
    monkeypatch.setitem(gpu.MEDIDAS_PUBLICADAS, "03", gpu.MedidasPublicadas(
        "NVIDIA H100 80GB HBM3", "2026-12-01", "2 hilos", (("lote 64", 4.0, 0.5),)))
    text = gpu.tabla_publicada("03")
    assert "medidas en una NVIDIA H100 80GB HBM3 el 2026-12-01" in text and "no son de esta máquina" in text
    assert "×8,0" in text


def test_the_median_of_a_noisy_series_is_robust() -> None:
    values = [1.0, 1.1, 0.9, 1.0, 50.0]
    q1, median, q3 = gpu.cuartiles(values)
    assert median == statistics.median(values) == 1.0 and q3 - q1 < 1.0


def _tiempo(segundos: float, dispositivo: str) -> gpu.Tiempo:
    return gpu.Tiempo(segundos, segundos * 0.9, segundos * 1.1, 7, 3, dispositivo, "fp32")


def test_a_table_measured_on_a_gpu_is_recorded_merged_and_shown_where_there_is_none(tmp_path: Path) -> None:
    """gpu-check's path: each lab's GPU table to labNN.json, merged into the file the course publishes, which
    practica.gpu reads back and shows (named with its GPU and date) on machines without a GPU."""
    folder = tmp_path / RECORDED_TABLES
    filas = [gpu.Medida(f"lote {n}", 0.004 * n, 0.0005 * n, _tiempo(0.004 * n, "CPU x86_64 con 2 hilos de PyTorch"),
                        _tiempo(0.0005 * n, "GPU NVIDIA H200")) for n in (1, 2)]
    assert gpu.registrar(filas, laboratorio="01", carpeta=folder) == folder / "lab01.json"
    assert gpu.registrar([gpu.Medida("solo CPU", 0.004, None, _tiempo(0.004, "CPU"))], laboratorio="02",
                         carpeta=folder) is None, "a table without GPU times is not recorded"
    (folder / "lab00.json").write_text("{not json", encoding="utf-8")  # a broken file is skipped, not fatal
    published = tmp_path / PUBLISHED_FILE_NAME
    merged = merge_recorded_tables(folder, published)
    assert set(merged) == {"01"} and published.is_file()
    tables = gpu.publicadas_desde(json.loads(published.read_text(encoding="utf-8")))
    assert tables["01"].gpu == "NVIDIA H200" and tables["01"].cpu.startswith("CPU x86_64")
    assert [round(cpu_ms, 3) for _, cpu_ms, _ in tables["01"].filas] == [4.0, 8.0]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gpu, "MEDIDAS_PUBLICADAS", tables)
        text = gpu.tabla_publicada("01")
    assert f"medidas en una NVIDIA H200 el {tables['01'].fecha}" in text and "×8,0" in text
    assert merge_recorded_tables(tmp_path / "nothing", tmp_path / "none.json") == {}
    assert not (tmp_path / "none.json").exists()


@pytest.mark.parametrize("lab", sorted(catalog.all_labs()))
def test_every_table_of_a_lab_names_its_lab_so_its_published_figures_can_show(lab: str) -> None:
    source = catalog.read_notebook(catalog.find_lab(lab).source)
    for cell in source.cells:
        if cell.cell_type != "code" or "gpu.tabla(" not in cell.source:
            continue
        calls = [node for node in ast.walk(ast.parse(cell.source)) if isinstance(node, ast.Call)
                 and isinstance(node.func, ast.Attribute) and node.func.attr == "tabla"]
        for call in calls:
            named = {k.arg: k.value for k in call.keywords}
            assert isinstance(named.get("laboratorio"), ast.Constant) and named["laboratorio"].value == lab, (  # type: ignore[attr-defined]
                f"lab {lab}: gpu.tabla(...) must say laboratorio={lab!r}: {ast.unparse(call)}")
