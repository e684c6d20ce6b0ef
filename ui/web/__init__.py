"""The LogHarbor web dashboard: Jinja pages and a little plain JavaScript over the query API.

Start at :mod:`ui.web.routes` (``PAGE_MODULES`` and ``setup(app)``, which mounts everything on the
ui app). Decisions live in plain modules tested without a server: :mod:`ui.web.session` (signed
cookies, CSRF), :mod:`ui.web.views` (URL state → API parameters, query editing), :mod:`ui.web.saved`
(saved queries in OpenSearch). May import ``ui.*`` (never ``ui.app``), ``opensearch.*``, ``logharbor.*``.
"""
