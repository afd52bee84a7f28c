"""Criterios del laboratorio 02 (redes convolucionales): los mismos para `comprobar` y para la nota.

Solo numpy. Cada criterio compara lo que devolvió tu código con las salidas esperadas del caso
(`c.expected`): en `comprobar`, datos precalculados (practica/data/lab02.json); en la nota, las que
calcula el calificador con su propio paquete (answer_key.lab02: convoluciones, agrupamientos, la LeNet
con los pesos del caso, una época de entrenamiento, la exactitud en prueba), que el kernel no puede leer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from in_image.exercises.framework import Case, CaseChecks, Exercise, close, describe
from in_image.exercises.layers import Array, ExpectedRun, Layers, expected_runs, layers_from, random_layers, same_layers
from in_image.exercises.trained import check_accuracy, known_mistake, optimizer_mistake, output_matches
from in_image.exercises.wire import ArrayData, Raised

LAB = "02"
# The data of the lab: each 8x8 digit of scikit-learn, resized to DIGIT_SIZE x DIGIT_SIZE (bilinear), placed at
# a random position of a CANVAS x CANVAS black image; a fixed split (random_state=SPLIT_SEED) in 60/20/20 %.
DIGIT_SIZE = 26
CANVAS = 32
PLACEMENT_SEED = 0
SPLIT_SEED = 0
TEST_SHARE = 0.2
VALIDATION_SHARE = 0.25  # of what the test split leaves: 20 % of the whole
# The deliverable: the trained LeNet's accuracy on the test set must reach this. Measured on this data with the
# lab's code (2 CPU threads, seeds 0-9; the notebook's table): LeNet with its best validation epoch of 30, 88.9-94.7 %;
# of 15 (CI), 88.3-93.9 %; untrained, 9.7-14.4 %. A linear model trained the same way, 74.4-78.1 %; its best epoch
# chosen on the test set, at learning rates 1e-3, 3e-3 and 1e-2, at most 78.3 %; logistic regression, at most 76.4 %.
ACCURACY_BAR = 0.85
CONV_SHAPES = [(6, 1, 5, 5), (16, 6, 5, 5)]
LINEAR_SHAPES = [(120, 400), (84, 120), (10, 84)]
_RNG = np.random.default_rng(2028)


# ---- helpers -------------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


def _error(value: Any) -> str | None:
    return value.message if isinstance(value, Raised) else None


# ---- tamano_salida -------------------------------------------------------------------------------
def full_call(call: Sequence[int]) -> tuple[int, int, int, int]:
    """(entrada, nucleo, relleno, paso) of a call, with the defaults relleno=0 and paso=1."""
    n, k, p, s = (*call, *(0, 1)[len(call) - 2:])
    return n, k, p, s


def _group(call: Sequence[int]) -> str:
    _, _, padding, stride = full_call(call)
    return "paso" if stride > 1 else "relleno" if padding > 0 else "sin_relleno"


def _size_hint(sizes: Mapping[str, Any], value: float) -> str:
    if value == sizes["relleno_simple"]:
        return ": el relleno se añade por los dos lados (2 · relleno)"
    if value == sizes["division_real"] and value != int(value):
        return ": redondea hacia abajo con la división entera (//): la última ventana incompleta no cuenta"
    if value == sizes["techo"]:
        return ": se redondea hacia abajo, no hacia arriba (la última ventana incompleta no cuenta)"
    if value == sizes["sin_mas_uno"]:
        return ": falta el + 1 (una ventana de tamaño k cabe n - k + 1 veces con paso 1)"
    return ""


def _compare_tamano(c: CaseChecks, case: Case, answer: Any) -> None:
    calls = case.inputs["llamadas"]
    results = answer if isinstance(answer, list) and len(answer) == len(calls) else [answer] * len(calls)
    expected = c.expected["llamadas"]
    for call, result, sizes in zip(calls, results, expected, strict=True):
        group = _group(call)
        wanted = sizes["correcto"]
        text = f"tamano_salida({', '.join(map(str, call))}) debe dar {wanted}"
        if isinstance(result, Raised):
            hint = " (¿relleno=0 y paso=1 por defecto?)" if len(call) < 4 and "argument" in result.message else ""
            c.check(group, False, f"{text}, pero da un error: {result.message}{hint}")
            continue
        value = _number(result)
        if value is None:
            c.check(group, False, f"{text}, no {describe(result)}")
            continue
        c.check(group, value == wanted, f"{text}, no {value:g}{_size_hint(sizes, value)}")
    simple = [(sizes, result) for call, result, sizes in zip(calls, results, expected, strict=True)
              if _group(call) == "sin_relleno"]
    integers = all(isinstance(r, int) and not isinstance(r, bool) for r in results)
    c.check("entero", integers and all(r == sizes["correcto"] for sizes, r in simple),
            "devuelve un número entero (int): usa la división entera // (el tamaño de una imagen no puede ser 14,5)"
            if not integers else "el tamaño sin relleno ni paso (n - k + 1) no es correcto")


# ---- convolucion ---------------------------------------------------------------------------------
def _compare_convolucion(c: CaseChecks, case: Case, answer: Any) -> None:
    cin, cout, k = case.inputs["canales"]
    x = np.asarray(case.inputs["x"], dtype=np.float64)
    wanted_weight = (cout, cin, k, k)
    weight, bias = answer.get("peso"), answer.get("sesgo")
    shape = weight.shape if isinstance(weight, ArrayData) else None
    if not isinstance(weight, ArrayData):
        message = f"crear_convolucion debe devolver una capa nn.Conv2d (devuelve {answer.get('tipo')})"
    elif shape == (cin, cout, k, k) and cin != cout:
        message = "los canales van al revés: nn.Conv2d(canales_entrada, canales_salida, nucleo)"
    else:
        message = f"los pesos deben tener forma (salida, entrada, alto, ancho) = {wanted_weight}, no {shape}"
    if not c.check("capa", shape == wanted_weight, message):
        c.fail_rest(("tamano", "valores"), "sin la capa pedida no se puede comprobar su salida")
        return
    out = c.tensor(answer.get("salida"), criterion="tamano", what="la salida de la capa")
    if out is None:
        c.fail_rest(("valores",), "la capa no produjo una salida")
        return
    n, _, h, w = x.shape
    c.check("tamano", out.shape == (n, cout, h, w), f"con una entrada {_shape_text(x.shape)} la salida debe ser "
            f"{_shape_text((n, cout, h, w))} (mismo alto y ancho), no {_shape_text(out.shape)}{_padding_hint(out.shape, x, k)}")
    if answer.get("pesos_fijados") is not True:
        c.check("valores", False, "no se pudieron poner los pesos del caso en la capa (weight y bias)")
        return
    # any padding that keeps H×W is right: zeros (the default), reflect, replicate or circular
    references = c.expected["salidas"] if isinstance(bias, ArrayData) else c.expected["salidas_sin_sesgo"]
    c.check("valores", out.shape == (n, cout, h, w) and any(close(out, r, rtol=1e-3, atol=1e-4) for r in references),
            "la salida no es la convolución de la entrada con los pesos de la capa (paso 1, relleno nucleo // 2)")


def _padding_hint(shape: tuple[int, ...], x: Array, k: int) -> str:
    if len(shape) == 4 and shape[2:] == (x.shape[2] - k + 1, x.shape[3] - k + 1):
        return ": sin relleno la imagen encoge nucleo - 1 píxeles; usa padding=nucleo // 2"
    if len(shape) == 4 and shape[2] < x.shape[2] - k + 1:
        return ": usa paso 1 (stride=1) y padding=nucleo // 2"
    return ": usa padding=nucleo // 2 (con un núcleo impar conserva el tamaño)"


# ---- agrupar -------------------------------------------------------------------------------------
def _compare_agrupar(c: CaseChecks, case: Case, answer: Any) -> None:
    x = np.asarray(case.inputs["x"], dtype=np.float64)
    size = int(case.inputs["tamano"])
    out = c.tensor(answer, criterion="forma", what="el resultado")
    if out is None:
        c.fail_rest(("maximo",), "agrupar debe devolver un tensor")
        return
    n, ch, h, w = x.shape
    wanted = (n, ch, h // size, w // size)
    c.check("forma", out.shape == wanted, f"con una entrada {_shape_text(x.shape)} y ventanas de {size}x{size}, la salida "
            f"debe ser {_shape_text(wanted)}, no {_shape_text(out.shape)}{_pool_shape_hint(out.shape, x.shape, size)}")
    message = "cada valor de la salida debe ser el máximo de su ventana (nn.MaxPool2d(tamano) o F.max_pool2d(x, tamano))"
    if out.shape == wanted and close(out, c.expected["media"], rtol=1e-4, atol=1e-5):
        message = "calculas la media de cada ventana: el agrupamiento máximo toma el máximo (nn.MaxPool2d, no nn.AvgPool2d)"
    c.check("maximo", out.shape == wanted and close(out, c.expected["maximo"], rtol=1e-4, atol=1e-5), message)


def _pool_shape_hint(shape: tuple[int, ...], x_shape: tuple[int, ...], size: int) -> str:
    h, w = x_shape[2:]
    if shape[2:] == (h - size + 1, w - size + 1):
        return ": las ventanas no se solapan; el paso (stride) es el tamaño de la ventana, el valor por defecto de nn.MaxPool2d"
    if shape[2:] == (h // 2, w // 2):
        return ": usa la ventana «tamano» que recibe la función, no 2"
    if shape[2:] == (-(-h // size), -(-w // size)):
        return ": se redondea hacia abajo (ceil_mode=False): la última ventana incompleta se descarta"
    return ""


# ---- lenet ---------------------------------------------------------------------------------------
def _layer_shapes(layers: Layers | None) -> list[tuple[int, ...]]:
    return [tuple(w.shape) for w, _ in layers] if layers else []


def lenet_layers(answer: Mapping[str, Any]) -> tuple[Layers, Layers] | None:
    """The (convolutions, linear layers) of a probe's answer when they have LeNet-5's shapes."""
    convs = _conv_layers(answer.get("convoluciones"))
    linears = layers_from(answer.get("lineales"))
    if convs is None or linears is None or _layer_shapes(convs) != CONV_SHAPES or _layer_shapes(linears) != LINEAR_SHAPES:
        return None
    return convs, linears


def _conv_layers(value: Any) -> Layers | None:
    if not isinstance(value, list) or not value:
        return None
    layers: Layers = []
    for pair in value:
        if not (isinstance(pair, list | tuple) and len(pair) == 2 and all(isinstance(p, ArrayData | np.ndarray) for p in pair)):
            return None
        weight, bias = (np.asarray(p.values if isinstance(p, ArrayData) else p, dtype=np.float64) for p in pair)
        if weight.ndim != 4 or bias.shape != (weight.shape[0],):
            return None
        layers.append((weight, bias))
    return layers


def architecture_message(answer: Mapping[str, Any]) -> str:
    """What is wrong with the layers of a model that should be the statement's LeNet-5."""
    convs = _layer_shapes(_conv_layers(answer.get("convoluciones")))
    linears = _layer_shapes(layers_from(answer.get("lineales")))
    if convs != CONV_SHAPES:
        return ("conv1 debe ser nn.Conv2d(1, 6, 5) y conv2 nn.Conv2d(6, 16, 5) (pesos 6x1x5x5 y 16x6x5x5); "
                f"las convoluciones tienen pesos {', '.join(map(_shape_text, convs)) or 'ninguno'}")
    if len(linears) == 3 and linears[0][1] != 400:
        hint = {576: " (¿relleno en las convoluciones? LeNet no lo usa)", 256: " (16·4·4: vuelve a contar los tamaños)"}
        return (f"fc1 debe recibir 16·5·5 = 400 valores, no {linears[0][1]}{hint.get(linears[0][1], '')}: 32x32 → conv 5x5 → "
                "28x28 → agrupar 2x2 → 14x14 → conv 5x5 → 10x10 → agrupar 2x2 → 5x5, con 16 canales")
    return ("las capas lineales deben ser fc1 = nn.Linear(400, 120), fc2 = nn.Linear(120, 84) y fc3 = nn.Linear(84, 10); "
            f"hay {', '.join(f'{s[1]}→{s[0]}' for s in linears) or 'ninguna'}")


