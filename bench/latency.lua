-- wrk reports p50 and p99 by itself; this prints the figures the benchmark table needs as JSON.
done = function(summary, latency, requests)
  io.write(string.format(
    '{"p50_ms": %.3f, "p95_ms": %.3f, "requests": %d, "seconds": %.3f, "errors": %d, "non2xx": %d}\n',
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, summary.requests,
    summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
