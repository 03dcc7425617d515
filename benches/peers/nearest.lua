-- wrk script: GET /api/v1/nearest, k=5, a different query point per request.
--
--   wrk ... -s nearest.lua URL -- K                      uniform workload
--   wrk ... -s nearest.lua URL -- K POINTS_FILE THREADS  drivers' workload
--
-- Uniform: random points of China's bounding box (lon 73..135, lat 18..54, 6
-- decimals), seeded per thread, a pool of 20,000 a thread.
-- Drivers: the "lon,lat" lines of POINTS_FILE (the list Redis and PostGIS get too);
-- of THREADS threads, thread i takes lines i, i + THREADS, i + 2·THREADS, …
-- Either way the requests are formatted once in init() and taken in turn, so that
-- wrk spends as little CPU per request as it does for the fixed /healthz request:
-- client and server share the same cores.
-- done(), the one machine-readable line run.sh reads, comes from plain.lua.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "plain.lua")

local counter = 0
local threads = {}

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

local pool = {}
local next_request = 0

local function path(lon, lat, k)
   return wrk.format("GET", string.format("/api/v1/nearest?lon=%s&lat=%s&k=%s", lon, lat, k))
end

function init(args)
   local k = args[1] or "5"
   local file = args[2]
   if file then
      local nthreads = tonumber(args[3] or "1")
      local f = assert(io.open(file, "r"))
      local line_no = 0
      for line in f:lines() do
         local lon, lat = line:match("^%s*([-+%d.eE]+)%s*,%s*([-+%d.eE]+)%s*$")
         if lon then
            if line_no % nthreads == id - 1 then
               pool[#pool + 1] = path(lon, lat, k)
            end
            line_no = line_no + 1
         end
      end
      f:close()
      assert(#pool > 0, "no points for thread " .. id .. " in " .. file)
   else
      math.randomseed(42 + 1000 * id)
      for i = 1, 20000 do
         local lon = 73.0 + math.random() * 62.0
         local lat = 18.0 + math.random() * 36.0
         pool[i] = path(string.format("%.6f", lon), string.format("%.6f", lat), k)
      end
   end
end

function request()
   next_request = next_request % #pool + 1
   return pool[next_request]
end
