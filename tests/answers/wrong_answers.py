"""Answers real students give, with the verdict each must get: plausible wrong answers and correct alternatives.

Each `Answer` replaces one exercise's solution cell. `verdict` is "full", "partial" (some points) or
"zero"; `message` is a fragment the grade's message (and comprobar's output) must contain. comprobar
must agree with the grade: ✅ exactly when the grade is full, unless `hidden_only` says that only
the hidden inputs reveal the bug. Answers are packed into notebooks, at most one per exercise per
notebook, so that one graded notebook checks many answers at once; `effects` names other exercises
whose verdict an answer changes (a model without ReLU also fails the trained-accuracy exercise).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    name: str
    exercise: str
    code: str
    verdict: str  # "full", "partial", "zero"
    message: str = ""
    hidden_only: bool = False
    effects: dict[str, str] = field(default_factory=dict)  # other exercise -> its verdict in this notebook


def verdict_of(score: float, max_score: float) -> str:
    """An Answer's verdict for a grade: "full", "zero" or "partial"."""
    return "full" if score == max_score else "zero" if score == 0 else "partial"


def _function(name: str, body: str, args: str) -> str:
    lines = "\n".join(f"    {line}" for line in body.strip().splitlines())
    return f"def {name}({args}):\n{lines}\n"


def pinv(body: str) -> str:
    return _function("pseudoinversa", body, "A")


def suma(body: str) -> str:
    return _function("suma_segura", body, "a, b")


def columna(body: str) -> str:
    return _function("primera_columna", body, "m")


def forma(filas: str = "return m.view(-1, 8)", aplanar: str = "return m.t().reshape(-1)") -> str:
    return _function("filas_de_ocho", filas, "m") + "\n\n" + _function("aplanar_traspuesta", aplanar, "m")


def normalizar(body: str) -> str:
    return _function("normalizar", body, "m")


def modulo(body: str) -> str:
    return _function("modulo", body, "x, y")


def nombre(body: str) -> str:
    return _function("nombre_operacion", body, "t")


def gradiente(body: str) -> str:
    return _function("gradiente", body, "x")


def sin_gradiente(body: str) -> str:
    return _function("cuadrado_sin_gradiente", body, "x")


def difusion(centrar: str = "return m - m.mean(dim=0)", normalizar: str = "return m / m.sum(dim=1, keepdim=True)",
             tabla: str = "return a[:, None] + b[None, :]") -> str:
    return "\n\n".join((_function("centrar_columnas", centrar, "m"), _function("normalizar_filas", normalizar, "m"),
                        _function("tabla_de_sumas", tabla, "a, b")))


def puente(compartido: str = "return torch.from_numpy(a)", copia: str = "return torch.tensor(a)",
           a_numpy: str = "return t.detach().cpu().numpy()") -> str:
    return "\n\n".join((_function("a_tensor_compartido", compartido, "a"), _function("a_tensor_copia", copia, "a"),
                        _function("a_numpy", a_numpy, "t")))


def dispositivo(elegir: str, mover: str = "return t.to(elegir_dispositivo())") -> str:
    return _function("elegir_dispositivo", elegir, "") + "\n\n" + _function("mover", mover, "t")


CUDA_OR_CPU = 'torch.device("cuda" if torch.cuda.is_available() else "cpu")'

