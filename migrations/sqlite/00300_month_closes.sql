-- +goose Up
-- The close of a month exists at most once (the primary key), whoever starts it. lease_owner and
-- lease_until (real time) fence the run that currently works it.
CREATE TABLE month_closes (
    month       TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    last_error  TEXT NOT NULL DEFAULT '',
    lease_owner TEXT NOT NULL DEFAULT '',
    lease_until TIMESTAMP,
    updated_at  TIMESTAMP NOT NULL
);

-- Each step's record within a close: a completed step never runs again for that month.
CREATE TABLE month_close_steps (
    month       TEXT NOT NULL REFERENCES month_closes (month),
    step        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    completed   INTEGER NOT NULL DEFAULT 0,
    item_count  INTEGER NOT NULL DEFAULT 0,
    runs        INTEGER NOT NULL DEFAULT 0,
    checkpoint  TEXT NOT NULL DEFAULT '',
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    PRIMARY KEY (month, step)
);

-- +goose Down
DROP TABLE month_close_steps;
DROP TABLE month_closes;
