"""The report builder: figures, narrative and HTML rendering."""
