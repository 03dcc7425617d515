-- Loads the drivers' query points ("lon,lat" lines) into query_point(i, g), i from 1
-- in file order, for drivers.pgbench.sql. Run as psql -f load-points.sql <points.csv.
\set ON_ERROR_STOP 1
CREATE UNLOGGED TABLE query_point_raw (i int GENERATED ALWAYS AS IDENTITY, lon float8, lat float8);
\copy query_point_raw (lon, lat) FROM pstdin WITH (FORMAT csv)
CREATE TABLE query_point (i int PRIMARY KEY, g geography(Point, 4326) NOT NULL);
INSERT INTO query_point
  SELECT i, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography FROM query_point_raw;
DROP TABLE query_point_raw;
VACUUM ANALYZE query_point;
SELECT count(*) AS query_points FROM query_point;
