extension Policy {
    /// The `mode` and `admin` lines of `summary`, shown with the listeners and clients they go with.
    var productionSummary: [String] {
        var lines = ["mode \(mode.rawValue)"]
        if let admin {
            lines.append("admin \(admin.listen) clients " + admin.clients.map(\.description).joined(separator: ", "))
        }
        return lines
    }

    /// The limits, tunnel lifetime and access log lines of `summary`, each only when it says something
    /// beyond the defaults (the log line always: where the log goes is worth seeing).
    var resourceSummary: [String] {
        var lines: [String] = []
        if limits.maxConnections != nil || limits.maxConnectionsPerClient != nil {
            let total = limits.maxConnections.map(String.init) ?? "off"
            let perClient = limits.maxConnectionsPerClient.map(String.init) ?? "off"
            lines.append("limits max_connections \(total) max_connections_per_client \(perClient)")
        }
        if let tunnel = timeouts.tunnel { lines.append("timeouts tunnel \(DurationText.text(tunnel))") }
        lines.append("log access \(log.access ?? "stdout")")
        return lines
    }
}