LAB00: tuple[Answer, ...] = (
    # pinv
    Answer("pinv-scipy", "pinv", pinv("return torch.from_numpy(scipy.linalg.pinv(A.numpy()))"), "full"),
    Answer("pinv-numpy", "pinv", pinv("return torch.tensor(np.linalg.pinv(A.numpy()))"), "full"),
    Answer("pinv-normal-equations", "pinv", pinv("return torch.linalg.inv(A.T @ A) @ A.T"), "partial", "Moore-Penrose"),
    Answer("pinv-returns-numpy", "pinv", pinv("return scipy.linalg.pinv(A.numpy())"), "partial", "torch.Tensor"),
    Answer("pinv-transpose", "pinv", pinv("return A.T"), "partial", "Moore-Penrose"),
    Answer("pinv-inverse", "pinv", pinv("return torch.linalg.inv(A)"), "zero", "square matrices"),
    # tensor_aleatorio
    Answer("aleatorio-randn", "tensor_aleatorio", "aleatorio = torch.randn(5, 3)", "partial", "uniformes en [0, 1)"),
    Answer("aleatorio-transposed", "tensor_aleatorio", "aleatorio = torch.rand(3, 5)", "partial", "debe ser 5x3"),
    Answer("aleatorio-float64", "tensor_aleatorio", "aleatorio = torch.rand((5, 3), dtype=torch.float64)", "full"),
    Answer("aleatorio-numpy", "tensor_aleatorio", "aleatorio = np.random.rand(5, 3)", "zero", "torch.Tensor"),
    Answer("aleatorio-arange", "tensor_aleatorio", "aleatorio = torch.arange(15.).view(5, 3) / 15", "partial",
           "torch.rand"),
    Answer("aleatorio-half-range", "tensor_aleatorio", "aleatorio = torch.rand(5, 3) * 0.5", "partial", "torch.rand"),
    Answer("aleatorio-randint", "tensor_aleatorio", "aleatorio = torch.randint(0, 2, (5, 3))", "partial", "torch.rand"),
    # ceros_enteros
    Answer("ceros-float", "ceros_enteros", "ceros = torch.zeros(5, 3)", "partial", "torch.long"),
    Answer("ceros-int32", "ceros_enteros", "ceros = torch.zeros(5, 3, dtype=torch.int)", "partial", "32 bits"),
    Answer("ceros-int64-tuple", "ceros_enteros", "ceros = torch.zeros((5, 3), dtype=torch.int64)", "full"),
    Answer("ceros-long-method", "ceros_enteros", "ceros = torch.zeros(5, 3).long()", "full"),
    # tensor_de_datos
    Answer("datos-shape-0", "tensor_de_datos", "datos = torch.tensor([[5.5, 3, 3], [2, 1, 5], [3, 4, 2], [7, 6, 5], "
           "[2, 1, 2]])\nforma_datos = datos.shape[0]", "partial", "forma_datos"),
    Answer("datos-integers", "tensor_de_datos", "datos = torch.tensor([[5, 3, 3], [2, 1, 5], [3, 4, 2], [7, 6, 5], "
           "[2, 1, 2]])\nforma_datos = datos.shape", "partial", "coma flotante"),
    Answer("datos-size", "tensor_de_datos", "datos = torch.tensor([[5.5, 3, 3], [2, 1, 5], [3, 4, 2], [7, 6, 5], "
           "[2, 1, 2]])\nforma_datos = datos.size()", "full"),
    Answer("datos-tuple", "tensor_de_datos", "datos = torch.tensor([[5.5, 3, 3], [2, 1, 5], [3, 4, 2], [7, 6, 5], "
           "[2, 1, 2]])\nforma_datos = tuple(datos.shape)", "full"),
    # suma_segura
    Answer("suma-no-try", "suma_segura", suma("return a + b"), "partial", "RuntimeError"),
    Answer("suma-equal-shapes-only", "suma_segura", suma("if a.shape != b.shape:\n    return None\nreturn a + b"),
           "partial", "difusión"),
    Answer("suma-any-exception", "suma_segura", suma("try:\n    return a + b\nexcept Exception:\n    return None"), "full"),
    Answer("suma-torch-add", "suma_segura", suma("try:\n    return torch.add(a, b)\nexcept RuntimeError:\n    return None"),
           "full"),
    # difusion
    Answer("difusion-global-mean", "difusion", difusion(centrar="return m - m.mean()"), "partial", "toda la matriz"),
    Answer("difusion-row-mean", "difusion", difusion(centrar="return m - m.mean(dim=1, keepdim=True)"), "partial",
           "cada fila"),
    Answer("difusion-no-keepdim", "difusion", difusion(normalizar="return m / m.sum(dim=1)"), "partial", "keepdim=True"),
    Answer("difusion-column-sums", "difusion", difusion(normalizar="return m / m.sum(dim=0, keepdim=True)"), "partial",
           "suma de cada columna"),
    Answer("difusion-elementwise-table", "difusion", difusion(tabla="return a + b"), "partial", "a[:, None]"),
    Answer("difusion-transposed-table", "difusion", difusion(tabla="return b[:, None] + a[None, :]"), "partial",
           "traspuesta"),
    # only the hidden inputs (a of 5 and 1 elements) reveal a column of three
    Answer("difusion-hardcoded-column", "difusion", difusion(tabla="return a.view(3, 1) + b"), "partial",
           "caso oculto", hidden_only=True),
    Answer("difusion-unsqueeze", "difusion", difusion(centrar="return m - m.mean(dim=0, keepdim=True)",
                                                      normalizar="return m / m.sum(1).unsqueeze(1)",
                                                      tabla="return a.unsqueeze(1) + b"), "full"),
    Answer("difusion-loops", "difusion", difusion(tabla="return torch.stack([a[i] + b for i in range(len(a))])"), "full"),
    # primera_columna
    Answer("columna-first-row", "primera_columna", columna("return m[0]"), "zero", "m[:, 0]"),
    Answer("columna-second", "primera_columna", columna("return m[:, 1]"), "zero", "se indexa desde 0"),
    Answer("columna-keepdim", "primera_columna", columna("return m[:, :1]"), "zero", "m[:, :1]"),
    Answer("columna-select", "primera_columna", columna("return m.select(1, 0)"), "full"),
    Answer("columna-transpose", "primera_columna", columna("return m.T[0]"), "full"),
    # cambiar_forma
    Answer("forma-hardcoded-2x8", "cambiar_forma", forma(filas="return m.view(2, 8)"), "partial", "RuntimeError"),
    Answer("forma-copy", "cambiar_forma", forma(filas="return m.clone().view(-1, 8)"), "partial", "vista"),
    Answer("forma-flatten-untransposed", "cambiar_forma", forma(aplanar="return m.flatten()"), "partial", "traspuesta"),
    Answer("forma-view-transposed", "cambiar_forma", forma(aplanar="return m.t().view(-1)"), "partial", "RuntimeError"),
    Answer("forma-reshape", "cambiar_forma", forma(filas="return m.reshape(-1, 8)",
                                                   aplanar="return m.t().contiguous().view(-1)"), "full"),
    Answer("forma-T-flatten", "cambiar_forma", forma(aplanar="return m.T.flatten()"), "full"),
    # normalizar
    Answer("normalizar-population-std", "normalizar", normalizar("return (m - m.mean()) / m.std(correction=0)"), "full"),
    Answer("normalizar-variance", "normalizar", normalizar("return (m - m.mean()) / m.var()"), "partial", "desviación"),
    Answer("normalizar-per-column", "normalizar", normalizar("return (m - m.mean(0)) / m.std(0)"), "partial",
           "todos los elementos"),
    Answer("normalizar-centre-only", "normalizar", normalizar("return m - m.mean()"), "partial", "desviación"),
    # modulo
    Answer("modulo-hypot", "modulo", modulo("return torch.hypot(x, y)"), "full"),
    Answer("modulo-power", "modulo", modulo("return (x**2 + y**2) ** 0.5"), "full"),
    Answer("modulo-forgot-square", "modulo", modulo("return torch.sqrt(x**2 + y)"), "zero", "√(x² + y²)"),
    Answer("modulo-numpy", "modulo", modulo("return np.sqrt(x.detach().numpy()**2 + y.detach().numpy()**2)"), "zero",
           "torch.Tensor"),
    Answer("modulo-detached", "modulo", modulo("return torch.sqrt(x**2 + y**2).detach()"), "partial", "autograd"),
    # grad_fn
    Answer("grad-fn-str", "grad_fn", nombre("return str(t.grad_fn)"), "zero", "AddBackward0"),
    Answer("grad-fn-no-none", "grad_fn", nombre("return type(t.grad_fn).__name__"), "partial", "None"),
    Answer("grad-fn-name-method", "grad_fn", nombre("return t.grad_fn.name() if t.grad_fn is not None else None"), "full"),
    # backward
    Answer("backward-sum", "backward", gradiente("x = x.detach().clone().requires_grad_(True)\n"
                                                 "(3 * (x + 2) ** 2).sum().backward()\nreturn x.grad"), "partial",
           "falta la media"),
    Answer("backward-modifies-x", "backward", gradiente("x.requires_grad_(True)\n(3 * (x + 2) ** 2).mean().backward()\n"
                                                       "return x.grad"), "partial", "no modifiques"),
    Answer("backward-formula", "backward", gradiente("return 6 * (x + 2) / x.numel()"), "partial", "autograd"),
    Answer("backward-autograd-grad", "backward", gradiente("x = x.clone().requires_grad_(True)\n"
                                                           "return torch.autograd.grad((3 * (x + 2) ** 2).mean(), x)[0]"),
           "full"),
    # no_grad (the set_grad_enabled mistake must not cost points in the exercises after it)
    Answer("no-grad-set-enabled", "no_grad", sin_gradiente("torch.set_grad_enabled(False)\nreturn x**2"), "partial",
           "set_grad_enabled"),
    Answer("no-grad-detach", "no_grad", sin_gradiente("return x.detach() ** 2"), "partial", "desactivar el cálculo"),
    Answer("no-grad-forgotten", "no_grad", sin_gradiente("return x**2"), "partial", "torch.no_grad()"),
    # puente_numpy
    Answer("puente-shared-is-a-copy", "puente_numpy", puente(compartido="return torch.tensor(a)"), "partial",
           "no comparte la memoria"),
    Answer("puente-copy-is-shared", "puente_numpy", puente(copia="return torch.from_numpy(a)"), "partial",
           "comparte su memoria"),
    Answer("puente-copy-Tensor", "puente_numpy", puente(copia="return torch.Tensor(a)"), "partial",
           "torch.Tensor(a) convierte"),
    Answer("puente-shared-float", "puente_numpy", puente(compartido="return torch.from_numpy(a).float()"), "partial",
           "convertir el tipo"),
    # only the hidden inputs (float32 and integer arrays) reveal that .double() copies them
    Answer("puente-shared-double", "puente_numpy", puente(compartido="return torch.from_numpy(a).double()"), "partial",
           "caso oculto", hidden_only=True),
    Answer("puente-numpy-without-detach", "puente_numpy", puente(a_numpy="return t.numpy()"), "partial", "detach"),
    Answer("puente-numpy-returns-tensor", "puente_numpy", puente(a_numpy="return t.detach()"), "partial",
           "array de NumPy"),
    Answer("puente-alternatives", "puente_numpy", puente(compartido="return torch.as_tensor(a)",
                                                         copia="return torch.from_numpy(a).clone()",
                                                         a_numpy="return np.array(t.tolist())"), "full"),
    # dispositivo
    Answer("dispositivo-string", "dispositivo", dispositivo('return "cuda" if torch.cuda.is_available() else "cpu"'),
           "partial", "torch.device"),
    Answer("dispositivo-always-cuda", "dispositivo", dispositivo(f"return {CUDA_OR_CPU}", mover="return t.cuda()"),
           "partial", "CUDA"),
    Answer("dispositivo-cpu-identity", "dispositivo", dispositivo('return torch.device("cpu")', mover="return t"),
           "zero", "elegir_dispositivo"),
    Answer("dispositivo-cuda0", "dispositivo", dispositivo('return torch.device("cuda:0" if torch.cuda.is_available() '
                                                           'else "cpu")'), "full"),
)