def _compare_lenet(c: CaseChecks, case: Case, answer: Any) -> None:
    x = np.asarray(case.inputs["x"], dtype=np.float64)
    if "tipo" in answer and "convoluciones" not in answer:
        c.fail_rest(("capas", "salida", "forward", "logits"), "LeNet debe ser una clase que herede de nn.Module "
                    f"(class LeNet(nn.Module): ...); es {answer.get('tipo')}")
        return
    if isinstance(answer.get("creada"), Raised):
        c.fail_rest(("capas", "salida", "forward", "logits"), f"LeNet() da un error: {answer['creada'].message}")
        return
    layers = lenet_layers(answer)
    c.check("capas", layers is not None, architecture_message(answer))
    out = c.tensor(answer.get("salida"), criterion="salida", what="la salida de la red")
    if out is not None:
        c.check("salida", out.shape == (len(x), 10), f"{len(x)} imágenes deben dar una salida {len(x)}x10, no "
                f"{_shape_text(out.shape)}" + (" (¿aplanaste también la dimensión del lote? usa x.flatten(1))"
                                               if out.shape in ((10,), (len(x) * 10,)) else ""))
    c.check("logits", out is not None and not answer.get("softmax") and not np.allclose(out.values.sum(-1), 1.0),
            "la red debe devolver logits: quita la softmax del final (CrossEntropyLoss ya aplica log_softmax)")
    if layers is None or out is None or answer.get("pesos_fijados") is not True:
        c.fail_rest(("forward",), "sin las capas del enunciado y una salida no se puede comprobar el forward")
        return
    c.check("forward", output_matches(out, c.expected, variant="relu-max"), _forward_message(out, c.expected))


