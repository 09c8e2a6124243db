"""Classical polynomial families as plugins; each module's only product is ``Coefficients``.

They are registered through the ``autospec.preconditioners`` entry points in
``pyproject.toml``, exactly as a third-party plugin would be.
"""
