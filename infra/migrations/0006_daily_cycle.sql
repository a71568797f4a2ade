-- The daily rollup also keeps the sums of a first-harmonic fit of each tag's daily cycle
-- (models/diurnal.py): per day, over the running 15-min buckets, n*cos, n*sin, n*cos^2,
-- n*sin^2, n*cos*sin, sum*cos and sum*sin of the bucket midpoint's time of day (UTC).
-- A day rolled up before this migration reads as having no cycle (a flat baseline) until it
-- is rolled up again; every bucket is marked for that here, and the rollup maintainer redoes
-- them in the background.
ALTER TABLE signal_rollup_1d
    ADD COLUMN nc  double precision NOT NULL DEFAULT 0,
    ADD COLUMN ns  double precision NOT NULL DEFAULT 0,
    ADD COLUMN ncc double precision NOT NULL DEFAULT 0,
    ADD COLUMN nss double precision NOT NULL DEFAULT 0,
    ADD COLUMN ncs double precision NOT NULL DEFAULT 0,
    ADD COLUMN sc  double precision NOT NULL DEFAULT 0,
    ADD COLUMN ss  double precision NOT NULL DEFAULT 0;

INSERT INTO rollup_dirty (asset_id, bucket)
SELECT DISTINCT asset_id, bucket FROM signal_rollup_15m
ON CONFLICT DO NOTHING;
