-- TimescaleDB when the server has it: hypertables and compression settings. On plain
-- PostgreSQL this is a no-op and the ordinary tables of 0001 answer the same queries.
-- Retention and compression ages are policies set from settings by `precursor migrate`.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        RAISE NOTICE 'timescaledb not available: keeping ordinary tables';
        RETURN;
    END IF;
    CREATE EXTENSION IF NOT EXISTS timescaledb;
    PERFORM create_hypertable('signal_samples', 'ts', chunk_time_interval => INTERVAL '1 day',
                              migrate_data => true, if_not_exists => true);
    PERFORM create_hypertable('alarms', 'ts', chunk_time_interval => INTERVAL '7 days',
                              migrate_data => true, if_not_exists => true);
    ALTER TABLE signal_samples SET (
        timescaledb.compress,
        timescaledb.compress_segmentby = 'asset_id, tag',
        timescaledb.compress_orderby = 'ts'
    );
END
$$;
