-- Calibration for the hash ceiling: POST /api/auth/login/ for a username that does not exist.
-- The server looks the name up (one SELECT), verifies the password against its dummy hash (made
-- with the configured argon2 parameters, exactly the work of a real verify) and answers 401,
-- writing nothing. bench/run.sh runs it at concurrency 1 and expects every answer to be 401.
dofile(os.getenv("BENCH_LUA_DIR") .. "/common.lua")

wrk.method = "POST"
wrk.path = "/api/auth/login/"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"nobody-' .. (os.getenv("BENCH_RUN") or "x")
   .. '","password":"Bench-pass-7f3k9Q2x"}'
