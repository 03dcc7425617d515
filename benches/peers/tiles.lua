-- wrk script: GET one tile per request from a list of "z/x/y" lines, the same list
-- for waystation and Martin (benches/peers/tiles.sh).
--
--   wrk ... -s tiles.lua URL -- PREFIX SUFFIX TILES_FILE THREADS
--
-- Each request is PREFIX .. "z/x/y" .. SUFFIX, e.g. /tiles/driver_home/ .. 10/843/388
-- .. .mvt; of THREADS threads, thread i takes lines i, i + THREADS, …; the requests
-- are formatted once in init() and taken in turn. done() (plain.lua) prints the one
-- machine-readable line the script reads.

dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "plain.lua")

local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
end

local pool = {}
local next_request = 0

function init(args)
   local prefix, suffix, file = args[1], args[2], args[3]
   local nthreads = tonumber(args[4] or "1")
   local f = assert(io.open(file, "r"))
   local line_no = 0
   for line in f:lines() do
      local zxy = line:match("^%s*(%d+/%d+/%d+)%s*$")
      if zxy then
         if line_no % nthreads == id - 1 then
            pool[#pool + 1] = wrk.format("GET", prefix .. zxy .. suffix)
         end
         line_no = line_no + 1
      end
   end
   f:close()
   assert(#pool > 0, "no tiles for thread " .. id .. " in " .. file)
end

function request()
   next_request = next_request % #pool + 1
   return pool[next_request]
end
