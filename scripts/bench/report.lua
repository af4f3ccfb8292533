-- wrk 4.x reporting module: at the end of a run, writes one JSON object with throughput,
-- latency percentiles and error counts to the file named by BENCH_WRK_OUT (stdout when unset).
--
-- Use it alone:               wrk -s scripts/bench/report.lua ...
-- or from a scenario script, after defining request/init as needed:
--     request = function() return wrk.format("GET", "/api/...") end
--     dofile(os.getenv("BENCH_DIR") .. "/report.lua")
--
-- Only the global `done` is defined here: `request`, `init` and the rest are left to the
-- scenario, and there is deliberately no `response` callback (it makes wrk parse every
-- response in Lua, which slows it down).
--
-- Output (latencies in milliseconds; wrk measures them in microseconds):
--   {"requests": N, "duration_s": s, "rps": r, "bytes": N,
--    "latency_ms": {"mean", "p50", "p90", "p99", "p999", "max"},
--    "errors": {"connect", "read", "write", "status", "timeout", "total"}}
-- errors.status counts responses with a status of 400 or more; the others are socket errors.

-- Minimal JSON encoder: nil, booleans, finite numbers, strings, arrays (tables with keys
-- 1..n) and objects (keys sorted, so the output is stable). NaN and infinities become null.
local escapes = { ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }

local function json_encode(value)
  local kind = type(value)
  if kind == "nil" then
    return "null"
  elseif kind == "boolean" then
    return tostring(value)
  elseif kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      return "null"
    elseif value == math.floor(value) and math.abs(value) < 2 ^ 53 then
      return string.format("%d", value)
    end
    return string.format("%.10g", value)
  elseif kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c)
      return escapes[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
  elseif kind == "table" then
    local parts = {}
    if #value > 0 or next(value) == nil then
      for i = 1, #value do
        parts[i] = json_encode(value[i])
      end
      return "[" .. table.concat(parts, ", ") .. "]"
    end
    local keys = {}
    for key in pairs(value) do
      keys[#keys + 1] = tostring(key)
    end
    table.sort(keys)
    for i, key in ipairs(keys) do
      parts[i] = json_encode(key) .. ": " .. json_encode(value[key])
    end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  error("cannot encode a " .. kind .. " as JSON")
end

local function ms(microseconds)
  return microseconds / 1000
end

function done(summary, latency, requests)
  local duration_s = summary.duration / 1e6
  local e = summary.errors
  local result = {
    requests = summary.requests,
    duration_s = duration_s,
    rps = duration_s > 0 and summary.requests / duration_s or 0,
    bytes = summary.bytes,
    latency_ms = {
      mean = ms(latency.mean),
      p50 = ms(latency:percentile(50)),
      p90 = ms(latency:percentile(90)),
      p99 = ms(latency:percentile(99)),
      p999 = ms(latency:percentile(99.9)),
      max = ms(latency.max),
    },
    errors = {
      connect = e.connect,
      read = e.read,
      write = e.write,
      status = e.status,
      timeout = e.timeout,
      total = e.connect + e.read + e.write + e.status + e.timeout,
    },
  }
  local text = json_encode(result) .. "\n"

  local path = os.getenv("BENCH_WRK_OUT")
  if path and path ~= "" then
    local file, err = io.open(path, "w")
    if file then
      file:write(text)
      file:close()
      return
    end
    io.stderr:write("report.lua: cannot write " .. path .. ": " .. tostring(err) .. "\n")
  end
  io.stdout:write(text)
end
