import AtpgateNet

/// A compiled policy: immutable after load and safe to share across threads. A reload
/// builds a new Policy and swaps the reference; nothing here is ever mutated.
public final class Policy: Sendable {
    /// Path as given to the loader.
    public let file: String
    public let listen: [ListenAddress]
    public let clients: [IPNetwork]
    public let timeouts: Timeouts
    public let limits: Limits
    /// What a live reload does to established connections (`on_reload:`).
    public let onReload: ReloadMode
    /// Every file this policy was built from, as paths that open them: the policy file,
    /// the ATP catalog (with an `atp` block) and the service-tag file (with `atp.pin`).
    /// The engine watches them to reload.
    public let sourceFiles: [String]
    /// The `pac:` block: how Windows clients are pointed at this proxy; nil when absent.
    public let pac: PACSettings?
    /// The `tls:` block: the ClientHello peek on CONNECT tunnels (default: `sni: enforce` on 443).
    public let tls: TLSPeekSettings
    /// The `inspection:` section (TLS inspection, issue 11); nil when absent, and then nothing is inspected.
    public let inspection: InspectionSettings?
    /// What `atpgate check` warns about in `inspection` (sensors that would fail behind it), one line
    /// each, "file:line: message"; empty without the section.
    public let inspectionWarnings: [String]
    /// `mode:` — `enforce` (the default) or `report`, where the default deny lets the request through,
    /// marked as reported (`decide`).
    public let mode: DecisionMode
    /// The `admin:` listener (metrics, health, `/policy`); nil when absent, and then there is none.
    public let admin: AdminSettings?
    /// The `log:` block: where the access log goes.
    public let log: LogSettings

    let allowRules: [Rule]
    let denyRules: [Rule]
    let networkDeny: [NetworkVetter.Entry]
    let networkAllow: [NetworkVetter.Entry]
    let staticHosts: [String: [IPAddress]]
    let pin: ServiceTagPin?
    /// The `https://` rules of both lists: their ports are the inspected ports of their hosts besides 443.
    let httpsRules: [Rule]

    let allowTable: RuleTable
    let denyTable: RuleTable
    private let clientTable: PrefixTable<Bool>
    private let vetter: NetworkVetter

