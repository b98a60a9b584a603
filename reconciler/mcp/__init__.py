"""``socket-triage mcp``: read-only tools for AI agents, served over MCP on stdio.

The tools (``tools``) are plain functions over the engine that return JSON-ready dicts; only
``server`` knows the MCP SDK, and it imports the SDK inside ``serve``, so the rest of the
package (and ``import reconciler``) never needs the optional ``mcp`` extra. Every result is
redacted and bounded in size (``bounds``); every path is confined to the server's working
directory (``confine``). No tool writes to Socket: the only API calls are GETs of live rules.
docs/agents.md has the client configurations and the security model.
"""