def _forward_message(out: ArrayData, expected: Mapping[str, Any]) -> str:
    return known_mistake(out, expected, mistakes=(
        ("relu-avg", "usa agrupamiento máximo (nn.MaxPool2d(2) o F.max_pool2d), no la media"),
        ("tanh-max", "usa ReLU como activación, no tanh (la LeNet de 1998 usaba tanh)"),
        ("none-max", "faltan las ReLU: sin activaciones la red entera es lineal")),
        otherwise="la salida no es conv1 → ReLU → máximo 2x2 → conv2 → ReLU → máximo 2x2 → aplanar → fc1 → ReLU → "
                  "fc2 → ReLU → fc3 con los pesos de tu red")


# ---- entrenar_una_epoca --------------------------------------------------------------------------
def _as_floats(values: Any) -> list[float] | None:
    if not isinstance(values, list):
        return None
    floats = [_number(v) for v in values]
    return [v for v in floats if v is not None] if all(v is not None for v in floats) else None


SOFTMAX_MESSAGE = "no apliques softmax antes de CrossEntropyLoss: recibe los logits (ya aplica log_softmax)"
DEVICE_MESSAGE = ("mueve cada lote al dispositivo y guarda el resultado: x, y = x.to(dispositivo), y.to(dispositivo) "
                  "(.to() no cambia el tensor: devuelve otro)")


