"""Pruebas ocultas del laboratorio 01 (perceptrón multicapa). Solo profesorado."""

import torch
from sklearn.datasets import load_digits
from torch import nn

registro = globals()["registro"]  # provided by the grader (practica.verificacion.cargar)
CANARIO = "dl-lab-canario-pruebas-ocultas-7f3a"
TOTAL = 1797


@registro.prueba("datos", titulo="tensores de entrenamiento y prueba", comprobaciones=5)
def _(ns, c):
    xe, ye = c.obtener("X_entrenamiento"), c.obtener("y_entrenamiento")
    xp, yp = c.obtener("X_prueba"), c.obtener("y_prueba")
    if not c.verificar(all(isinstance(t, torch.Tensor) for t in (xe, ye, xp, yp)),
                       "X/y de entrenamiento y prueba deben ser tensores"):
        return
    c.verificar(xe.dtype == xp.dtype == torch.float32 and ye.dtype == yp.dtype == torch.long, "X en float32, y en torch.long")
    c.verificar(xe.shape[1:] == xp.shape[1:] == (64,) and len(xe) == len(ye) and len(xp) == len(yp),
                "X debe ser (N, 64) y tener tantas filas como etiquetas")
    c.verificar(len(xe) + len(xp) == TOTAL and abs(len(xp) - TOTAL * 0.25) <= 2, "la prueba debe ser el 25 % de los 1797 dígitos")
    media = xe.mean(0)
    c.verificar(float(media.abs().max()) < 1e-3 and float(xe.std(0).max()) < 1.1, "X_entrenamiento no está estandarizado")


@registro.prueba("cargador", titulo="DataLoader", comprobaciones=4)
def _(ns, c):
    cargador = c.obtener("cargador_entrenamiento")
    tam = ns.get("TAM_LOTE", 64)
    if not c.verificar(isinstance(cargador, torch.utils.data.DataLoader), "no es un DataLoader"):
        return
    c.verificar(cargador.batch_size == tam, f"el tamaño de lote debe ser TAM_LOTE ({tam})")
    c.verificar(isinstance(cargador.sampler, torch.utils.data.RandomSampler), "los lotes deben barajarse (shuffle=True)")
    c.verificar(len(cargador.dataset) == len(c.obtener("X_entrenamiento")), "debe recorrer todo el conjunto de entrenamiento")


@registro.prueba("modelo", titulo="el perceptrón multicapa", comprobaciones=5)
def _(ns, c):
    crear = c.obtener("crear_modelo")
    red = crear(20, 16, 5)
    if not c.verificar(isinstance(red, nn.Module), "crear_modelo no devuelve un nn.Module"):
        return
    salida = red(torch.randn(7, 20))
    c.verificar(tuple(salida.shape) == (7, 5), "con 20 entradas y 5 clases, 7 ejemplos deben dar una salida 7x5")
    lineales = [m for m in red.modules() if isinstance(m, nn.Linear)]
    c.verificar(len(lineales) >= 3 and all(m.out_features == 16 for m in lineales[:-1]),
                "dos capas ocultas de «ocultas» neuronas")
    c.verificar(any(isinstance(m, nn.ReLU) for m in red.modules()), "faltan las activaciones ReLU")
    c.verificar(not any(isinstance(m, nn.Softmax | nn.LogSoftmax) for m in red.modules()) and not torch.allclose(
        salida.detach().sum(1), torch.ones(7)), "la salida deben ser logits (sin softmax)")


@registro.prueba("exactitud", titulo="la métrica de exactitud", comprobaciones=3)
def _(ns, c):
    f = c.obtener("exactitud")
    logits = torch.randn(50, 10)
    etiquetas = torch.randint(0, 10, (50,))
    esperado = float((logits.argmax(1) == etiquetas).float().mean())
    r = f(logits, etiquetas)
    c.verificar(isinstance(r, float), f"debe devolver un float (devuelve {type(r).__name__})")
    c.verificar(abs(float(r) - esperado) < 1e-6, "no coincide con la fracción de aciertos")
    c.verificar(abs(float(f(logits, logits.argmax(1))) - 1.0) < 1e-6, "si todo acierta debe dar 1.0")


@registro.prueba("entrenar_una_epoca", titulo="una época de entrenamiento", comprobaciones=3)
def _(ns, c):
    f = c.obtener("entrenar_una_epoca")
    torch.manual_seed(1)
    x = torch.randn(96, 6)
    y = (x[:, 0] + x[:, 1] > 0).long()
    cargador = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    red = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2))
    antes = [p.detach().clone() for p in red.parameters()]
    opt = torch.optim.SGD(red.parameters(), lr=0.3)
    perdidas = [f(red, cargador, nn.CrossEntropyLoss(), opt, torch.device("cpu")) for _ in range(6)]
    c.verificar(all(isinstance(p, float) for p in perdidas), "debe devolver la pérdida media como float")
    c.verificar(any(not torch.equal(a, p) for a, p in zip(antes, red.parameters(), strict=True)), "no actualiza los pesos")
    c.verificar(float(perdidas[-1]) < float(perdidas[0]), "la pérdida no baja de una época a otra")


@registro.prueba("exactitud_prueba", titulo="al menos un 90 % en el conjunto de prueba", comprobaciones=2, puntos=2.0)
def _(ns, c):
    red, xp, yp = c.obtener("modelo"), c.obtener("X_prueba"), c.obtener("y_prueba")
    if not c.verificar(isinstance(red, nn.Module) and len(yp) >= 0.2 * TOTAL, "el modelo y un conjunto de prueba del 25 %"):
        return
    etiquetas = set(load_digits().target.tolist())
    dispositivo = next(red.parameters()).device
    red.eval()
    with torch.no_grad():
        prediccion = red(xp.to(dispositivo)).argmax(1).cpu()
    acierto = float((prediccion == yp.cpu()).float().mean())
    c.verificar(acierto >= 0.90 and set(yp.tolist()) <= etiquetas, f"exactitud en prueba {acierto:.1%}: debe ser al menos 90 %")
