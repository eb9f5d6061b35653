-- Lineage graph views (nodes and edges derived from the capture tables).
SELECT 1;
