"""Silent routing failures: slices whose route mix shifted while they got worse.

A router keeps answering while a class of work goes down the wrong path; no error is raised, so routelab
looks for it per slice (workflow × task, team, region, data class, ...). One *hypothesis* per slice and
comparison (a current window against the reference, or a candidate version against a base on the same
requests); a slice needs `min_requests` requests on each side to be tested.

- **Shift**: the share of the slice's requests on another path. Between windows it is the total variation
  distance of the path mix, ½ Σ |cur − ref|, tested by chi-square homogeneity (`shift_p`). Between versions
  on the same requests it is the flip rate, measured rather than sampled (`shift_p` = 0). It must reach
  `min_shift`.
- **Harm**, each one-sided (H1: it got worse) and each with a least effect:
  *accuracy* drop of at least `min_accuracy_drop` (windows: two-proportion z-test over the labelled
  requests; versions: exact McNemar, P(X ≥ b) for X ~ Bin(b + c, ½)); *cost per request* up by at least
  `min_cost_increase` (outcome cost of the chosen model when full-information outcomes exist, else the
  router's estimate; windows: Welch t; versions: paired t); *quality* (outcome) drop of at least
  `min_accuracy_drop` (Welch t / paired t).
- **One p-value per slice**: the harm p is the smallest p among the harms that reach their least effect,
  times the number of harm tests run (Bonferroni); the slice's p is max(shift p, harm p), an
  intersection–union test of "shifted *and* worse", valid at the nominal level. A slice whose shift or harms
  fall short of the least effects gets p = 1 and still counts as a test.
- **False discoveries**: Benjamini–Hochberg over every slice hypothesis of the run (all windows); an alarm
  stands when its adjusted p is below `fdr`.
- **Impact and rank**: `extra_wrong` = n × accuracy (or quality) drop, the requests expected to go wrong;
  `extra_cost_usd` = n × cost-per-request increase. Alarms are ranked by extra_wrong, then extra cost.
- **Evidence**: the numbers on both sides, the tests and p-values, the paths that moved, and up to five
  example request ids of the current side on the path that gained most share (wrong ones first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from routelab.evaluators.arguments import scipy_stats
from routelab.evaluators.drift_stats import chi_square, two_proportion_z, welch
from routelab.evaluators.drift_types import Alarm, AlarmSettings, HarmEvidence, ShareMove
from routelab.evaluators.frames import slice_key
from routelab.evaluators.rank_tests import benjamini_hochberg

if TYPE_CHECKING:
    import pandas as pd  # type: ignore[import-untyped,unused-ignore]  # no pandas-stubs in the dev lock yet

DEFAULT_SLICES = ("workflow", "workflow*task", "team", "region", "data_class")
EXAMPLES = 5


def default_settings(slices: Sequence[str] = DEFAULT_SLICES, fdr: float = 0.05) -> AlarmSettings:
    """The alarm settings routelab uses unless told otherwise."""
    return AlarmSettings(
        slices=list(slices),
        fdr=fdr,
        min_requests=30,
        min_labelled=20,
        min_shift=0.1,
        min_accuracy_drop=0.05,
        min_cost_increase=0.1,
    )


@dataclass
class Candidate:
    """One slice hypothesis before the false-discovery step."""

    fields: dict[str, object]
    p_value: float
    harms: list[HarmEvidence] = field(default_factory=list)


def _harm(metric: str, before: float, after: float, test: str, p: float, n: int) -> HarmEvidence:
    """A harm with both sides' values (change = after − before)."""
    return HarmEvidence(
        metric=metric,
        reference=before,
        current=after,
        change=after - before,
        test=test,
        p_value=p,
        n=n,
    )


def _harm_p(harms: list[HarmEvidence], n_tests: int) -> float:
    return min(1.0, n_tests * min(h.p_value for h in harms)) if harms else 1.0


def _cost_column(ref: pd.DataFrame, cur: pd.DataFrame) -> str:
    has = ref["cost_usd"].notna().sum() >= 2 and cur["cost_usd"].notna().sum() >= 2
    return "cost_usd" if has else "est_cost_usd"


def _moves(ref: pd.Series, cur: pd.Series) -> tuple[float, list[ShareMove], str | None]:
    """Total variation distance of two path columns, the top moves, and the path that gained most."""
    return share_moves(ref.value_counts(normalize=True), cur.value_counts(normalize=True))


def share_moves(rs: pd.Series, cs: pd.Series) -> tuple[float, list[ShareMove], str | None]:
    """`_moves` of two windows given as each path's share of its requests (indexed by path)."""
    diff = cs.sub(rs, fill_value=0.0)
    order = diff.abs().sort_values(ascending=False, kind="stable").index[:5]
    moves = [
        ShareMove(value=str(v), reference=float(rs.get(v, 0.0)), current=float(cs.get(v, 0.0))) for v in order
    ]
    gained = diff.idxmax() if len(diff) and diff.max() > 0 else None
    return float(diff.abs().sum() / 2), moves, None if gained is None else str(gained)


