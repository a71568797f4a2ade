-- On TimescaleDB the 15-minute rollup becomes a continuous aggregate of signal_samples, under
-- the same name and columns, so every reader stays as it is. The rollup maintainer refreshes it
-- for the buckets ingest marked dirty (services/predict/rollups.py), then rolls those days up as
-- before. On plain PostgreSQL the table of 0003 stays, kept by the maintainer itself.
--
-- rollup_pending holds the marks a maintainer took until their days are rolled up: the refresh
-- of a continuous aggregate cannot run inside a transaction, so taking the marks and rolling the
-- days up happen in two, and a maintainer stopped between them finds its marks here.
CREATE TABLE rollup_pending (
    asset_id text        NOT NULL,
    bucket   timestamptz NOT NULL,
    PRIMARY KEY (asset_id, bucket)
);

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM timescaledb_information.hypertables
                   WHERE hypertable_name = 'signal_samples') THEN
        RETURN;
    END IF;
    -- Everything rolled up so far is redone from the raw samples (those still within retention).
    INSERT INTO rollup_dirty (asset_id, bucket)
    SELECT DISTINCT asset_id, bucket FROM signal_rollup_15m
    ON CONFLICT DO NOTHING;
    DROP TABLE signal_rollup_15m;
    -- materialized_only: readers see what the maintainer refreshed, exactly as with the table.
    EXECUTE $view$
        CREATE MATERIALIZED VIEW signal_rollup_15m
        WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
        SELECT asset_id, tag, time_bucket(INTERVAL '15 minutes', ts) AS bucket,
               count(*)::integer AS n, sum(value) AS sum, sum(value * value) AS sumsq,
               min(value) AS min, max(value) AS max, last(value, ts) AS last, max(ts) AS last_ts
        FROM signal_samples
        GROUP BY asset_id, tag, time_bucket(INTERVAL '15 minutes', ts)
        WITH NO DATA
    $view$;
    CREATE INDEX signal_rollup_15m_bucket ON signal_rollup_15m (bucket);
END
$$;
