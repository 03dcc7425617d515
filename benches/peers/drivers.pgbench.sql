-- pgbench script, drivers' workload: the 5 nearest facilities (geodesic, on the
-- sphere) of a point of the drivers' list, which run.sh loads into
-- query_point(i, g geography) (load-points.sql). The point is an uncorrelated
-- subquery, so it is evaluated once (an InitPlan) and the KNN ordering still runs on
-- the geography GiST index; the primary-key lookup costs a few µs of the query.
-- :npoints is set by run.sh (pgbench -D npoints=N).
\set i random(1, :npoints)
SELECT id, geom::geography <-> (SELECT g FROM query_point WHERE i = :i) AS d
FROM facility
ORDER BY d
LIMIT 5;
