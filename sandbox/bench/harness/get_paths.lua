-- wrk: GET requests cycling through a file of "<api key> <path>" lines (the key may be
-- "-" for none, as for the hello-world app).
--   wrk ... -s get_paths.lua URL -- <paths file>
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local pace = dofile(here .. "pace.lua")

local targets = {}
local counter = 0
local threads_made = 0

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_no", threads_made)
end

function init(args)
  for _, line in ipairs(pace.read_lines(args[1])) do
    local key, path = line:match("^(%S+)%s+(%S+)$")
    local headers = {}
    if key ~= "-" then
      headers["X-API-KEY"] = key
    end
    targets[#targets + 1] = wrk.format("GET", path, headers)
  end
end

function request()
  counter = counter + 1
  return targets[(counter * 7 + thread_no) % #targets + 1]
end

done = pace.done
-- Defined at load time: wrk decides whether a script paces before calling init().
delay = pace.delay_fn(tonumber(os.getenv("BENCH_RATE_PER_THREAD") or "0"))
