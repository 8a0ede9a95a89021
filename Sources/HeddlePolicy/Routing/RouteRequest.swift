/// What the route table needs to know of a request. The proxy implements it over its parsed
/// request head, reading fields on demand so that unmatched headers are never materialised.
public protocol RouteRequest {
    /// The request's host, lowercased, without port.
    var host: Substring { get }
    /// The path, without the query.
    var path: Substring { get }
    var method: Substring { get }
    /// The values of a header, by lowercased name, in order.
    func headerValues(_ lowercasedName: String) -> [Substring]
    /// The first value of a query parameter, by exact name.
    func queryValue(_ name: String) -> Substring?
}
