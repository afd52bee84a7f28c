"""Lab 03 (rendimiento en GPU): answers real students give, with the verdict each must get.

The same `Answer` as tests/answers/wrong_answers.py: each replaces one exercise's solution cell;
`effects` names the other exercises whose verdict it changes in its notebook.
"""

from __future__ import annotations

from tests.answers.wrong_answers import Answer, _function

FINAL = "entregable"


def flops(body: str) -> str:
    return _function("flops_lenet", body, "lote, ancho=1")


FLOPS = """a = ancho
macs = 6 * a * 28 * 28 * 25 + 16 * a * 10 * 10 * 6 * a * 25 + 400 * a * 120 * a + 120 * a * 84 * a + 84 * a * 10
adelante = {factor} * macs * {lote}
return adelante, {paso}"""


def flops_with(*, factor: str = "2", lote: str = "lote", paso: str = "3 * adelante") -> str:
    return flops(FLOPS.format(factor=factor, lote=lote, paso=paso))


def mfu(body: str) -> str:
    return _function("mfu", body, "flops, segundos, pico_tflops")


def intensity(add: str = "return n / (3 * n * bytes_por_elemento)",
              matmul: str = "return 2 * m * k * n / ((m * k + k * n + m * n) * bytes_por_elemento)") -> str:
    return (_function("intensidad_suma", add, "n, bytes_por_elemento") + "\n\n"
            + _function("intensidad_matmul", matmul, "m, k, n, bytes_por_elemento"))


def roof(body: str) -> str:
    return _function("techo", body, "intensidad, pico_tflops, ancho_banda_gbs")


BF16 = """optimizador.zero_grad()
with torch.autocast(device_type=x.device.type, dtype={dtype}):
    logits = modelo(x)
    perdida = F.cross_entropy(logits, y)
perdida.backward()
optimizador.step()
return logits, perdida"""


def bf16(body: str = BF16, dtype: str = "torch.bfloat16") -> str:
    return _function("paso_bf16", body.format(dtype=dtype), "modelo, x, y, optimizador")


def fp16(body: str) -> str:
    return _function("ida_y_vuelta_fp16", body, "gradientes, escala")


def memory(body: str) -> str:
    return _function("memoria_entrenamiento", body, "parametros, activaciones_por_ejemplo, lote")


DATASET = """class DigitosDesplazados(Dataset):
    def __init__(self, imagenes, etiquetas, desplazamiento=0, semilla=0):
        self.imagenes, self.etiquetas = imagenes, etiquetas
        self.desplazamiento, self.semilla = desplazamiento, semilla
        self.epoca = 0

    def fijar_epoca(self, epoca):
        self.epoca = epoca

    def __len__(self):
        return len(self.imagenes)

    def __getitem__(self, indice):
        imagen = self.imagenes[indice]
        d = self.desplazamiento
        if d == 0:
            return imagen, self.etiquetas[indice]
        dy, dx = np.random.default_rng(({seed})).integers(-d, d + 1, size=2)
        {move}
        return movida, self.etiquetas[indice]
"""
PAD_AND_CROP = """alto, ancho = imagen.shape[-2:]
        grande = F.pad(imagen, (d, d, d, d))
        movida = grande[..., d - dy:d - dy + alto, d - dx:d - dx + ancho]"""


def dataset(*, seed: str = "self.semilla, self.epoca, indice", move: str = PAD_AND_CROP) -> str:
    return DATASET.format(seed=seed, move=move)


def no_breaks(body: str) -> str:
    return _function("perdida_y_exactitud", body, "modelo, x, y")


PROFILE = """from torch.profiler import ProfilerActivity, profile
with profile(activities=[ProfilerActivity.CPU]) as perfil:
    for _ in range(3):
        paso()
{export}
return {pick}"""


def profiler(*, export: str = "perfil.export_chrome_trace(ruta)",
             pick: str = "max(perfil.key_averages(), key=lambda e: e.self_cpu_time_total).key") -> str:
    return _function("operador_principal", PROFILE.format(export=export, pick=pick), "paso, ruta")


