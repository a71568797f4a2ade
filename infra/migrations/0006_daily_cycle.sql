-- The daily rollup also keeps the sums of a first-harmonic fit of each tag's daily cycle
-- (models/diurnal.py): per day, over the running 15-min buckets, n*cos, n*sin, n*cos^2,
-- n*sin^2, n*cos*sin, sum*cos and sum*sin of the bucket midpoint's time of day (UTC).
-- A day rolled up before this migration reads as having no cycle (a flat baseline) until it
-- is rolled up again. Every such day is marked in rollup_dirty_1d, which the rollup maintainer
-- works through newest first, from the 15-min rollups (no raw samples are re-read).
ALTER TABLE signal_rollup_1d
    ADD COLUMN nc  double precision NOT NULL DEFAULT 0,
    ADD COLUMN ns  double precision NOT NULL DEFAULT 0,
    ADD COLUMN ncc double precision NOT NULL DEFAULT 0,
    ADD COLUMN nss double precision NOT NULL DEFAULT 0,
    ADD COLUMN ncs double precision NOT NULL DEFAULT 0,
    ADD COLUMN sc  double precision NOT NULL DEFAULT 0,
    ADD COLUMN ss  double precision NOT NULL DEFAULT 0;

-- Days whose daily rollup must be recomputed from their 15-min rollups.
CREATE TABLE rollup_dirty_1d (
    asset_id text        NOT NULL,
    day      timestamptz NOT NULL,
    PRIMARY KEY (asset_id, day)
);

INSERT INTO rollup_dirty_1d (asset_id, day)
SELECT DISTINCT asset_id, day FROM signal_rollup_1d;
