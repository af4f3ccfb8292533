-- wrk scenario: requests read from files, spread over wrk's threads, sent in turn.
--
--   BENCH_TOKENS    `user_id<TAB>token` per line (guild bench-tokens); line n is token n
--   BENCH_REQUESTS  `METHOD<TAB>PATH<TAB>TOKEN<TAB>KEY<TAB>BODY` per line: TOKEN is a line of
--                   BENCH_TOKENS (0: no Authorization), KEY the Idempotency-Key (`-`: none,
--                   `*`: a new key for every request), BODY a line of BENCH_BODIES (0: none)
--   BENCH_BODIES    one request body per line (optional)
--   BENCH_THREADS   wrk's -t, so each thread takes every n-th request line
--   BENCH_RUN       a word that makes generated idempotency keys unique to this run
--   BENCH_THINK_MS  when set, each connection waits an exponentially distributed time with this
--                   mean before every request (users with think time: the offered load is
--                   connections / (think time + latency) instead of as much as the server takes)
--
-- Read scenarios repeat their list; write scenarios are given more requests than a run sends
-- (a repeat would be an idempotent no-op, cheaper than a real write), and a thread that runs out
-- prints a warning at the end.

local threads = {}
local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

local function lines(path)
  local out = {}
  if path == nil or path == "" then
    return out
  end
  local file = assert(io.open(path, "r"))
  for line in file:lines() do
    table.insert(out, line)
  end
  file:close()
  return out
end

local function split(line)
  local fields = {}
  for field in (line .. "\t"):gmatch("([^\t]*)\t") do
    table.insert(fields, field)
  end
  return fields
end

local tokens, bodies, queue = {}, {}, {}
local position, sent, wrapped = 1, 0, 0
local run = os.getenv("BENCH_RUN") or tostring(os.time())

function init(args)
  math.randomseed(os.time() + thread_index * 7919)
  local n = tonumber(os.getenv("BENCH_THREADS") or "1")
  for _, line in ipairs(lines(os.getenv("BENCH_TOKENS"))) do
    table.insert(tokens, split(line)[2])
  end
  bodies = lines(os.getenv("BENCH_BODIES"))
  local i = 0
  for _, line in ipairs(lines(os.getenv("BENCH_REQUESTS"))) do
    if i % n == thread_index then
      local f = split(line)
      -- As browsers and HTTP libraries send it; only the responses Guild compresses (kept
      -- views such as the manager dashboard) use it.
      local headers = { ["Accept"] = "application/json", ["Accept-Encoding"] = "gzip" }
      local token = tonumber(f[3]) or 0
      if token > 0 then
        headers["Authorization"] = "Bearer " .. assert(tokens[token], "no token " .. token)
      end
      local body = nil
      local b = tonumber(f[5]) or 0
      if b > 0 then
        body = assert(bodies[b], "no body " .. b)
        headers["Content-Type"] = "application/json"
      end
      table.insert(queue, { method = f[1], path = f[2], headers = headers, key = f[4], body = body })
    end
    i = i + 1
  end
  assert(#queue > 0, "no requests for thread " .. thread_index)
end

local think_ms = tonumber(os.getenv("BENCH_THINK_MS") or "")
local first_delays = 0
if think_ms then
  -- wrk opens every connection at the start and asks for a delay before each request, its
  -- first included. Every delay is exponential with the mean think time, the first too: each
  -- connection is then a Poisson stream from the first moment, so the offered load is flat from
  -- the start (a first delay spread uniformly over one think time made the first think time
  -- carry up to twice the load). A first delay past 4 s, which would outlast the server's
  -- 5-second wait for a first request, is drawn again uniformly within those 4 s.
  local per_thread = math.ceil(tonumber(os.getenv("BENCH_CONNECTIONS") or "0") /
    tonumber(os.getenv("BENCH_THREADS") or "1"))
  function delay()
    if first_delays < per_thread then
      first_delays = first_delays + 1
      local first = -think_ms * math.log(1 - math.random())
      if first > 4000 then
        first = math.random() * 4000
      end
      return math.floor(first)
    end
    return math.floor(-think_ms * math.log(1 - math.random()))
  end
end

function request()
  local r = queue[position]
  position = position + 1
  if position > #queue then
    position = 1
    wrapped = wrapped + 1
  end
  sent = sent + 1
  if r.key == "*" then
    r.headers["Idempotency-Key"] = run .. "-" .. thread_index .. "-" .. sent
  elseif r.key ~= nil and r.key ~= "" and r.key ~= "-" then
    r.headers["Idempotency-Key"] = r.key
  end
  wrapped_count = wrapped
  return wrk.format(r.method, r.path, r.headers, r.body)
end

dofile(os.getenv("BENCH_DIR") .. "/report.lua")

local report = done
function done(summary, latency, requests)
  report(summary, latency, requests)
  for _, thread in ipairs(threads) do
    local times = thread:get("wrapped_count") or 0
    if times > 0 and os.getenv("BENCH_ONCE") == "1" then
      io.stderr:write(string.format(
        "warning: thread %d ran out of requests (%d passes): later requests repeated earlier ones\n",
        thread:get("thread_index"), times))
    end
  end
end
