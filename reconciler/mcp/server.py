"""The MCP server: ``Tools`` and two resources behind the official ``mcp`` SDK, over stdio.

The SDK (``pip install 'socket-triage[mcp]'``) is imported inside ``build``, so importing this
module costs nothing and works without the extra. Each tool's arguments are described with
``Annotated`` types, which the SDK turns into the JSON Schema an agent sees; this module does
without ``from __future__ import annotations`` because the SDK reads those annotations from
functions defined inside ``build``, whose local names a string annotation could not reach.

Every call goes through ``_result``: the result is redacted and bounded (``bounds.finish``); an
expected failure becomes a tool error of one line, redacted; anything else a one-line internal
error, so that no traceback (which might hold a request's headers) reaches the agent or the log.
"""

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Final

from reconciler import __version__
from reconciler.errors import ConfigError, ReconcilerError
from reconciler.mcp.bounds import finish
from reconciler.mcp.tools import MAX_LIMIT, Tools
from reconciler.redact import redact
from reconciler.rules import ruleschema
from reconciler.rules.reference import render_reference

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

SCHEMA_URI: Final = "socket-triage://schema/triage-rules.schema.json"
REFERENCE_URI: Final = "socket-triage://docs/rule-reference.md"
MATCHING_URI: Final = "socket-triage://docs/matching.md"
MAX_ERROR_LINES: Final = 40

INSTRUCTIONS: Final = (
    "Read-only tools for Socket.dev triage rules kept as YAML in this repository. Use validate "
    "to check rule files, explain to see which rule decides an alert, list_live_rules to read "
    "the org's live rules, check_rule to test a proposed rule and get the YAML to add and the "
    "file it belongs in, and plan to preview what apply would change. Nothing here writes to "
    "Socket: propose changes as a pull request to the rule files; CI applies them after review."
)

Paths = list[str]
PATHS_HELP: Final = (
    "Rule files or directories, relative to the server's working directory (default: all of "
    "it). Only *.yaml and *.yml files inside it are read."
)
ORG_HELP: Final = "Socket org slug, as in the rule files."
TARGET_HELP: Final = (
    "triage (legacy: most specific first) or alert-policies (the governing policy's rules in "
    "file order); default: the files' target:, else the org's migration status with live"
)