def _device_ok(answer: Mapping[str, Any]) -> bool:
    return answer.get("datos_movidos") is True and answer.get("etiquetas_movidas") is not False


def _compare_epoca(c: CaseChecks, case: Case, answer: Any) -> None:
    runs = expected_runs(c.expected)
    losses = answer.get("perdidas")
    values = _as_floats(losses)
    first = losses[0] if isinstance(losses, list) and losses else losses
    c.check("float", isinstance(losses, list) and bool(losses) and all(isinstance(v, float) for v in losses),
            f"debe devolver la pérdida media como float (devuelve {describe(first)}; usa perdida.item())")
    c.check("media", values is not None and np.allclose(values, runs["ninguno"].mean_losses, rtol=1e-4, atol=1e-5),
            _loss_message(values, runs))
    trained = layers_from(answer.get("capas"))
    c.check("actualiza", same_layers(trained, runs["ninguno"].layers), _update_message(trained, runs))
    c.check("modo_entrenamiento", answer.get("entrenando") is True,
            "pon la red en modo entrenamiento al empezar la época (modelo.train())")
    c.check("dispositivo", _device_ok(answer), DEVICE_MESSAGE)


def _loss_message(values: list[float] | None, runs: Mapping[str, ExpectedRun]) -> str:
    correct = runs["ninguno"]
    if values is not None and len(values) == len(correct.mean_losses):
        if np.allclose(values, correct.last_losses, rtol=1e-4):
            return "devuelve la pérdida del último lote: devuelve la media de todos los lotes de la época"
        if np.allclose(values, correct.sum_losses, rtol=1e-4):
            return "devuelve la suma de las pérdidas: divide entre el número de lotes (len(cargador))"
        if np.allclose(values, runs["softmax"].mean_losses, rtol=1e-4):
            return SOFTMAX_MESSAGE
    return "debe devolver la pérdida media de los lotes de la época"


