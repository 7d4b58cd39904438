"""Support for the tests and the benchmarks: real servers on free loopback ports, headless Chromium, and what
/proc says.

A development tool, not part of the product: the wheel leaves it out
(``[tool.setuptools.packages.find]`` does not list it) and nothing in the
product imports it (the top layer of the import contract). It sits above the
product so it can reuse the product's own helpers (``free_port``,
``stop_process``) instead of keeping copies that drift apart. The tests'
pytest fixtures are in tests/conftest.py, built on this; the benchmarks in
bench/ import it directly, never the tests' conftest.
"""
