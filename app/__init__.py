"""The faces of routelab: the `routelab` CLI and the Streamlit workbench."""
