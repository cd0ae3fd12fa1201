-- PUT of ACRCTL_BENCH_BODY (a JSON document) with the bearer token from ACRCTL_BENCH_TOKEN.
local token = os.getenv("ACRCTL_BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.method = "PUT"
wrk.body = os.getenv("ACRCTL_BENCH_BODY") or "{}"
wrk.headers["Content-Type"] = "application/json"
