-- Samples whose quality is 'bad' (the source says the value is not usable) no longer count in
-- the rollups, so they no longer reach the model's features; the root-cause view already left
-- them out. Buckets holding a bad sample are emptied and marked for the maintainer, which
-- re-derives them (and their days) from the usable samples. On TimescaleDB the continuous
-- aggregate is redefined with the same filter and every bucket is marked, as 0008 does.
DO $$
DECLARE
    aggregate boolean := false;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        -- apart: the catalogue view exists only with the extension
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM timescaledb_information.continuous_aggregates '
                'WHERE view_name = ''signal_rollup_15m'')' INTO aggregate;
    END IF;
    IF aggregate THEN
        INSERT INTO rollup_dirty (asset_id, bucket)
        SELECT DISTINCT asset_id, bucket FROM signal_rollup_15m
        ON CONFLICT DO NOTHING;
        DROP MATERIALIZED VIEW signal_rollup_15m;
        EXECUTE $view$
            CREATE MATERIALIZED VIEW signal_rollup_15m
            WITH (timescaledb.continuous, timescaledb.materialized_only = true) AS
            SELECT asset_id, tag, time_bucket(INTERVAL '15 minutes', ts) AS bucket,
                   count(*)::integer AS n, sum(value) AS sum, sum(value * value) AS sumsq,
                   min(value) AS min, max(value) AS max, last(value, ts) AS last,
                   max(ts) AS last_ts
            FROM signal_samples
            WHERE quality <> 'bad'
            GROUP BY asset_id, tag, time_bucket(INTERVAL '15 minutes', ts)
            WITH NO DATA
        $view$;
        CREATE INDEX signal_rollup_15m_bucket ON signal_rollup_15m (bucket);
    ELSE
        CREATE TEMPORARY TABLE bad_buckets ON COMMIT DROP AS
        SELECT DISTINCT asset_id,
               to_timestamp(floor(extract(epoch FROM ts) / 900) * 900) AS bucket
        FROM signal_samples WHERE quality = 'bad';
        DELETE FROM signal_rollup_15m r USING bad_buckets b
        WHERE r.asset_id = b.asset_id AND r.bucket = b.bucket;
        INSERT INTO rollup_dirty (asset_id, bucket)
        SELECT asset_id, bucket FROM bad_buckets
        ON CONFLICT DO NOTHING;
    END IF;
END
$$;
