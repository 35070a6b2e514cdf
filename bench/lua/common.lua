-- Shared by every scenario script: loads the seeded data, counts non-2xx answers in every
-- wrk thread, and prints one machine-readable line when wrk is done.
--
-- Environment (set by bench/run.sh):
--   BENCH_NAME  scenario name, echoed in the result line
--   BENCH_DATA  path of a Lua file returning { password=..., users={...}, access={...}, refresh={...} }
--   BENCH_RUN   a random string unique to this run (register's usernames)

bench = {}

bench.name = os.getenv("BENCH_NAME") or "unnamed"

function bench.load_data()
   local path = os.getenv("BENCH_DATA")
   if path == nil or path == "" then
      error("BENCH_DATA is not set")
   end
   local data = dofile(path)
   if data.users == nil or #data.users == 0 then
      error("no seeded users in " .. path)
   end
   return data
end

-- Minimal JSON string escaping; seeded values are ASCII letters, digits, '-', '.', '@' and '_'.
function bench.json_string(s)
   return '"' .. s:gsub('[%c"\\]', function(c) return string.format("\\u%04x", c:byte()) end) .. '"'
end

-- Main state: remember every thread so done() can read its counters.
local threads = {}
local next_id = 0

function setup(thread)
   next_id = next_id + 1
   thread:set("thread_id", next_id)
   table.insert(threads, thread)
end

-- Statuses a script expects besides 2xx (the attacker's 401 and 429): counted by status like
-- every other non-2xx answer, but not as errors.
bench.expected = {}

-- Thread states: count answers by class. Anything that is not 2xx, and not expected, is an error.
non2xx = 0
status_counts = {}

function response(status, headers, body)
   if status < 200 or status > 299 then
      status_counts[status] = (status_counts[status] or 0) + 1
      if not bench.expected[status] then
         non2xx = non2xx + 1
      end
   end
end

function done(summary, latency, requests)
   local non2xx_total = 0
   local by_status = {}
   for _, thread in ipairs(threads) do
      non2xx_total = non2xx_total + (thread:get("non2xx") or 0)
      local counts = thread:get("status_counts")
      if counts ~= nil then
         for status, count in pairs(counts) do
            by_status[status] = (by_status[status] or 0) + count
         end
      end
   end
   local statuses = {}
   for status, count in pairs(by_status) do
      table.insert(statuses, status .. ":" .. count)
   end
   table.sort(statuses)
   local seconds = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format(
      "BENCH_RESULT name=%s requests=%d duration_s=%.3f rps=%.1f lat_mean_us=%.1f lat_p50_us=%d "
         .. "lat_p90_us=%d lat_p99_us=%d lat_max_us=%d non2xx=%d err_connect=%d err_read=%d "
         .. "err_write=%d err_timeout=%d statuses=%s\n",
      bench.name, summary.requests, seconds, summary.requests / seconds, latency.mean,
      latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
      non2xx_total, e.connect, e.read, e.write, e.timeout,
      (#statuses > 0) and table.concat(statuses, ",") or "-"))
end
