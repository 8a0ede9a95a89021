/// Reads the `spec` of an `AuthorizationPolicy` resource.
enum AuthorizationPolicySpecDecoder {
    static func decode(_ node: ConfigNode) -> AuthorizationPolicySpec? {
        node.allowOnly(["targetService", "action", "rules"])
        guard let targetNode = node.child("targetService") else {
            node.fail("targetService is required: the service whose inbound traffic the policy decides")
            return nil
        }
        guard let target = targetNode.string() else { return nil }
        if !ResourceMetadata.isValidName(target) { targetNode.fail("'\(target)' is not a valid service name") }
        let action = node.child("action")?.oneOf(AuthorizationPolicySpec.Action.self) ?? .allow
        var rules: [AuthorizationRule] = []
        if let list = node.child("rules")?.list() {
            for item in list {
                item.allowOnly(["from", "to"])
                var rule = AuthorizationRule()
                if let from = item.child("from") {
                    from.allowOnly(["identities", "services"])
                    rule.identities = from.child("identities")?.listOfDistinct { value -> String? in
                        guard let text = value.string() else { return nil }
                        if !(text.hasPrefix("spiffe://") || text == "*") {
                            value.fail("'\(text)' is not a workload identity (spiffe://<trust-domain>/service/<name>, or a prefix ending in *)")
                        }
                        return text
                    }
                    rule.services = from.child("services")?.listOfDistinct { value -> String? in
                        guard let text = value.string() else { return nil }
                        if !ResourceMetadata.isValidName(text) { value.fail("'\(text)' is not a valid service name") }
                        return text
                    }
                }
                if let to = item.child("to") {
                    to.allowOnly(["paths", "methods", "ports"])
                    rule.paths = to.child("paths")?.listOfDistinct { value -> String? in
                        guard let text = value.string() else { return nil }
                        let bare = text == "*" ? "/" : text.hasPrefix("*") ? "/" + text.dropFirst() : text
                        if !bare.hasPrefix("/") || bare.dropFirst().dropLast().contains("*") {
                            value.fail("'\(text)' is not a path pattern (an exact path, /prefix*, *suffix or *)")
                        }
                        return text
                    }
                    rule.methods = to.child("methods")?.listOfDistinct { value -> String? in
                        guard let text = value.string() else { return nil }
                        if text.isEmpty || !text.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) }) {
                            value.fail("'\(text)' is not a method (uppercase, such as GET)")
                        }
                        return text
                    }
                    rule.ports = to.child("ports")?.listOfDistinct { $0.int(in: 1...65535, "port") }
                }
                rules.append(rule)
            }
        } else if node.child("rules") == nil {
            node.fail("rules is required (a list; `- {}` matches every request)")
        }
        return AuthorizationPolicySpec(targetService: target, action: action, rules: rules)
    }
}
