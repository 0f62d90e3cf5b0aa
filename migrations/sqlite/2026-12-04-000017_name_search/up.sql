-- Name search on PostgreSQL gets a trigram index here. SQLite has no index
-- for a `%…%` match: its search reads the kind's tokens newest first and
-- stops at a page of matches.
SELECT 1;
