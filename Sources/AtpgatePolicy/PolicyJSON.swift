/// `/policy` on the admin listener: the effective policy as JSON, every rule and range with where it came
/// from ("atpgate.yaml:12", a catalog reference, "builtin:10.0.0.0/8"). Paths of files are shown, never
/// their contents, so no key material can leave through it.
extension Policy {
    public var effectiveJSON: String {
        let document: JSONValue = .object([
            ("file", .string(file)),
            ("source_files", .array(sourceFiles.map(JSONValue.string))),
            ("mode", .string(mode.rawValue)),
            ("listen", .array(listen.map { .string($0.description) })),
            ("clients", .array(clients.map { .string($0.description) })),
            ("admin", .optional(admin) { admin in
                .object([("listen", .string(admin.listen.description)),
                         ("clients", .array(admin.clients.map { .string($0.description) }))])
            }),
            ("allow", .array(allowRules.map(Policy.ruleJSON))),
            ("deny", .array(denyRules.map(Policy.ruleJSON))),
            ("networks", .object([
                ("deny", .array(networkDeny.map { Policy.networkJSON($0.network.description, $0.reference.text) })),
                ("allow", .array(networkAllow.map { Policy.networkJSON($0.network.description, $0.reference.text) })),
                ("builtin", .array(NetworkVetter.builtinRanges.map { Policy.networkJSON($0.description, "builtin:\($0)") })),
            ])),
            ("hosts", .object(staticHosts.keys.sorted().map { name in
                (name, .array(staticHosts[name]!.map { .string($0.description) }))
            })),
            ("pin", .optional(pin) { pin in
                .object([("hosts", .array(pin.hosts.sorted().map(JSONValue.string))),
                         ("prefixes", .int(pin.prefixes.count)),
                         ("from", .string(pin.reference.text))])
            }),
            ("pac", .optional(pac) { pac in
                .object([("proxy", .optional(pac.proxy) { .string($0.description) }),
                         ("bypass", .array(pac.bypass.map(JSONValue.string))),
                         ("others", .string(pac.others.rawValue))])
            }),
            ("tls", .object([("sni", .string(tls.sni.rawValue)), ("ports", .array(tls.ports.map { .int(Int($0)) }))])),
            ("inspection", .optional(inspection) { inspection in
                .object([("hosts", .array(inspection.hosts.map { .string($0.description) })),
                         ("from", .string(referenceName(line: inspection.sourceLine))),
                         ("summary", .array(inspectionSummary.map(JSONValue.string)))])
            }),
            ("timeouts", .object([
                ("head", .number(timeouts.head)), ("dns", .number(timeouts.dns)), ("connect", .number(timeouts.connect)),
                ("response", .number(timeouts.response)), ("idle", .number(timeouts.idle)), ("grace", .number(timeouts.grace)),
                ("upstream_keepalive", .number(timeouts.upstreamKeepAlive)),
                ("tunnel", .optional(timeouts.tunnel, JSONValue.number)),
            ])),
            ("limits", .object([
                ("head_bytes", .int(limits.headBytes)),
                ("upstream_keepalive_per_origin", .int(limits.upstreamKeepAlivePerOrigin)),
                ("upstream_keepalive_total", .int(limits.upstreamKeepAliveTotal)),
                ("max_connections", .optional(limits.maxConnections, JSONValue.int)),
                ("max_connections_per_client", .optional(limits.maxConnectionsPerClient, JSONValue.int)),
            ])),
            ("log", .object([("access", .optional(log.access, JSONValue.string))])),
            ("on_reload", .string(onReload.rawValue)),
            ("default", .string("deny")),
        ])
        return document.rendered + "\n"
    }

    private static func ruleJSON(_ rule: Rule) -> JSONValue {
        .object([("rule", .string(rule.display)), ("from", .string(rule.reference.text))])
    }

    private static func networkJSON(_ network: String, _ from: String) -> JSONValue {
        .object([("network", .string(network)), ("from", .string(from))])
    }
}