def _update_message(trained: Layers | None, runs: Mapping[str, ExpectedRun]) -> str:
    mistake = optimizer_mistake(trained, runs)
    if mistake:
        return mistake
    if same_layers(trained, runs["softmax"].layers):
        return SOFTMAX_MESSAGE
    return "los pesos tras la época no son los de un entrenamiento correcto (logits, pérdida, zero_grad, backward, step)"


def conv_case(description: str, *, seed: int, channels: tuple[int, int, int], x_shape: tuple[int, int, int, int]) -> Case:
    """A case of «convolucion»: crear_convolucion(*channels), the weights the probe puts in it, and x."""
    rng = np.random.default_rng(seed)
    cin, cout, k = channels
    bound = 1 / np.sqrt(cin * k * k)
    return Case(description, {"canales": list(channels), "x": rng.standard_normal(x_shape).astype(np.float32),
                              "peso": rng.uniform(-bound, bound, (cout, cin, k, k)).astype(np.float32),
                              "sesgo": rng.uniform(-bound, bound, cout).astype(np.float32)})


def lenet_case(description: str, *, seed: int, images: int) -> Case:
    """A case of «lenet»: images and the weights the probe puts in LeNet-5's layers (when they have its shapes)."""
    rng = np.random.default_rng(seed)

    def layer(shape: tuple[int, ...]) -> list[Array]:
        bound = 1 / np.sqrt(np.prod(shape[1:]))
        return [rng.uniform(-bound, bound, shape).astype(np.float32), rng.uniform(-bound, bound, shape[0]).astype(np.float32)]

    return Case(description, {"x": rng.random((images, 1, CANVAS, CANVAS)).astype(np.float32),
                              "convoluciones": [layer(s) for s in CONV_SHAPES], "lineales": [layer(s) for s in LINEAR_SHAPES]})


def epoch_case(description: str, *, seed: int, rows: int, side: int, hidden: int, classes: int, lr: float,
               batch: int) -> Case:
    """A case of «entrenar_una_epoca»: images side x side, Flatten → Linear → ReLU → Linear (the hidden tests make more)."""
    rng = np.random.default_rng(seed)
    features = side * side
    x = rng.standard_normal((rows, 1, side, side)).astype(np.float32)
    y = (x.reshape(rows, -1)[:, :classes].argmax(1)).astype(np.int64)
    capas = random_layers(rng, [features, hidden, classes])
    return Case(description, {"x": x, "y": y, "capas": capas, "lr": lr, "lote": batch, "epocas": 2})


# ---- evaluar -------------------------------------------------------------------------------------
def _compare_evaluar(c: CaseChecks, case: Case, answer: Any) -> None:
    inputs = case.inputs
    labels = np.asarray(inputs["y"])
    losses = np.asarray(c.expected["perdidas"], dtype=np.float64)
    hits = np.asarray(c.expected["aciertos"], dtype=np.float64)
    size = inputs["lote"]
    batches = range(0, len(labels), size)
    forwards = answer.get("modos") or []
    result = answer.get("resultado")
    c.check("modo_evaluacion", bool(forwards) and not any(forwards),
            "pon la red en modo evaluación antes de medir (modelo.eval()): con Dropout activo cada llamada da otra salida")
    grads = answer.get("gradientes") or []
    c.check("sin_gradiente", bool(grads) and not any(grads), "evalúa sin gradiente: el bucle dentro de with torch.no_grad():")
    c.check("dispositivo", _device_ok(answer), DEVICE_MESSAGE)
    if isinstance(result, Raised) or not (isinstance(result, list | tuple) and len(result) == 2):
        text = result.message if isinstance(result, Raised) else f"debe devolver (perdida, exactitud), no {describe(result)}"
        c.fail_rest(("perdida", "exactitud"), text)
        return
    loss, hit = (_value(v) for v in result)
    wanted_loss, wanted_hit = float(losses.mean()), float(hits.mean())
    c.check("perdida", loss is not None and abs(loss - wanted_loss) <= 1e-4 * max(1.0, wanted_loss),
            _mean_message("la pérdida", result[0], wanted_loss, per_batch=[float(losses[b:b + size].mean()) for b in batches],
                          total=float(losses.sum()), dropout=any(forwards)))
    c.check("exactitud", hit is not None and abs(hit - wanted_hit) <= 1e-6,
            _mean_message("la exactitud", result[1], wanted_hit, per_batch=[float(hits[b:b + size].mean()) for b in batches],
                          total=float(hits.sum()), dropout=any(forwards)))


