"""Criterios del laboratorio 00 (introducción a PyTorch): los mismos para `comprobar` y para la nota.

Cada ejercicio declara sus criterios, sus puntos y sus casos públicos; la función de comparación
decide cada criterio comparando la respuesta que devolvió el cuaderno con las salidas esperadas del
caso (`c.expected`): datos precalculados en el kernel (practica/data/lab00.json), calculados por el
calificador con su propio paquete (answer_key.lab00), que el kernel no puede leer.
Solo numpy: el calificador los aplica sin importar torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from in_image.exercises.framework import Case, CaseChecks, Exercise, close, describe
from in_image.exercises.wire import ArrayData, DeviceData, Raised, SizeData

LAB = "00"
_RNG = np.random.default_rng(2026)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) or "escalar"


ECHO_MESSAGE = "devuelve la entrada sin cambiarla: no calcula nada"


def _echoes(answer: Any, given: np.ndarray[Any, Any]) -> bool:
    """The answer is the input it was given, unchanged (an echo earns no criterion, not even the type's)."""
    return isinstance(answer, ArrayData) and answer.shape == given.shape and close(answer, given)


# ---- pinv -----------------------------------------------------------------------------------------
def _compare_pinv(c: CaseChecks, case: Case, answer: Any) -> None:
    a = np.asarray(case.inputs["A"], dtype=np.float64)
    if _echoes(answer, a):
        c.fail_rest(("tensor", "forma", "pseudoinversa"), ECHO_MESSAGE)
        return
    c.tensor(answer, criterion="tensor", what="el resultado")
    if not isinstance(answer, ArrayData):  # a numpy array is judged on its values too
        c.fail_rest(("forma", "pseudoinversa"), f"se esperaba una matriz, no {describe(answer)}")
        return
    wanted = a.shape[::-1]
    if not c.check("forma", answer.shape == wanted, f"la pseudoinversa de una matriz {_shape_text(a.shape)} es "
                   f"{_shape_text(wanted)}, no {_shape_text(answer.shape)}"):
        c.fail_rest(("pseudoinversa",), "con otra forma no puede ser la pseudoinversa")
        return
    x = answer.values.astype(np.float64)
    tol = 1e-3 if answer.values.dtype != np.float64 else 1e-7
    penrose = (np.allclose(a @ x @ a, a, atol=tol), np.allclose(x @ a @ x, x, atol=tol),
               np.allclose((a @ x).T, a @ x, atol=tol), np.allclose((x @ a).T, x @ a, atol=tol))
    c.check("pseudoinversa", all(penrose), "no cumple las condiciones de Moore-Penrose (A P A = A, P A P = P, "
            "A P y P A simétricas): ¿usaste la inversa de AᵀA, que solo sirve con columnas independientes?")


# ---- tensores del enunciado ----------------------------------------------------------------------
def _compare_aleatorio(c: CaseChecks, case: Case, answer: Any) -> None:
    t = c.tensor(answer, criterion="tensor", what="«aleatorio»")
    if t is None:
        return
    c.check("forma", t.shape == (5, 3), f"la forma es {_shape_text(t.shape)} y debe ser 5x3")
    v = t.values
    uniform = v.dtype.kind == "f" and bool(np.all((v >= 0) & (v < 1))) and _looks_uniform(v)
    c.check("uniforme", uniform, "los valores deben ser aleatorios y uniformes en [0, 1): usa torch.rand"
            + ("" if v.dtype.kind == "f" else f" (el tipo es {t.torch_dtype})"))


def _looks_uniform(v: np.ndarray[Any, Any]) -> bool:
    """15 draws of U[0, 1): all distinct, in no order, not evenly spaced, in both halves of [0, 1) (each test fails
    a true uniform sample with a chance below 1 in 10 000; a range, a scaled rand or a constant fails them)."""
    flat = v.reshape(-1).astype(np.float64)
    if flat.size < 2 or len(np.unique(flat)) != flat.size:
        return False
    ordered = bool(np.all(np.diff(flat) > 0) or np.all(np.diff(flat) < 0))
    gaps = np.diff(np.sort(flat))
    even = bool(np.allclose(gaps, gaps.mean(), rtol=1e-3))
    return not ordered and not even and float(flat.min()) < 0.5 <= float(flat.max())


def _compare_ceros(c: CaseChecks, case: Case, answer: Any) -> None:
    t = c.tensor(answer, criterion="tensor", what="«ceros»")
    if t is None:
        return
    c.check("forma", t.shape == (5, 3), f"la forma es {_shape_text(t.shape)} y debe ser 5x3")
    hint = " (torch.int es de 32 bits)" if t.torch_dtype == "torch.int32" else ""
    c.check("ceros_long", t.torch_dtype == "torch.int64" and not np.any(t.values),
            f"deben ser ceros de tipo torch.long, no {t.torch_dtype}{hint}")


DATOS = np.array([[5.5, 3, 3], [2, 1, 5], [3, 4, 2], [7, 6, 5], [2, 1, 2]])


def _compare_datos(c: CaseChecks, case: Case, answer: Any) -> None:
    t = c.tensor(answer.get("datos") if isinstance(answer, dict) else None, criterion="tensor", what="«datos»")
    shape = answer.get("forma_datos") if isinstance(answer, dict) else None
    dims = shape.dims if isinstance(shape, SizeData) else tuple(shape) if isinstance(shape, tuple | list) else None
    c.check("forma", dims == (5, 3) and all(isinstance(n, int) for n in dims),
            f"«forma_datos» debe ser la forma de «datos» (datos.shape), no {describe(shape)} {shape!r}"[:200])
    if t is None:
        c.fail_rest(("valores", "coma_flotante"), "sin un tensor no se pueden comprobar los valores")
        return
    c.check("valores", close(t, DATOS, atol=1e-6), "los valores no son los del enunciado (la primera fila es `[5.5, 3, 3]`)")
    c.check("coma_flotante", t.values.dtype.kind == "f", f"los datos tienen decimales: el tensor debe ser de coma "
            f"flotante, no {t.torch_dtype}")


# ---- funciones sobre tensores --------------------------------------------------------------------
def _compare_suma(c: CaseChecks, case: Case, answer: Any) -> None:
    pairs = [(np.asarray(a), np.asarray(b)) for a, b in case.inputs["pares"]]
    results = answer if isinstance(answer, list) and len(answer) == len(pairs) else [answer] * len(pairs)
    returned_sums = False
    for (a, b), result, wanted in zip(pairs, results, c.expected["sumas"], strict=True):
        where = f"{_shape_text(a.shape)} + {_shape_text(b.shape)}"
        if wanted is None:
            c.check("incompatibles", result is None, f"con tamaños incompatibles ({where}) debe devolver None, "
                    f"no {describe(result)}")
            continue
        returned_sums |= result is not None
        if result is None:
            c.check("suma", False, f"{where} son compatibles (la difusión lo permite): debe devolver a + b, no None")
            continue
        r = c.tensor(result, criterion="suma", what=f"el resultado de {where}")
        c.check("suma", r is not None and close(r, wanted), f"{where} debe dar a + b")
    c.check("incompatibles", returned_sums, "devolver siempre None no es capturar el error: con tamaños compatibles "
            "debe devolver la suma")


# ---- difusión ------------------------------------------------------------------------------------
_KEEPDIM = " (m.sum(dim=1) y m.mean(dim=1) quitan esa dimensión; con keepdim=True la dejan con tamaño 1 y se difunde bien)"


def _broadcast_failure(c: CaseChecks, criterion: str, answer: Any, what: str) -> ArrayData | None:
    """The answer as a tensor; when the call raised a size mismatch, the failure says how broadcasting aligns shapes."""
    if isinstance(answer, Raised) and "must match the size" in answer.message:
        c.check(criterion, False, f"{what} falla: {answer.message}: la difusión alinea las formas por la derecha"
                f"{_KEEPDIM}"[:400])
        return None
    return c.tensor(answer, criterion=criterion, what=what)


def _close_to(r: ArrayData, wanted: Any) -> bool:
    return wanted is not None and close(r, wanted, rtol=1e-4, atol=1e-5)


def _compare_centrar(c: CaseChecks, m: np.ndarray[Any, Any], answer: Any) -> None:
    r = _broadcast_failure(c, "columnas", answer, "centrar_columnas(m)")
    if r is None:
        return
    hint = ""
    e = c.expected
    if _close_to(r, e["media_total"]):
        hint = ": resta la media de toda la matriz, no la de cada columna (m.mean(dim=0))"
    elif _close_to(r, e["media_filas"]) or _close_to(r, e["media_filas_sin_keepdim"]):
        hint = ": resta la media de cada fila; la de cada columna es m.mean(dim=0)"
    c.check("columnas", _close_to(r, e["columnas"]),
            f"de una matriz {_shape_text(m.shape)}, centrar_columnas(m) debe restar a cada columna su media "
            f"(m - m.mean(dim=0)){hint}")


def _compare_filas(c: CaseChecks, m: np.ndarray[Any, Any], answer: Any) -> None:
    r = _broadcast_failure(c, "filas", answer, "normalizar_filas(m)")
    if r is None:
        return
    hint = ""
    e = c.expected
    if _close_to(r, e["sin_keepdim"]):
        hint = (": m.sum(dim=1) tiene forma (N,) y se difunde como una fila, así que divide cada columna j por la "
                "suma de la fila j, sin dar error; con keepdim=True es (N, 1) y se difunde por columnas")
    elif _close_to(r, e["por_columnas"]):
        hint = ": divide por la suma de cada columna; la de cada fila es m.sum(dim=1, keepdim=True)"
    elif _close_to(r, e["total"]):
        hint = ": divide por la suma de toda la matriz, no por la de cada fila"
    c.check("filas", _close_to(r, e["filas"]),
            f"de una matriz {_shape_text(m.shape)}, normalizar_filas(m) debe dividir cada fila por su suma "
            f"(m / m.sum(dim=1, keepdim=True)){hint}")


def _compare_tabla(c: CaseChecks, case: Case, answer: Any) -> None:
    a, b = (np.asarray(case.inputs[name], dtype=np.float64) for name in ("a", "b"))
    wanted = np.asarray(c.expected["tabla"])
    where = f"con a de {a.size} y b de {b.size} elementos"
    if isinstance(answer, Raised) and "must match the size" in answer.message:
        c.check("tabla", False, f"tabla_de_sumas(a, b) falla {where} ({answer.message}): a + b suma elemento a "
                "elemento; convierte a en columna, a[:, None] (o a.unsqueeze(1)), y difunde con b"[:400])
        return
    if isinstance(answer, Raised):
        c.check("tabla", False, f"tabla_de_sumas(a, b) falla {where}: {answer.message}"[:400])
        return
    r = c.tensor(answer, criterion="tabla", what="tabla_de_sumas(a, b)")
    if r is None:
        return
    hint = f" (es {_shape_text(r.shape)})" if r.shape != wanted.shape else ""
    if _close_to(r, c.expected["elemento_a_elemento"]):
        hint += ": a + b suma elemento a elemento; la tabla es a[:, None] + b[None, :]"
    elif close(r, wanted.T, rtol=1e-4, atol=1e-5) and not close(r, wanted, rtol=1e-4, atol=1e-5):
        hint += ": está traspuesta; las filas son los elementos de a y las columnas los de b"
    c.check("tabla", close(r, wanted, rtol=1e-4, atol=1e-5), f"{where}, tabla_de_sumas(a, b) debe ser la matriz "
            f"{a.size}x{b.size} con a[i] + b[j] en la fila i, columna j{hint}")


def _compare_difusion(c: CaseChecks, case: Case, answer: Any) -> None:
    function = case.inputs["funcion"]
    if function == "tabla_de_sumas":
        _compare_tabla(c, case, answer)
        return
    m = np.asarray(case.inputs["m"], dtype=np.float64)
    (_compare_centrar if function == "centrar_columnas" else _compare_filas)(c, m, answer)


def _compare_columna(c: CaseChecks, case: Case, answer: Any) -> None:
    m = np.asarray(case.inputs["m"])
    r = c.tensor(answer, criterion="forma", what="el resultado")
    if r is None:
        c.fail_rest(("valores",), "sin un tensor no se pueden comprobar los valores")
        return
    if not c.check("forma", r.shape == (m.shape[0],), f"de una matriz {_shape_text(m.shape)} la primera columna es un "
                   f"vector de {m.shape[0]} elementos, no {_shape_text(r.shape)} (m[:, 0], no m[:, :1] ni m[0])"):
        c.fail_rest(("valores",), "con otra forma no puede ser la primera columna")
        return
    c.check("valores", close(r, c.expected["columna"]), "no es la primera columna (en Python se indexa desde 0: m[:, 0])")


def _compare_forma(c: CaseChecks, case: Case, answer: Any) -> None:
    m = np.asarray(case.inputs["m"])
    if case.inputs["funcion"] == "aplanar_traspuesta":
        r = c.tensor(answer, criterion="aplanar", what="aplanar_traspuesta(m)")
        if r is not None:
            c.check("aplanar", close(r, c.expected["aplanar"]), "aplanar_traspuesta(m) debe ser la traspuesta m.t() en un "
                    "vector, fila a fila (m.t().reshape(-1))")
        return
    r = c.tensor(answer.get("resultado") if isinstance(answer, dict) else None, criterion="filas", what="filas_de_ocho(m)")
    if r is None:
        c.fail_rest(("vista",), "sin un tensor no se puede comprobar")
        return
    wanted = np.asarray(c.expected["filas"])
    c.check("filas", close(r, wanted), f"de una matriz {_shape_text(m.shape)} filas_de_ocho debe dar "
            f"{_shape_text(wanted.shape)} (-1 deduce las filas), no {_shape_text(r.shape)}")
    after = answer.get("tras_cambiar_m")
    c.check("vista", isinstance(after, ArrayData) and close(after, c.expected["tras_cambiar_m"]),
            "filas_de_ocho debe devolver una vista de m (view), que comparte su memoria, no una copia")


def _compare_normalizar(c: CaseChecks, case: Case, answer: Any) -> None:
    m = np.asarray(case.inputs["m"], dtype=np.float64)
    if _echoes(answer, m):
        c.fail_rest(("forma", "normalizada"), ECHO_MESSAGE)
        return
    r = c.tensor(answer, criterion="forma", what="el resultado")
    if r is None:
        c.fail_rest(("normalizada",), "sin un tensor no se puede comprobar")
        return
    if not c.check("forma", r.shape == m.shape, f"debe conservar la forma {_shape_text(m.shape)}"):
        c.fail_rest(("normalizada",), "con otra forma no puede estar normalizada")
        return
    either = any(_close_to(r, wanted) for wanted in c.expected["normalizadas"])
    c.check("normalizada", either, "debe ser (m - media) / desviación típica de todos los elementos de m "
            "(media 0 y desviación 1)")


def _compare_modulo(c: CaseChecks, case: Case, answer: Any) -> None:
    r = c.tensor(answer.get("resultado") if isinstance(answer, dict) else None, criterion="valores",
                 what="el resultado")
    if r is None:
        c.fail_rest(("derivable",), "sin un tensor no se puede derivar")
        return
    c.check("valores", _close_to(r, c.expected["modulo"]), "debe calcular √(x² + y²) elemento a elemento")
    gradient = answer.get("gradiente_x")
    c.check("derivable", r.requires_grad and isinstance(gradient, ArrayData) and close(gradient, c.expected["gradiente_x"],
                                                                                       rtol=1e-3, atol=1e-4),
            "el resultado debe conservar la historia de autograd (usa operaciones de torch, no de numpy o math, "
            "ni .detach())")


# ---- autograd ------------------------------------------------------------------------------------
def _compare_grad_fn(c: CaseChecks, case: Case, answer: Any) -> None:
    operations = case.inputs["operaciones"]
    names = answer if isinstance(answer, list) and len(answer) == len(operations) else [answer] * len(operations)
    for operation, name, wanted in zip(operations, names, c.expected["nombres"], strict=True):
        if wanted is not None:
            c.check("nombres", name == wanted, f"para {operation} debe dar '{wanted}', no {name!r}"[:200])
            c.check("sin_historia", isinstance(name, str), f"un tensor con historia ({operation}) no debe dar None")
        else:
            c.check("sin_historia", name is None, f"un tensor sin grad_fn ({operation}) debe dar None, no {name!r}"[:200])


def _compare_backward(c: CaseChecks, case: Case, answer: Any) -> None:
    x = np.asarray(case.inputs["x"], dtype=np.float64)
    if not isinstance(answer, dict):
        c.fail_rest(("gradiente", "no_modifica"), f"respuesta inesperada: {describe(answer)}")
        return
    g = c.tensor(answer.get("gradiente"), criterion="gradiente", what="el gradiente")
    operations = answer.get("operaciones")
    autograd = isinstance(operations, list) and any(name in ("backward", "grad") for name in operations)
    if g is not None:
        hint = " (¿falta la media? sin ella es n veces mayor)" if close(g, c.expected["sin_media"], rtol=1e-4) else ""
        if c.check("gradiente", _close_to(g, c.expected["gradiente"]), f"el gradiente de media(3(x+2)²) es 6(x+2)/n{hint}"):
            c.check("gradiente", autograd, "el gradiente debe calcularlo autograd: llama a backward() sobre la media, "
                    "no escribas la derivada a mano")
    after = answer.get("x_despues")
    unchanged = (isinstance(after, ArrayData) and close(after, x) and not after.requires_grad
                 and "x_grad" in answer and answer.get("x_grad") is None and g is not None and not _echoes(g, x))
    c.check("no_modifica", unchanged, "no modifiques el x que recibes: trabaja con una copia (x.detach().clone())")


def _compare_no_grad(c: CaseChecks, case: Case, answer: Any) -> None:
    if not isinstance(answer, dict):
        c.fail_rest(("valores", "sin_historia", "gradiente_activo"), f"respuesta inesperada: {describe(answer)}")
        return
    r = c.tensor(answer.get("resultado"), criterion="valores", what="el resultado")
    operations = answer.get("operaciones")
    steps = [step for step in operations if isinstance(step, list) and len(step) == 2] \
        if isinstance(operations, list) else []
    detached = any(name == "detach" for name, _ in steps)
    inside = bool(steps) and not any(enabled is True for _, enabled in steps)
    squares = False
    if r is None:
        c.fail_rest(("sin_historia",), "sin un tensor no se puede comprobar")
    else:
        squares = c.check("valores", close(r, c.expected["cuadrado"], rtol=1e-4, atol=1e-6), "debe devolver x ** 2")
        if c.check("sin_historia", not r.requires_grad and r.grad_fn is None,
                   "el resultado no debe tener historia de gradiente: calcúlalo dentro de with torch.no_grad()"):
            c.check("sin_historia", inside and not detached, "calcula x ** 2 dentro de with torch.no_grad(): "
                    ".detach() quita la historia de x, pero el ejercicio es desactivar el cálculo del gradiente")
    after = answer.get("gradiente_despues")
    if not squares:
        c.check("gradiente_activo", False, "sin x ** 2 no se puede comprobar cómo queda el gradiente al salir")
        return
    c.check("gradiente_activo", isinstance(after, ArrayData) and close(after, c.expected["gradiente_despues"]),
            "al salir, el cálculo de gradientes debe seguir activado: usa with torch.no_grad(), no "
            "torch.set_grad_enabled(False)")


# ---- NumPy y PyTorch -----------------------------------------------------------------------------
def _compare_compartido(c: CaseChecks, a: np.ndarray[Any, Any], change: Any, before: Any, after: Any) -> None:
    t = c.tensor(before, criterion="compartido", what="a_tensor_compartido(a)")
    if t is None:
        return
    wanted_type = f"torch.{a.dtype.name}"
    if not c.check("compartido", t.torch_dtype == wanted_type, f"a_tensor_compartido(a) debe conservar el tipo de a "
                   f"({wanted_type}), no {t.torch_dtype}: convertir el tipo (.float(), .double(), torch.Tensor) hace "
                   "una copia") or not c.check("compartido", close(t, a), "a_tensor_compartido(a) debe tener los valores "
                                               "de a"):
        return
    c.check("compartido", isinstance(after, ArrayData) and close(after, a + change),
            "a_tensor_compartido(a) no comparte la memoria de a: al cambiar a, el tensor no cambió (torch.tensor(a) "
            "copia; torch.from_numpy(a) comparte)")


def _compare_copia(c: CaseChecks, a: np.ndarray[Any, Any], before: Any, after: Any) -> None:
    t = c.tensor(before, criterion="copia", what="a_tensor_copia(a)")
    if t is None:
        return
    wanted_type = f"torch.{a.dtype.name}"
    hint = " (torch.Tensor(a) convierte siempre a torch.float32; torch.tensor(a) conserva el tipo)" \
        if t.torch_dtype == "torch.float32" else ""
    if not c.check("copia", close(t, a) and t.torch_dtype == wanted_type,
                   f"a_tensor_copia(a) debe tener los valores y el tipo de a ({wanted_type}), no {t.torch_dtype}{hint}"):
        return
    c.check("copia", isinstance(after, ArrayData) and close(after, a),
            "a_tensor_copia(a) cambió al cambiar a: comparte su memoria (torch.from_numpy); haz una copia "
            "(torch.tensor(a), o torch.from_numpy(a).clone())")


def _compare_a_numpy(c: CaseChecks, t: np.ndarray[Any, Any], result: Any) -> None:
    if isinstance(result, Raised):
        c.check("a_numpy", False, f"a_numpy(t) falla con un tensor que requiere gradiente: {result.message}"[:300])
    elif not isinstance(result, ArrayData) or result.torch_dtype is not None:
        c.check("a_numpy", False, f"a_numpy(t) debe devolver un array de NumPy (t.detach().numpy()), no "
                f"{describe(result)}")
    else:
        c.check("a_numpy", close(result, t), "a_numpy(t) debe tener los valores de t")


def _compare_puente(c: CaseChecks, case: Case, answer: Any) -> None:
    if not isinstance(answer, dict):
        c.fail_rest(("compartido", "copia", "a_numpy"), f"respuesta inesperada: {describe(answer)}")
        return
    a = np.asarray(case.inputs["a"])
    _compare_compartido(c, a, case.inputs["cambio"], answer.get("compartido"), answer.get("compartido_despues"))
    _compare_copia(c, a, answer.get("copia"), answer.get("copia_despues"))
    _compare_a_numpy(c, np.asarray(case.inputs["t"]), answer.get("a_numpy"))


def _compare_dispositivo(c: CaseChecks, case: Case, answer: Any) -> None:
    if not isinstance(answer, dict):
        c.fail_rest(("dispositivo", "mover"), f"respuesta inesperada: {describe(answer)}")
        return
    for key, wanted, where in (("con_gpu", "cuda", "con GPU"), ("sin_gpu", "cpu", "sin GPU")):
        chosen = answer.get(key)
        if isinstance(chosen, Raised):
            c.check("dispositivo", False, f"elegir_dispositivo() falla {where}: {chosen.message}"[:300])
            continue
        c.check("dispositivo", isinstance(chosen, DeviceData) and chosen.type == wanted,
                f"{where} (torch.cuda.is_available() da {wanted == 'cuda'}), elegir_dispositivo() debe devolver "
                f"torch.device('{wanted}'), no {describe(chosen)}"[:250])
    moved = answer.get("movido")
    if isinstance(moved, Raised):
        c.check("mover", False, f"mover(t) falla: {moved.message}"[:300])
        return
    t = np.asarray(case.inputs["t"])
    right = (isinstance(moved, dict) and moved.get("dispositivo") == "meta" and moved.get("forma") == list(t.shape)
             and moved.get("tipo") == f"torch.{t.dtype.name}")
    c.check("mover", right, "mover(t) debe devolver t en el dispositivo que da elegir_dispositivo() "
            "(t.to(elegir_dispositivo())): aquí no lo movió a él")


def _matrix(rows: int, columns: int) -> np.ndarray[Any, Any]:
    return _RNG.standard_normal((rows, columns)).astype(np.float32)


def _positive(rows: int, columns: int) -> np.ndarray[Any, Any]:
    """A matrix of positive values, whose row sums are far from zero."""
    return _RNG.uniform(0.5, 3.0, (rows, columns)).astype(np.float32)


EXERCISES: tuple[Exercise, ...] = (
    Exercise("pinv", "pseudoinversa", ("tensor", "forma", "pseudoinversa"), _compare_pinv, (
        Case("la matriz 3x2 del enunciado", {"A": np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype=np.float32)}),
        Case("una matriz 2x3", {"A": _matrix(2, 3)}),
    )),
    Exercise("tensor_aleatorio", "tensor aleatorio 5x3", ("tensor", "forma", "uniforme"), _compare_aleatorio,
             (Case("«aleatorio»"),)),
    Exercise("ceros_enteros", "matriz de ceros entera", ("tensor", "forma", "ceros_long"), _compare_ceros,
             (Case("«ceros»"),)),
    Exercise("tensor_de_datos", "tensor a partir de datos y su forma", ("tensor", "valores", "coma_flotante", "forma"),
             _compare_datos, (Case("«datos» y «forma_datos»"),)),
    Exercise("suma_segura", "suma y error de tamaños", ("suma", "incompatibles"), _compare_suma, (
        Case("2x3 + 2x3, 3x4 + un vector de 4 y 5x3 + 2x3", {"pares": [
            (np.ones((2, 3), np.float32), np.full((2, 3), 2.0, np.float32)),
            (_matrix(3, 4), _RNG.standard_normal(4).astype(np.float32)),
            (np.ones((5, 3), np.float32), np.ones((2, 3), np.float32))]}),
    )),
    Exercise("difusion", "difusión (broadcasting)", ("columnas", "filas", "tabla"), _compare_difusion, (
        Case("centrar_columnas de una matriz 3x4", {"funcion": "centrar_columnas", "m": _matrix(3, 4) * 3 + 1},
             ("columnas",)),
        Case("normalizar_filas de una matriz 3x4", {"funcion": "normalizar_filas", "m": _positive(3, 4)}, ("filas",)),
        Case("tabla_de_sumas con a de 3 y b de 4 elementos", {"funcion": "tabla_de_sumas",
                                                             "a": np.array([0.0, 10.0, 20.0], np.float32),
                                                             "b": np.array([1.0, 2.0, 3.0, 4.0], np.float32)},
             ("tabla",)),
    )),
    Exercise("primera_columna", "slicing: la primera columna", ("forma", "valores"), _compare_columna, (
        Case("arange(12).reshape(4, 3)", {"m": np.arange(12.0, dtype=np.float32).reshape(4, 3)}),
        Case("una matriz 2x5", {"m": _matrix(2, 5)}),
    )),
    Exercise("cambiar_forma", "view y reshape", ("filas", "vista", "aplanar"), _compare_forma, (
        Case("filas_de_ocho de una matriz 4x4", {"funcion": "filas_de_ocho", "m": _matrix(4, 4),
                                                   "cambio": {"fila": 0, "columna": 0, "valor": 100.0}}, ("filas", "vista")),
        Case("filas_de_ocho de una matriz 4x6", {"funcion": "filas_de_ocho", "m": _matrix(4, 6),
                                                   "cambio": {"fila": 3, "columna": 2, "valor": -7.5}}, ("filas", "vista")),
        Case("aplanar_traspuesta de una matriz 4x4", {"funcion": "aplanar_traspuesta", "m": _matrix(4, 4)}, ("aplanar",)),
        Case("aplanar_traspuesta de una matriz 3x5", {"funcion": "aplanar_traspuesta", "m": _matrix(3, 5)}, ("aplanar",)),
    )),
    Exercise("normalizar", "operaciones con escalares", ("forma", "normalizada"), _compare_normalizar, (
        Case("la matriz [[1, 2], [3, 4]]", {"m": np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)}),
        Case("una matriz 3x4", {"m": _matrix(3, 4) * 5 + 2}),
    )),
    Exercise("modulo", "la función modulo", ("valores", "derivable"), _compare_modulo, (
        Case("x = 3, y = 4", {"x": np.array([3.0], np.float32), "y": np.array([4.0], np.float32)}),
        Case("matrices 2x3", {"x": _matrix(2, 3), "y": _matrix(2, 3)}),
    )),
    Exercise("grad_fn", "requires_grad y grad_fn", ("nombres", "sin_historia"), _compare_grad_fn, (
        Case("x + 2, (x + 2) * 3, una hoja y torch.zeros(3)", {"operaciones": ["suma", "producto", "hoja",
                                                                               "sin_gradiente"]}),
    )),
    Exercise("backward", "backward y el gradiente", ("gradiente", "no_modifica"), _compare_backward, (
        Case("x = unos 2x2", {"x": np.ones((2, 2), np.float32)}),
        Case("x 3x2 aleatorio", {"x": _matrix(3, 2)}),
    )),
    Exercise("no_grad", "torch.no_grad()", ("valores", "sin_historia", "gradiente_activo"), _compare_no_grad, (
        Case("x con requires_grad", {"x": _RNG.standard_normal(4).astype(np.float32)}),
    )),
    Exercise("puente_numpy", "NumPy y PyTorch: compartir o copiar", ("compartido", "copia", "a_numpy"),
             _compare_puente, (
        Case("a = un array 2x3 de float64 y t = un tensor de 4 con requires_grad",
             {"a": np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]]), "t": _RNG.standard_normal(4).astype(np.float32),
              "gradiente": True, "cambio": 1.0}),
    )),
    Exercise("dispositivo", "CPU o GPU", ("dispositivo", "mover"), _compare_dispositivo, (
        Case("t = arange(4.0)", {"t": np.arange(4.0, dtype=np.float32)}),
    )),
)