    static let defaultListen = [ListenAddress("127.0.0.1:3128")!]
    static let defaultClients = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!]

    init(file: String, listen: [ListenAddress], clients: [IPNetwork], timeouts: Timeouts, limits: Limits,
         allow: [Rule], deny: [Rule], networkDeny: [NetworkVetter.Entry], networkAllow: [NetworkVetter.Entry],
         hosts: [String: [IPAddress]], onReload: ReloadMode = .keep, pin: ServiceTagPin? = nil,
         sourceFiles: [String]? = nil, pac: PACSettings? = nil, tls: TLSPeekSettings = TLSPeekSettings(),
         inspection: InspectionSettings? = nil, inspectionWarnings: [String] = [], mode: DecisionMode = .enforce,
         admin: AdminSettings? = nil, log: LogSettings = LogSettings()) {
        self.file = file
        self.listen = listen
        self.clients = clients
        self.timeouts = timeouts
        self.limits = limits
        self.allowRules = allow
        self.denyRules = deny
        self.networkDeny = networkDeny
        self.networkAllow = networkAllow
        self.staticHosts = hosts
        self.onReload = onReload
        self.pin = pin
        self.sourceFiles = sourceFiles ?? [file]
        self.pac = pac
        self.tls = tls
        self.inspection = inspection
        self.inspectionWarnings = inspectionWarnings
        self.mode = mode
        self.admin = admin
        self.log = log
        self.httpsRules = (allow + deny).filter(\.isHTTPS)
        self.allowTable = RuleTable(allow)
        self.denyTable = RuleTable(deny)
        var clientTable = PrefixTable<Bool>()
        for network in clients { clientTable.insert(network) { $0 = true } }
        self.clientTable = clientTable
        self.vetter = NetworkVetter(deny: networkDeny, allow: networkAllow)
    }

    /// Whether `address` may use the proxy at all. IPv4-mapped IPv6 peers (dual-stack
    /// sockets) are checked as the IPv4 they are.
    public func isClientAllowed(_ address: IPAddress) -> Decision {
        let effective = address.mappedIPv4 ?? address
        var match: IPNetwork? = nil
        clientTable.forEachMatch(effective) { network, _ in if match == nil { match = network } }
        let reference = RuleReference("clients")
        return Decision(verdict: match == nil ? .deny : .allow, rule: reference, because: .client(effective, match))
    }

    /// Destination decision: a matching deny rule beats any allow rule; no match denies.
    ///
    /// In report mode (`mode: report`) the default deny becomes an allow with `Decision.mode == .report`; a
    /// deny rule, an invalid path, the client check and vetting are not affected.
    ///
    /// An allowed CONNECT says in `Decision.inspected` whether the tunnel is TLS-inspected: the engine then
    /// terminates the client's TLS and decides every request inside with `decideInner`. `https://` allow
    /// rules allow their CONNECT here (never a plain-HTTP request), and such a CONNECT is always inspected.
    public func decide(_ request: DecisionRequest) -> Decision {
        let subject: RuleSubject
        switch request.kind {
        case .connect:
            subject = .connect
        case .http(let raw):
            // Fail closed on paths the engine should have refused: rules are only meaningful on
            // validated paths. The readings hold the canonical path part (the query never takes
            // part in matching), a slice of `raw` unless an escape had to be rewritten.
            do {
                subject = .plainHTTP(try PathReadings(raw))
            } catch {
                return Decision(verdict: .deny, rule: RuleReference("path"), reason: "invalid request path: \(error.reason)")
            }
        }
        if let rule = denyTable.firstMatch(host: request.host, port: request.port, subject: subject, embedded: true) {
            return Decision(verdict: .deny, rule: rule.reference, because: .rule(rule))
        }
        if let rule = allowTable.firstMatch(host: request.host, port: request.port, subject: subject) {
            var decision = Decision(verdict: .allow, rule: rule.reference, because: .rule(rule))
            if case .connect = subject {
                // The load-time check (every https:// host is inspected) makes the first test imply the
                // second; asking both keeps an https:// rule from ever opening an uninspected tunnel.
                decision.inspected = rule.isHTTPS || inspects(host: request.host, port: request.port)
            }
            return decision
        }
        guard mode == .report else {
            return Decision(verdict: .deny, rule: RuleReference("default"), because: .noMatch(request.host, request.port))
        }
        // Report mode relaxes only this default deny: the request goes through, and the log keeps the rule and
        // reason that would have denied it. A reported CONNECT to an inspected host is still inspected, so the
        // requests inside still meet `decideInner`, which report mode does not relax.
        var decision = Decision(verdict: .allow, rule: RuleReference("default"), because: .noMatch(request.host, request.port))
        decision.mode = .report
        if case .connect = subject { decision.inspected = inspects(host: request.host, port: request.port) }
        return decision
    }

    /// Addresses from `hosts:` for a name, bypassing DNS (still vetted); nil when absent.
    public func staticAddresses(for host: Host) -> [IPAddress]? {
        guard case .name(let name) = host else { return nil }
        return staticHosts[name]
    }

    /// Vets addresses before connecting, as `vet(_:)`, and then, when `host` is a sensor
    /// API host pinned by `atp.pin`, denies the first address outside the service tag's
    /// prefixes. Other hosts (console, CRL, the policy's own rules) are vetted as usual.
    public func vet(_ addresses: [IPAddress], host: Host) -> VetResult {
        let vetted = vet(addresses)
        guard vetted == .allowed, let pin, case .name(let name) = host, pin.hosts.contains(name) else { return vetted }
        for address in addresses where !pin.admits(address) {
            return .denied(address: address, rule: pin.reference)
        }
        return .allowed
    }

    /// Vets addresses before connecting. The first denied address in the given order
    /// decides, so one bad record fails the whole set (fail closed). An empty list is
    /// `.allowed`: there is nothing to connect to, which the engine reports itself.
    public func vet(_ addresses: [IPAddress]) -> VetResult {
        for address in addresses {
            if let rule = vetter.denial(of: address) { return .denied(address: address, rule: rule) }
        }
        return .allowed
    }

    /// Human-readable lines: listeners, clients, every rule with its reference, network
    /// ranges (configured and built-in) and the default.
    public var summary: [String] {
        var lines = listen.map { "listen \($0)" }
        lines.append("clients " + (clients.isEmpty ? "(none)" : clients.map(\.description).joined(separator: ", ")))
        lines.append("on_reload \(onReload.rawValue)")
        lines += productionSummary
        lines += denyRules.map { "deny \($0.display) (\($0.reference))" }
        lines += allowRules.map { "allow \($0.display) (\($0.reference))" }
        lines += networkDeny.map { "networks deny \($0.network) (\($0.reference))" }
        lines += networkAllow.map { "networks allow \($0.network) (\($0.reference))" }
        lines += NetworkVetter.builtinRanges.map { "networks deny \($0) (builtin:\($0))" }
        lines += staticHosts.keys.sorted().map { "hosts \($0) -> \(staticHosts[$0]!.map(\.description).joined(separator: ", "))" }
        if let pin {
            let count = pin.prefixes.count == 1 ? "1 prefix" : "\(pin.prefixes.count) prefixes"
            lines += pin.hosts.sorted().map { "pin \($0) to \(count) (\(pin.reference))" }
        }
        if let pac {
            let bypass = pac.bypass.isEmpty ? "(none)" : pac.bypass.joined(separator: ";")
            lines.append("pac proxy \(pac.proxy?.description ?? "(from the command line)") bypass \(bypass) others \(pac.others.rawValue)")
        }
        lines.append("tls sni \(tls.sni.rawValue) on ports " + (tls.ports.isEmpty ? "(none)" : tls.ports.map(String.init).joined(separator: ", ")))
        lines += inspectionSummary
        lines += resourceSummary
        lines.append(mode == .report ? "default deny (reported, not enforced: mode report)" : "default deny")
        return lines
    }
}