def _value(value: Any) -> float | None:
    return _number(value) if isinstance(value, float) else None


def _mean_message(what: str, value: Any, wanted: float, *, per_batch: list[float], total: float, dropout: bool) -> str:
    number = _number(value)
    if number is None:
        return f"{what} debe ser un float, no {describe(value)} (usa .item())"
    if dropout:
        return f"{what} debe ser {wanted:.4f}, no {number:.4f}: ¿falta modelo.eval()? con Dropout activo la salida cambia"
    if abs(number - total) < 1e-4 * max(1.0, abs(total)) and abs(total - wanted) > 1e-6:
        return f"{what} es la suma de todos los ejemplos: divide entre el número de ejemplos (len(cargador.dataset))"
    if abs(number - float(np.mean(per_batch))) < 1e-6 * max(1.0, abs(number)):
        return (f"{what} es la media de las medias de cada lote, pero el último lote es más pequeño: acumula el valor de "
                "cada lote por su número de ejemplos (valor · len(y)) y divide entre len(cargador.dataset)")
    if not isinstance(value, float):
        return f"{what} debe ser un float, no {describe(value)}"
    return f"{what} media por ejemplo debe ser {wanted:.4f}, no {number:.4f}"


def evaluation_case(description: str, *, seed: int, rows: int, side: int, hidden: int, classes: int, batch: int) -> Case:
    """A case of «evaluar»: Flatten → Linear → ReLU → Dropout → Linear, a last batch smaller than the others."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 1, side, side)).astype(np.float32)
    return Case(description, {"x": x, "y": rng.integers(0, classes, rows), "capas": random_layers(rng, [side * side,
                                                                                                         hidden, classes]),
                              "lote": batch})


# ---- punto_control -------------------------------------------------------------------------------
CHECKPOINT_KEYS = ("epoca", "modelo", "optimizador")


def _same_array(value: Any, expected: Any) -> bool:
    """value is a tensor (or array) with expected's shape and values."""
    wanted = expected.values if isinstance(expected, ArrayData) else np.asarray(expected)
    return close(value, wanted, rtol=1e-5, atol=1e-6) if isinstance(value, ArrayData) else False


def _state_matches(state: Any, weights: Mapping[str, Any]) -> bool:
    """A state_dict (name → tensor) with exactly these names and values."""
    if not isinstance(state, Mapping) or set(state) != set(weights):
        return False
    return all(_same_array(state[k], v) for k, v in weights.items())


def _optimizer_matches(state: Any, adam: Mapping[str, Any]) -> bool:
    """An Adam state_dict with the learning rate and the moments of `adam`."""
    if not isinstance(state, Mapping) or not isinstance(state.get("state"), Mapping):
        return False
    groups = state.get("param_groups")
    if not (isinstance(groups, list) and groups and isinstance(groups[0], Mapping)) or groups[0].get("lr") != adam["lr"]:
        return False
    moments = state["state"]
    for index, (first, second) in enumerate(zip(adam["exp_avg"], adam["exp_avg_sq"], strict=True)):
        entry = moments.get(index)
        if not isinstance(entry, Mapping):
            return False
        step = entry.get("step")
        if not (_same_array(entry.get("exp_avg"), first) and _same_array(entry.get("exp_avg_sq"), second)
                and isinstance(step, ArrayData) and step.values.size == 1 and float(step.values.reshape(-1)[0]) == adam["paso"]):
            return False
    return True


