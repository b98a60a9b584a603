"""The generic HTTP layer, shared by every Socket API module; it knows no endpoint.

    connect    --api-url checks, tokens (``Credentials``: SOCKET_API_TOKEN_<ORG>, then the
               generic variables), pacing and proxies from the environment, ``resolve`` to a
               ``Target`` (``local:PATH`` through a transport the caller supplies)
    client     HttpClient.send: pacing, shared backoff gate, counting, retry decisions, a token
               per request, Refusal -> the API module's wording
    message    Answer, TransportError, the Exchange an HttpClient sends through, query and
               JSON encodings: no httpx, so a network run never imports it
    connections  the direct network Exchange: pooled http.client connections, TLS, gzip,
               interim answers skipped, every failure named and marked sent or never sent
    deadline   a total deadline per request, whatever the server's pace
    bridge     httpx transports as an Exchange (the in-process emulator, fault injectors, the
               proxy tunnel); ClosingTransport
    pacing     Rate (SOCKET_TRIAGE_RATE, Socket's 600 a minute) and Pacer, a token bucket that
               every thread of a client draws from
    retry      RetryPolicy (attempts for 5xx/network, waiting time for 429, a deadline per
               attempt), backoff, Retry-After, BackoffGate
    transport  the proxy tunnel (httpcore) for https through HTTPS_PROXY/ALL_PROXY
    paginate   by_number (parallel, consistent, bounded) and by_cursor; Page
    body       safe JSON reading and error messages from hostile bodies

API modules sit on top: ``reconciler.triage.client`` (legacy Triage API) and
``reconciler.policies.client`` (Alert Policies).
"""
