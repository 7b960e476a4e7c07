"""`silent.window_candidates` over grouped drift frames (`drift_grouped`): one hypothesis per slice.

The same tests and numbers as the per-request version; the examples come from each group's ``ids`` (its
smallest request ids: a group shares one verdict, so its first ids are the ones `silent` would pick).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from routelab.evaluators import weighted
from routelab.evaluators.drift_codes import FrameCodes
from routelab.evaluators.drift_stats import chi_square, two_proportion_z
from routelab.evaluators.drift_types import AlarmSettings, HarmEvidence, ShareMove
from routelab.evaluators.silent import EXAMPLES, Candidate, _harm, _harm_p, share_moves

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet
    from numpy.typing import NDArray


@dataclass(frozen=True)
class _Columns:
    """The columns the slice tests read, as numpy arrays over the grouped frame's rows."""

    n: NDArray[np.int64]
    correct: NDArray[np.float64]
    cost_usd: NDArray[np.float64]
    est_cost_usd: NDArray[np.float64]
    quality: NDArray[np.float64]
    ids: NDArray[np.object_]

    @classmethod
    def of(cls, grouped: pd.DataFrame) -> _Columns:
        """The arrays of `grouped` (a thousand slices per run read them: no pandas indexing per slice)."""
        import numpy as np

        def floats(name: str) -> NDArray[np.float64]:
            values: NDArray[np.float64] = grouped[name].to_numpy(dtype=float, na_value=np.nan)
            return values

        return cls(
            n=grouped["n"].to_numpy(dtype=np.int64),
            correct=floats("correct"),
            cost_usd=floats("cost_usd"),
            est_cost_usd=floats("est_cost_usd"),
            quality=floats("quality"),
            ids=grouped["ids"].to_numpy(dtype=object),
        )

    def known(self, rows: NDArray[np.intp], values: NDArray[np.float64]) -> int:
        """Requests of `rows` with a known value."""
        import numpy as np

        return int(self.n[rows][~np.isnan(values[rows])].sum())

    def sample(self, rows: NDArray[np.intp], values: NDArray[np.float64]) -> weighted.Sample:
        """The known values of `rows`, each counted ``n`` times."""
        return weighted.sample(values[rows], self.n[rows])


def _path_counts(codes: FrameCodes, rows: NDArray[np.intp]) -> pd.Series:
    """Requests per path, largest first (ties by path): `value_counts` of the expanded path column."""
    import numpy as np
    import pandas as pd

    coded = codes.columns["path"]
    counts = np.bincount(coded.codes[rows], weights=codes.n[rows], minlength=len(coded.labels))
    seen = np.flatnonzero(counts)
    index = pd.Index([coded.labels[j] for j in seen], dtype=object)
    out = pd.Series(counts[seen].astype(np.int64), index=index, dtype="int64")
    return out.sort_values(ascending=False, kind="stable")


def _moves(rc: pd.Series, cc: pd.Series) -> tuple[float, list[ShareMove], str | None]:
    """`silent._moves` from both slices' requests per path (`_path_counts`)."""
    return share_moves(rc / rc.sum(), cc / cc.sum())


def _examples(cols: _Columns, codes: FrameCodes, rows: NDArray[np.intp], path: str | None) -> list[str]:
    """Up to `EXAMPLES` request ids on `path` (all paths when None), wrong ones first, then by id."""
    if path is not None:
        coded = codes.columns["path"]
        rows = rows[coded.codes[rows] == coded.labels.index(path)]
    picked = [(not bool(cols.correct[i] == 0), str(r)) for i in rows for r in cols.ids[i]]
    return [r for _, r in sorted(picked)[:EXAMPLES]]


def _harms(
    cols: _Columns, r: NDArray[np.intp], c: NDArray[np.intp], s: AlarmSettings
) -> tuple[list[HarmEvidence], int]:
    """`silent._window_harms` of two grouped slices (their rows `r`, `c`)."""
    found, run = [], 0
    n_r, n_c = cols.known(r, cols.correct), cols.known(c, cols.correct)
    if n_r >= s.min_labelled and n_c >= s.min_labelled:
        run += 1
        k_r, k_c = int(cols.n[r][cols.correct[r] == 1].sum()), int(cols.n[c][cols.correct[c] == 1].sum())
        test = two_proportion_z(k_r, n_r, k_c, n_c, alternative="less")
        before, after = k_r / n_r, k_c / n_c
        if before - after >= s.min_accuracy_drop:
            found.append(_harm("accuracy", before, after, "z-test", test.p_value, n_c))
    outcome = cols.known(r, cols.cost_usd) >= 2 and cols.known(c, cols.cost_usd) >= 2
    cost = cols.cost_usd if outcome else cols.est_cost_usd
    rc, cc = cols.sample(r, cost), cols.sample(c, cost)
    if rc.n >= 2 and cc.n >= 2:
        run += 1
        shift = weighted.welch(rc, cc, alternative="greater")
        base = shift.reference_mean
        if base > 0 and shift.delta / base >= s.min_cost_increase:
            found.append(_harm("cost_per_request", base, shift.current_mean, "welch-t", shift.p_value, cc.n))
    rq, cq = cols.sample(r, cols.quality), cols.sample(c, cols.quality)
    if rq.n >= 2 and cq.n >= 2:
        run += 1
        shift = weighted.welch(rq, cq, alternative="less")
        if -shift.delta >= s.min_accuracy_drop:
            found.append(
                _harm("quality", shift.reference_mean, shift.current_mean, "welch-t", shift.p_value, cq.n)
            )
    return found, run


def window_candidates(
    grouped: pd.DataFrame,
    codes: FrameCodes,
    ref: NDArray[np.bool_],
    cur: NDArray[np.bool_],
    labels: tuple[str, str],
    s: AlarmSettings,
) -> list[Candidate]:
    """`silent.window_candidates` of two grouped windows (`ref`, `cur`: their rows; `labels`: the
    window's and the reference's names)."""
    import numpy as np

    cols = _Columns.of(grouped)
    out = []
    for name in s.slices:
        key = codes.keys[name]
        rn, cn = codes.counts(ref, name), codes.counts(cur, name)
        for i in np.flatnonzero((rn > 0) & (cn > 0) & (rn >= s.min_requests) & (cn >= s.min_requests)):
            in_key = key.codes == i
            r, c = np.flatnonzero(ref & in_key), np.flatnonzero(cur & in_key)
            n_r, n_c = int(rn[i]), int(cn[i])
            pr, pc = _path_counts(codes, r), _path_counts(codes, c)
            shift, moves, gained = _moves(pr, pc)
            paths = sorted(set(pr.index) | set(pc.index))
            shift_p = chi_square(
                pr.reindex(paths, fill_value=0).to_numpy(), pc.reindex(paths, fill_value=0).to_numpy()
            ).p_value
            harms, run = _harms(cols, r, c, s) if shift >= s.min_shift else ([], 0)
            p = max(shift_p, _harm_p(harms, run)) if harms else 1.0
            fields = {
                "window": labels[0],
                "reference": labels[1],
                "slice_field": name,
                "slice_value": key.labels[i],
                "n_reference": n_r,
                "n_current": n_c,
                "shift": shift,
                "shift_test": "chi-square",
                "shift_p_value": shift_p,
                "moves": moves,
                "affected": round(shift * n_c),
                "examples": _examples(cols, codes, c, gained) if harms else [],
            }
            out.append(Candidate(fields=fields, p_value=p, harms=harms))
    return out
