"""The JSON API's handlers, one module per concern, each ending in its ``ROUTES`` table.

``ui.app.API_ROUTE_MODULES`` lists the modules; ``ui.app.add_routes`` mounts their tables in that
order. A new API concern is a new module here with a ``ROUTES`` list, plus one line in that tuple
(and its paths in ``ui.openapi`` or through ``ui.openapi.document_paths``). Handlers import
``ui.http`` for the app keys, ``authenticate`` and JSON helpers — never ``ui.app`` or ``ui.web``.
"""
