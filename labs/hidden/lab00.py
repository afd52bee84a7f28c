"""Pruebas ocultas del laboratorio 00 (introducción a PyTorch). Solo profesorado."""

import scipy.linalg
import torch

registro = globals()["registro"]  # provided by the grader (practica.verificacion.cargar)
# A marker the secrecy tests look for in everything a submission can read or print.
CANARIO = "dl-lab-canario-pruebas-ocultas-7f3a"


def _tensor(t):
    return isinstance(t, torch.Tensor)


@registro.prueba("pinv", titulo="pseudoinversa", comprobaciones=3)
def _(ns, c):
    f = c.obtener("pseudoinversa")
    for forma in ((3, 2), (2, 4), (4, 4)):
        a = torch.randn(*forma, dtype=torch.float64)
        p = f(a)
        esperado = torch.from_numpy(scipy.linalg.pinv(a.numpy()))
        c.verificar(_tensor(p) and p.shape == esperado.shape and torch.allclose(p.double(), esperado, atol=1e-6),
                    f"no coincide con scipy.linalg.pinv para una matriz {forma[0]}x{forma[1]}")


@registro.prueba("tensor_aleatorio", titulo="tensor aleatorio 5x3", comprobaciones=4)
def _(ns, c):
    t = c.obtener("aleatorio")
    if not c.verificar(_tensor(t), "«aleatorio» no es un torch.Tensor"):
        return
    c.verificar(tuple(t.shape) == (5, 3), f"forma {tuple(t.shape)}, se esperaba (5, 3)")
    c.verificar(t.dtype == torch.float32, f"tipo {t.dtype}, se esperaba torch.float32")
    c.verificar(bool(((t >= 0) & (t < 1)).all()) and float(t.std()) > 0, "no parece uniforme en [0, 1)")


@registro.prueba("ceros_enteros", titulo="matriz de ceros entera", comprobaciones=3)
def _(ns, c):
    t = c.obtener("ceros")
    if not c.verificar(_tensor(t), "«ceros» no es un torch.Tensor"):
        return
    c.verificar(tuple(t.shape) == (5, 3), f"forma {tuple(t.shape)}, se esperaba (5, 3)")
    c.verificar(t.dtype == torch.int64 and int(t.abs().sum()) == 0, "se esperaban ceros de tipo torch.long")


@registro.prueba("tensor_de_datos", titulo="tensor a partir de datos y su forma", comprobaciones=4)
def _(ns, c):
    t, forma = c.obtener("datos"), c.obtener("forma_datos")
    esperado = torch.tensor([[5.5, 3, 3], [2, 1, 5], [3, 4, 2], [7, 6, 5], [2, 1, 2]])
    if not c.verificar(_tensor(t), "«datos» no es un torch.Tensor"):
        return
    c.verificar(t.shape == esperado.shape and torch.equal(t.float(), esperado), "los valores no son los del enunciado")
    c.verificar(t.is_floating_point(), "los datos tienen decimales: el tensor debe ser de coma flotante")
    c.verificar(isinstance(forma, torch.Size) and forma == t.shape, "«forma_datos» debe ser datos.shape")


@registro.prueba("suma_segura", titulo="suma y error de tamaños", comprobaciones=4)
def _(ns, c):
    f = c.obtener("suma_segura")
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    r = f(a, b)
    c.verificar(_tensor(r) and torch.allclose(r, a + b), "no suma dos tensores del mismo tamaño")
    v = torch.randn(4)
    r = f(a, v)
    c.verificar(_tensor(r) and torch.allclose(r, a + v), "debe permitir la difusión (3x4 + vector de 4)")
    c.verificar(f(torch.ones(5, 3), torch.ones(2, 3)) is None, "5x3 + 2x3 debe dar None")
    c.verificar(f(torch.ones(4, 2), torch.ones(3)) is None, "4x2 + vector de 3 debe dar None")


@registro.prueba("primera_columna", titulo="slicing: la primera columna", comprobaciones=3)
def _(ns, c):
    f = c.obtener("primera_columna")
    for filas, columnas in ((5, 3), (2, 7), (6, 1)):
        m = torch.randn(filas, columnas)
        r = f(m)
        c.verificar(_tensor(r) and r.shape == (filas,) and torch.equal(r, m[:, 0]),
                    f"con una matriz {filas}x{columnas} no devuelve m[:, 0]")


