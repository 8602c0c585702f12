-- Cycle through the hot reads named in BENCH_PATHS (separated by spaces), one per request.
dofile("latency.lua")  -- wrk runs in bench/ (see run.py)

local paths = {}
for path in string.gmatch(os.getenv("BENCH_PATHS"), "%S+") do
  table.insert(paths, path)
end
local next_path = 0

request = function()
  next_path = next_path % #paths + 1
  return wrk.format("GET", paths[next_path])
end
