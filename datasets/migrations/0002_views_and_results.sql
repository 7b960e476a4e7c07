-- routelab store, migration 2: the current-annotation view and stored evaluation results.

-- Latest judgement per (request, router version, annotator), ignoring judgements that were undone.
CREATE VIEW annotations_current AS
SELECT * EXCLUDE (rn)
FROM (
    SELECT a.*, row_number() OVER (
        PARTITION BY a.request_id, a.router, a.annotator ORDER BY a.created_at DESC, a.annotation_id DESC
    ) AS rn
    FROM annotations a
    WHERE a.kind <> 'undo'
      AND a.annotation_id NOT IN (SELECT undoes FROM annotations WHERE kind = 'undo' AND undoes IS NOT NULL)
)
WHERE rn = 1;

-- Every evaluation result with the name and parameters that produced it, so it can be recomputed.
CREATE TABLE eval_results (
    result_id    VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,
    routers      VARCHAR[] NOT NULL,
    params       JSON NOT NULL,
    seed         BIGINT,
    result       JSON NOT NULL,
    created_at   TIMESTAMP NOT NULL
);

