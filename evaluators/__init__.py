"""Pure evaluators over DataFrames returning typed results."""
