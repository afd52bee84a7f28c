"""Lab 02 (redes convolucionales): answers real students give, with the verdict each must get.

The same `Answer` as tests/answers/wrong_answers.py: each replaces one exercise's solution cell;
`effects` names the other exercises whose verdict it changes in its notebook (a LeNet that cannot run
leaves the trained-model deliverable at zero).
"""

from __future__ import annotations

from tests.answers.wrong_answers import Answer, _function

FINAL = "entregable"


def size(body: str, args: str = "entrada, nucleo, relleno=0, paso=1") -> str:
    return _function("tamano_salida", body, args)


def conv(body: str) -> str:
    return _function("crear_convolucion", body, "canales_entrada, canales_salida, nucleo")


def pool(body: str) -> str:
    return _function("agrupar", body, "x, tamano")


LENET_LAYERS = """self.conv1 = nn.Conv2d(1, 6, 5{padding})
self.conv2 = nn.Conv2d(6, 16, 5)
self.fc1 = nn.Linear({flat}, 120)
self.fc2 = nn.Linear(120, 84)
self.fc3 = nn.Linear(84, 10)"""
LENET_FORWARD = """x = {pool}({act}(self.conv1(x)), 2)
x = {pool}({act}(self.conv2(x)), 2)
x = {flatten}
x = {act}(self.fc1(x))
x = {act}(self.fc2(x))
return {out}"""


def lenet(*, padding: str = "", flat: str = "16 * 5 * 5", pool: str = "F.max_pool2d", act: str = "F.relu",
          flatten: str = "x.flatten(1)", out: str = "self.fc3(x)") -> str:
    layers = "\n        ".join(LENET_LAYERS.format(padding=padding, flat=flat).splitlines())
    forward = "\n        ".join(LENET_FORWARD.format(pool=pool, act=act, flatten=flatten, out=out).splitlines())
    return (f"class LeNet(nn.Module):\n    def __init__(self):\n        super().__init__()\n        {layers}\n\n"
            f"    def forward(self, x):\n        {forward}\n")


LENET_SEQUENTIAL_CLASS = """class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.rasgos = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                                    nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.clasificador = nn.Sequential(nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                                          nn.Linear(84, 10))

    def forward(self, x):
        return self.clasificador(self.rasgos(x))
"""

LENET_FUNCTION = """def LeNet():
    return nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
"""

EPOCH = """modelo.train()
total = 0.0
for x, y in cargador:
{move}
    perdida = funcion_perdida({logits}, y)
{zero_grad}    perdida.backward()
    optimizador.step()
{after_step}    total += perdida.item()
return total / len(cargador)
"""


def epoch(*, move: str = "    x, y = x.to(dispositivo), y.to(dispositivo)", logits: str = "modelo(x)",
          zero_grad: str = "    optimizador.zero_grad()\n", after_step: str = "", train: bool = True) -> str:
    body = EPOCH.format(move=move, logits=logits, zero_grad=zero_grad, after_step=after_step)
    return _function("entrenar_una_epoca", body if train else body.replace("modelo.train()\n", ""),
                     "modelo, cargador, funcion_perdida, optimizador, dispositivo")


EVALUATE = """{mode}perdida_total, aciertos = 0.0, 0
{context}
    for x, y in cargador:
{move}
        logits = modelo(x)
        perdida_total += funcion_perdida(logits, y).item(){weight}
        aciertos += (logits.argmax(dim=1) == y).sum(){item}
ejemplos = {examples}
return perdida_total / ejemplos, aciertos / ejemplos
"""


def evaluate(*, mode: str = "modelo.eval()\n", context: str = "with torch.no_grad():",
             move: str = "        x, y = x.to(dispositivo), y.to(dispositivo)", weight: str = " * len(y)", item: str = ".item()",
             examples: str = "len(cargador.dataset)") -> str:
    body = EVALUATE.format(mode=mode, context=context, move=move, weight=weight, item=item, examples=examples)
    return _function("evaluar", body, "modelo, cargador, funcion_perdida, dispositivo")


SAVE = 'torch.save({{"epoca": epoca, "modelo": {model}, "optimizador": {optimizer}}}, ruta)'
LOAD = """punto = torch.load(ruta, map_location="cpu")
modelo.load_state_dict(punto["modelo"])
optimizador.load_state_dict(punto["optimizador"])
return punto["epoca"]"""


def checkpoint(*, save: str = SAVE.format(model="modelo.state_dict()", optimizer="optimizador.state_dict()"),
               load: str = LOAD) -> str:
    return (_function("guardar_punto_control", save, "modelo, optimizador, epoca, ruta") + "\n\n"
            + _function("cargar_punto_control", load, "modelo, optimizador, ruta"))


