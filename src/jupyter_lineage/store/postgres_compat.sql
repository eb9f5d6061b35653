-- DuckDB aggregates the store's views use that PostgreSQL lacks, with the same
-- meaning. (arg_max/arg_min are rewritten by store/dialect.py instead: their two
-- arguments have unrelated types.) Safe to run again.

CREATE OR REPLACE FUNCTION _lineage_keep_first(state anyelement, value anyelement)
RETURNS anyelement LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT state';

CREATE OR REPLACE FUNCTION _lineage_keep_last(state anyelement, value anyelement)
RETURNS anyelement LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT value';

-- Strict step functions skip NULL inputs, so these are the first / last non-NULL value.
CREATE OR REPLACE AGGREGATE any_value(anyelement) (
    SFUNC = _lineage_keep_first, STYPE = anyelement, PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE first_nonnull(anyelement) (
    SFUNC = _lineage_keep_first, STYPE = anyelement, PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE last_nonnull(anyelement) (
    SFUNC = _lineage_keep_last, STYPE = anyelement, PARALLEL = SAFE
);
CREATE OR REPLACE AGGREGATE last(anyelement) (
    SFUNC = _lineage_keep_last, STYPE = anyelement, PARALLEL = SAFE
);

CREATE OR REPLACE FUNCTION ends_with(string text, suffix text)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS
    'SELECT length(suffix) <= length(string) AND right(string, length(suffix)) = suffix';