BUDGET = """inicio = reloj()
pasos = ejemplos = epoca = 0
while True:
    if hasattr(cargador.dataset, "fijar_epoca"):
        cargador.dataset.fijar_epoca(epoca)
    for x, y in cargador:
        paso(x, y)
        pasos += 1
        ejemplos += {count}
        {inner}
    {outer}
    epoca += 1"""


def budget(*, count: str = "len(y)", inner: str = "if reloj() - inicio >= presupuesto_s:\n            return pasos, ejemplos",
           outer: str = "") -> str:
    body = BUDGET.format(count=count, inner=inner, outer=outer)
    return _function("entrenar_con_presupuesto", body, "paso, cargador, presupuesto_s, reloj=time.perf_counter")


LAB03: tuple[Answer, ...] = (
    # flops
    Answer("flops-macs-not-flops", "flops", flops_with(factor="1"), "zero", "cada una son 2 FLOPs"),
    Answer("flops-one-image", "flops", flops_with(lote="1"), "zero", "el coste de una imagen"),
    Answer("flops-step-twice-forward", "flops", flops_with(paso="2 * adelante"), "partial", "atrás cuesta el doble"),
    Answer("flops-flop-counter", "flops", flops(
        "from torch.utils.flop_counter import FlopCounterMode\n"
        "red = LeNet(ancho)\n"
        "with FlopCounterMode(display=False) as contador:\n"
        "    red(torch.zeros(lote, 1, 32, 32))\n"
        "adelante = contador.get_total_flops()\n"
        "return adelante, 3 * adelante"), "full"),
    # mfu
    Answer("mfu-percent", "mfu", mfu("return 100 * flops / segundos / (pico_tflops * 1e12)"), "zero", "no el porcentaje"),
    Answer("mfu-tflops-unit", "mfu", mfu("return flops / segundos / pico_tflops"), "zero", "× 1e12"),
    Answer("mfu-inverted", "mfu", mfu("return segundos * pico_tflops * 1e12 / flops"), "zero", "al revés"),
    # intensidad
    Answer("intensity-add-without-write", "intensidad", intensity(add="return n / (2 * n * bytes_por_elemento)"),
           "partial", "también se escribe c"),
    Answer("intensity-matmul-macs", "intensidad",
           intensity(matmul="return m * k * n / ((m * k + k * n + m * n) * bytes_por_elemento)"), "partial", "2·m·k·n"),
    Answer("intensity-values-not-bytes", "intensidad", intensity(add="return 1 / 3"), "partial", "cuenta los bytes"),
    # roofline
    Answer("roofline-gflops", "roofline", roof(
        "por_memoria = intensidad * ancho_banda_gbs\n"
        "return min(pico_tflops, por_memoria), 'memoria' if por_memoria < pico_tflops else 'calculo'"), "zero", "TFLOP/s"),
    Answer("roofline-max", "roofline", roof(
        "por_memoria = intensidad * ancho_banda_gbs / 1e3\n"
        "return max(pico_tflops, por_memoria), 'memoria' if por_memoria < pico_tflops else 'calculo'"), "partial",
           "el mínimo de los dos"),
    # a fixed threshold instead of the ridge point, right on every public case
    Answer("roofline-fixed-threshold", "roofline", roof(
        "return min(pico_tflops, intensidad * ancho_banda_gbs / 1e3), 'memoria' if intensidad < 10 else 'calculo'"),
           "partial", "no cumple «limite» en un caso oculto", hidden_only=True),
    Answer("roofline-ridge-point", "roofline", roof(
        "equilibrio = pico_tflops * 1e3 / ancho_banda_gbs\n"
        "if intensidad < equilibrio:\n"
        "    return intensidad * ancho_banda_gbs / 1e3, 'memoria'\n"
        "return pico_tflops, 'calculo'"), "full"),
    # paso_bf16
    Answer("bf16-model-converted", "paso_bf16", bf16(
        "modelo.to(torch.bfloat16)\n"
        "optimizador.zero_grad()\n"
        "logits = modelo(x.to(torch.bfloat16))\n"
        "perdida = F.cross_entropy(logits, y)\n"
        "perdida.backward()\n"
        "optimizador.step()\n"
        "return logits, perdida"), "partial", "deben seguir en float32"),
    # cheating: a step that does nothing (the probe's weights and gradients are fp32 already)
    Answer("bf16-does-nothing", "paso_bf16", bf16("return modelo(x).bfloat16(), torch.zeros(())"),
           "zero", "no cambió los pesos"),
    Answer("bf16-float16", "paso_bf16", bf16(dtype="torch.float16"), "partial", "bfloat16"),
    Answer("bf16-no-zero-grad", "paso_bf16", bf16(BF16.replace("optimizador.zero_grad()\n", "")), "partial",
           "zero_grad"),
    # cheating: an fp32 step whose logits are cast to bf16 afterwards (no autocast at all)
    Answer("bf16-cast-after-fp32-step", "paso_bf16", bf16(
        "optimizador.zero_grad()\n"
        "logits = modelo(x)\n"
        "perdida = F.cross_entropy(logits, y)\n"
        "perdida.backward()\n"
        "optimizador.step()\n"
        "return logits.to(torch.bfloat16), perdida"), "partial", "se convirtieron después"),
    Answer("bf16-backward-inside", "paso_bf16", bf16(
        "optimizador.zero_grad()\n"
        "with torch.autocast(device_type=x.device.type, dtype={dtype}):\n"
        "    logits = modelo(x)\n"
        "    perdida = F.cross_entropy(logits, y)\n"
        "    perdida.backward()\n"
        "    optimizador.step()\n"
        "return logits, perdida"), "full"),
    # fp16
    Answer("fp16-not-unscaled", "fp16", fp16(
        "en_fp16 = (gradientes * escala).half()\n"
        "return en_fp16.float(), not bool(torch.isfinite(en_fp16).all())"), "partial", "deshacer la escala"),
    Answer("fp16-scale-after-cast", "fp16", fp16(
        "en_fp16 = gradientes.half() * escala\n"
        "return en_fp16.float() / escala, not bool(torch.isfinite(en_fp16).all())"), "partial", "escala antes de pasar"),
    Answer("fp16-isnan-only", "fp16", fp16(
        "en_fp16 = (gradientes * escala).half()\n"
        "return en_fp16.float() / escala, bool(torch.isnan(en_fp16).any())"), "partial", "torch.isfinite"),
    Answer("fp16-tensor-flag", "fp16", fp16(
        "en_fp16 = (gradientes * escala).half()\n"
        "return en_fp16.float() / escala, ~torch.isfinite(en_fp16).all()"), "partial", "un bool de Python"),
    # memoria
    Answer("memory-weights-only", "memoria", memory("return 4 * parametros + 4 * activaciones_por_ejemplo * lote"),
           "partial", "16 bytes"),
    Answer("memory-no-batch", "memoria", memory("return 16 * parametros + 4 * activaciones_por_ejemplo"), "partial",
           "(× lote)"),
    Answer("memory-values-not-bytes", "memoria", memory("return 16 * parametros + activaciones_por_ejemplo * lote"),
           "partial", "4 bytes"),
    # aumento
    Answer("aumento-roll", "aumento", dataset(move="movida = torch.roll(imagen, (int(dy), int(dx)), dims=(-2, -1))"),
           "partial", "torch.roll"),
    Answer("aumento-same-every-epoch", "aumento", dataset(seed="self.semilla, indice"), "partial", "self.epoca"),
    # cheating: a dataset that never shifts (validation then looks right)
    Answer("aumento-never-shifts", "aumento", dataset(move="movida = imagen"), "zero", "no se desplazan"),
    Answer("aumento-pad-and-crop", "aumento", dataset(), "full"),
    # sin_cortes
    Answer("no-breaks-item", "sin_cortes", no_breaks(
        "logits = modelo(x)\n"
        "return F.cross_entropy(logits, y), torch.tensor((logits.argmax(1) == y).sum().item() / len(y))"), "partial",
           "cortes de grafo"),
    Answer("no-breaks-print", "sin_cortes", no_breaks(
        "logits = modelo(x)\n"
        "perdida = F.cross_entropy(logits, y)\n"
        "print('pérdida', perdida)\n"
        "return perdida, (logits.argmax(1) == y).float().mean()"), "partial", "cortes de grafo"),
    Answer("no-breaks-floats", "sin_cortes", no_breaks(
        "logits = modelo(x)\n"
        "return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()"), "zero",
           "cortes de grafo"),
    # cheating: another path while compiling, so that dynamo sees no break and the eager call gives the values
    Answer("no-breaks-is-compiling", "sin_cortes", no_breaks(
        "if torch.compiler.is_compiling():\n"
        "    return torch.zeros(()), torch.zeros(())\n"
        "logits = modelo(x)\n"
        "return F.cross_entropy(logits, y), torch.tensor((logits.argmax(1) == y).sum().item() / len(y))"), "partial",
           "lo mismo que sin compilar"),
    # cheating: no breaks because nothing is computed
    Answer("no-breaks-constants", "sin_cortes", no_breaks("return torch.zeros(()), torch.zeros(())"), "zero",
           "no las devuelve bien"),
    Answer("no-breaks-sum-over-len", "sin_cortes", no_breaks(
        "logits = modelo(x)\n"
        "return nn.functional.cross_entropy(logits, y), (logits.argmax(dim=-1) == y).sum() / y.shape[0]"), "full"),
    # perfilador
    Answer("profiler-total-time", "perfilador",
           # the hint "tiempo total" needs the trace to agree with key_averages on the op of most total time, which
           # timing noise can change: the message names the operator of most self time in any case
           profiler(pick="max(perfil.key_averages(), key=lambda e: e.cpu_time_total).key"), "partial",
           "el operador con más tiempo propio"),
    Answer("profiler-no-trace", "perfilador", profiler(export=""), "zero", "export_chrome_trace"),
    # cheating: a made-up trace that names its own answer, without profiling the step
    Answer("profiler-forged-trace", "perfilador", _function("operador_principal", """import json
with open(ruta, "w") as fichero:
    json.dump({"traceEvents": [{"ph": "X", "cat": "cpu_op", "name": "aten::inventado", "ts": 0, "dur": 1}]}, fichero)
return 'aten::inventado'""", "paso, ruta"), "zero", "le faltan"),
    # cheating: a trace with the step's operator names, made up so that a wrong operator has the most self time
    Answer("profiler-forged-names", "perfilador", _function("operador_principal", """import json
nombres = ["aten::matmul", "aten::mm", "aten::relu_", "aten::sum", "aten::conv2d", "aten::relu", "aten::mean"]
eventos = [{"ph": "X", "cat": "cpu_op", "name": n, "ts": 10 * i, "dur": 1} for i, n in enumerate(nombres)]
eventos.append({"ph": "X", "cat": "cpu_op", "name": "aten::sum", "ts": 1000, "dur": 500})
with open(ruta, "w") as fichero:
    json.dump({"traceEvents": eventos}, fichero)
return 'aten::sum'""", "paso, ruta"), "zero", "le faltan"),
    # cheating: one made-up trace for any step, three of each operator of both workloads, topped by a name that holds
    # both "mm" and "conv"
    Answer("profiler-forged-for-any-step", "perfilador", _function("operador_principal", """import json
nombres = ["aten::matmul", "aten::mm", "aten::relu_", "aten::sum", "aten::conv2d", "aten::relu", "aten::mean"]
eventos = [{"ph": "X", "cat": "cpu_op", "name": n, "ts": 100 * i + 10 * j, "dur": 1}
           for i, n in enumerate(nombres) for j in range(3)]
eventos.append({"ph": "X", "cat": "cpu_op", "name": "aten::convolution_mm", "ts": 5000, "dur": 500})
with open(ruta, "w") as fichero:
    json.dump({"traceEvents": eventos}, fichero)
return 'aten::convolution_mm'""", "paso, ruta"), "zero", "que este paso no ejecuta"),
    # cheating: the step's own operators, once each, without running it three times
    Answer("profiler-one-step", "perfilador", profiler().replace("range(3)", "range(1)"), "zero", "una vez por paso"),
    Answer("profiler-table-sorted", "perfilador", profiler(
        pick="sorted(perfil.key_averages(), key=lambda e: -e.self_cpu_time_total)[0].key"), "full"),
    # presupuesto
    Answer("budget-epoch-end", "presupuesto", budget(inner="", outer="if reloj() - inicio >= presupuesto_s:\n"
                                                     "        return pasos, ejemplos"), "partial", "al final de cada época"),
    Answer("budget-batch-size-count", "presupuesto", budget(count="cargador.batch_size"), "partial", "más pequeño"),
    Answer("budget-real-clock", "presupuesto", budget(
        inner="if time.perf_counter() - inicio >= presupuesto_s:\n            return pasos, ejemplos").replace(
            "inicio = reloj()", "inicio = time.perf_counter()"), "partial", "reloj()"),
    Answer("budget-no-set-epoch", "presupuesto", _function("entrenar_con_presupuesto", BUDGET.replace(
        '    if hasattr(cargador.dataset, "fijar_epoca"):\n        cargador.dataset.fijar_epoca(epoca)\n', "").format(
            count="len(y)", inner="if reloj() - inicio >= presupuesto_s:\n            return pasos, ejemplos", outer=""),
        "paso, cargador, presupuesto_s, reloj=time.perf_counter"), "partial", "fijar_epoca"),
    # cheating: no training at all, only the call the epoch criterion looks for
    Answer("budget-set-epoch-only", "presupuesto", _function(
        "entrenar_con_presupuesto", "cargador.dataset.fijar_epoca(0)\nreturn 0, 0",
        "paso, cargador, presupuesto_s, reloj=time.perf_counter"), "zero", "ningún paso",
        effects={FINAL: "zero"}),  # the deliverable is trained by this function: it stays untrained
    # cheating: one made-up step, to look like training for the epoch criterion
    Answer("budget-one-fake-step", "presupuesto", _function(
        "entrenar_con_presupuesto", "cargador.dataset.fijar_epoca(0)\npaso(torch.zeros(1), torch.zeros(1))\nreturn 0, 0",
        "paso, cargador, presupuesto_s, reloj=time.perf_counter"), "zero", "lotes del cargador",
        effects={FINAL: "zero"}),
    # cheating: one real step of the loader, to look like training for the epoch criterion
    Answer("budget-one-real-step", "presupuesto", _function(
        "entrenar_con_presupuesto", "cargador.dataset.fijar_epoca(0)\nx, y = next(iter(cargador))\npaso(x, y)\n"
        "return 0, 0", "paso, cargador, presupuesto_s, reloj=time.perf_counter"), "zero", "antes de gastar el presupuesto",
        effects={FINAL: "zero"}),
    Answer("budget-check-before", "presupuesto", _function(
        "entrenar_con_presupuesto",
        "inicio, pasos, ejemplos, epoca = reloj(), 0, 0, 0\n"
        "while reloj() - inicio < presupuesto_s:\n"
        "    getattr(cargador.dataset, 'fijar_epoca', lambda e: None)(epoca)\n"
        "    for x, y in cargador:\n"
        "        if reloj() - inicio >= presupuesto_s:\n"
        "            break\n"
        "        paso(x, y)\n"
        "        pasos, ejemplos = pasos + 1, ejemplos + len(y)\n"
        "    epoca += 1\n"
        "return pasos, ejemplos", "paso, cargador, presupuesto_s, reloj=time.perf_counter"), "full"),
)
