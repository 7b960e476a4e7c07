"""The environment variables `routelab app` passes the workbench its settings through.

Kept apart from the views so that the CLI can name them without importing Streamlit (whose caches warn
"No runtime found" when their module is imported outside a running app).
"""

ENV_DB = "ROUTELAB_DB"
ENV_ANNOTATORS = "ROUTELAB_ANNOTATORS"
ENV_LEASE_MINUTES = "ROUTELAB_LEASE_MINUTES"
ENV_DOUBLE_SHARE = "ROUTELAB_DOUBLE_SHARE"
