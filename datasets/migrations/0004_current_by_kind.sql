-- routelab store, migration 4: a reviewer's adjudication no longer hides their own earlier judgement.
-- annotations_current keeps the latest row per (request, router version, annotator) *and* per kind class
-- (judgement or adjudication), so an annotator who also adjudicates still counts as a coder for agreement.

CREATE OR REPLACE VIEW annotations_current AS
SELECT * EXCLUDE (rn)
FROM (
    SELECT a.*, row_number() OVER (
        PARTITION BY a.request_id, a.router, a.annotator, a.kind = 'adjudication'
        ORDER BY a.created_at DESC, a.annotation_id DESC
    ) AS rn
    FROM annotations a
    WHERE a.kind <> 'undo'
      AND a.annotation_id NOT IN (SELECT undoes FROM annotations WHERE kind = 'undo' AND undoes IS NOT NULL)
)
WHERE rn = 1;
