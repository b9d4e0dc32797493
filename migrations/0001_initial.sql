-- lensbot's PostgreSQL schema, version 1: the same data the sled store keeps, one table per
-- kind. Every value a person wrote or is sent is sealed under their own key before it is
-- written (see src/store/vault.rs); keys and identifiers stay in the clear.

-- People's records (sealed, versioned JSON inside).
CREATE TABLE people (
    person text PRIMARY KEY,
    value bytea NOT NULL
);

-- Settings and group challenge records, by key.
CREATE TABLE meta (
    key text PRIMARY KEY,
    value bytea NOT NULL
);

-- The due index: a person's (or group's) reminder and when it is next due (seconds since
-- the epoch, and the nanoseconds within that second).
CREATE TABLE due (
    at bigint NOT NULL,
    nanos integer NOT NULL DEFAULT 0,
    person text NOT NULL,
    reminder text NOT NULL,
    PRIMARY KEY (at, nanos, person, reminder)
);
CREATE INDEX due_person ON due (person);

-- The ledger of applied events: an event id here has changed the store once.
CREATE TABLE applied_events (
    id text PRIMARY KEY,
    at bigint NOT NULL
);
CREATE INDEX applied_events_at ON applied_events (at);

-- Messages owed, in commit order (the id comes from the sequence).
CREATE SEQUENCE outbox_ids;
CREATE TABLE outbox (
    id bigint PRIMARY KEY,
    value bytea NOT NULL
);

-- Events kept from arrival until their turn is saved, and each source's high-water mark.
CREATE TABLE inbox (
    key bytea PRIMARY KEY,
    source text NOT NULL,
    value bytea NOT NULL
);
CREATE TABLE inbox_high_water (
    source text PRIMARY KEY,
    high bigint NOT NULL
);

-- Person keys, each record sealed under the store key (which is not in the database).
CREATE TABLE person_keys (
    id bigint PRIMARY KEY,
    person text NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX person_keys_person ON person_keys (person);
