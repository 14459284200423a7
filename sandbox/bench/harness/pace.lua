-- Shared by the wrk scripts: optional pacing to a fixed request rate per thread, and a
-- done() that prints the run's figures as one JSON line for `sandbox bench` to parse.
-- wrk here is built on LuaJIT, so ffi gives a monotonic clock; wrk's delay() is called
-- before every request, and each thread schedules its requests on a fixed grid
-- (closed loop: a request that is late is sent at once, not skipped).
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local pace = {}

-- rate: requests per second for this thread (0 or nil: no delay() at all, as fast as possible).
function pace.delay_fn(rate)
  if not rate or rate <= 0 then
    return nil
  end
  local interval = 1000 / rate
  local next_at = nil
  return function()
    local t = now_ms()
    if next_at == nil or next_at < t - 1000 then
      next_at = t -- start, or more than a second behind: do not burst to catch up
    end
    local wait = next_at - t
    next_at = next_at + interval
    if wait < 0 then
      return 0
    end
    return math.floor(wait)
  end
end

function pace.read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  return lines
end

function pace.done(summary, latency, requests)
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "status_errors": %d, "connect_errors": %d, '
      .. '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, '
      .. '"p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end

return pace
