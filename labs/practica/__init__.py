"""Ayudas de las prácticas (placeholder)."""
