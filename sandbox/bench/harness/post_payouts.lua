-- wrk: POST /api/v1/payouts with a unique idempotency key per request, spread round-robin
-- over the merchant keys in a file (one key per line; one line = one hot merchant).
--   wrk ... -s post_payouts.lua URL -- <keys file> <run tag> [<account suffixes, e.g. 0001,0002>]
-- The payee's account number ends in each suffix in turn (its scenario); default 0001.
local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
local pace = dofile(here .. "pace.lua")

local keys, tag
local counter = 0
local threads_made = 0

local bodies

local function body(suffix)
  return '{"amount":"1.00","currency":"PKR","destination":{"type":"bank","bank_code":"HBL",'
    .. '"account_number":"1234567890' .. suffix .. '","account_title":"Bench Payee"},"description":"bench"}'
end

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_no", threads_made)
end

function init(args)
  keys = pace.read_lines(args[1])
  tag = args[2]
  bodies = {}
  for suffix in (args[3] or "0001"):gmatch("%d+") do bodies[#bodies + 1] = body(suffix) end
end

function request()
  counter = counter + 1
  local key = keys[(counter + thread_no) % #keys + 1]
  return wrk.format("POST", "/api/v1/payouts", {
    ["Content-Type"] = "application/json",
    ["X-API-KEY"] = key,
    -- Unique across threads and runs: the tag names the run, thread_no the thread.
    ["X-Idempotency-Key"] = tag .. "-" .. thread_no .. "-" .. counter,
  }, bodies[counter % #bodies + 1])
end

done = pace.done
-- Defined at load time: wrk decides whether a script paces before calling init().
delay = pace.delay_fn(tonumber(os.getenv("BENCH_RATE_PER_THREAD") or "0"))
