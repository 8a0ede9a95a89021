extension KeyedEncodingContainer {
    /// Encodes a duration as configuration text (`250ms`, `15s`), the form `/config` shows.
    mutating func encodeDuration(_ value: Duration, forKey key: Key) throws {
        try encode(value.configText, forKey: key)
    }

    /// Encodes a duration as configuration text, or nothing when it is nil.
    mutating func encodeDurationIfPresent(_ value: Duration?, forKey key: Key) throws {
        try encodeIfPresent(value?.configText, forKey: key)
    }
}

extension KeyedDecodingContainer {
    /// Reads a duration written as configuration text; nil when the key is absent.
    func decodeDurationIfPresent(forKey key: Key) throws -> Duration? {
        guard let text = try decodeIfPresent(String.self, forKey: key) else { return nil }
        guard let value = Duration(configText: text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "'\(text)' is not a duration")
        }
        return value
    }
}
