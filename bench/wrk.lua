-- wrk script of the HTTP bench (bench/load.ts runs it): every request is GET /messages carrying the next token.
--   BENCH_TOKENS  a file of tokens, one per line (Bearer); "token<TAB>proof" lines are sent as DPoP
--                 (RFC 9449: Authorization: DPoP token, and the proof in the DPoP header); no file (or
--                 an empty one): no Authorization header at all
--   BENCH_HOT     how many of its first lines are "hot" tokens, reused round-robin; the rest are fresh ones
--   BENCH_FRESH_PERMILLE  fresh-token requests per 1000 when there are both (default 1000: all fresh)
--   BENCH_START   where in the fresh tokens to start: where the last run on this list stopped
--   BENCH_DELAY_MS  paced load: each connection waits this long after an answer before its next request
--                 (0: at once, the server saturated)
-- Fresh tokens rotate through the whole list, so with more of them than the server's cache holds each is a
-- miss; each run goes on from where the last one stopped, never back over tokens the cache still holds.
-- At the end, one JSON line with the totals and latency percentiles (µs).
local hot, fresh = {}, {}
local permille, credit, h = 1000, 0, 0
local bare -- the request without credentials
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "0") or 0
-- Globals, so that done() can read where each thread stopped and how many fresh tokens it sent (thread:get reads globals only).
f = 0
sent = 0
local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function init(args)
  bare = wrk.format("GET", "/messages")
  local path = os.getenv("BENCH_TOKENS") or ""
  local hotCount = tonumber(os.getenv("BENCH_HOT") or "0")
  permille = tonumber(os.getenv("BENCH_FRESH_PERMILLE") or "1000")
  f = tonumber(os.getenv("BENCH_START") or "0")
  if path == "" then return end
  local i = 0
  for line in io.lines(path) do
    if line ~= "" then
      i = i + 1
      local token, proof = line:match("^([^\t]+)\t(.+)$")
      local headers = proof and { Authorization = "DPoP " .. token, DPoP = proof } or { Authorization = "Bearer " .. line }
      -- Formatted once here: request() then allocates nothing, so Lua's GC never walks the (large) lists
      -- while the run is measured, and wrk keeps the server busy.
      local formatted = wrk.format("GET", "/messages", headers)
      if i <= hotCount then hot[#hot + 1] = formatted else fresh[#fresh + 1] = formatted end
    end
  end
end

-- Defined only when pacing: wrk looks for delay() as it loads the script, and with one it schedules every
-- request through a timer, which would change the saturated runs.
if pause > 0 then
  function delay()
    return pause
  end
end

function request()
  local req
  -- An even spread: a fresh token whenever the credit passes 1000, a hot one otherwise.
  credit = credit + permille
  if #fresh > 0 and (#hot == 0 or credit >= 1000) then
    if credit >= 1000 then credit = credit - 1000 end
    f = f % #fresh + 1 -- f counts from 0 (BENCH_START), the list from 1
    sent = sent + 1
    req = fresh[f]
  elseif #hot > 0 then
    h = h % #hot + 1
    req = hot[h]
  end
  return req or bare
end

function done(summary, latency, requests)
  local e = summary.errors
  local stopped, freshSent = 0, 0
  for _, thread in ipairs(threads) do
    stopped = math.max(stopped, thread:get("f"))
    freshSent = freshSent + thread:get("sent")
  end
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d,"max_us":%d,"fresh_stopped":%d,"fresh_sent":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, stopped, freshSent))
end
