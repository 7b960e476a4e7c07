"""Session-wide test setup: offline litellm and the hypothesis profiles."""

import os

# Before anything can import litellm: use its bundled price map instead of fetching one over the network.
# Subprocesses started by tests inherit it.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from hypothesis import settings  # after the environment set-up above, on purpose

# No deadlines anywhere: speed is measured by `routelab bench`, never asserted in tests, and a loaded
# CI machine must not turn a slow example into a failure. CI prints the blob to reproduce a failure.
settings.register_profile("ci", derandomize=False, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "dev")
