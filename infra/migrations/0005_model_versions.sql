-- The model registry as the API serves it: written by `train` and the scorer (which talk to
-- MLflow anyway), read by the API, which so needs no MLflow client of its own.
CREATE TABLE model_versions (
    version    text PRIMARY KEY,
    champion   boolean     NOT NULL DEFAULT false,
    created_at bigint,      -- MLflow's creation timestamp, epoch milliseconds
    run_id     text,
    metrics    jsonb       NOT NULL DEFAULT '{}'::jsonb,
    synced_at  timestamptz NOT NULL DEFAULT now()
);