def _examples(cur: pd.DataFrame, path: str | None) -> list[str]:
    rows = cur if path is None else cur[cur["path"] == path]
    wrong_first = rows.assign(_w=~rows["correct"].fillna(True).astype(bool)).sort_values(
        ["_w", "request_id"], ascending=[False, True], kind="stable"
    )
    return [str(r) for r in wrong_first["request_id"].head(EXAMPLES)]


def _window_harms(ref: pd.DataFrame, cur: pd.DataFrame, s: AlarmSettings) -> tuple[list[HarmEvidence], int]:
    """Harms between two windows that reach their least effect, and the number of harm tests run."""
    found, run = [], 0
    r, c = ref["correct"].dropna(), cur["correct"].dropna()
    if len(r) >= s.min_labelled and len(c) >= s.min_labelled:
        run += 1
        k_r, k_c = int(r.sum()), int(c.sum())
        test = two_proportion_z(k_r, len(r), k_c, len(c), alternative="less")
        before, after = k_r / len(r), k_c / len(c)
        if before - after >= s.min_accuracy_drop:
            found.append(_harm("accuracy", before, after, "z-test", test.p_value, len(c)))
    cost = _cost_column(ref, cur)
    rc, cc = ref[cost].dropna(), cur[cost].dropna()
    if len(rc) >= 2 and len(cc) >= 2:
        run += 1
        shift = welch(rc.to_numpy(dtype=float), cc.to_numpy(dtype=float), alternative="greater")
        base = shift.reference_mean
        if base > 0 and shift.delta / base >= s.min_cost_increase:
            found.append(
                _harm("cost_per_request", base, shift.current_mean, "welch-t", shift.p_value, len(cc))
            )
    rq, cq = ref["quality"].dropna(), cur["quality"].dropna()
    if len(rq) >= 2 and len(cq) >= 2:
        run += 1
        shift = welch(rq.to_numpy(dtype=float), cq.to_numpy(dtype=float), alternative="less")
        if -shift.delta >= s.min_accuracy_drop:
            found.append(
                _harm("quality", shift.reference_mean, shift.current_mean, "welch-t", shift.p_value, len(cq))
            )
    return found, run


#: The columns of a window's frame that `window_candidates` reads.
WINDOW_COLUMNS = ("request_id", "path", "correct", "cost_usd", "est_cost_usd", "quality")


def _rows(key: pd.Series) -> dict[str, Any]:
    """Row positions of each slice value, in frame order (missing keys left out, as by a groupby)."""
    return key.groupby(key.to_numpy(), sort=False).indices  # type: ignore[no-any-return]


def window_candidates(
    ref: pd.DataFrame, cur: pd.DataFrame, window: str, reference: str, s: AlarmSettings
) -> list[Candidate]:
    """One hypothesis per slice with enough requests on both sides (module docstring)."""
    out = []
    # the columns the tests and examples read: a slice's rows are taken from these only
    ref_used, cur_used = (f[[c for c in WINDOW_COLUMNS if c in f.columns]] for f in (ref, cur))
    for name in s.slices:
        rows_r, rows_c = _rows(slice_key(ref, name)), _rows(slice_key(cur, name))
        for value in sorted(set(rows_r) & set(rows_c)):
            if len(rows_r[value]) < s.min_requests or len(rows_c[value]) < s.min_requests:
                continue
            r, c = ref_used.iloc[rows_r[value]], cur_used.iloc[rows_c[value]]
            shift, moves, gained = _moves(r["path"], c["path"])
            vr, vc = r["path"].value_counts(dropna=False), c["path"].value_counts(dropna=False)
            paths = sorted(set(vr.index) | set(vc.index))
            counts_r = vr.reindex(paths, fill_value=0).to_numpy()
            counts_c = vc.reindex(paths, fill_value=0).to_numpy()
            shift_p = chi_square(counts_r, counts_c).p_value
            harms, run = _window_harms(r, c, s) if shift >= s.min_shift else ([], 0)
            p = max(shift_p, _harm_p(harms, run)) if harms else 1.0
            fields = {
                "window": window,
                "reference": reference,
                "slice_field": name,
                "slice_value": str(value),
                "n_reference": len(r),
                "n_current": len(c),
                "shift": shift,
                "shift_test": "chi-square",
                "shift_p_value": shift_p,
                "moves": moves,
                "affected": round(shift * len(c)),
                # only a slice with a harm can become an alarm: the others need no examples
                "examples": _examples(c, gained) if harms else [],
            }
            out.append(Candidate(fields=fields, p_value=p, harms=harms))
    return out


