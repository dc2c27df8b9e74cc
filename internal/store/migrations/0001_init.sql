-- patchbay's own tables. Portable SQL: BLOB becomes BYTEA on PostgreSQL.
-- Times are Unix microseconds. JSON values are stored as text.

CREATE TABLE pb_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE pb_flows (
  name       TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  source     TEXT    NOT NULL,
  hash       TEXT    NOT NULL,
  file       TEXT    NOT NULL DEFAULT '',
  applied_at BIGINT  NOT NULL,
  applied_by TEXT    NOT NULL DEFAULT '',
  PRIMARY KEY (name, version)
);

-- The active version of each flow and the event source its trigger listens on.
CREATE TABLE pb_flow_heads (
  name       TEXT    PRIMARY KEY,
  version    INTEGER NOT NULL,
  enabled    INTEGER NOT NULL DEFAULT 1,
  source     TEXT    NOT NULL DEFAULT '',
  updated_at BIGINT  NOT NULL
);

CREATE TABLE pb_connections (
  name       TEXT    PRIMARY KEY,
  connector  TEXT    NOT NULL,
  config     TEXT    NOT NULL,
  secrets    BLOB,
  version    INTEGER NOT NULL DEFAULT 1,
  created_at BIGINT  NOT NULL,
  updated_at BIGINT  NOT NULL
);

CREATE TABLE pb_events (
  id          TEXT    PRIMARY KEY,
  source      TEXT    NOT NULL,
  trigger     TEXT    NOT NULL,
  dedupe      TEXT    NOT NULL,
  type        TEXT    NOT NULL,
  object      TEXT    NOT NULL DEFAULT '',
  objects     TEXT,
  data        TEXT,
  hash        TEXT    NOT NULL DEFAULT '',
  version     TEXT    NOT NULL DEFAULT '',
  status      TEXT    NOT NULL,
  reason      TEXT    NOT NULL DEFAULT '',
  runs        INTEGER NOT NULL DEFAULT 0,
  occurred_at BIGINT  NOT NULL DEFAULT 0,
  received_at BIGINT  NOT NULL
);
CREATE UNIQUE INDEX pb_events_dedupe ON pb_events (source, dedupe);
CREATE INDEX pb_events_received ON pb_events (received_at);
CREATE INDEX pb_events_object ON pb_events (object, received_at);

CREATE TABLE pb_runs (
  id           TEXT    PRIMARY KEY,
  flow         TEXT    NOT NULL,
  flow_version INTEGER NOT NULL,
  event_id     TEXT,
  parent_id    TEXT,
  parent_step  TEXT,
  status       TEXT    NOT NULL,
  state        TEXT    NOT NULL,
  input        TEXT,
  output       TEXT,
  error        TEXT,
  dedupe       TEXT,
  generation   INTEGER NOT NULL DEFAULT 0,
  rev          BIGINT  NOT NULL DEFAULT 1,
  step_seq     INTEGER NOT NULL DEFAULT 0,
  created_at   BIGINT  NOT NULL,
  started_at   BIGINT,
  updated_at   BIGINT  NOT NULL,
  ended_at     BIGINT
);
CREATE UNIQUE INDEX pb_runs_dedupe ON pb_runs (flow, dedupe);
-- Only unfinished runs are indexed by status: finished runs are listed by id.
CREATE INDEX pb_runs_active ON pb_runs (status, id) WHERE status IN ('queued', 'running', 'waiting');
CREATE INDEX pb_runs_flow ON pb_runs (flow, created_at);
CREATE INDEX pb_runs_parent ON pb_runs (parent_id);
CREATE INDEX pb_runs_event ON pb_runs (event_id);

-- Step history: one row per attempt of a step (or per decision of a control step).
CREATE TABLE pb_steps (
  run_id     TEXT    NOT NULL,
  seq        INTEGER NOT NULL,
  step_id    TEXT    NOT NULL,
  kind       TEXT    NOT NULL,
  attempt    INTEGER NOT NULL,
  status     TEXT    NOT NULL,
  input      TEXT,
  output     TEXT,
  error      TEXT    NOT NULL DEFAULT '',
  error_kind TEXT    NOT NULL DEFAULT '',
  idem_key   TEXT    NOT NULL DEFAULT '',
  started_at BIGINT  NOT NULL,
  ended_at   BIGINT  NOT NULL,
  PRIMARY KEY (run_id, seq)
);

-- A parked run: one row per event source it waits on.
CREATE TABLE pb_waits (
  wait_id    TEXT   NOT NULL,
  source     TEXT   NOT NULL,
  run_id     TEXT   NOT NULL,
  step_id    TEXT   NOT NULL,
  key_expr   TEXT   NOT NULL,
  key        TEXT   NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (wait_id, source)
);
CREATE INDEX pb_waits_match ON pb_waits (source, key_expr, key);
CREATE INDEX pb_waits_run ON pb_waits (run_id);

CREATE TABLE pb_cursors (
  source     TEXT   NOT NULL,
  trigger    TEXT   NOT NULL,
  cursor     TEXT   NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (source, trigger)
);

-- Large values stored once by content hash and passed by reference.
CREATE TABLE pb_blobs (
  hash       TEXT    PRIMARY KEY,
  data       BLOB    NOT NULL,
  size       INTEGER NOT NULL,
  created_at BIGINT  NOT NULL
);
