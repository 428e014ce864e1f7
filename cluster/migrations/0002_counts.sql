-- trawl cluster schema, version 2: counts kept by the commits, and what a
-- machine reports in its heartbeat. Documented in deploy/cluster.md
-- ("Counts").

-- What a machine reports besides being alive: its lease (so a reader
-- can tell live machines from dead ones without knowing the crawl's
-- options) and the crawl's --max-pages.
ALTER TABLE trawl.machines
    ADD COLUMN lease_ms  integer NOT NULL DEFAULT 10000,
    ADD COLUMN max_pages bigint;

-- Counters added to in the same fenced transaction that changes what
-- they count, one row per (machine, name), summed on read: `pages` (page
-- rows), `urls` (URL rows), `outcome:<kind>` (page rows per outcome).
-- Each machine adds to its own rows only, so commits of different
-- machines never wait on each other's counter rows.
CREATE TABLE trawl.counts (
    machine text NOT NULL,
    name    text NOT NULL,
    value   bigint NOT NULL,
    PRIMARY KEY (machine, name)
);

-- From now on every page row has a URL row (a commit adds the one that
-- is missing), so queued URLs = sum(urls) - sum(pages). Backfill what a
-- version-1 crawl stored, then count it.
INSERT INTO trawl.urls (url, partition, depth)
SELECT url, partition, depth FROM trawl.pages
ON CONFLICT (url) DO NOTHING;
INSERT INTO trawl.counts (machine, name, value)
SELECT '', 'urls', count(*) FROM trawl.urls;
INSERT INTO trawl.counts (machine, name, value)
SELECT machine, 'pages', count(*) FROM trawl.pages GROUP BY machine;
INSERT INTO trawl.counts (machine, name, value)
SELECT machine, 'outcome:' || outcome, count(*) FROM trawl.pages GROUP BY machine, outcome;

-- URLs compare byte-wise (collation "C"), as the sled store orders its
-- keys: `trawl query/export --cluster` page through `pages` by its
-- primary key (keyset pagination) in the order a store's export has, and
-- a URL prefix is a range of that index. The columns compared with one
-- another change together (a comparison across collations is an error).
ALTER TABLE trawl.pages  ALTER COLUMN url TYPE text COLLATE "C";
ALTER TABLE trawl.urls   ALTER COLUMN url TYPE text COLLATE "C";
ALTER TABLE trawl.bodies ALTER COLUMN url TYPE text COLLATE "C";