def notebooks(answers: Sequence[Answer]) -> list[dict[str, Answer]]:
    """Answers packed into notebooks, at most one per exercise each, answers with effects alone."""
    lonely = [{a.exercise: a} for a in answers if a.effects]
    by_exercise: dict[str, list[Answer]] = defaultdict(list)
    for answer in answers:
        if not answer.effects:
            by_exercise[answer.exercise].append(answer)
    packed = [{exercise: found[index] for exercise, found in by_exercise.items() if index < len(found)}
              for index in range(max((len(v) for v in by_exercise.values()), default=0))]
    return packed + lonely


SPLIT = ("X_resto, X_pru, y_resto, y_pru = train_test_split(X, y, test_size=0.2, random_state=SEMILLA, stratify=y)\n"
         "X_ent, X_val, y_ent, y_val = train_test_split(X_resto, y_resto, test_size=0.25, random_state=SEMILLA, "
         "stratify=y_resto)")
RIGHT_SCALING = ("escalador = StandardScaler()\n"
                 "X_entrenamiento = torch.tensor(escalador.fit_transform(X_ent), dtype=torch.float32)\n"
                 "X_validacion = torch.tensor(escalador.transform(X_val), dtype=torch.float32)\n"
                 "X_prueba = torch.tensor(escalador.transform(X_pru), dtype=torch.float32)")