@registro.prueba("cambiar_forma", titulo="view y reshape", comprobaciones=4)
def _(ns, c):
    filas, aplanar = c.obtener("filas_de_ocho"), c.obtener("aplanar_traspuesta")
    m = torch.randn(4, 6)
    r = filas(m)
    c.verificar(_tensor(r) and r.shape == (3, 8) and torch.equal(r.flatten(), m.flatten()), "filas_de_ocho de 4x6 debe ser 3x8")
    c.verificar(_tensor(r) and r.data_ptr() == m.data_ptr(), "filas_de_ocho debe ser una vista (view), sin copiar")
    for forma in ((4, 4), (3, 5)):
        m = torch.randn(*forma)
        r = aplanar(m)
        c.verificar(_tensor(r) and torch.equal(r, m.t().flatten()), f"aplanar_traspuesta falla con {forma}")


@registro.prueba("normalizar", titulo="operaciones con escalares", comprobaciones=2)
def _(ns, c):
    f = c.obtener("normalizar")
    m = torch.randn(6, 5) * 7 + 3
    r = f(m)
    c.verificar(_tensor(r) and r.shape == m.shape, "debe conservar la forma")
    c.verificar(_tensor(r) and torch.allclose(r, (m - m.mean()) / m.std(), atol=1e-5), "no es (m - media) / desviación")


@registro.prueba("modulo", titulo="la función modulo", comprobaciones=3)
def _(ns, c):
    f = c.obtener("modulo")
    x, y = torch.randn(3, 3), torch.randn(3, 3)
    r = f(x, y)
    c.verificar(_tensor(r) and torch.allclose(r, torch.sqrt(x**2 + y**2)), "no calcula sqrt(x² + y²)")
    xg = torch.ones(2, 2, requires_grad=True)
    r = f(xg, xg + 2)
    c.verificar(_tensor(r) and torch.allclose(r.detach(), torch.full((2, 2), 10.0).sqrt()), "modulo(1, 3) debe ser √10")
    c.verificar(_tensor(r) and type(r.grad_fn).__name__ == "SqrtBackward0", "la última operación debe ser torch.sqrt")


@registro.prueba("grad_fn", titulo="requires_grad y grad_fn", comprobaciones=4)
def _(ns, c):
    f = c.obtener("nombre_operacion")
    x = torch.ones(2, 2, requires_grad=True)
    c.verificar(f((x + 2) * 3) == "MulBackward0", "(x + 2) * 3 debe dar 'MulBackward0'")
    c.verificar(f(torch.sqrt(x)) == "SqrtBackward0", "torch.sqrt(x) debe dar 'SqrtBackward0'")
    c.verificar(f(x.mean()) == "MeanBackward0", "x.mean() debe dar 'MeanBackward0'")
    c.verificar(f(x) is None and f(torch.zeros(3)) is None, "un tensor hoja o sin gradiente debe dar None")


@registro.prueba("backward", titulo="backward y el gradiente", comprobaciones=3)
def _(ns, c):
    f = c.obtener("gradiente")
    g = f(torch.ones(2, 2))
    c.verificar(_tensor(g) and torch.allclose(g, torch.full((2, 2), 4.5)), "en x = 1 debe dar 4.5")
    x = torch.randn(3, 2)
    copia = x.clone()
    g = f(x)
    c.verificar(_tensor(g) and torch.allclose(g, 6 * (copia + 2) / copia.numel()),
                "debe ser 6 (x + 2) / n para cualquier x de n elementos")
    c.verificar(torch.equal(x, copia) and x.grad is None and not x.requires_grad, "no debe modificar el x recibido")


@registro.prueba("no_grad", titulo="torch.no_grad()", comprobaciones=3)
def _(ns, c):
    f = c.obtener("cuadrado_sin_gradiente")
    x = torch.randn(4, requires_grad=True)
    r = f(x)
    c.verificar(_tensor(r) and torch.allclose(r, x.detach() ** 2), "debe devolver x ** 2")
    c.verificar(_tensor(r) and not r.requires_grad and r.grad_fn is None, "el resultado no debe tener historia")
    c.verificar(torch.is_grad_enabled(), "al salir, el gradiente debe seguir activado (usa with torch.no_grad())")


@registro.prueba("dispositivo", titulo="CPU o GPU", comprobaciones=3)
def _(ns, c):
    elegir, mover = c.obtener("elegir_dispositivo"), c.obtener("mover")
    esperado = "cuda" if torch.cuda.is_available() else "cpu"
    d = elegir()
    c.verificar(isinstance(d, torch.device) and d.type == esperado, f"elegir_dispositivo() debe ser '{esperado}' en esta máquina")
    t = torch.arange(4.0)
    r = mover(t)
    c.verificar(_tensor(r) and r.device.type == esperado, f"mover(t) debe dejar el tensor en '{esperado}'")
    c.verificar(_tensor(r) and torch.equal(r.cpu(), t), "mover(t) no debe cambiar los valores")
