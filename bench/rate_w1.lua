-- wrk script: one marketing template per POST /v1/rate for WABA W1
-- (tests/fixtures/w1.toml), each with a new id. Used by bench/plugins.sh.
local next_index = 0

function setup(thread)
  thread:set("index", next_index)
  next_index = next_index + 1
end

function init(args)
  counter = 0
  run = tostring(os.time()) .. "-" .. index
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local body = string.format(
    '{"id":"w1-%s-%d","waba":"W1","business_number":"+6221555000","user":"+62812%07d",' ..
    '"direction":"outbound","side":"api","type":"template","template_category":"marketing",' ..
    '"timestamp":"2026-03-10T10:00:00Z"}', run, counter, counter % 5000)
  return wrk.format(nil, "/v1/rate", nil, body)
end
