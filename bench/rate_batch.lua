-- wrk script: batches of 1,000 normalized events per POST /v1/rate.
-- Run with as many threads as connections: each is one WABA in timestamp order.
dofile(os.getenv("COEXIST_BENCH_DIR") .. "/rate_single.lua")

local batch_size = 1000

function request()
  local parts = {}
  for i = 1, batch_size do
    counter = counter + 1
    parts[i] = event(counter)
  end
  return wrk.format(nil, path, nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
end
