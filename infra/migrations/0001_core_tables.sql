-- Core tables of the ingest contract (SPEC.md "Database tables"); column names are the contract.

CREATE TABLE assets (
    asset_id    text PRIMARY KEY,
    name        text,
    kind        text,
    site        text,
    area        text,
    criticality smallint NOT NULL DEFAULT 3 CHECK (criticality BETWEEN 1 AND 5),
    attributes  jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_seen  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE signal_samples (
    ts       timestamptz      NOT NULL,
    asset_id text             NOT NULL,
    tag      text             NOT NULL,
    value    double precision NOT NULL,
    quality  text             NOT NULL DEFAULT 'good'
        CHECK (quality IN ('good', 'uncertain', 'bad')),
    -- The natural key is (asset_id, tag, ts); the index leads with (asset_id, ts) so that one
    -- asset's samples over a time range (rollups, root cause) are one index range scan.
    CONSTRAINT signal_samples_natural_key UNIQUE (asset_id, ts, tag)
);
-- Time-range scans across assets (rollups, retention) without a second B-tree to maintain.
CREATE INDEX signal_samples_ts_brin ON signal_samples USING brin (ts);

CREATE TABLE alarms (
    ts       timestamptz NOT NULL,
    asset_id text        NOT NULL,
    tag      text,
    kind     text        NOT NULL CHECK (kind IN ('HI', 'HIHI', 'LO', 'LOLO', 'TRIP', 'DEV', 'FAULT')),
    priority smallint    NOT NULL CHECK (priority BETWEEN 1 AND 4),
    state    text        NOT NULL CHECK (state IN ('active', 'cleared')),
    code     text,
    -- tag is optional: two alarms without a tag are still the same alarm.
    CONSTRAINT alarms_natural_key UNIQUE NULLS NOT DISTINCT (asset_id, ts, kind, tag, state)
);
CREATE INDEX alarms_ts_brin ON alarms USING brin (ts);

CREATE TABLE dispatch_events (
    event_id    text PRIMARY KEY,
    ts          timestamptz NOT NULL,
    asset_id    text        NOT NULL,
    state       text        NOT NULL
        CHECK (state IN ('running', 'idle', 'standby', 'down', 'maintenance')),
    planned     boolean     NOT NULL DEFAULT false,
    reason_code text,
    reason      text,
    crew        text,
    operator    text
);
CREATE INDEX dispatch_events_asset_ts ON dispatch_events (asset_id, ts, event_id);

CREATE TABLE incidents (
    incident_id text PRIMARY KEY,
    ts          timestamptz NOT NULL,
    asset_id    text        NOT NULL,
    kind        text        NOT NULL
        CHECK (kind IN ('near_miss', 'injury', 'fire', 'release', 'equipment_damage', 'stop_work')),
    severity    smallint    NOT NULL CHECK (severity BETWEEN 1 AND 5),
    description text,
    source      text        NOT NULL DEFAULT 'kafka'
);
CREATE INDEX incidents_asset_ts ON incidents (asset_id, ts);

-- A state lasts until the asset's next event, so a stop's end is computed at query time from
-- whatever events exist: events arriving out of order still give the right intervals.
CREATE VIEW downtime AS
SELECT
    e.event_id,
    e.asset_id,
    e.ts AS started_at,
    e.ended_at,
    EXTRACT(EPOCH FROM e.ended_at - e.ts)::double precision AS duration_s,
    e.planned,
    e.reason_code,
    e.crew,
    e.state,
    e.reason
FROM (
    SELECT d.*, lead(d.ts) OVER (PARTITION BY d.asset_id ORDER BY d.ts, d.event_id) AS ended_at
    FROM dispatch_events d
) e
WHERE e.state IN ('down', 'maintenance');