LABELS = ("y_entrenamiento = torch.tensor(y_ent, dtype=torch.long)\ny_validacion = torch.tensor(y_val, dtype=torch.long)\n"
          "y_prueba = torch.tensor(y_pru, dtype=torch.long)\n")


def datos(*, scaling: str = RIGHT_SCALING, split: str = SPLIT) -> str:
    return f"{split}\n{scaling}\n{LABELS}"


def model(body: str) -> str:
    return _function("crear_modelo", body, "entradas, ocultas, clases")


def accuracy(body: str) -> str:
    return _function("exactitud", body, "logits, etiquetas")


def epoch(body: str) -> str:
    return _function("entrenar_una_epoca", body, "modelo, cargador, funcion_perdida, optimizador, dispositivo")


EPOCH_LOOP = """modelo.train()
total = 0.0
ultima = 0.0
for xb, yb in cargador:
    xb, yb = xb.to(dispositivo), yb.to(dispositivo)
    perdida = funcion_perdida(modelo(xb), yb)
{zero_grad}    perdida.backward()
    optimizador.step()
{after_step}    total += perdida.item()
    ultima = perdida.item()
return {result}
"""


def epoch_loop(*, zero_grad: str = "    optimizador.zero_grad()\n", after_step: str = "", result: str = "total / len(cargador)",
               train: bool = True) -> str:
    body = EPOCH_LOOP.format(zero_grad=zero_grad, after_step=after_step, result=result)
    return epoch(body if train else body.replace("modelo.train()\n", ""))


