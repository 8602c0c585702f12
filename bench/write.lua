-- PATCH a different synthetic statistic each time (a new quote: its search text changes too).
dofile("latency.lua")  -- wrk runs in bench/ (see run.py)

local last = tonumber(os.getenv("BENCH_LAST_ID"))
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["If-Match"] = "*"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")

request = function()
  local body = string.format('{"quote": "revised %d"}', math.random(1000000))
  return wrk.format(nil, "/v1/statistics/" .. math.random(5, last), nil, body)
end