def _paired_harms(base: pd.DataFrame, cand: pd.DataFrame, s: AlarmSettings) -> tuple[list[HarmEvidence], int]:
    """Harms of a candidate version over a base on the same requests (rows aligned)."""
    stats = scipy_stats()
    found, run = [], 0
    both = base["correct"].notna() & cand["correct"].notna()
    if both.sum() >= s.min_labelled:
        run += 1
        rb, rc = base["correct"][both].astype(bool), cand["correct"][both].astype(bool)
        b, c = int((rb & ~rc).sum()), int((~rb & rc).sum())
        p = float(stats.binomtest(b, b + c, 0.5, alternative="greater").pvalue) if b + c else 1.0
        before, after = float(rb.mean()), float(rc.mean())
        if before - after >= s.min_accuracy_drop:
            found.append(_harm("accuracy", before, after, "mcnemar-exact", p, int(both.sum())))
    for metric, column, sign in (("cost_per_request", None, 1), ("quality", "quality", -1)):
        col = column or _cost_column(base, cand)
        ok = base[col].notna() & cand[col].notna()
        if ok.sum() < 2:
            continue
        run += 1
        x, y = base[col][ok].to_numpy(dtype=float), cand[col][ok].to_numpy(dtype=float)
        diff = y - x
        before, after = float(x.mean()), float(y.mean())
        if diff.std() == 0:
            p = 1.0 if sign * diff.mean() <= 0 else 0.0
        else:
            alternative = "greater" if sign > 0 else "less"
            p = float(stats.ttest_rel(y, x, alternative=alternative).pvalue)
        change = after - before
        reaches = (
            (change / before >= s.min_cost_increase if before > 0 else change > 0)
            if sign > 0
            else (-change >= s.min_accuracy_drop)
        )
        if reaches:
            found.append(_harm(metric, before, after, "paired-t", p, int(ok.sum())))
    return found, run


def version_candidates(paired: pd.DataFrame, base: str, candidate: str, s: AlarmSettings) -> list[Candidate]:
    """One hypothesis per slice of two versions' drift frames joined per request (suffixes _base, _cand).

    `paired` holds the request fields once (unsuffixed) and every decision and outcome column twice.
    """

    def side(frame: pd.DataFrame, suffix: str) -> pd.DataFrame:
        cols = [c for c in frame.columns if c.endswith(suffix)]
        return (
            frame[cols]
            .rename(columns={c: c[: -len(suffix)] for c in cols})
            .assign(request_id=frame["request_id"])
        )

    out = []
    for name in s.slices:
        key = slice_key(paired, name)
        for value, rows in paired.groupby(key, sort=True):
            if len(rows) < s.min_requests:
                continue
            b, c = side(rows, "_base"), side(rows, "_cand")
            flipped = b["path"].to_numpy() != c["path"].to_numpy()
            shift = float(flipped.mean())
            _, moves, gained = _moves(b["path"], c["path"])
            harms, run = _paired_harms(b, c, s) if shift >= s.min_shift else ([], 0)
            p = _harm_p(harms, run) if harms else 1.0
            flips = c[flipped] if gained is None else c[flipped & (c["path"] == gained).to_numpy()]
            fields = {
                "window": candidate,
                "reference": base,
                "slice_field": name,
                "slice_value": str(value),
                "n_reference": len(rows),
                "n_current": len(rows),
                "shift": shift,
                "shift_test": "none",
                "shift_p_value": 0.0,
                "moves": moves,
                "affected": int(flipped.sum()),
                "examples": _examples(flips if len(flips) else c[flipped], None),
            }
            out.append(Candidate(fields=fields, p_value=p, harms=harms))
    return out


def raise_alarms(candidates: list[Candidate], s: AlarmSettings) -> list[Alarm]:
    """Benjamini–Hochberg over every candidate; the standing alarms, most impact first."""
    if not candidates:
        return []
    adjusted = benjamini_hochberg([c.p_value for c in candidates])
    alarms = []
    for cand, p_adj in zip(candidates, adjusted, strict=True):
        if not cand.harms or p_adj >= s.fdr:
            continue
        n = int(cand.fields["n_current"])  # type: ignore[call-overload]
        drops = [-h.change for h in cand.harms if h.metric in ("accuracy", "quality")]
        costs = [h.change for h in cand.harms if h.metric == "cost_per_request"]
        alarms.append(
            Alarm.model_validate(
                {
                    **cand.fields,
                    "harms": cand.harms,
                    "p_value": cand.p_value,
                    "p_adjusted": p_adj,
                    "extra_wrong": n * max(drops) if drops else None,
                    "extra_cost_usd": n * costs[0] if costs else None,
                }
            )
        )
    return sorted(alarms, key=lambda a: (-(a.extra_wrong or 0.0), -(a.extra_cost_usd or 0.0), a.window))
