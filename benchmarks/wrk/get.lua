-- GET with the bearer token from ACRCTL_BENCH_TOKEN (when set).
local token = os.getenv("ACRCTL_BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
wrk.method = "GET"