RELU_MLP = "nn.Linear(entradas, ocultas), {a1}nn.Linear(ocultas, ocultas), {a2}nn.Linear(ocultas, clases){end}"


def sequential(*, a1: str = "nn.ReLU(), ", a2: str = "nn.ReLU(), ", end: str = "") -> str:
    return model("return nn.Sequential(" + RELU_MLP.format(a1=a1, a2=a2, end=end) + ")")


CLASS_MLP = model("""class Perceptron(nn.Module):
    def __init__(self):
        super().__init__()
        self.capa1 = nn.Linear(entradas, ocultas)
        self.capa2 = nn.Linear(ocultas, ocultas)
        self.salida = nn.Linear(ocultas, clases)

    def forward(self, x):
        return self.salida(torch.relu(self.capa2(torch.relu(self.capa1(x)))))

return Perceptron()""")

FINAL = "exactitud_prueba"
# One mistake, one deduction: an answer whose mistake must not cost the exercises that use its function.
NOT_CHARGED_TWICE = {"modelo-one-hidden-layer": ("guardar_cargar",), "modelo-64-inputs": ("guardar_cargar",),
                     "exactitud-tensor": ("evaluar",), "exactitud-dim-0": ("evaluar",), "exactitud-count": ("evaluar",)}

def evaluation(body: str) -> str:
    return _function("evaluar", body, "modelo, X, y, funcion_perdida, dispositivo")


EVALUATION = """{mode}with {context}:
    X, y = X.to(dispositivo), y.to(dispositivo)
    logits = modelo(X)
    return {result}
"""


def evaluation_body(*, mode: str = "modelo.eval()\n", context: str = "torch.no_grad()",
                    result: str = "funcion_perdida(logits, y).item(), exactitud(logits, y)") -> str:
    return evaluation(EVALUATION.format(mode=mode, context=context, result=result))


