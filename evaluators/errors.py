"""Errors raised by the evaluators. Every message names the argument at fault and the fix."""

from __future__ import annotations


class EvaluatorError(Exception):
    """Base class of every error the evaluators raise."""


class InvalidArgumentError(EvaluatorError, ValueError):
    """An argument has a value the function cannot use.

    Also a ``ValueError``, so code that already guards numeric input with ``except ValueError`` keeps
    working. Subclasses say which kind of problem it is; ``argument`` says where.

    Attributes:
        argument: Name of the offending argument, as the function's signature spells it.
        problem: What is wrong with its value.
        fix: What to pass instead.
    """

    def __init__(self, argument: str, problem: str, fix: str) -> None:
        self.argument = argument
        self.problem = problem
        self.fix = fix
        super().__init__(f"{argument}: {problem}; {fix}")


class LengthMismatchError(InvalidArgumentError):
    """Two paired samples have different lengths."""


class EmptySampleError(InvalidArgumentError):
    """A sample that needs at least one value is empty."""


class NonFiniteValueError(InvalidArgumentError):
    """A sample holds NaN or infinity where only finite numbers make sense."""


class NotBinaryError(InvalidArgumentError):
    """A correctness vector holds something other than 0/1 or True/False."""


class InvalidCountError(InvalidArgumentError):
    """A count is negative, not an integer, or larger than its total."""


class InvalidConfidenceError(InvalidArgumentError):
    """A confidence level is not strictly between 0 and 1."""


class InvalidProbabilityError(InvalidArgumentError):
    """A probability (a p-value, a quantile level) lies outside [0, 1]."""


class UnknownOptionError(InvalidArgumentError):
    """A named option (statistic, method, zero_method) is not one of the known names."""


class MissingSeedError(InvalidArgumentError):
    """A randomised method was asked for without a seed."""


class ZeroBaselineError(EvaluatorError):
    """A relative change was asked for where the baseline statistic is zero, so it is undefined."""


class DuplicateEvaluatorError(EvaluatorError):
    """Two functions were registered under one evaluator name."""


class UnknownEvaluatorError(EvaluatorError, LookupError):
    """No evaluator is registered under the name asked for.

    Attributes:
        name: The name asked for.
        known: The registered names, sorted.
    """

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name = name
        self.known = known
        super().__init__(
            f"evaluator {name!r} is not registered; known evaluators: {', '.join(known) or '(none)'}"
        )