def _compare_punto_control(c: CaseChecks, case: Case, answer: Any) -> None:
    inputs = case.inputs
    saved, content = answer.get("guardado"), answer.get("fichero")
    problem = _file_problem(saved, content, answer)
    if problem:
        c.fail_rest(("guarda", "guarda_optimizador"), problem)
    else:
        c.check("guarda", content.get("epoca") == inputs["epoca"] and _state_matches(content.get("modelo"), inputs["pesos"]),
                _saved_model_message(content, inputs))
        c.check("guarda_optimizador", _optimizer_matches(content.get("optimizador"), inputs["adam"]),
                "«optimizador» debe ser optimizador.state_dict(): sin el estado de Adam (sus momentos) el entrenamiento "
                "no continúa igual")
    loaded = answer.get("epoca_cargada")
    message = (loaded.message if isinstance(loaded, Raised) else
               f"cargar_punto_control debe devolver la época guardada ({inputs['epoca_referencia']}), no {describe(loaded)}")
    weights_ok = _state_matches(answer.get("pesos_cargados"), inputs["pesos_referencia"])
    c.check("carga", weights_ok and loaded == inputs["epoca_referencia"], message if weights_ok or isinstance(loaded, Raised)
            else "el modelo no tiene los pesos del punto de control: modelo.load_state_dict(punto['modelo'])")
    loads = answer.get("map_location")
    c.check("map_location", isinstance(loads, list) and bool(loads) and all(where == "cpu" for where in loads),
            "carga el punto de control en la CPU: torch.load(ruta, map_location=\"cpu\") (un punto de control guardado "
            "en la GPU no se carga sin ella en una máquina sin GPU)")
    c.check("carga_optimizador", _optimizer_matches(answer.get("optimizador_cargado"), inputs["adam_referencia"]),
            loaded.message if isinstance(loaded, Raised) else
            "el optimizador no tiene el estado del punto de control: optimizador.load_state_dict(punto['optimizador'])")


def _file_problem(saved: Any, content: Any, answer: Mapping[str, Any]) -> str:
    if isinstance(saved, Raised):
        return f"guardar_punto_control da un error: {saved.message}"
    if answer.get("sin_fichero"):
        return "guardar_punto_control no escribió el fichero «ruta» (torch.save(punto, ruta))"
    if answer.get("objeto_entero"):
        return ("el fichero guarda un objeto entero (el modelo o el optimizador, con pickle): guarda sus state_dict(), "
                "que torch.load lee con weights_only=True")
    if isinstance(content, Raised):
        return f"el fichero no se puede leer con torch.load(ruta, weights_only=True): {content.message}"
    if not isinstance(content, Mapping) or not all(key in content for key in CHECKPOINT_KEYS):
        return ("el punto de control debe ser un diccionario con las claves «epoca», «modelo» y «optimizador» "
                f"(el fichero tiene {describe(content)})")
    return ""


def _saved_model_message(content: Mapping[str, Any], inputs: Mapping[str, Any]) -> str:
    if content.get("epoca") != inputs["epoca"]:
        return f"«epoca» debe ser la época que recibe la función ({inputs['epoca']}), no {describe(content.get('epoca'))}"
    return "«modelo» debe ser modelo.state_dict(): los pesos guardados no son los del modelo"


def checkpoint_case(description: str, *, seed: int, epoch: int, reference_epoch: int) -> Case:
    """A case of «punto_control»: the weights and Adam state to save, and another checkpoint to load."""
    rng = np.random.default_rng(seed)

    def weights() -> dict[str, Array]:
        return {"0.weight": rng.standard_normal((2, 1, 3, 3)).astype(np.float32),
                "0.bias": rng.standard_normal(2).astype(np.float32),
                "3.weight": rng.standard_normal((3, 32)).astype(np.float32),
                "3.bias": rng.standard_normal(3).astype(np.float32)}

    def adam(shapes: list[tuple[int, ...]]) -> dict[str, Any]:
        return {"lr": float(rng.choice([1e-3, 3e-3, 1e-2])), "paso": float(rng.integers(1, 50)),
                "exp_avg": [rng.standard_normal(s).astype(np.float32) for s in shapes],
                "exp_avg_sq": [rng.random(s).astype(np.float32) for s in shapes]}

    saved, reference = weights(), weights()
    shapes = [v.shape for v in saved.values()]
    return Case(description, {"pesos": saved, "adam": adam(shapes), "epoca": epoch, "pesos_referencia": reference,
                              "adam_referencia": adam(shapes), "epoca_referencia": reference_epoch,
                              "pesos_iniciales": weights()})


# ---- entregable ----
def _compare_best(c: CaseChecks, layers: Any, saved: Any) -> None:
    """The graded weights must be those of the best-validation checkpoint the notebook saved (ruta_mejor)."""
    if isinstance(saved, Raised) or not isinstance(saved, Mapping):
        text = saved.message if isinstance(saved, Raised) else describe(saved)
        c.check("mejor_epoca", False, f"el modelo entregado debe ser el del punto de control de la mejor época: {text}"[:300])
        return
    stored = [v.values for v in saved.values() if isinstance(v, ArrayData)]
    graded = [array for kind in layers for pair in kind for array in pair]
    same = bool(graded) and all(any(s.shape == g.shape and np.allclose(s, g, rtol=1e-6, atol=1e-7) for s in stored)
                                for g in graded)
    c.check("mejor_epoca", same, "los pesos de «modelo» no son los del punto de control de la mejor época (ruta_mejor): "
            "carga ese punto de control al terminar de entrenar (cargar_punto_control(modelo, optimizador, ruta_mejor))")


