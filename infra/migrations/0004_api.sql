-- The API's tables: API keys, the HSE risk register with its audit trail, RCA records.

-- Keys are random 256-bit tokens, so one SHA-256 is enough to store them safely (no password
-- stretching needed) and lets a request find its key with one index lookup.
CREATE TABLE api_keys (
    key_id       text PRIMARY KEY,
    name         text        NOT NULL,
    role         text        NOT NULL CHECK (role IN ('operator', 'reliability', 'hse', 'admin')),
    key_hash     bytea       NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE SEQUENCE risk_register_seq;

CREATE TABLE risk_register (
    entry_id        text PRIMARY KEY DEFAULT 'RR-' || lpad(nextval('risk_register_seq')::text, 6, '0'),
    title           text        NOT NULL,
    hazard          text        NOT NULL,
    asset_id        text,
    area            text,
    likelihood      smallint    NOT NULL CHECK (likelihood BETWEEN 1 AND 5),
    consequence     smallint    NOT NULL CHECK (consequence BETWEEN 1 AND 5),
    rating          text        NOT NULL CHECK (rating IN ('low', 'medium', 'high', 'critical')),
    residual_rating text        NOT NULL CHECK (residual_rating IN ('low', 'medium', 'high', 'critical')),
    status          text        NOT NULL DEFAULT 'identified'
        CHECK (status IN ('identified', 'assessed', 'mitigating', 'closed')),
    owner           text,
    due_date        date,
    measures        jsonb       NOT NULL DEFAULT '[]'::jsonb,
    source          text        NOT NULL DEFAULT 'manual' CHECK (source IN ('manual', 'alert')),
    version         integer     NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT now(),
    created_by      text        NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX risk_register_asset ON risk_register (asset_id, hazard) WHERE status <> 'closed';

CREATE TABLE risk_register_alerts (
    entry_id  text        NOT NULL REFERENCES risk_register (entry_id),
    alert_id  text        NOT NULL REFERENCES alerts (alert_id),
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (entry_id, alert_id)
);
CREATE INDEX risk_register_alerts_alert ON risk_register_alerts (alert_id);

-- Append-only: rows are inserted with the entry's change in the same transaction, never updated.
CREATE TABLE risk_register_history (
    history_id bigserial PRIMARY KEY,
    entry_id   text        NOT NULL REFERENCES risk_register (entry_id),
    version    integer     NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    actor      text        NOT NULL,
    action     text        NOT NULL CHECK (action IN ('created', 'updated', 'alert_linked')),
    before     jsonb,
    after      jsonb       NOT NULL
);
CREATE INDEX risk_register_history_entry ON risk_register_history (entry_id, history_id);

-- One root-cause analysis per stop; a new POST replaces it and bumps the revision.
CREATE TABLE rca_records (
    event_id   text PRIMARY KEY REFERENCES dispatch_events (event_id),
    summary    text,
    five_whys  jsonb       NOT NULL DEFAULT '[]'::jsonb,
    cause_tree jsonb,
    actions    jsonb       NOT NULL DEFAULT '[]'::jsonb,
    revision   integer     NOT NULL DEFAULT 1,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Alerts newest first per asset (operator filters) and open ones by asset for register links.
CREATE INDEX alerts_asset_opened ON alerts (asset_id, opened_at DESC);
CREATE INDEX downtime_lookup ON dispatch_events (state, ts) WHERE state IN ('down', 'maintenance');