TRAINING = """torch.manual_seed(SEMILLA)
modelo = LeNet().to(dispositivo)
funcion_perdida = nn.CrossEntropyLoss()
optimizador = torch.optim.Adam(modelo.parameters(), lr=TASA_APRENDIZAJE)
{loop}"""

LAB02: tuple[Answer, ...] = (
    # tamano_salida
    Answer("tamano-float-division", "tamano_salida", size("return (entrada + 2 * relleno - nucleo) / paso + 1"), "partial",
           "redondea hacia abajo"),
    Answer("tamano-padding-once", "tamano_salida", size("return (entrada + relleno - nucleo) // paso + 1"), "partial",
           "2 · relleno"),
    Answer("tamano-no-defaults", "tamano_salida", size("return (entrada + 2 * relleno - nucleo) // paso + 1",
                                                       args="entrada, nucleo, relleno, paso"), "partial", "por defecto"),
    Answer("tamano-no-plus-one", "tamano_salida", size("return (entrada + 2 * relleno - nucleo) // paso"), "zero",
           "falta el + 1"),
    Answer("tamano-int-of-division", "tamano_salida", size("return int((entrada + 2 * relleno - nucleo) / paso) + 1"), "full"),
    Answer("tamano-math-floor", "tamano_salida", size("return math.floor((entrada + 2 * relleno - nucleo) / paso) + 1")
           .replace("def ", "import math\n\n\ndef ", 1), "full"),
    # convolucion
    Answer("convolucion-no-padding", "convolucion", conv("return nn.Conv2d(canales_entrada, canales_salida, nucleo)"),
           "partial", "padding=nucleo // 2"),
    Answer("convolucion-channels-swapped", "convolucion",
           conv("return nn.Conv2d(canales_salida, canales_entrada, nucleo, padding=nucleo // 2)"), "zero", "al revés"),
    Answer("convolucion-padding-1", "convolucion", conv("return nn.Conv2d(canales_entrada, canales_salida, nucleo, padding=1)"),
           "partial", "padding=nucleo // 2"),
    Answer("convolucion-reflect", "convolucion", conv("return nn.Conv2d(canales_entrada, canales_salida, nucleo, "
                                                      "padding=nucleo // 2, padding_mode='reflect')"), "full"),
    Answer("convolucion-same", "convolucion", conv('return nn.Conv2d(canales_entrada, canales_salida, nucleo, padding="same")'),
           "full"),
    # agrupar
    Answer("agrupar-stride-1", "agrupar", pool("return F.max_pool2d(x, tamano, stride=1)"), "zero", "no se solapan"),
    Answer("agrupar-average", "agrupar", pool("return F.avg_pool2d(x, tamano)"), "partial", "la media"),
    Answer("agrupar-fixed-2", "agrupar", pool("return nn.MaxPool2d(2)(x)"), "zero", "no 2"),
    Answer("agrupar-ceil-mode", "agrupar", pool("return F.max_pool2d(x, tamano, ceil_mode=True)"), "zero",
           "redondea hacia abajo"),
    Answer("agrupar-module", "agrupar", pool("return nn.MaxPool2d(kernel_size=tamano, stride=tamano)(x)"), "full"),
    # lenet
    Answer("lenet-flatten-size", "lenet", lenet(flat="16 * 4 * 4"), "zero", "16·5·5 = 400", effects={FINAL: "zero"}),
    Answer("lenet-padding", "lenet", lenet(padding=", padding=2", flat="16 * 6 * 6"), "partial", "relleno",
           effects={FINAL: "zero"}),
    Answer("lenet-flatten-batch", "lenet", lenet(flatten="x.flatten()"), "partial", "mat1 and mat2",
           effects={FINAL: "zero"}),
    Answer("lenet-softmax", "lenet", lenet(out="F.softmax(self.fc3(x), dim=1)"), "partial", "softmax"),
    Answer("lenet-average-pooling", "lenet", lenet(pool="F.avg_pool2d"), "partial", "agrupamiento máximo"),
    Answer("lenet-no-relu", "lenet", lenet(act=""), "partial", "faltan las ReLU", effects={FINAL: "zero"}),
    Answer("lenet-tanh", "lenet", lenet(act="torch.tanh"), "partial", "no tanh", effects={FINAL: "zero"}),
    Answer("lenet-function", "lenet", LENET_FUNCTION, "zero", "clase"),
    Answer("lenet-sequential-attributes", "lenet", LENET_SEQUENTIAL_CLASS, "full"),
    Answer("lenet-view", "lenet", lenet(flatten="x.view(-1, 16 * 5 * 5)", act="torch.relu"), "full"),
    # entrenar_una_epoca
    Answer("epoca-no-zero-grad", "entrenar_una_epoca", epoch(zero_grad=""), "partial", "zero_grad", effects={FINAL: "zero"}),
    Answer("epoca-softmax-before-loss", "entrenar_una_epoca", epoch(logits="torch.softmax(modelo(x), dim=1)"), "partial",
           "no apliques softmax"),
    Answer("epoca-to-not-assigned", "entrenar_una_epoca", epoch(move="    x.to(dispositivo)\n    y.to(dispositivo)"),
           "partial", "guarda el resultado"),
    Answer("epoca-labels-not-moved", "entrenar_una_epoca", epoch(move="    x = x.to(dispositivo)"), "partial",
           "guarda el resultado"),
    Answer("epoca-cpu-not-device", "entrenar_una_epoca", epoch(move="    x, y = x.cpu(), y.cpu()"), "partial",
           "guarda el resultado"),
    Answer("epoca-no-train-mode", "entrenar_una_epoca", epoch(train=False), "partial", "modelo.train()"),
    Answer("epoca-zero-grad-after-step", "entrenar_una_epoca", epoch(zero_grad="", after_step="    optimizador.zero_grad()\n"),
           "full"),
    Answer("epoca-non-blocking", "entrenar_una_epoca",
           epoch(move="    x, y = x.to(dispositivo, non_blocking=True), y.to(dispositivo, non_blocking=True)"), "full"),
    # evaluar
    Answer("evaluar-no-eval", "evaluar", evaluate(mode=""), "partial", "modelo.eval()"),
    Answer("evaluar-no-no-grad", "evaluar", evaluate(context="if True:"), "partial", "torch.no_grad()"),
    Answer("evaluar-mean-of-batch-means", "evaluar", evaluate(weight="", examples="len(cargador)")
           .replace("aciertos += (logits.argmax(dim=1) == y).sum().item()",
                    "aciertos += (logits.argmax(dim=1) == y).float().mean().item()"), "partial", "el último lote"),
    Answer("evaluar-data-not-moved", "evaluar", evaluate(move="        pass"), "partial", "guarda el resultado"),
    Answer("evaluar-tensor-accuracy", "evaluar", evaluate(item=""), "partial", "debe ser un float"),
    Answer("evaluar-cpu-not-device", "evaluar", evaluate(move="        x, y = x.cpu(), y.cpu()"), "partial",
           "guarda el resultado"),
    Answer("evaluar-inference-mode", "evaluar", evaluate(context="with torch.inference_mode():"), "full"),
    # punto_control
    Answer("punto-whole-model", "punto_control",
           checkpoint(save=SAVE.format(model="modelo", optimizer="optimizador.state_dict()")), "partial", "objeto entero"),
    Answer("punto-without-optimizer", "punto_control",
           checkpoint(save='torch.save({"epoca": epoca, "modelo": modelo.state_dict()}, ruta)',
                      load=LOAD.replace('optimizador.load_state_dict(punto["optimizador"])\n', "")), "partial",
           "optimizador"),
    Answer("punto-returns-nothing", "punto_control", checkpoint(load=LOAD.replace('return punto["epoca"]', "punto['epoca']")),
           "partial", "devolver la época"),
    Answer("punto-state-dict-only", "punto_control",
           checkpoint(save="torch.save(modelo.state_dict(), ruta)",
                      load='modelo.load_state_dict(torch.load(ruta))\nreturn 0'), "zero", "diccionario",
           effects={FINAL: "partial"}),
    Answer("punto-no-map-location", "punto_control", checkpoint(load=LOAD.replace('map_location="cpu"',
                                                                                  "weights_only=True")),
           "partial", "map_location"),
    Answer("punto-weights-only-explicit", "punto_control",
           checkpoint(load=LOAD.replace('map_location="cpu"', 'map_location="cpu", weights_only=True')), "full"),
    # entregable
    Answer("entregable-untrained", FINAL, TRAINING.format(loop="mejor_epoca = 1\nhistoria = None"), "zero",
           "y debe llegar al"),  # the grade measures the test set, comprobar the validation set
    Answer("entregable-one-epoch", FINAL, TRAINING.format(
        loop="entrenar_una_epoca(modelo, cargador_entrenamiento, funcion_perdida, optimizador, dispositivo)"), "zero",
           "y debe llegar al"),  # the grade measures the test set, comprobar the validation set
    Answer("entregable-sgd-no-checkpoint", FINAL, TRAINING.format(loop=(
        "optimizador = torch.optim.SGD(modelo.parameters(), lr=0.05, momentum=0.9)\n"
        "for epoca in range(1, EPOCAS + 1):\n"
        "    entrenar_una_epoca(modelo, cargador_entrenamiento, funcion_perdida, optimizador, dispositivo)")), "partial",
           "mejor época"),
)
