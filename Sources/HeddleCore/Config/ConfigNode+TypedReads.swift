// Reads of values with a unit or a vocabulary of their own: numbers in a range, percentages,
// byte sizes, bounded durations, gRPC status codes, lists without repeats.
extension ConfigNode {
    func double(in range: ClosedRange<Double>) -> Double? {
        guard let value = double() else { return nil }
        guard range.contains(value) else {
            fail("must be between \(Self.text(range.lowerBound)) and \(Self.text(range.upperBound))")
            return nil
        }
        return value
    }

    func positiveDouble() -> Double? {
        guard let value = double() else { return nil }
        guard value > 0 else {
            fail("must be greater than zero")
            return nil
        }
        return value
    }

    /// A share of requests, 0 to 100, fractions allowed (`0.5` is one request in 200).
    func percent() -> Double? {
        guard let value = double() else { return nil }
        guard (0...100).contains(value) else {
            fail("must be between 0 and 100 (percent)")
            return nil
        }
        return value
    }

    /// A size in bytes: a plain number (`65536`) or a whole number of KiB or MiB (`64KiB`).
    func byteSize(in range: ClosedRange<Int>) -> Int? {
        guard let text = scalarString else {
            fail("must be a size in bytes, such as 65536 or 64KiB")
            return nil
        }
        let units: [(suffix: String, bytes: Int)] = [("KiB", 1024), ("MiB", 1024 * 1024), ("", 1)]
        var size: Int?
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            if !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(number) {
                let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
                size = overflow ? .max : bytes
            }
            break
        }
        guard let size else {
            fail("'\(text)' is not a size (use bytes, or a whole number with KiB or MiB, such as 65536 or 64KiB)")
            return nil
        }
        guard range.contains(size) else {
            fail("must be between \(range.lowerBound) and \(range.upperBound) (bytes)")
            return nil
        }
        return size
    }

    func duration(in range: ClosedRange<Duration>) -> Duration? {
        guard let value = duration() else { return nil }
        guard range.contains(value) else {
            fail("must be between \(range.lowerBound.configText) and \(range.upperBound.configText)")
            return nil
        }
        return value
    }

    /// A gRPC status by number (`14`) or name (`UNAVAILABLE`), other than `OK`: the codes
    /// configuration names are failures.
    func grpcFailureStatus() -> GRPCStatusCode? {
        guard let text = scalarString else {
            fail("must be a gRPC status: a number 1 to 16 or a name such as UNAVAILABLE")
            return nil
        }
        let code: GRPCStatusCode?
        if let number = Int(text) {
            code = GRPCStatusCode(rawValue: number)
            if code == nil { fail("must be between 1 and 16 (gRPC status)") }
        } else {
            code = GRPCStatusCode(name: text)
            if code == nil { fail("'\(text)' is not a gRPC status (a number 1 to 16 or a name such as UNAVAILABLE)") }
        }
        if code == .ok {
            fail("OK (0) is success, not a failure")
            return nil
        }
        return code
    }

    /// A list read item by item with `read`; an item equal to an earlier one is refused.
    func listOfDistinct<T: Hashable>(_ read: (ConfigNode) -> T?) -> [T]? {
        guard let items = list() else { return nil }
        var values: [T] = []
        for item in items {
            guard let value = read(item) else { continue }
            if values.contains(value) {
                item.fail("'\(item.scalarString ?? "\(value)")' is listed twice")
            } else {
                values.append(value)
            }
        }
        return values
    }

    /// Fails when the duration under `lowerKey` is longer than the one under `upperKey`, at
    /// the upper field when it was given and else at the lower one, naming the other's value.
    /// A field that is not a positive duration has its own error already and is not compared.
    func requireOrder(_ lowerKey: String, _ lower: Duration, atMost upperKey: String, _ upper: Duration) {
        guard lower > upper else { return }
        for key in [lowerKey, upperKey] {
            if let node = child(key), (node.scalarString.flatMap(Duration.init(configText:)) ?? .zero) <= .zero { return }
        }
        if let upperNode = child(upperKey) {
            upperNode.fail("must be at least \(lowerKey) (\(lower.configText))")
        } else {
            (child(lowerKey) ?? self).fail("must be at most \(upperKey) (\(upper.configText))")
        }
    }

    private static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
