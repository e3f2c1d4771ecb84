-- wrk script of the soak (scripts/soak.ts): GET /messages with the tokens of SOAK_TOKENS (one per line)
-- in turn, SOAK_DELAY_MS between requests on each connection (a steady load, not a flood), and at the
-- end one JSON line: totals, latency percentiles (µs) and the count of every status seen.
local tokens, threads = {}, {}
local i = 0
-- A global, so that done() can read each thread's copy with thread:get.
counts = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(os.getenv("SOAK_TOKENS")) do
    if line ~= "" then tokens[#tokens + 1] = "Bearer " .. line end
  end
  i = math.random(#tokens)
end

function request()
  i = i % #tokens + 1
  return wrk.format("GET", "/messages", { Authorization = tokens[i] })
end

function delay()
  return tonumber(os.getenv("SOAK_DELAY_MS") or "10")
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local all, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("counts")) do all[status] = (all[status] or 0) + n end
  end
  for status, n in pairs(all) do parts[#parts + 1] = string.format('"%d":%d', status, n) end
  local e = summary.errors
  io.write(string.format('{"requests":%d,"socket_errors":%d,"timeouts":%d,"p99_us":%d,"max_us":%d,"statuses":{%s}}\n',
    summary.requests, e.connect + e.read + e.write, e.timeout, latency:percentile(99), latency.max, table.concat(parts, ",")))
end
