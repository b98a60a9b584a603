"""The generic HTTP layer, shared by every Socket API module; it knows no endpoint.

    connect    --api-url checks, tokens (``Credentials``: SOCKET_API_TOKEN_<ORG>, then the
               generic variables), pacing, proxies and CA settings from the environment,
               ``resolve`` to a ``Target`` (``local:PATH`` through a transport the caller
               supplies)
    client     HttpClient.send over one httpx.Client: pacing, shared backoff gate, counting,
               retry decisions and the one never-sent classification (``never_sent``), a
               token per request, Refusal -> the API module's wording
    transport  NetworkTransport: httpcore's pool with a total deadline per request (``deadline``)
               and the proxy tunnel; ClosingTransport. The in-process emulator and tests' fault
               injectors are httpx transports in its place
    pacing     Rate (SOCKET_TRIAGE_RATE, Socket's 600 a minute) and Pacer, the sliding window
               every thread of a client shares
    waits      the one interruptible sleep of every wait (Ctrl-C and SIGTERM wake them all)
    retry      RetryPolicy (attempts for 5xx/network, waiting time for 429, a deadline per
               attempt), backoff, Retry-After, BackoffGate
    paginate   by_number (parallel, consistent, bounded) and by_cursor; Page
    body       safe JSON reading and error messages from hostile bodies

API modules sit on top: ``reconciler.triage.client`` (legacy Triage API) and
``reconciler.policies.client`` (Alert Policies).
"""
