-- wrk script: one normalized event per POST /v1/rate.
-- Run with as many threads as connections (-t64 -c64): each thread is one
-- connection and one WABA (SW<n>), sending its events in timestamp order, as a
-- CRM does per business. `-- dry` adds ?dry_run=true. `-- dry RUN K` gives
-- each thread K WABAs in turn, so fewer wrk threads drive the same 64 WABAs
-- (-t2 -c64 with K = 32); a thread's requests then overlap on its connections,
-- which only dry runs, storing nothing, can take without reordering a WABA.
-- bench/rate_stored.lua drives stored events from one thread, in order.
local next_index = 0
local prefixes = { "62812", "91987", "55119", "52155", "57300", "20100", "23480", "92300", "96650", "27820" }

function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
end

function init(args)
  path = "/v1/rate"
  if args[1] == "dry" then path = "/v1/rate?dry_run=true" end
  run = args[2] or tostring(os.time())
  wabas_per_thread = tonumber(args[3] or "1")
  use_waba(index * wabas_per_thread)
  counter = 0
  base_ts = 1772323200 -- 2026-03-01T00:00:00Z
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function event(n)
  local p = prefixes[(n % #prefixes) + 1]
  local user = string.format("+%s%07d", p, (n * 7919) % 5000)
  local roll = n % 100
  local direction, side, kind, category = "outbound", "api", "text", nil
  if roll < 30 then direction = "inbound"
  elseif roll < 55 then kind = "text"
  elseif roll < 65 then kind, category = "template", "marketing"
  elseif roll < 80 then kind, category = "template", "utility"
  elseif roll < 88 then kind, category = "template", "authentication"
  else side = "app" end
  local cat = ""
  if category then cat = ',"template_category":"' .. category .. '"' end
  return string.format(
    '{"id":"wamid.%s.%s.%d","waba":"%s","business_number":"%s","user":"%s","direction":"%s","side":"%s","type":"%s"%s,"timestamp":%d}',
    run, waba, n, waba, number, user, direction, side, kind, cat, base_ts + n)
end

function use_waba(k)
  waba = "SW" .. k
  number = string.format("+62215550%03d", k)
end

function request()
  counter = counter + 1
  if wabas_per_thread > 1 then use_waba(index * wabas_per_thread + counter % wabas_per_thread) end
  return wrk.format(nil, path, nil, event(counter))
end
