-- Loads facilities.csv (id,lon,lat) into facility(id, geom) with a geography GiST
-- index. Run as psql -f load.sql <facilities.csv.
\set ON_ERROR_STOP 1
\timing on
CREATE EXTENSION IF NOT EXISTS postgis;
SELECT postgis_full_version();
CREATE UNLOGGED TABLE facility_raw (id text, lon float8, lat float8);
\copy facility_raw FROM pstdin WITH (FORMAT csv)
CREATE TABLE facility (id text PRIMARY KEY, geom geometry(Point, 4326) NOT NULL);
INSERT INTO facility SELECT id, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM facility_raw;
DROP TABLE facility_raw;
-- The index the KNN query uses: `geom::geography <-> point::geography` orders by
-- distance on the sphere, index-assisted.
CREATE INDEX facility_geog_gist ON facility USING gist ((geom::geography));
VACUUM ANALYZE facility;
SELECT count(*) AS facilities FROM facility;
