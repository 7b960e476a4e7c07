"""The workbench's views: one module per page, each a Streamlit page script with a `render()` function."""
