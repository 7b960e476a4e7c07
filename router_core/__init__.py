"""Router core: versioned router configs, the rule language and the two routing engines.

Pure: no I/O, no clock, no network. Everything here takes data and returns data.
"""
