"""Ayudas de las prácticas de aprendizaje profundo.

Cada laboratorio tiene su módulo con la función `comprobar`, que te dice al momento (en español) si
un ejercicio cumple todos sus criterios:

    from practica.lab00 import comprobar
    comprobar("tensor_aleatorio")

La nota se calcula con los mismos criterios, sobre estos casos y otros más que no ves: si
`comprobar` dice ✅, el ejercicio tiene la nota completa salvo que otros datos descubran un error
de verdad en tu código.
"""
