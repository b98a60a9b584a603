"""The generic HTTP layer, shared by every Socket API module; it knows no endpoint.

    connect    --api-url checks, tokens (``Credentials``: SOCKET_API_TOKEN_<ORG>, then the
               generic variables) and pacing from the environment, ``resolve`` to a ``Target``
               (``local:PATH`` through a transport the caller supplies)
    client     HttpClient.send: pacing, shared backoff gate, counting, retry decisions, a token
               per request, Refusal -> the API module's wording; ClosingTransport
    pacing     Rate (SOCKET_TRIAGE_RATE, Socket's 600 a minute) and Pacer, a token bucket that
               every thread of a client draws from
    retry      RetryPolicy (attempts for 5xx/network, waiting time for 429, a deadline per
               attempt), backoff, Retry-After, BackoffGate
    transport  the network transport: pool sized to the concurrency, a total deadline per
               request, no SSL context for plain http, proxies from the environment for https
    paginate   by_number (parallel, consistent, bounded) and by_cursor; Page
    body       safe JSON reading and error messages from hostile bodies

API modules sit on top: ``reconciler.triage.client`` (legacy Triage API) and
``reconciler.policies.client`` (Alert Policies).
"""
