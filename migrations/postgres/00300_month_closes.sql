-- +goose Up
-- The close of a month exists at most once (the primary key), whoever starts it. lease_owner and
-- lease_until (real time) fence the run that currently works it.
CREATE TABLE month_closes (
    month       text PRIMARY KEY,
    status      text NOT NULL CHECK (status IN ('running', 'completed', 'failed')),
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    last_error  text NOT NULL DEFAULT '',
    lease_owner text NOT NULL DEFAULT '',
    lease_until timestamptz,
    updated_at  timestamptz NOT NULL
);

-- Each step's record within a close: a completed step never runs again for that month.
CREATE TABLE month_close_steps (
    month       text NOT NULL REFERENCES month_closes (month),
    step        text NOT NULL,
    position    integer NOT NULL,
    completed   boolean NOT NULL DEFAULT false,
    item_count  integer NOT NULL DEFAULT 0,
    runs        integer NOT NULL DEFAULT 0,
    checkpoint  text NOT NULL DEFAULT '',
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (month, step)
);

-- +goose Down
DROP TABLE month_close_steps;
DROP TABLE month_closes;
