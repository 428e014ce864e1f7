-- trawl cluster schema, version 1. Applied once per database by the first
-- machine that joins (schema.rs); documented in deploy/cluster.md.

-- One row per machine that ever joined; a live one renews `heartbeat`.
CREATE TABLE trawl.machines (
    id            text PRIMARY KEY,
    address       text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat     timestamptz NOT NULL DEFAULT now(),
    workers       integer NOT NULL DEFAULT 0,
    pages_per_sec real NOT NULL DEFAULT 0
);

-- The leases: a machine crawls the hosts of the partitions it owns until
-- `lease_until` (the database's clock). `epoch` grows on every change of
-- owner, and a batch commits only at the epoch its machine acquired.
CREATE TABLE trawl.partitions (
    id          integer PRIMARY KEY,
    owner       text,
    epoch       bigint NOT NULL DEFAULT 0,
    lease_until timestamptz
);
INSERT INTO trawl.partitions (id) SELECT generate_series(0, 1023);

-- Every URL ever discovered, once. A URL row without a page row is a
-- queued URL: the frontier of the whole crawl. `seq` is discovery order
-- (breadth-first within a depth).
CREATE TABLE trawl.urls (
    url           text PRIMARY KEY,
    partition     integer NOT NULL,
    depth         integer NOT NULL,
    seq           bigint GENERATED ALWAYS AS IDENTITY,
    discovered_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX urls_queue ON trawl.urls (partition, depth, seq);

-- One row per crawled URL: the page record.
CREATE TABLE trawl.pages (
    url              text PRIMARY KEY,
    partition        integer NOT NULL,
    depth            integer NOT NULL,
    status           smallint,
    content_type     text,
    title            text,
    bytes            bigint NOT NULL,
    fetched_at       timestamptz NOT NULL,
    elapsed_ms       integer NOT NULL,
    outlinks         integer NOT NULL,
    outcome          text NOT NULL,
    outcome_detail   jsonb,
    machine          text NOT NULL,
    worker           integer,
    attempts         smallint NOT NULL,
    retry_after_secs integer,
    noindex          boolean NOT NULL,
    nofollow         boolean NOT NULL,
    canonical        text,
    fields           jsonb,
    stored_at        timestamptz NOT NULL DEFAULT now()
);

-- Response bodies (`--keep-bodies` only), written with their page.
CREATE TABLE trawl.bodies (
    url  text PRIMARY KEY,
    body bytea NOT NULL
);

-- New URLs one machine found for a partition it does not own: a
-- notification its owner drains. Losing a row loses nothing (the URL row
-- is the queue entry; a takeover reloads it).
CREATE TABLE trawl.inbox (
    partition integer NOT NULL,
    url       text NOT NULL,
    depth     integer NOT NULL
);
CREATE INDEX inbox_partition ON trawl.inbox (partition);

-- Workers that died holding a URL, across machines (poison).
CREATE TABLE trawl.crashes (
    url       text PRIMARY KEY,
    partition integer NOT NULL,
    count     integer NOT NULL,
    last_at   timestamptz NOT NULL DEFAULT now()
);

-- robots.txt per host key, so a new owner need not fetch it again.
CREATE TABLE trawl.robots (
    host       text PRIMARY KEY,
    partition  integer NOT NULL,
    status     smallint,
    body       text NOT NULL,
    fetched_at timestamptz NOT NULL
);