def _result(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        return finish(call())
    except ConfigError as exc:
        lines = [str(d) for d in exc.diagnostics]
        more = len(lines) - MAX_ERROR_LINES
        shown = lines[:MAX_ERROR_LINES] + ([f"... and {more} more"] if more > 0 else [])
        raise ToolError(redact("invalid rule files:\n" + "\n".join(shown))) from None
    except ReconcilerError as exc:
        raise ToolError(redact(str(exc))) from None
    except Exception as exc:  # a bug: one line, no traceback (it could hold request details)
        raise ToolError(redact(f"internal error: {type(exc).__name__}: {exc}")) from None


def build(tools: Tools) -> "MCPServer":
    """An ``MCPServer`` with the read-only tools and the resources; needs the ``mcp`` extra."""
    from mcp.server.mcpserver import MCPServer
    from mcp.types import ToolAnnotations

    server = MCPServer(
        "socket-triage", instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    read_only = ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    _file_tools(server, tools, read_only)
    _explain_tool(server, tools, read_only)
    _live_tool(server, tools, read_only)
    _resources(server)
    return server


def _file_tools(server: "MCPServer", tools: Tools, read_only: "ToolAnnotations") -> None:
    from pydantic import Field

    PathsArg = Annotated[Paths, Field(description=PATHS_HELP)]
    OrgArg = Annotated[str | None, Field(description=ORG_HELP)]
    TargetArg = Annotated[str | None, Field(description=TARGET_HELP)]

    @server.tool(annotations=read_only)
    def validate(paths: PathsArg = []) -> dict[str, Any]:  # noqa: B006 - the SDK copies it
        """Check rule files as `socket-triage validate` does: every error and warning, with
        file, line and column."""
        return _result(lambda: tools.validate(paths))

    @server.tool(annotations=read_only)
    def plan(paths: PathsArg = [], org: OrgArg = None) -> dict[str, Any]:  # noqa: B006
        """The plan (creates, updates, deletes) that `socket-triage apply` would carry out for
        the org(s) in the files, as JSON. Reads the org's live rules; writes nothing."""
        return _result(lambda: tools.plan(paths, org))

    @server.tool(annotations=read_only)
    def check_rule(
        paths: PathsArg = [],  # noqa: B006
        org: OrgArg = None,
        rule_yaml: Annotated[
            str | None, Field(description="One rule as YAML, as it would sit under rules:")
        ] = None,
        fields: Annotated[
            dict[str, Any] | None, Field(description="The rule's fields, instead of rule_yaml")
        ] = None,
        target: TargetArg = None,
        live: Annotated[bool, Field(description="plan its effect on the org's live rules")] = True,
    ) -> dict[str, Any]:
        """Check a proposed rule without writing anything: validation, duplicates and shadowing
        against the files, the changes the next apply would make because of it, and the YAML
        to add with the file it belongs in."""
        return _result(
            lambda: tools.check_rule(
                paths, org=org, rule_yaml=rule_yaml, fields=fields, target=target, live=live
            )
        )


def _explain_tool(server: "MCPServer", tools: Tools, read_only: "ToolAnnotations") -> None:
    from pydantic import Field

    PathsArg = Annotated[Paths, Field(description=PATHS_HELP)]
    OrgArg = Annotated[str | None, Field(description=ORG_HELP)]
    TargetArg = Annotated[str | None, Field(description=TARGET_HELP)]

    @server.tool(annotations=read_only)
    def explain(
        paths: PathsArg = [],  # noqa: B006
        org: OrgArg = None,
        purl: Annotated[str | None, Field(description="e.g. pkg:npm/lodash@4.17.20")] = None,
        package_type: str | None = None,
        package_namespace: str | None = None,
        package_name: str | None = None,
        package_version: str | None = None,
        alert_type: Annotated[str | None, Field(description="e.g. criticalCVE, cve")] = None,
        alert_key: str | None = None,
        cve: Annotated[str | None, Field(description="CVE or GHSA id")] = None,
        reachability: Annotated[
            str | None, Field(description="reachable, unreachable or other")
        ] = None,
        fix_available: bool | None = None,
        patch_available: bool | None = None,
        kev: Annotated[bool | None, Field(description="in CISA's KEV catalogue")] = None,
        cvss: Annotated[float | None, Field(ge=0, le=10, description="CVSS score")] = None,
        severity: Annotated[
            str | None, Field(description="Alert Policies: finding severity, e.g. critical")
        ] = None,
        repo: Annotated[
            str | None,
            Field(description="Alert Policies: repository slug, or OWNER/NAME for location.repo"),
        ] = None,
        manifest: Annotated[
            str | None, Field(description="Alert Policies: manifest path in the repository")
        ] = None,
        target: TargetArg = None,
        live: Annotated[bool, Field(description="also compare with the org's live rules")] = False,
    ) -> dict[str, Any]:
        """Which rules in the files match one alert, in the order Socket applies them, the
        resulting state, each with file:line, owner, ticket and expiry; facts not given leave
        rules undecided. Under Alert Policies: the policy governing the repository, its rules
        in evaluation order (first match decides), resolutions that hide the alert, and the
        baseline preset; undocumented fields or operators are undecided, with the reason.
        With live, also where the files and the org disagree."""
        alert = {
            "purl": purl,
            "package_type": package_type,
            "package_namespace": package_namespace,
            "package_name": package_name,
            "package_version": package_version,
            "alert_type": alert_type,
            "alert_key": alert_key,
            "cve": cve,
            "reachability": reachability,
            "fix_available": fix_available,
            "patch_available": patch_available,
            "kev": kev,
            "cvss": cvss,
        }
        where = {"severity": severity, "repo": repo, "manifest": manifest}
        return _result(
            lambda: tools.explain(
                paths, org=org, alert=alert, target=target, live=live, where=where
            )
        )


def _live_tool(server: "MCPServer", tools: Tools, read_only: "ToolAnnotations") -> None:
    from pydantic import Field

    @server.tool(annotations=read_only)
    def list_live_rules(
        org: Annotated[str, Field(description="Socket org slug.")],
        package_type: str | None = None,
        package_name: str | None = None,
        alert_type: str | None = None,
        state: str | None = None,
        contains: Annotated[
            str | None, Field(description="text to find in the selector or the note")
        ] = None,
        managed: Annotated[
            bool | None, Field(description="only rules socket-triage wrote (or only others)")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_LIMIT)] = 50,
        offset: Annotated[int, Field(ge=0)] = 0,
    ) -> dict[str, Any]:
        """The org's live triage rules, oldest first, filtered, one page at a time."""
        filters = {
            "package_type": package_type,
            "package_name": package_name,
            "alert_type": alert_type,
            "state": state,
            "contains": contains,
        }
        return _result(
            lambda: tools.list_live_rules(
                org, filters=filters, managed=managed, limit=limit, offset=offset
            )
        )


def _resources(server: "MCPServer") -> None:
    @server.resource(SCHEMA_URI, name="triage-rules schema", mime_type="application/json")
    def schema() -> str:
        """The JSON Schema of a rule file."""
        return json.dumps(ruleschema.schema(), indent=2)

    @server.resource(REFERENCE_URI, name="rule reference", mime_type="text/markdown")
    def reference() -> str:
        """Every rule-file field, its type, allowed values and meaning."""
        return "# Rule-file reference\n\n" + render_reference(ruleschema.schema())

    @server.resource(MATCHING_URI, name="how rules match", mime_type="text/markdown")
    def matching() -> str:
        """How each selector field matches an alert, and which matching rule decides."""
        from reconciler.explain import match, precedence
        from reconciler.vocab.policies import matching as policies

        docs = [match.__doc__, precedence.__doc__, policies.__doc__]
        return "\n\n".join(["# How rules match", *(d or "" for d in docs)])


def serve(tools: Tools) -> None:
    """Run the server on stdin and stdout until the client closes them."""
    build(tools).run("stdio")
