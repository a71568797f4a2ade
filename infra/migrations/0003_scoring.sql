-- Rollups for features, risk scores and alerts (SPEC.md tables risk_scores, alerts).

-- 15-minute and daily aggregates per asset and tag. Kept exact by the rollup maintainer from
-- rollup_dirty, which ingest fills in the same transaction as the samples, so late and
-- out-of-order data is rolled up too. Live scoring reads these, never raw samples.
CREATE TABLE signal_rollup_15m (
    asset_id text             NOT NULL,
    tag      text             NOT NULL,
    bucket   timestamptz      NOT NULL,
    n        integer          NOT NULL,
    sum      double precision NOT NULL,
    sumsq    double precision NOT NULL,
    min      double precision NOT NULL,
    max      double precision NOT NULL,
    last     double precision NOT NULL,
    last_ts  timestamptz      NOT NULL,
    PRIMARY KEY (asset_id, tag, bucket)
);
CREATE INDEX signal_rollup_15m_bucket ON signal_rollup_15m (bucket);

CREATE TABLE signal_rollup_1d (
    asset_id text             NOT NULL,
    tag      text             NOT NULL,
    day      timestamptz      NOT NULL,
    n        integer          NOT NULL,
    sum      double precision NOT NULL,
    sumsq    double precision NOT NULL,
    min      double precision NOT NULL,
    max      double precision NOT NULL,
    PRIMARY KEY (asset_id, tag, day)
);

CREATE TABLE rollup_dirty (
    asset_id text        NOT NULL,
    bucket   timestamptz NOT NULL,
    PRIMARY KEY (asset_id, bucket)
);

CREATE TABLE risk_scores (
    ts            timestamptz      NOT NULL,
    asset_id      text             NOT NULL,
    model_version text             NOT NULL,
    horizon_s     integer          NOT NULL,
    probability   double precision NOT NULL CHECK (probability BETWEEN 0 AND 1),
    likelihood    smallint         NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
    consequence   smallint         NOT NULL CHECK (consequence BETWEEN 1 AND 5),
    rating        text             NOT NULL CHECK (rating IN ('low', 'medium', 'high', 'critical')),
    contributions jsonb,
    PRIMARY KEY (asset_id, ts, model_version)
);
CREATE INDEX risk_scores_ts ON risk_scores (ts);

CREATE TABLE alerts (
    alert_id        text PRIMARY KEY,
    asset_id        text             NOT NULL,
    opened_at       timestamptz      NOT NULL,
    updated_at      timestamptz      NOT NULL,
    closed_at       timestamptz,
    status          text             NOT NULL CHECK (status IN ('open', 'acknowledged', 'closed')),
    rating          text             NOT NULL CHECK (rating IN ('low', 'medium', 'high', 'critical')),
    peak_rating     text             NOT NULL,
    probability     double precision NOT NULL,
    model_version   text             NOT NULL,
    contributions   jsonb,
    below_since     timestamptz,     -- start of the cool-down, while the rating is below threshold
    acknowledged_by text,
    acknowledged_at timestamptz,
    ack_comment     text,
    outcome         text CHECK (outcome IN ('true_positive', 'false_alarm', 'too_late')),
    outcome_by      text,
    outcome_at      timestamptz
);
-- One asset has at most one alert that is not closed.
CREATE UNIQUE INDEX alerts_one_open_per_asset ON alerts (asset_id) WHERE closed_at IS NULL;
CREATE INDEX alerts_opened ON alerts (opened_at DESC);

-- Every change of an alert, in order: the SSE stream replays from here (Last-Event-ID).
CREATE TABLE alert_events (
    event_id bigserial PRIMARY KEY,
    alert_id text        NOT NULL REFERENCES alerts (alert_id),
    kind     text        NOT NULL CHECK (kind IN ('opened', 'escalated', 'acknowledged', 'closed',
                                                  'outcome')),
    at       timestamptz NOT NULL DEFAULT now(),
    payload  jsonb       NOT NULL
);
CREATE INDEX alert_events_alert ON alert_events (alert_id);
