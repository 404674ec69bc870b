"""One module per results chapter; each registers its recipe with ``registry.register`` on import.

``registry.all_recipes()`` imports every module here, so a new results chapter adds one module
and nothing else in the package.
"""
