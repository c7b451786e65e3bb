-- wrk script: GET /v1/numbers/{number} for numbers spread over the registry
-- that bench/lifecycle.sh registered (+6221000000 .. +6221000000 + N - 1).
-- Args: `-- N` (default 100000).
function init(args)
  n = tonumber(args[1] or "100000")
  math.randomseed(os.time() + math.random(1, 1000000))
end

function request()
  local i = math.random(0, n - 1)
  return wrk.format("GET", string.format("/v1/numbers/+62%010d", 2100000000 + i))
end
