-- wrk script: GET /api/v1/nearest at a random point of China's bounding box per
-- request (lon 73..135, lat 18..54, 6 decimals), k=5. Seeded per thread.
-- done() prints one machine-readable line that run.sh reads.

local counter = 0
local threads = {}

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

function init(args)
   math.randomseed(42 + 1000 * id)
   k = args[1] or "5"
end

function request()
   local lon = 73.0 + math.random() * 62.0
   local lat = 18.0 + math.random() * 36.0
   return wrk.format("GET", string.format("/api/v1/nearest?lon=%.6f&lat=%.6f&k=%s", lon, lat, k))
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK_RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      e.status, e.connect + e.read + e.write + e.timeout))
end
