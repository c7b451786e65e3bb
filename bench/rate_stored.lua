-- wrk script: one stored event per POST /v1/rate, with one wrk thread for
-- many connections and WABAs: `-t1 -c64 ... -- RUN 64`.
-- A WABA's events must arrive in timestamp order, as a CRM sends them per
-- business, so a WABA's next event is sent only once its last one is
-- answered (the answer's message id names its WABA). Each connection then
-- has one request in flight, and each WABA at most one.
dofile(os.getenv("COEXIST_BENCH_DIR") .. "/rate_single.lua")

function init(args)
  path = "/v1/rate"
  run = args[1] or tostring(os.time())
  local wabas = tonumber(args[2] or "64")
  base_ts = 1772323200 -- 2026-03-01T00:00:00Z
  -- The WABAs with no request in flight, and how many events each sent.
  free, sent = {}, {}
  for k = index * wabas, (index + 1) * wabas - 1 do
    free[#free + 1] = k
    sent[k] = 0
  end
end

function request()
  if index == 0 and not checked then
    -- wrk calls this once on its first thread to check the request, and
    -- never sends that one: take no WABA for it.
    checked = true
    return wrk.format(nil, path, nil, "{}")
  end
  local k = table.remove(free)
  if not k then error("every WABA has a request in flight: an answer did not name its WABA") end
  use_waba(k)
  sent[k] = sent[k] + 1
  return wrk.format(nil, path, nil, event(sent[k]))
end

function response(status, headers, body)
  local k = body:match('"id":"wamid%.[^."]*%.SW(%d+)%.')
  if not k then error("answer " .. status .. " names no WABA: " .. body) end
  free[#free + 1] = tonumber(k)
end
