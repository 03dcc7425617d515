-- wrk script: GET /api/v1/nearest at a random point of China's bounding box per
-- request (lon 73..135, lat 18..54, 6 decimals), k=5. Seeded per thread. The
-- requests are formatted once in init() (a pool of 20,000 random points a thread,
-- taken in turn), so that wrk spends as little CPU per request as it does for the
-- fixed /healthz request: client and server share the same cores.
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

function init(args)
   math.randomseed(42 + 1000 * id)
   local k = args[1] or "5"
   for i = 1, 20000 do
      local lon = 73.0 + math.random() * 62.0
      local lat = 18.0 + math.random() * 36.0
      pool[i] = wrk.format("GET", string.format("/api/v1/nearest?lon=%.6f&lat=%.6f&k=%s", lon, lat, k))
   end
end

function request()
   next_request = next_request % #pool + 1
   return pool[next_request]
end