def confusion(body: str) -> str:
    return _function("matriz_confusion", body, "predicciones, etiquetas, clases")


def saving(*, guardar: str = "torch.save(modelo.state_dict(), ruta)",
           cargar: str = "modelo = crear_modelo(entradas, ocultas, clases)\n"
                         "modelo.load_state_dict(torch.load(ruta, map_location='cpu', weights_only=True))\n"
                         "modelo.eval()\nreturn modelo") -> str:
    return _function("guardar", guardar, "modelo, ruta") + "\n\n" + _function("cargar", cargar,
                                                                              "ruta, entradas, ocultas, clases")


FRESH_MODEL = "modelo = crear_modelo(entradas, ocultas, clases)\n"

LAB01: tuple[Answer, ...] = (
    # datos
    Answer("datos-test-own-statistics", "datos", datos(scaling=RIGHT_SCALING.replace("escalador.transform(X_pru)",
                                                                                       "StandardScaler().fit_transform(X_pru)")),
           "partial", "su propia media"),
    Answer("datos-no-stratify", "datos", datos(split=SPLIT.replace(", stratify=y)", ")")), "partial", "stratify"),
    Answer("datos-validation-20-of-the-rest", "datos", datos(split=SPLIT.replace("test_size=0.25", "test_size=0.2")),
           "partial", "1077 / 360 / 360"),
    Answer("datos-scaled-before-split", "datos",
           "X = StandardScaler().fit_transform(X)\n" + datos(scaling=RIGHT_SCALING.replace("escalador.fit_transform(X_ent)",
                                                                                          "X_ent").replace(
               "escalador.transform(X_val)", "X_val").replace("escalador.transform(X_pru)", "X_pru")),
           "partial", "fit_transform"),
    Answer("datos-scaler-fitted-with-validation", "datos", datos(scaling=RIGHT_SCALING.replace(
        "escalador = StandardScaler()", "escalador = StandardScaler().fit(X_resto)").replace(
        "escalador.fit_transform(X_ent)", "escalador.transform(X_ent)")), "partial", "sin los datos de validación"),
    Answer("datos-manual-standardisation", "datos", datos(scaling=(
        "media, desviacion = X_ent.mean(0), X_ent.std(0)\ndesviacion[desviacion == 0] = 1\n"
        "X_entrenamiento = torch.tensor((X_ent - media) / desviacion, dtype=torch.float32)\n"
        "X_validacion = torch.tensor((X_val - media) / desviacion, dtype=torch.float32)\n"
        "X_prueba = torch.tensor((X_pru - media) / desviacion, dtype=torch.float32)")), "full"),
    # cargador
    Answer("cargador-not-shuffled", "cargador", "cargador_entrenamiento = DataLoader(TensorDataset(X_entrenamiento, "
           "y_entrenamiento), batch_size=TAM_LOTE)", "partial", "shuffle=True"),
    Answer("cargador-batch-32", "cargador", "cargador_entrenamiento = DataLoader(TensorDataset(X_entrenamiento, "
           "y_entrenamiento), batch_size=32, shuffle=True)", "partial", "TAM_LOTE"),
    Answer("cargador-drop-last", "cargador", "cargador_entrenamiento = DataLoader(TensorDataset(X_entrenamiento, "
           "y_entrenamiento), batch_size=TAM_LOTE, shuffle=True, drop_last=True)", "partial", "drop_last"),
    Answer("cargador-zero-labels", "cargador", "cargador_entrenamiento = DataLoader(TensorDataset(X_entrenamiento, "
           "torch.zeros_like(y_entrenamiento)), batch_size=TAM_LOTE, shuffle=True)", "partial", "su etiqueta",
           effects={FINAL: "zero"}),
    Answer("cargador-positional", "cargador", "cargador_entrenamiento = DataLoader(TensorDataset(X_entrenamiento, "
           "y_entrenamiento), TAM_LOTE, True)", "full"),
    # modelo (guardar_cargar gets a stand-in for crear_modelo: a wrong modelo costs points only here)
    Answer("modelo-one-relu", "modelo", sequential(a2=""), "partial", "segunda capa oculta",
           effects={FINAL: "zero"}),
    Answer("modelo-softmax", "modelo", sequential(end=", nn.Softmax(dim=1)"), "partial", "Softmax",
           effects={FINAL: "full"}),
    Answer("modelo-one-hidden-layer", "modelo", model("return nn.Sequential(nn.Linear(entradas, ocultas), nn.ReLU(), "
                                                      "nn.Linear(ocultas, clases))"), "partial", "tres nn.Linear",
           effects={FINAL: "zero"}),
    Answer("modelo-64-inputs", "modelo", model("return nn.Sequential(nn.Linear(64, ocultas), nn.ReLU(), "
                                               "nn.Linear(ocultas, ocultas), nn.ReLU(), nn.Linear(ocultas, clases))"),
           "zero", "20→16"),
    Answer("modelo-tanh", "modelo", sequential(a1="nn.Tanh(), ", a2="nn.Tanh(), "), "partial", "nn.ReLU",
           effects={FINAL: "zero"}),
    Answer("modelo-class", "modelo", CLASS_MLP, "full"),
    # exactitud (evaluar gets a stand-in for it: a wrong exactitud costs points only here)
    Answer("exactitud-tensor", "exactitud", accuracy("return (logits.argmax(dim=1) == etiquetas).float().mean()"),
           "partial", ".item()"),
    # the training cell's own accuracy call fails too, after the first epoch
    Answer("exactitud-dim-0", "exactitud", accuracy("return (logits.argmax(dim=0) == etiquetas).float().mean().item()"),
           "zero", "RuntimeError", effects={FINAL: "zero"}),
    Answer("exactitud-count", "exactitud", accuracy("return float((logits.argmax(dim=1) == etiquetas).sum())"),
           "partial", "número de aciertos"),
    Answer("exactitud-float-mean", "exactitud", accuracy("return float(torch.mean((logits.argmax(1) == etiquetas).float()))"),
           "full"),
    # entrenar_una_epoca
    Answer("epoca-no-zero-grad", "entrenar_una_epoca", epoch_loop(zero_grad=""), "partial", "zero_grad",
           effects={FINAL: "zero"}),
    Answer("epoca-last-batch-loss", "entrenar_una_epoca", epoch_loop(result="ultima"), "partial", "último lote"),
    Answer("epoca-no-train-mode", "entrenar_una_epoca", epoch_loop(train=False), "partial", "modelo.train()"),
    Answer("epoca-sum-of-losses", "entrenar_una_epoca", epoch_loop(result="total"), "partial", "suma de las pérdidas"),
    Answer("epoca-zero-grad-after-step", "entrenar_una_epoca", epoch_loop(zero_grad="",
                                                                          after_step="    optimizador.zero_grad()\n"),
           "full"),
    Answer("epoca-no-move", "entrenar_una_epoca", epoch(EPOCH_LOOP.format(
        zero_grad="    optimizador.zero_grad()\n", after_step="", result="total / len(cargador)").replace(
        "    xb, yb = xb.to(dispositivo), yb.to(dispositivo)\n", "")), "partial", "x.to(dispositivo)"),
    Answer("epoca-cpu-move", "entrenar_una_epoca", epoch(EPOCH_LOOP.format(
        zero_grad="    optimizador.zero_grad()\n", after_step="", result="total / len(cargador)").replace(
        "xb.to(dispositivo), yb.to(dispositivo)", "xb.cpu(), yb.cpu()")), "partial", "no .cpu()"),
    # evaluar
    Answer("evaluar-no-move", "evaluar", evaluation(EVALUATION.format(
        mode="modelo.eval()\n", context="torch.no_grad()",
        result="funcion_perdida(logits, y).item(), exactitud(logits, y)").replace(
        "    X, y = X.to(dispositivo), y.to(dispositivo)\n", "")), "partial", "X.to(dispositivo)"),
    Answer("evaluar-no-eval", "evaluar", evaluation_body(mode=""), "partial", "modelo.eval()"),
    Answer("evaluar-with-gradient", "evaluar", evaluation_body(context="torch.enable_grad()"), "partial",
           "torch.no_grad()"),
    Answer("evaluar-tensors", "evaluar", evaluation_body(result="funcion_perdida(logits, y), exactitud(logits, y)"),
           "partial", ".item()"),
    Answer("evaluar-swapped", "evaluar", evaluation_body(result="exactitud(logits, y), funcion_perdida(logits, y).item()"),
           "partial", "primero la exactitud"),
    Answer("evaluar-inference-mode", "evaluar", evaluation_body(mode="modelo.train(False)\n",
                                                                 context="torch.inference_mode()"), "full"),
    # exactitud_prueba
    Answer("final-untrained", FINAL, "torch.manual_seed(SEMILLA)\nmodelo = crear_modelo(64, NEURONAS_OCULTAS, 10)"
           ".to(dispositivo)\nfuncion_perdida = nn.CrossEntropyLoss()\n"
           "historia = {'perdida': [], 'perdida_validacion': [], 'exactitud_validacion': []}", "zero",
           "y debe llegar al"),  # the grade measures the test set, comprobar the validation set
    # matriz_confusion
    Answer("confusion-transposed", "matriz_confusion", confusion(
        "return torch.bincount(predicciones * clases + etiquetas, minlength=clases * clases).view(clases, clases)"),
        "partial", "traspuesta"),
    Answer("confusion-no-minlength", "matriz_confusion", confusion(
        "return torch.bincount(etiquetas * clases + predicciones).view(clases, clases)"), "zero", "minlength"),
    Answer("confusion-normalised", "matriz_confusion", confusion(
        "m = torch.bincount(etiquetas * clases + predicciones, minlength=clases * clases).view(clases, clases)\n"
        "return m / m.sum(dim=1, keepdim=True)"), "partial", "sin normalizar"),
    Answer("confusion-numpy", "matriz_confusion", confusion(
        "from sklearn.metrics import confusion_matrix\n"
        "return confusion_matrix(etiquetas, predicciones, labels=list(range(clases)))"), "partial", "torch.Tensor"),
    Answer("confusion-sklearn", "matriz_confusion", confusion(
        "from sklearn.metrics import confusion_matrix\n"
        "return torch.as_tensor(confusion_matrix(etiquetas, predicciones, labels=list(range(clases))))"), "full"),
    Answer("confusion-loop", "matriz_confusion", confusion(
        "m = torch.zeros(clases, clases, dtype=torch.long)\nfor verdad, prediccion in zip(etiquetas, predicciones):\n"
        "    m[verdad, prediccion] += 1\nreturn m"), "full"),
    # guardar_cargar (saving the whole model needs a class pickle can find: not with modelo-class, packed first)
    Answer("cargar-without-loading", "guardar_cargar", saving(cargar=FRESH_MODEL + "modelo.eval()\nreturn modelo"),
           "partial", "load_state_dict"),
    Answer("guardar-whole-model", "guardar_cargar", saving(
        guardar="torch.save(modelo, ruta)",
        cargar="modelo = torch.load(ruta, weights_only=False)\nmodelo.eval()\nreturn modelo"), "partial", "state_dict"),
    Answer("cargar-returns-load-result", "guardar_cargar", saving(
        cargar=FRESH_MODEL + "return modelo.load_state_dict(torch.load(ruta))"), "partial", "nn.Module"),
    Answer("cargar-train-mode", "guardar_cargar", saving(
        cargar=FRESH_MODEL + "modelo.load_state_dict(torch.load(ruta))\nreturn modelo"), "partial", "modo evaluación"),
    Answer("guardar-cpu-copies", "guardar_cargar", saving(
        guardar="torch.save({nombre: t.cpu() for nombre, t in modelo.state_dict().items()}, ruta)",
        cargar=FRESH_MODEL + "modelo.load_state_dict(torch.load(ruta, map_location='cpu'))\nreturn modelo.eval()"),
        "full"),
    Answer("cargar-no-map-location", "guardar_cargar", saving(
        cargar=FRESH_MODEL + "modelo.load_state_dict(torch.load(ruta, weights_only=True))\nreturn modelo.eval()"),
        "partial", "map_location"),
)
