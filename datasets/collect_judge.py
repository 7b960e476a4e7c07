"""LLM-as-judge for collected answers: the rubric, the judge's messages and a forgiving score parser.

The judge sees the request and one answer and replies with a short reason and `Score: N` (1–10). The
parser takes the last `Score: N`, else the last `N/10`, else a reply that is a bare number; anything else
(or a number outside 1–10) gives no score, and the outcome's quality stays NULL with a note in the call log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Stored as `outcomes.quality_scale` for judged rows: quality is the judge's score, 1 (worst) to 10 (best).
QUALITY_SCALE = "judge_1_10"
#: Completion budget of one judge call: a sentence or two of reasons and the score line.
JUDGE_MAX_TOKENS = 200
#: The judge's instructions (its system message). Changing it changes what the scores mean: bump the name.
RUBRIC_NAME = "routelab-answer-quality-v1"
RUBRIC = """\
You are grading one answer that an AI assistant gave to a user's request. Judge only the answer's quality
for this request; ignore its length unless length hurts the user. Parts of the request or the answer may be
masked as [email], [phone] and the like: treat a mask as the value the user meant.

Score from 1 to 10:
- 10: fully correct, complete and directly usable; nothing important missing.
- 8-9: correct and useful, with small omissions or rough edges a user would barely notice.
- 6-7: mostly right, but a user has to fix, check or complete something noticeable.
- 4-5: partly right; important errors or gaps; a user would need another answer.
- 2-3: mostly wrong, off-topic or unsafe, with only fragments of value.
- 1: no answer, a refusal of a legitimate request, or entirely wrong.

Reply with one or two sentences of reasons, then a last line exactly of the form `Score: N` where N is an
integer from 1 to 10."""

_SCORE_LINE = re.compile(r"score\s*[:=]?\s*\**\s*(-?\d+(?:\.\d+)?)", re.IGNORECASE)
_OUT_OF_TEN = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:/|out of)\s*10\b", re.IGNORECASE)
_BARE = re.compile(r"\s*\**\s*(-?\d+(?:\.\d+)?)\s*\**\s*\.?\s*")


def judge_messages(request: str, answer: str) -> list[dict[str, str]]:
    """The judge's chat messages: the rubric, then the request and the answer to grade."""
    user = f"## Request\n{request}\n\n## Answer\n{answer}\n\nGrade the answer. End with `Score: N`."
    return [{"role": "system", "content": RUBRIC}, {"role": "user", "content": user}]


@dataclass(frozen=True)
class JudgeScore:
    """A parsed judge reply."""

    score: float | None
    """The score in [1, 10]; None when the reply held none."""
    note: str | None
    """Why there is no score (quoting the start of the reply); None when parsed."""


def parse_score(reply: str) -> JudgeScore:
    """The judge's score from its reply: last `Score: N`, else last `N/10`, else a bare number."""
    text = reply or ""
    found = _SCORE_LINE.findall(text) or _OUT_OF_TEN.findall(text)
    if not found:
        bare = _BARE.fullmatch(text)
        found = [bare.group(1)] if bare else []
    quoted = " ".join(text.split())[:120]
    if not found:
        return JudgeScore(None, f"judge reply has no score: {quoted!r}")
    value = float(found[-1])
    if not 1.0 <= value <= 10.0:
        return JudgeScore(None, f"judge score {found[-1]} is outside 1-10: {quoted!r}")
    return JudgeScore(value, None)
