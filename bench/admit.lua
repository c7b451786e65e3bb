-- wrk script: POST /v1/numbers/{number}/admit {"count":1} over the first K
-- registered numbers (default 1000). Every answer is a decision: 200 allowed
-- or 429 refused; `done()` prints how many of each.
function init(args)
  k = tonumber(args[1] or "1000")
  math.randomseed(os.time() + math.random(1, 1000000))
end

wrk.method = "POST"
wrk.body = '{"count":1}'
wrk.headers["Content-Type"] = "application/json"

allowed, refused, other = 0, 0, 0
function request()
  local i = math.random(0, k - 1)
  return wrk.format(nil, string.format("/v1/numbers/+62%010d/admit", 2100000000 + i))
end

function response(status)
  if status == 200 then allowed = allowed + 1
  elseif status == 429 then refused = refused + 1
  else other = other + 1 end
end

-- Per-thread counters are summed through thread:get in done().
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done()
  local a, r, o = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + (t:get("allowed") or 0); r = r + (t:get("refused") or 0); o = o + (t:get("other") or 0)
  end
  io.write(string.format("admit decisions: allowed %d, refused (429) %d, other %d\n", a, r, o))
end
