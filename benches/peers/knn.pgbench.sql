-- pgbench script: the 5 nearest facilities (geodesic, on the sphere) of a random
-- point of China's bounding box. Random ints in micro-degrees scaled to lon/lat.
\set ilon random(73000000, 135000000)
\set ilat random(18000000, 54000000)
\set lon :ilon / 1000000.0
\set lat :ilat / 1000000.0
SELECT id, geom::geography <-> ST_MakePoint(:lon, :lat)::geography AS d
FROM facility
ORDER BY geom::geography <-> ST_MakePoint(:lon, :lat)::geography
LIMIT 5;