def _compare_entregable(c: CaseChecks, case: Case, answer: Any) -> None:
    layers = lenet_layers(answer) if isinstance(answer, Mapping) else None
    if layers is None:
        what = architecture_message(answer) if isinstance(answer, Mapping) else describe(answer)
        c.check("exactitud", False, f"«modelo» no es la LeNet del enunciado: {what}")
        c.check("mejor_epoca", False, "sin la LeNet no se puede comparar con el punto de control de la mejor época")
        return
    check_accuracy(c, answer, bar=ACCURACY_BAR, hint="¿entrenaste el modelo y cargaste el mejor punto de control? "
                   "revisa los ejercicios anteriores o los parámetros")
    if "exactitud" in c.failures:  # the checkpoint of a model that was not trained to the bar earns nothing
        c.check("mejor_epoca", False, "el punto de control cuenta cuando el modelo entregado llega a la exactitud pedida")
        return
    _compare_best(c, layers, answer.get("mejor"))


EXERCISES: tuple[Exercise, ...] = (
    Exercise("tamano_salida", "el tamaño de salida de una convolución", ("sin_relleno", "relleno", "paso", "entero"),
             _compare_tamano, (Case("varios tamaños, rellenos y pasos", {"llamadas": [
                 [32, 5], [14, 5, 0, 1], [32, 5, 2, 1], [28, 3, 1], [28, 2, 0, 2], [10, 3, 1, 2], [32, 5, 2, 3]]}),)),
    Exercise("convolucion", "una capa convolucional que conserva el tamaño", ("capa", "tamano", "valores"),
             _compare_convolucion, (
                 conv_case("crear_convolucion(3, 8, 3) y una entrada 2x3x10x9", seed=6, channels=(3, 8, 3),
                           x_shape=(2, 3, 10, 9)),
                 conv_case("crear_convolucion(1, 4, 5) y una entrada 1x1x12x12", seed=7, channels=(1, 4, 5),
                           x_shape=(1, 1, 12, 12)),
             )),
    Exercise("agrupar", "el agrupamiento máximo", ("forma", "maximo"), _compare_agrupar, (
        Case("una entrada 2x3x6x6 y ventanas de 2", {"x": _RNG.standard_normal((2, 3, 6, 6)).astype(np.float32), "tamano": 2}),
        Case("una entrada 1x2x8x7 y ventanas de 3", {"x": _RNG.standard_normal((1, 2, 8, 7)).astype(np.float32), "tamano": 3}),
    )),
    Exercise("lenet", "la clase LeNet", ("capas", "salida", "forward", "logits"), _compare_lenet, (
        lenet_case("un lote de 3 imágenes 32x32", seed=8, images=3),
        lenet_case("un lote de 1 imagen", seed=9, images=1),
    )),
    Exercise("entrenar_una_epoca", "una época de entrenamiento",
             ("float", "media", "actualiza", "modo_entrenamiento", "dispositivo"), _compare_epoca,
             (epoch_case("48 imágenes 4x4 en lotes de 16, dos épocas", seed=3, rows=48, side=4, hidden=8, classes=3, lr=0.3,
                         batch=16),)),
    Exercise("evaluar", "la evaluación por lotes", ("perdida", "exactitud", "modo_evaluacion", "sin_gradiente", "dispositivo"),
             _compare_evaluar,
             (evaluation_case("50 imágenes 4x4 en lotes de 16 (el último, de 2)", seed=4, rows=50, side=4, hidden=12,
                              classes=3, batch=16),)),
    Exercise("punto_control", "guardar y cargar un punto de control",
             ("guarda", "guarda_optimizador", "carga", "carga_optimizador", "map_location"), _compare_punto_control,
             (checkpoint_case("una red pequeña, su Adam y la época 7", seed=5, epoch=7, reference_epoch=12),)),
    Exercise("entregable", "la LeNet entrenada supera el 85 % en prueba", ("exactitud", "mejor_epoca"), _compare_entregable,
             (Case("«modelo» entrenado"),), points=2.0, requires=("entrenar_una_epoca",)),
)
