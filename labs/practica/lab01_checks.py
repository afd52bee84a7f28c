"""Criterios del laboratorio 01 (perceptrón multicapa): los mismos para `comprobar` y para la nota.

Solo numpy (y scikit-learn, para rehacer la división de los dígitos): el calificador evalúa los pesos
de tu red y rehace tu entrenamiento con sus propias cuentas, sin ejecutar tu código.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from in_image.exercises.framework import Case, CaseChecks, Exercise, close, describe
from in_image.exercises.reference import Layers, accuracy, layers_from, mlp_forward, softmax, train_epochs
from in_image.exercises.wire import ArrayData

LAB = "01"
TOTAL_DIGITS = 1797
TEST_SHARE = 0.25
# The trained MLP's accuracy on the test set must reach this. Measured over SEMILLA 0-4: the lab's MLP reaches
# 95.6-97.8 % after 6 epochs and 95.8-98.7 % after 20; untrained, 6-12 %. (A linear model reaches 95.1-96.7 %:
# it is told apart by its architecture, which the criterion checks first.)
ACCURACY_BAR = 0.95
_RNG = np.random.default_rng(2027)


def digit_split(seed: int) -> dict[str, np.ndarray[Any, Any]]:
    """The lab's split and standardisation of scikit-learn's digits, as the statement asks for."""
    from sklearn.datasets import load_digits  # noqa: PLC0415 (only two exercises need scikit-learn)
    from sklearn.model_selection import train_test_split  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    digits = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(digits.data, digits.target, test_size=TEST_SHARE,
                                                        random_state=seed, stratify=digits.target)
    scaler = StandardScaler().fit(x_train)
    return {"x_train": scaler.transform(x_train), "x_test": scaler.transform(x_test), "y_train": y_train,
            "y_test": y_test, "x_test_own": StandardScaler().fit_transform(x_test), "x_train_raw": x_train}


def _seed(answer: dict[str, Any]) -> int:
    seed = answer.get("SEMILLA", 0)
    return seed if isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed < 2**32 else 0


# ---- datos ---------------------------------------------------------------------------------------
def _compare_datos(c: CaseChecks, case: Case, answer: Any) -> None:
    names = ("X_entrenamiento", "y_entrenamiento", "X_prueba", "y_prueba")
    found = [answer.get(name) for name in names]
    tensors = all(isinstance(t, ArrayData) and t.is_tensor for t in found)
    if not c.check("tensores", tensors, "X_entrenamiento, y_entrenamiento, X_prueba e y_prueba deben ser torch.Tensor"):
        c.fail_rest(("division", "estandarizado", "prueba_con_entrenamiento"), "sin los cuatro tensores no se puede comprobar")
        return
    xe, ye, xp, yp = found
    c.check("tensores", xe.torch_dtype == xp.torch_dtype == "torch.float32" and ye.torch_dtype == yp.torch_dtype
            == "torch.int64", "X en torch.float32 y las etiquetas y en torch.long (lo que espera CrossEntropyLoss)")
    split = digit_split(_seed(answer))
    same_split = ye.shape == split["y_train"].shape and yp.shape == split["y_test"].shape and \
        bool(np.array_equal(ye.values, split["y_train"]) and np.array_equal(yp.values, split["y_test"]))
    c.check("division", same_split, "la división no es la pedida: train_test_split con test_size=0.25, "
            "random_state=SEMILLA y stratify=y (25 % de los 1797 dígitos para prueba)")
    either = [close(xe, split["x_train"] * factor, rtol=1e-4, atol=1e-4) for factor in (1.0, _ddof_factor(len(xe.values)))]
    c.check("estandarizado", any(either), "X_entrenamiento debe estar estandarizado con la media y la desviación "
            "del propio entrenamiento (StandardScaler().fit_transform)")
    c.check("prueba_con_entrenamiento", _test_scaled_like_training(xp, split), _test_message(xp, split))


def _ddof_factor(rows: int) -> float:
    return float(np.sqrt((rows - 1) / rows)) if rows > 1 else 1.0


def _test_scaled_like_training(xp: ArrayData, split: dict[str, np.ndarray[Any, Any]]) -> bool:
    factor = _ddof_factor(len(split["x_train"]))
    return close(xp, split["x_test"], rtol=1e-4, atol=1e-4) or close(xp, split["x_test"] * factor, rtol=1e-4, atol=1e-4)


def _test_message(xp: ArrayData, split: dict[str, np.ndarray[Any, Any]]) -> str:
    if close(xp, split["x_test_own"], rtol=1e-4, atol=1e-4):
        return ("X_prueba está escalado con su propia media y desviación: transfórmalo con las del entrenamiento "
                "(escalador.transform), nunca con fit_transform")
    return "X_prueba debe transformarse con la media y la desviación del entrenamiento (escalador.transform)"


# ---- cargador ------------------------------------------------------------------------------------
def _compare_cargador(c: CaseChecks, case: Case, answer: Any) -> None:
    if not c.check("dataloader", answer.get("es_dataloader") is True,
                   f"«cargador_entrenamiento» debe ser un DataLoader (es {answer.get('tipo')})"):
        c.fail_rest(("lote", "barajado", "completo"), "sin un DataLoader no se puede comprobar")
        return
    batch = answer.get("TAM_LOTE")
    c.check("lote", answer.get("batch_size") == batch, f"el tamaño de lote debe ser TAM_LOTE ({batch}), "
            f"no {answer.get('batch_size')}")
    c.check("barajado", answer.get("muestreador") == "RandomSampler", "los lotes deben barajarse en cada época "
            "(shuffle=True)")
    c.check("completo", answer.get("ejemplos") == answer.get("filas_entrenamiento") and answer.get("columnas") == 64,
            "debe recorrer todo X_entrenamiento (TensorDataset(X_entrenamiento, y_entrenamiento)) con sus 64 columnas")


# ---- modelo --------------------------------------------------------------------------------------
def _compare_modelo(c: CaseChecks, case: Case, answer: Any) -> None:
    sizes = case.inputs["tamanos"]
    x = np.asarray(case.inputs["x"], dtype=np.float64)
    out = c.tensor(answer.get("salida"), criterion="salida", what="la salida de la red")
    if out is not None:
        c.check("salida", out.shape == (len(x), sizes[2]), f"con {sizes[0]} entradas y {sizes[2]} clases, {len(x)} "
                f"ejemplos deben dar una salida {len(x)}x{sizes[2]}, no {'x'.join(map(str, out.shape))}")
    layers = layers_from(answer.get("capas"))
    wanted = [(sizes[1], sizes[0]), (sizes[1], sizes[1]), (sizes[2], sizes[1])]
    shapes = [w.shape for w, _ in layers] if layers else []
    if not c.check("capas", shapes == wanted, f"se esperan tres nn.Linear: {sizes[0]}→{sizes[1]}, {sizes[1]}→{sizes[1]} y "
                   f"{sizes[1]}→{sizes[2]} (dos capas ocultas de «ocultas» neuronas); hay {_shapes_text(shapes)}"):
        c.fail_rest(("activaciones", "logits"), "con otras capas no se pueden comprobar las activaciones")
        return
    c.check("logits", not answer.get("softmax") and not (out is not None and np.allclose(out.values.sum(1), 1.0)),
            "la red debe devolver logits: quita la Softmax final (CrossEntropyLoss ya aplica log_softmax)")
    if out is not None and layers is not None:
        c.check("activaciones", _activations_match(out, x, layers), _activation_message(out, x, layers))


def _shapes_text(shapes: Sequence[tuple[int, ...]]) -> str:
    return ", ".join(f"{s[1]}→{s[0]}" for s in shapes if len(s) == 2) or "ninguna"


def _activations_match(out: ArrayData, x: np.ndarray[Any, Any], layers: Layers) -> bool:
    reference = mlp_forward(x, layers, relu=(True, True))
    return close(out, reference, rtol=1e-3, atol=1e-4) or close(out, softmax(reference), rtol=1e-3, atol=1e-4)


def _activation_message(out: ArrayData, x: np.ndarray[Any, Any], layers: Layers) -> str:
    for relu, text in (((True, False), "falta la ReLU después de la segunda capa oculta"),
                       ((False, True), "falta la ReLU después de la primera capa oculta"),
                       ((False, False), "faltan las ReLU entre las capas: sin ellas la red es un modelo lineal")):
        if close(out, mlp_forward(x, layers, relu=relu), rtol=1e-3, atol=1e-4):
            return text
    return "la salida no es Lineal → ReLU → Lineal → ReLU → Lineal con tus pesos: usa nn.ReLU entre las capas"


# ---- exactitud -----------------------------------------------------------------------------------
def _compare_exactitud(c: CaseChecks, case: Case, answer: Any) -> None:
    logits, labels = np.asarray(case.inputs["logits"]), np.asarray(case.inputs["etiquetas"])
    wanted = float(np.mean(logits.argmax(1) == labels))
    c.check("float", isinstance(answer, float), f"debe devolver un float, no {describe(answer)} (usa .item())")
    value = float(answer.values.reshape(-1)[0]) if isinstance(answer, ArrayData) and answer.values.size == 1 else answer
    if not isinstance(value, int | float) or isinstance(value, bool):
        c.check("valor", False, f"debe devolver un número, no {describe(answer)}")
        return
    hint = ""
    if abs(value - wanted * len(labels)) < 1e-6 and len(labels) > 1:
        hint = ": devuelve el número de aciertos; divide entre el número de ejemplos"
    elif logits.shape[0] == logits.shape[1] and abs(value - float(np.mean(logits.argmax(0) == labels))) < 1e-6:
        hint = ": ¿argmax en la dimensión 0? las clases están en la dimensión 1"
    c.check("valor", abs(value - wanted) < 1e-6, f"con {len(labels)} ejemplos debe dar {wanted:.4g}, no {value:.4g}{hint}")


# ---- entrenar_una_epoca --------------------------------------------------------------------------
def _compare_epoca(c: CaseChecks, case: Case, answer: Any) -> None:
    inputs = case.inputs
    runs = {kind: train_epochs(inputs["x"], inputs["y"], layers_from(inputs["capas"]) or [], lr=inputs["lr"],
                               batch=inputs["lote"], epochs=inputs["epocas"], mistake=kind)
            for kind in ("ninguno", "sin_zero_grad", "sin_step")}
    losses = answer.get("perdidas")
    first = losses[0] if isinstance(losses, list) and losses else losses
    c.check("float", isinstance(losses, list) and all(isinstance(v, float) for v in losses),
            f"debe devolver la pérdida media como float (devuelve {describe(first)})")
    c.check("media", _losses_match(losses, runs["ninguno"].mean_losses), _loss_message(losses, runs["ninguno"]))
    trained = layers_from(answer.get("capas"))
    c.check("actualiza", trained is not None and _same_layers(trained, runs["ninguno"].layers), _update_message(trained, runs))
    c.check("modo_entrenamiento", answer.get("entrenando") is True,
            "pon la red en modo entrenamiento al empezar la época (modelo.train())")


def _as_floats(values: Any) -> list[float] | None:
    if not isinstance(values, list):
        return None
    floats = [float(v.values.reshape(-1)[0]) if isinstance(v, ArrayData) and v.values.size == 1 else v for v in values]
    return floats if all(isinstance(v, int | float) and not isinstance(v, bool) for v in floats) else None


def _losses_match(losses: Any, wanted: list[float]) -> bool:
    values = _as_floats(losses)
    return values is not None and len(values) == len(wanted) and bool(np.allclose(values, wanted, rtol=1e-4, atol=1e-5))


def _loss_message(losses: Any, correct: Any) -> str:
    values = _as_floats(losses)
    if values is not None and len(values) == len(correct.last_losses) and np.allclose(values, correct.last_losses, rtol=1e-4):
        return "devuelve la pérdida del último lote: devuelve la media de todos los lotes de la época"
    if values is not None and len(values) == len(correct.sum_losses) and np.allclose(values, correct.sum_losses, rtol=1e-4):
        return "devuelve la suma de las pérdidas: divide entre el número de lotes"
    return "debe devolver la pérdida media de los lotes de la época"


def _same_layers(a: Layers, b: Layers) -> bool:
    return len(a) == len(b) and all(wa.shape == wb.shape and np.allclose(wa, wb, rtol=1e-3, atol=1e-5) and
                                    np.allclose(ba, bb, rtol=1e-3, atol=1e-5) for (wa, ba), (wb, bb) in zip(a, b, strict=True))


def _update_message(trained: Layers | None, runs: dict[str, Any]) -> str:
    if trained is not None and _same_layers(trained, runs["sin_zero_grad"].layers):
        return "los gradientes se acumulan entre lotes: llama a optimizador.zero_grad() en cada lote"
    if trained is not None and _same_layers(trained, runs["sin_step"].layers):
        return "los pesos no cambian: llama a perdida.backward() y después a optimizador.step() en cada lote"
    return "los pesos tras la época no son los de un entrenamiento correcto (logits, pérdida, zero_grad, backward, step)"


# ---- exactitud_prueba ----------------------------------------------------------------------------
def _compare_final(c: CaseChecks, case: Case, answer: Any) -> None:
    layers = layers_from(answer.get("capas"))
    shapes = [w.shape for w, _ in layers] if layers else []
    if len(shapes) != 3 or shapes[0][1] != 64 or shapes[2][0] != 10 or shapes[1] != (shapes[0][0], shapes[0][0]):
        c.check("exactitud", False, "«modelo» no es el perceptrón del enunciado (64 entradas, dos capas ocultas iguales, "
                f"10 clases); sus capas: {_shapes_text(shapes)}")
        return
    split = digit_split(_seed(answer))
    hits = accuracy(mlp_forward(split["x_test"], layers, relu=(True, True)), split["y_test"])
    c.check("exactitud", hits >= ACCURACY_BAR, f"la exactitud en prueba es {hits:.1%} y debe llegar al "
            f"{ACCURACY_BAR:.0%} (¿entrenaste el modelo? revisa los ejercicios anteriores o los parámetros)")


def _epoch_case(description: str, *, seed: int, rows: int, features: int, hidden: int, lr: float, batch: int) -> Case:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, features)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    bound1, bound2 = 1 / np.sqrt(features), 1 / np.sqrt(hidden)
    capas = [[rng.uniform(-bound1, bound1, (hidden, features)).astype(np.float32),
              rng.uniform(-bound1, bound1, hidden).astype(np.float32)],
             [rng.uniform(-bound2, bound2, (2, hidden)).astype(np.float32), rng.uniform(-bound2, bound2, 2).astype(np.float32)]]
    return Case(description, {"x": x, "y": y, "capas": capas, "lr": lr, "lote": batch, "epocas": 2})


def epoch_case(description: str, **options: Any) -> Case:
    """A case of «entrenar_una_epoca» (the hidden tests make more with other sizes)."""
    return _epoch_case(description, **options)


EXERCISES: tuple[Exercise, ...] = (
    Exercise("datos", "tensores de entrenamiento y prueba", ("tensores", "division", "estandarizado",
                                                             "prueba_con_entrenamiento"), _compare_datos,
             (Case("los datos del cuaderno"),)),
    Exercise("cargador", "DataLoader", ("dataloader", "lote", "barajado", "completo"), _compare_cargador,
             (Case("«cargador_entrenamiento»"),)),
    Exercise("modelo", "el perceptrón multicapa", ("salida", "capas", "activaciones", "logits"), _compare_modelo, (
        Case("crear_modelo(20, 16, 5) con 7 ejemplos", {"tamanos": [20, 16, 5],
                                                         "x": _RNG.standard_normal((7, 20)).astype(np.float32)}),
    )),
    Exercise("exactitud", "la métrica de exactitud", ("float", "valor"), _compare_exactitud, (
        Case("4 ejemplos, 3 aciertos", {"logits": np.array([[2.0, 0.1], [0.1, 2.0], [3.0, 0.0], [0.0, 1.0]], np.float32),
                                        "etiquetas": np.array([0, 1, 1, 1])}),
        Case("10 ejemplos de 10 clases", {"logits": _RNG.standard_normal((10, 10)).astype(np.float32),
                                          "etiquetas": _RNG.integers(0, 10, 10)}),
    )),
    Exercise("entrenar_una_epoca", "una época de entrenamiento", ("float", "media", "actualiza", "modo_entrenamiento"),
             _compare_epoca, (_epoch_case("96 ejemplos en lotes de 32, dos épocas", seed=1, rows=96, features=6, hidden=8,
                                          lr=0.3, batch=32),)),
    Exercise("exactitud_prueba", "el modelo entrenado supera el 95 % en prueba", ("exactitud",), _compare_final,
             (Case("«modelo» entrenado"),), points=2.0),
)
