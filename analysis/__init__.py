"""Analysis of simulation results: closed-form theory and validation against it.

Modules: :mod:`analysis.theory` (the formulas), :mod:`analysis.validation` (the
theory-versus-simulation table behind ``sim validate``).
"""
