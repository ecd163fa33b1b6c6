-- wrk script: POST /v1/messages with a unique recipient and body per request.
-- BATCH recipients per request (env), API key from env KEY.
local batch = tonumber(os.getenv("BATCH") or "1")
local key = os.getenv("KEY")
local counter = 0
local thread_no = 0
local threads = {}

function setup(thread)
  thread:set("thread_no", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
end

function request()
  counter = counter + 1
  local base = (thread_no * 10000000 + counter) % 100000000
  local to
  if batch == 1 then
    to = string.format('"+4670%07d"', base % 10000000)
  else
    local parts = {}
    for j = 0, batch - 1 do
      parts[#parts + 1] = string.format('"+467%08d"', (base * batch + j) % 100000000)
    end
    to = "[" .. table.concat(parts, ",") .. "]"
  end
  local body = string.format('{"to":%s,"from":"Bench","body":"bench-%d-%d"}', to, thread_no, counter)
  return wrk.format("POST", "/v1/messages", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. key,
  }, body)
end

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.stderr:write(string.format("RESULT requests=%d duration_us=%d errors_status=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, summary.errors.status, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
